/**
 * CQL schema of the Cassandra checkpoint store, its versioned migrations, the driver loading and
 * the mapping of driver errors to SmartQueue codes. Only types come from cassandra-driver here;
 * the driver itself is imported lazily by {@link loadDriver}.
 */
import type * as CassandraDriver from 'cassandra-driver';
import { SmartQueueError, errorMessage } from '../../../engine/errors.js';
import {
  resolveCassandraCheckpointStoreOptions,
  type CassandraCheckpointStoreOptions,
  type ResolvedCassandraCheckpointStoreOptions,
} from './options.js';

export type Driver = typeof CassandraDriver;
export type Client = CassandraDriver.Client;

/** Bumped with every new entry of {@link MIGRATIONS}; stored in `schema_version`. */
export const SCHEMA_VERSION = 2;

/**
 * The statements of each version step (`{ks}` is the keyspace). Every statement is idempotent
 * (IF NOT EXISTS), so a step cut short, or run by two processes at once, can simply run again.
 */
const MIGRATIONS: Readonly<Record<number, readonly string[]>> = {
  1: [
    `CREATE TABLE IF NOT EXISTS {ks}.runs (
      run_id text PRIMARY KEY, workflow_name text, workflow text, params text, status text,
      shard_key text, created_at bigint, finished_at bigint, deadline_at bigint,
      deadline_missed boolean, labels text)`,
    // listRuns: one partition per UTC day of created_at, newest first.
    `CREATE TABLE IF NOT EXISTS {ks}.runs_by_day (
      day int, created_at bigint, run_id text, workflow_name text, status text,
      PRIMARY KEY ((day), created_at, run_id)
    ) WITH CLUSTERING ORDER BY (created_at DESC, run_id ASC)`,
    // The days that have runs (one small partition: a row per day).
    `CREATE TABLE IF NOT EXISTS {ks}.run_days (
      id int, day int, PRIMARY KEY ((id), day)) WITH CLUSTERING ORDER BY (day DESC)`,
    // One partition per run. next_seq (static) is the last event seq handed out; it is only
    // written by lightweight transactions, as are status/attempt (see cassandra-store.ts).
    `CREATE TABLE IF NOT EXISTS {ks}.tasks (
      run_id text, task_id text, next_seq bigint static, added boolean, status text,
      attempt int, worker_id text, ready_at bigint, started_at bigint, finished_at bigint,
      outputs text, error text, deadline_missed boolean, spec text,
      succeeded_seq bigint, succeeded_data text,
      PRIMARY KEY ((run_id), task_id))`,
    `CREATE TABLE IF NOT EXISTS {ks}.events (
      run_id text, bucket int, seq bigint, type text, at bigint, task_id text, attempt int,
      data text, PRIMARY KEY ((run_id, bucket), seq))`,
    `CREATE TABLE IF NOT EXISTS {ks}.shard_fences (shard bigint PRIMARY KEY, epoch bigint)`,
  ],
  // The trace id of a task's latest attempt (OpenTelemetry), for `smartqueue inspect`.
  2: [`ALTER TABLE {ks}.tasks ADD IF NOT EXISTS trace_id text`],
};

/** Loads cassandra-driver on first use, so engines that never use Cassandra never load it. */
export async function loadDriver(): Promise<Driver> {
  try {
    const mod = (await import('cassandra-driver')) as Driver & { default?: Driver };
    return mod.default ?? mod;
  } catch (err) {
    throw new SmartQueueError(
      'UNAVAILABLE',
      `the Cassandra checkpoint store needs cassandra-driver 4 (npm install cassandra-driver@4): ${errorMessage(err)}`,
      { cause: err },
    );
  }
}

/** A connected client (no keyspace set: every query names it). */
export async function connect(driver: Driver, o: ResolvedCassandraCheckpointStoreOptions): Promise<Client> {
  const client = new driver.Client({
    contactPoints: o.contactPoints,
    localDataCenter: o.localDataCenter,
    credentials: o.credentials,
    sslOptions: o.tls,
    socketOptions: { connectTimeout: o.connectTimeoutMs, readTimeout: o.requestTimeoutMs },
    queryOptions: {
      consistency: driver.types.consistencies[camel(o.consistency)],
      serialConsistency: driver.types.consistencies[camel(o.serialConsistency)],
      prepare: true,
    },
  });
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.shutdown().catch(() => undefined);
    throw toStoreError(err, `connect to ${o.contactPoints.join(',')}`);
  }
}

function camel(level: string): keyof Driver['types']['consistencies'] {
  return level
    .toLowerCase()
    .replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof Driver['types']['consistencies'];
}

/** The stored schema version, or 0 when the keyspace or its schema_version table is missing. */
export async function readSchemaVersion(client: Client, keyspace: string): Promise<number> {
  const tables = await client.execute(
    'SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
    [keyspace, 'schema_version'],
    { prepare: true },
  );
  if (tables.rowLength === 0) return 0;
  const row = (
    await client.execute(`SELECT version FROM ${keyspace}.schema_version WHERE id = 0`, [], { prepare: true })
  ).first() as { version?: number } | null;
  return row?.version ?? 0;
}

