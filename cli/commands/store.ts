import type { Command } from 'commander';
import { SmartQueueError } from '../../engine/errors.js';
import { migrateStore } from '../../runtime/open-store.js';
import type { CliIO } from '../output.js';

export function registerStore(program: Command, io: CliIO): void {
  const store = program.command('store').summary('manage the checkpoint store (schema migrations)');
  store
    .command('migrate')
    .summary('create or upgrade the checkpoint store schema (Cassandra keyspace and tables)')
    .option(
      '--store <spec>',
      'the store: cassandra://host:9042/<keyspace>?dc=<datacenter>&replication=SimpleStrategy:1 (or NetworkTopologyStrategy:dc1=3), a SQLite path, or redis://; env SMARTQUEUE_STORE',
    )
    .addHelpText(
      'after',
      `
A Cassandra store must be migrated before the first serve/run on it (the server refuses a
missing schema rather than creating one behind your back); running it again is a no-op.
SQLite files upgrade themselves when opened; Redis has no schema.

Examples:
  $ smartqueue store migrate --store 'cassandra://127.0.0.1:9042/smartqueue?dc=datacenter1'
  $ smartqueue store migrate --store 'cassandra://db1:9042,db2:9042/sq?dc=dc1&replication=NetworkTopologyStrategy:dc1=3'`,
    )
    .action(async (opts: { store?: string }) => {
      const spec = opts.store ?? process.env.SMARTQUEUE_STORE;
      if (!spec)
        throw new SmartQueueError(
          'INVALID_ARGUMENT',
          'store migrate needs --store <spec> (or SMARTQUEUE_STORE)',
        );
      io.out(await migrateStore(spec, (line) => io.err(line)));
    });
}
