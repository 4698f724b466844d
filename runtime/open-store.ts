/**
 * Opens a CheckpointStore from the one string users give (`--store`, `--state`, `store:` in a
 * server config): a SQLite file path (the embedded default), or a URL naming another store.
 *
 *   .smartqueue/state.db, sqlite:<path>     SQLite file (created when missing)
 *   memory: (or :memory:)                   in-process, keeps nothing
 *   redis://[user:pass@]host:port[/db]?prefix=smartqueue   (rediss:// for TLS)
 *   cassandra://[user:pass@]host:9042[,host2]/<keyspace>?dc=datacenter1&replication=SimpleStrategy:1
 *
 * Each driver is imported only when its scheme is used, so the embedded default never loads
 * ioredis or cassandra-driver.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { SmartQueueError } from '../engine/errors.js';
import type { CheckpointStore } from '../engine/stages.js';
import { createMemoryCheckpointStore } from '../plugins/checkpoint/memory/index.js';
import { createSqliteCheckpointStore } from '../plugins/checkpoint/sqlite/index.js';

/** The kinds of store a spec can name. */
export type StoreKind = 'sqlite' | 'memory' | 'redis' | 'cassandra';

export interface OpenStoreOptions {
  /** Group-commit interval (ms) of stores that batch writes. @default 0 */
  flushIntervalMs?: number;
  /** A SQLite file must exist already (for `runs`, `inspect`): a missing one is NOT_FOUND. */
  mustExist?: boolean;
}

/** The kind of store `spec` names, and the part after the scheme for file stores. */
export function parseStoreSpec(spec: string): { kind: StoreKind; target: string } {
  if (spec === ':memory:' || spec === 'memory:' || spec === 'memory://')
    return { kind: 'memory', target: '' };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(spec)?.[1]?.toLowerCase();
  // A one-letter "scheme" is a Windows drive (C:\...), and no scheme at all is a path.
  if (!scheme || scheme.length === 1) return { kind: 'sqlite', target: spec };
  if (scheme === 'sqlite' || scheme === 'file') {
    const target = spec.slice(scheme.length + 1).replace(/^\/\//, '');
    if (!target) throw invalidSpec(spec, 'sqlite: needs a file path, e.g. sqlite:.smartqueue/state.db');
    return { kind: 'sqlite', target };
  }
  if (scheme === 'redis' || scheme === 'rediss') return { kind: 'redis', target: spec };
  if (scheme === 'cassandra') return { kind: 'cassandra', target: spec };
  throw invalidSpec(spec, `unknown store scheme "${scheme}:"`);
}

function invalidSpec(spec: string, why: string): SmartQueueError {
  return new SmartQueueError(
    'INVALID_ARGUMENT',
    `${why} in store "${redactStoreSpec(spec)}" (use a SQLite path, sqlite:<path>, memory:, redis://host:port, or cassandra://host:9042/<keyspace>)`,
    { details: { store: redactStoreSpec(spec) } },
  );
}

/** The spec with any password replaced, for messages and logs. */
export function redactStoreSpec(spec: string): string {
  return spec.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

/** Opens the store `spec` names (see the file header); `false` is the in-process store. */
export async function openStore(
  spec: string | false,
  options: OpenStoreOptions = {},
): Promise<CheckpointStore> {
  if (spec === false) return createMemoryCheckpointStore();
  const { kind, target } = parseStoreSpec(spec);
  const flushIntervalMs = options.flushIntervalMs ?? 0;
  switch (kind) {
    case 'memory':
      return createMemoryCheckpointStore();
    case 'sqlite': {
      if (options.mustExist && !existsSync(target)) {
        throw new SmartQueueError(
          'NOT_FOUND',
          `no state file at ${target}: nothing has run with this --state yet`,
        );
      }
      await mkdir(path.dirname(path.resolve(target)), { recursive: true });
      return createSqliteCheckpointStore({ path: target, flushIntervalMs });
    }
    case 'redis': {
      const redis = await import('../plugins/checkpoint/redis/index.js');
      return redis.createRedisCheckpointStore({
        ...redis.redisCheckpointStoreOptionsFromUrl(target),
        ...(options.flushIntervalMs !== undefined && { flushIntervalMs }),
      });
    }
    case 'cassandra': {
      const cassandra = await import('../plugins/checkpoint/cassandra/index.js');
      return cassandra.createCassandraCheckpointStore({
        ...cassandra.cassandraCheckpointStoreOptionsFromUrl(target),
        ...(options.flushIntervalMs !== undefined && { flushIntervalMs }),
      });
    }
  }
}

/**
 * Creates or upgrades the schema of the store `spec` names (`smartqueue store migrate`), and
 * says what it did. SQLite files upgrade themselves when opened; Redis has no schema.
 */
export async function migrateStore(spec: string, log: (line: string) => void = () => {}): Promise<string> {
  const { kind, target } = parseStoreSpec(spec);
  switch (kind) {
    case 'memory':
      return 'memory: keeps nothing, so it has no schema';
    case 'redis':
      return `${redactStoreSpec(spec)}: Redis keeps no schema; nothing to do`;
    case 'sqlite': {
      const store = await openStore(spec);
      await store.close();
      return `${target}: SQLite schema is up to date`;
    }
    case 'cassandra': {
      const cassandra = await import('../plugins/checkpoint/cassandra/index.js');
      const { from, to } = await cassandra.migrateCassandraSchema(
        cassandra.cassandraCheckpointStoreOptionsFromUrl(target),
        { log },
      );
      return from === to
        ? `${redactStoreSpec(spec)}: Cassandra schema already at v${to}`
        : `${redactStoreSpec(spec)}: Cassandra schema migrated from v${from} to v${to}`;
    }
  }
}
