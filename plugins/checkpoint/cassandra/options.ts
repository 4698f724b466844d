/**
 * Options of the Cassandra checkpoint store: validated in one place ({@link
 * resolveCassandraCheckpointStoreOptions}), where every default is applied, and parsed from a
 * `cassandra://` URL ({@link cassandraCheckpointStoreOptionsFromUrl}).
 */
import type { ConnectionOptions } from 'node:tls';
import { SmartQueueError } from '../../../engine/errors.js';

/** How the keyspace is replicated (used by `migrateCassandraSchema` when it creates it). */
export type CassandraReplication =
  | { class: 'SimpleStrategy'; replicationFactor: number }
  | { class: 'NetworkTopologyStrategy'; dataCenters: Record<string, number> };

/** Consistency levels the store accepts for reads and writes. */
export type CassandraConsistency = 'ONE' | 'LOCAL_ONE' | 'QUORUM' | 'LOCAL_QUORUM' | 'EACH_QUORUM' | 'ALL';

/** Options of {@link createCassandraCheckpointStore} and `migrateCassandraSchema`. */
export interface CassandraCheckpointStoreOptions {
  /** `host` or `host:port` of one or more nodes. */
  contactPoints: string[];
  /** The data center whose nodes the driver talks to (`SELECT data_center FROM system.local`). */
  localDataCenter: string;
  /**
   * Keyspace holding the tables (letters, digits, `_`; at most 48 characters).
   * @default 'smartqueue'
   */
  keyspace?: string;
  /**
   * Replication of the keyspace, applied when the migration creates it.
   * @default { class: 'SimpleStrategy', replicationFactor: 1 }
   */
  replication?: CassandraReplication;
  /**
   * Consistency of reads and writes (and of the commit phase of lightweight transactions).
   * @default 'LOCAL_QUORUM'
   */
  consistency?: CassandraConsistency;
  /**
   * Serial consistency of lightweight transactions (completion, fencing, seq reservation).
   * @default 'LOCAL_SERIAL'
   */
  serialConsistency?: 'SERIAL' | 'LOCAL_SERIAL';
  /**
   * How long queued writes wait for company before they are written, in ms. 0 writes at the
   * next event-loop turn (a flush already in flight gathers the next batch meanwhile).
   * @default 0
   */
  flushIntervalMs?: number;
  /**
   * Most queued writes handled in one flush.
   * @default 1000
   */
  maxBatch?: number;
  /**
   * Events per partition of the events table: event `seq` lives in bucket
   * `floor(seq / eventBucketSize)`.
   * @default 1000
   */
  eventBucketSize?: number;
  /** Plain-text authentication. */
  credentials?: { username: string; password: string };
  /**
   * TLS: `true` for the system CAs, or Node TLS options (ca, cert, key, servername, ...).
   * @default false
   */
  tls?: boolean | ConnectionOptions;
  /**
   * Connection timeout, in ms.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * Per-request client timeout, in ms.
   * @default 12000
   */
  requestTimeoutMs?: number;
  /**
   * How long a write that failed with a transient error (a timeout, no host, overload) keeps
   * being retried, in ms. Such a write may have been applied anyway: each retry first finds out
   * (a SERIAL read for lightweight transactions), so nothing is applied twice.
   * 0 turns retries off.
   * @default 30000
   */
  retryBudgetMs?: number;
}

/** {@link CassandraCheckpointStoreOptions} with defaults applied. */
export interface ResolvedCassandraCheckpointStoreOptions extends Required<
  Omit<CassandraCheckpointStoreOptions, 'credentials' | 'tls'>
> {
  credentials: { username: string; password: string } | undefined;
  tls: ConnectionOptions | undefined;
}

const CONSISTENCIES = ['ONE', 'LOCAL_ONE', 'QUORUM', 'LOCAL_QUORUM', 'EACH_QUORUM', 'ALL'];
const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;