/**
 * Creates the keyspace (with the configured replication) and the tables, or upgrades them, and
 * records the version. Idempotent and safe to run from several processes at once: every DDL
 * statement is IF NOT EXISTS and the version only moves forward through a lightweight transaction.
 * @returns the version found and the version now stored.
 * @throws SmartQueueError `FAILED_PRECONDITION` when the stored schema is newer than this code.
 */
export async function migrateCassandraSchema(
  options: CassandraCheckpointStoreOptions,
  { log }: { log?: (message: string) => void } = {},
): Promise<{ from: number; to: number }> {
  const o = resolveCassandraCheckpointStoreOptions(options);
  const driver = await loadDriver();
  const client = await connect(driver, o);
  const ks = o.keyspace;
  try {
    const from = await readSchemaVersion(client, ks);
    if (from > SCHEMA_VERSION) throw newerSchemaError(from);
    if (from === SCHEMA_VERSION) {
      log?.(`keyspace ${ks}: schema v${from} is current`);
      return { from, to: from };
    }
    await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = ${replicationCql(o)}`);
    await client.execute(`CREATE TABLE IF NOT EXISTS ${ks}.schema_version (id int PRIMARY KEY, version int)`);
    await client.execute(`INSERT INTO ${ks}.schema_version (id, version) VALUES (0, 0) IF NOT EXISTS`, [], {
      prepare: true,
    });
    for (let v = from + 1; v <= SCHEMA_VERSION; v++) {
      log?.(`keyspace ${ks}: migrating to schema v${v}`);
      for (const statement of MIGRATIONS[v]!) await client.execute(statement.replaceAll('{ks}', ks));
      // Only forward: a concurrent migrator that got further first is left alone.
      let current = v - 1;
      for (;;) {
        const result = await client.execute(
          `UPDATE ${ks}.schema_version SET version = ? WHERE id = 0 IF version = ?`,
          [v, current],
          { prepare: true },
        );
        const row = result.first() as unknown as { '[applied]': boolean; version?: number };
        if (row['[applied]'] || (row.version ?? 0) >= v) break;
        current = row.version ?? 0;
      }
    }
    log?.(`keyspace ${ks}: schema v${SCHEMA_VERSION}`);
    return { from, to: SCHEMA_VERSION };
  } catch (err) {
    throw toStoreError(err, `migration of keyspace ${ks}`);
  } finally {
    await client.shutdown();
  }
}

export function newerSchemaError(version: number): SmartQueueError {
  return new SmartQueueError(
    'FAILED_PRECONDITION',
    `checkpoint keyspace schema v${version} is newer than this SmartQueue understands (v${SCHEMA_VERSION})`,
    { details: { version, supported: SCHEMA_VERSION } },
  );
}

function replicationCql(o: ResolvedCassandraCheckpointStoreOptions): string {
  const r = o.replication;
  if (r.class === 'SimpleStrategy') {
    return `{'class': 'SimpleStrategy', 'replication_factor': ${r.replicationFactor}}`;
  }
  const dcs = Object.entries(r.dataCenters).map(([dc, n]) => `'${dc.replaceAll("'", "''")}': ${n}`);
  return `{'class': 'NetworkTopologyStrategy', ${dcs.join(', ')}}`;
}

/** Driver error codes (native protocol) that mean "the cluster could not do it now": retry later. */
const TRANSIENT_RESPONSE_CODES = new Set([0x1000, 0x1001, 0x1002, 0x1100, 0x1200, 0x1300, 0x1500, 0x1600]);

/**
 * Whether a driver error means "the cluster could not do it now" (no host, a timeout, overload).
 * For a write such an error is ambiguous: it may have been applied anyway.
 */
export function isTransient(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown } | null;
  const name = typeof e?.name === 'string' ? e.name : '';
  return (
    ['NoHostAvailableError', 'OperationTimedOutError', 'BusyConnectionError', 'DriverError'].includes(name) ||
    (name === 'ResponseError' && typeof e?.code === 'number' && TRANSIENT_RESPONSE_CODES.has(e.code))
  );
}

/** No host, timeouts and overload are UNAVAILABLE (retry later); anything else is INTERNAL. */
export function toStoreError(err: unknown, what: string): SmartQueueError {
  if (err instanceof SmartQueueError) return err;
  const e = err as { name?: unknown; code?: unknown } | null;
  const name = typeof e?.name === 'string' ? e.name : '';
  return new SmartQueueError(
    isTransient(err) ? 'UNAVAILABLE' : 'INTERNAL',
    `checkpoint store: ${what} failed: ${errorMessage(err)}`,
    {
      cause: err,
      details: { driverError: name, driverCode: e?.code },
    },
  );
}
