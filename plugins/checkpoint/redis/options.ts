/**
 * Options of the Redis checkpoint store: the raw shape users pass, the resolved shape the store
 * runs with, the one validating resolver, and the `redis://` / `rediss://` URL parser.
 */
import type { ConnectionOptions } from 'node:tls';
import { SmartQueueError } from '../../../engine/errors.js';

/** Options of {@link createRedisCheckpointStore}. Explicit fields win over those of `url`. */
export interface RedisCheckpointStoreOptions {
  /**
   * `redis://[user:pass@]host:port[/db]?prefix=smartqueue&flushIntervalMs=0&maxBatch=1000`, or
   * `rediss://...` for TLS. See {@link redisCheckpointStoreOptionsFromUrl}.
   */
  url?: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 6379 */
  port?: number;
  /** Logical database (standalone Redis only). @default 0 */
  db?: number;
  /** ACL user name (Redis 6+). */
  username?: string;
  password?: string;
  /** `true` or Node TLS options to connect over TLS. @default false */
  tls?: boolean | ConnectionOptions;
  /**
   * Every key of the store starts with `<keyPrefix>:`, so several stores (or tests) can share a
   * server. Must not contain `{` or `}` (they would change the Cluster hash slot of the keys).
   * @default 'smartqueue'
   */
  keyPrefix?: string;
  /**
   * How long queued writes wait for company before they are sent, in ms. 0 sends what was written
   * during the current tick (and, while a batch is in flight, everything written meanwhile).
   * @default 0
   */
  flushIntervalMs?: number;
  /**
   * Largest number of queued writes sent in one batch (one Lua call).
   * @default 1000
   */
  maxBatch?: number;
  /**
   * How long opening the connection may take before the factory fails with UNAVAILABLE, in ms.
   * @default 10000
   */
  connectTimeoutMs?: number;
}

/** {@link RedisCheckpointStoreOptions} with defaults applied and `url` folded in. */
export interface ResolvedRedisCheckpointStoreOptions {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean | ConnectionOptions;
  keyPrefix: string;
  flushIntervalMs: number;
  maxBatch: number;
  connectTimeoutMs: number;
}

/** Query parameters a store URL may carry, with the option each sets. */
const URL_PARAMS = {
  prefix: 'keyPrefix',
  keyPrefix: 'keyPrefix',
  flushIntervalMs: 'flushIntervalMs',
  maxBatch: 'maxBatch',
  connectTimeoutMs: 'connectTimeoutMs',
} as const;

/**
 * Parses `redis://[user:pass@]host:port[/db]?prefix=...&flushIntervalMs=...&maxBatch=...`
 * (`rediss://` for TLS) into options. Numbers stay as given when they do not parse, so
 * {@link resolveRedisCheckpointStoreOptions} reports them with every other problem.
 * @throws SmartQueueError `INVALID_OPTIONS` for a string that is not such a URL.
 */
export function redisCheckpointStoreOptionsFromUrl(url: string): RedisCheckpointStoreOptions {
  const problems: string[] = [];
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    problems.push(`url is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed && parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    problems.push(`url must start with redis:// or rediss://, got ${JSON.stringify(parsed.protocol)}`);
  }
  if (!parsed || problems.length > 0) throw invalid(problems);
  const options: RedisCheckpointStoreOptions = {};
  if (parsed.hostname) options.host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (parsed.port) options.port = Number(parsed.port);
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === 'rediss:') options.tls = true;
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '') options.db = /^\d+$/.test(db) ? Number(db) : Number.NaN;
  for (const [key, value] of parsed.searchParams) {
    const option = (URL_PARAMS as Record<string, (typeof URL_PARAMS)[keyof typeof URL_PARAMS]>)[key];
    if (option === undefined) {
      problems.push(
        `url has an unknown parameter ${JSON.stringify(key)} (allowed: ${Object.keys(URL_PARAMS).join(', ')})`,
      );
    } else if (option === 'keyPrefix') {
      options.keyPrefix = value;
    } else {
      options[option] = value.trim() === '' ? Number.NaN : Number(value);
    }
  }
  if (problems.length > 0) throw invalid(problems);
  return options;
}

/**
 * Validates options and applies defaults, in one place; throws one `INVALID_OPTIONS` error
 * naming every problem.
 */
export function resolveRedisCheckpointStoreOptions(
  raw: RedisCheckpointStoreOptions,
): ResolvedRedisCheckpointStoreOptions {
  const problems: string[] = [];
  let fromUrl: RedisCheckpointStoreOptions = {};
  if (raw?.url !== undefined) {
    try {
      fromUrl = redisCheckpointStoreOptionsFromUrl(raw.url);
    } catch (err) {
      problems.push(...(((err as SmartQueueError).details as { problems?: string[] })?.problems ?? []));
    }
  }
  const pick = <K extends keyof RedisCheckpointStoreOptions>(key: K) => raw?.[key] ?? fromUrl[key];

  const host = pick('host') ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') problems.push('host must be a non-empty string');
  const port = pick('port') ?? 6379;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push(`port must be an integer from 1 to 65535, got ${String(port)}`);
  }
  const db = pick('db') ?? 0;
  if (!Number.isInteger(db) || db < 0) problems.push(`db must be an integer >= 0, got ${String(db)}`);
  const username = pick('username');
  if (username !== undefined && typeof username !== 'string') problems.push('username must be a string');
  const password = pick('password');
  if (password !== undefined && typeof password !== 'string') problems.push('password must be a string');
  const tls = pick('tls') ?? false;
  if (typeof tls !== 'boolean' && (typeof tls !== 'object' || tls === null)) {
    problems.push('tls must be a boolean or TLS connection options');
  }
  const keyPrefix = pick('keyPrefix') ?? 'smartqueue';
  if (typeof keyPrefix !== 'string' || keyPrefix === '' || /[{}]/.test(keyPrefix)) {
    problems.push(`keyPrefix must be a non-empty string without { or }, got ${JSON.stringify(keyPrefix)}`);
  }
  const flushIntervalMs = pick('flushIntervalMs') ?? 0;
  if (typeof flushIntervalMs !== 'number' || !Number.isFinite(flushIntervalMs) || flushIntervalMs < 0) {
    problems.push(`flushIntervalMs must be a finite number >= 0, got ${String(flushIntervalMs)}`);
  }
  const maxBatch = pick('maxBatch') ?? 1000;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    problems.push(`maxBatch must be an integer >= 1, got ${String(maxBatch)}`);
  }
  const connectTimeoutMs = pick('connectTimeoutMs') ?? 10_000;
  if (!Number.isInteger(connectTimeoutMs) || connectTimeoutMs < 1) {
    problems.push(`connectTimeoutMs must be an integer >= 1, got ${String(connectTimeoutMs)}`);
  }
  if (problems.length > 0) throw invalid(problems);
  const resolved: ResolvedRedisCheckpointStoreOptions = {
    host,
    port,
    db,
    tls,
    keyPrefix,
    flushIntervalMs,
    maxBatch,
    connectTimeoutMs,
  };
  if (username !== undefined) resolved.username = username;
  if (password !== undefined) resolved.password = password;
  return resolved;
}

function invalid(problems: string[]): SmartQueueError {
  return new SmartQueueError(
    'INVALID_OPTIONS',
    `invalid Redis checkpoint store options: ${problems.join('; ')}`,
    { details: { problems } },
  );
}