/** Validates options and applies defaults; throws one `INVALID_OPTIONS` error naming every problem. */
export function resolveCassandraCheckpointStoreOptions(
  raw: CassandraCheckpointStoreOptions,
): ResolvedCassandraCheckpointStoreOptions {
  const problems: string[] = [];
  const contactPoints: unknown = raw?.contactPoints;
  if (
    !Array.isArray(contactPoints) ||
    contactPoints.length === 0 ||
    !contactPoints.every(
      (p) => typeof p === 'string' && /^[^\s:]+(:\d{1,5})?$|^\[[^\]]+\](:\d{1,5})?$/.test(p),
    )
  ) {
    problems.push('contactPoints must be a non-empty array of "host" or "host:port" strings');
  }
  const localDataCenter: unknown = raw?.localDataCenter;
  if (typeof localDataCenter !== 'string' || localDataCenter === '') {
    problems.push('localDataCenter must be a non-empty string (see system.local data_center)');
  }
  const keyspace = raw?.keyspace ?? 'smartqueue';
  if (typeof keyspace !== 'string' || !IDENTIFIER.test(keyspace)) {
    problems.push(`keyspace must match ${String(IDENTIFIER)}, got ${JSON.stringify(keyspace)}`);
  }
  const replication = raw?.replication ?? { class: 'SimpleStrategy', replicationFactor: 1 };
  const replicationProblem = checkReplication(replication);
  if (replicationProblem) problems.push(replicationProblem);
  const consistency = raw?.consistency ?? 'LOCAL_QUORUM';
  if (!CONSISTENCIES.includes(consistency)) {
    problems.push(
      `consistency must be one of ${CONSISTENCIES.join(', ')}, got ${JSON.stringify(consistency)}`,
    );
  }
  const serialConsistency = raw?.serialConsistency ?? 'LOCAL_SERIAL';
  if (serialConsistency !== 'SERIAL' && serialConsistency !== 'LOCAL_SERIAL') {
    problems.push(
      `serialConsistency must be 'SERIAL' or 'LOCAL_SERIAL', got ${JSON.stringify(serialConsistency)}`,
    );
  }
  const flushIntervalMs = raw?.flushIntervalMs ?? 0;
  if (typeof flushIntervalMs !== 'number' || !Number.isFinite(flushIntervalMs) || flushIntervalMs < 0) {
    problems.push(`flushIntervalMs must be a finite number >= 0, got ${String(flushIntervalMs)}`);
  }
  const ints = {
    maxBatch: raw?.maxBatch ?? 1000,
    eventBucketSize: raw?.eventBucketSize ?? 1000,
    connectTimeoutMs: raw?.connectTimeoutMs ?? 5000,
    requestTimeoutMs: raw?.requestTimeoutMs ?? 12000,
    retryBudgetMs: raw?.retryBudgetMs ?? 30_000,
  };
  for (const [field, value] of Object.entries(ints)) {
    const min = field === 'retryBudgetMs' ? 0 : 1; // 0: no retries
    if (!Number.isSafeInteger(value) || value < min)
      problems.push(`${field} must be an integer >= ${min}, got ${String(value)}`);
  }
  const credentials = raw?.credentials;
  if (
    credentials !== undefined &&
    (typeof credentials?.username !== 'string' || typeof credentials?.password !== 'string')
  ) {
    problems.push('credentials must be { username: string, password: string }');
  }
  const tls = raw?.tls;
  if (tls !== undefined && typeof tls !== 'boolean' && (tls === null || typeof tls !== 'object')) {
    problems.push('tls must be a boolean or Node TLS connection options');
  }
  if (problems.length > 0) {
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `invalid Cassandra checkpoint store options: ${problems.join('; ')}`,
      {
        details: { problems },
      },
    );
  }
  return {
    contactPoints: [...(contactPoints as string[])],
    localDataCenter: localDataCenter as string,
    keyspace,
    replication,
    consistency,
    serialConsistency,
    flushIntervalMs,
    ...ints,
    credentials: credentials && { ...credentials },
    tls: tls === true ? {} : tls === false || tls === undefined ? undefined : tls,
  };
}

function checkReplication(r: CassandraReplication): string | undefined {
  const bad = (n: unknown) => !Number.isSafeInteger(n) || (n as number) < 1;
  if (r?.class === 'SimpleStrategy') {
    return bad(r.replicationFactor) ? 'replication.replicationFactor must be an integer >= 1' : undefined;
  }
  if (r?.class === 'NetworkTopologyStrategy') {
    const dcs = Object.entries(r.dataCenters ?? {});
    return dcs.length === 0 || dcs.some(([dc, n]) => dc === '' || bad(n))
      ? 'replication.dataCenters must map data center names to integers >= 1'
      : undefined;
  }
  return `replication.class must be 'SimpleStrategy' or 'NetworkTopologyStrategy', got ${JSON.stringify((r as { class?: unknown })?.class)}`;
}

/**
 * Parses `cassandra://[user:pass@]host1:9042[,host2:9042]/<keyspace>?dc=datacenter1&replication=SimpleStrategy:1`
 * (or `replication=NetworkTopologyStrategy:dc1=3,dc2=3`; also `consistency`, `flushIntervalMs`,
 * `maxBatch`, `eventBucketSize`, `requestTimeoutMs`, `retryBudgetMs`). TLS is configured through options, not the URL. The result is
 * validated by {@link resolveCassandraCheckpointStoreOptions}.
 */
export function cassandraCheckpointStoreOptionsFromUrl(url: string): CassandraCheckpointStoreOptions {
  const match = /^cassandra:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)(?:\/([^?#]*))?(?:\?([^#]*))?$/.exec(
    url,
  );
  if (!match) {
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `not a cassandra:// URL: ${url.replace(/\/\/[^@/]*@/, '//***@')}`,
      {
        details: {
          problems: ['expected cassandra://[user:pass@]host[:port][,host[:port]]/<keyspace>?dc=<dc>'],
        },
      },
    );
  }
  const [, user, pass, hosts, path, search] = match;
  const query = new URLSearchParams(search ?? '');
  const options: CassandraCheckpointStoreOptions = {
    contactPoints: hosts!.split(',').filter((h) => h !== ''),
    localDataCenter: query.get('dc') ?? '',
  };
  if (path) options.keyspace = decodeURIComponent(path);
  if (user !== undefined) {
    options.credentials = { username: decodeURIComponent(user), password: decodeURIComponent(pass ?? '') };
  }
  const replication = query.get('replication');
  if (replication !== null) options.replication = parseReplication(replication);
  const consistency = query.get('consistency');
  if (consistency !== null) options.consistency = consistency as CassandraConsistency;
  for (const key of [
    'flushIntervalMs',
    'maxBatch',
    'eventBucketSize',
    'requestTimeoutMs',
    'retryBudgetMs',
  ] as const) {
    const value = query.get(key);
    if (value !== null) options[key] = Number(value);
  }
  return options;
}

function parseReplication(text: string): CassandraReplication {
  const [strategy, rest = ''] = text.split(':', 2) as [string, string?];
  if (strategy === 'SimpleStrategy') return { class: 'SimpleStrategy', replicationFactor: Number(rest) };
  if (strategy === 'NetworkTopologyStrategy') {
    const dataCenters: Record<string, number> = {};
    for (const pair of rest.split(',')) {
      const [dc = '', n = ''] = pair.split('=');
      dataCenters[dc] = Number(n);
    }
    return { class: 'NetworkTopologyStrategy', dataCenters };
  }
  return { class: strategy } as unknown as CassandraReplication;
}
