/**
 * What the flat, DAG and overload scenarios share: for their BullMQ contenders the Redis
 * connection, a key prefix unique to one run (so concurrent or aborted runs never see each
 * other's jobs) and the cleanup that deletes every key under it; and the formatting of a median
 * with its spread, and of ratios.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { median } from '../lib.js';

/** The public data sets beside the project (../shared/data, see its SOURCE.md), whatever the cwd. */
export const SHARED_DATA = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'shared',
  'data',
);

/** The Redis that BullMQ uses (REDIS_URL, default the local one). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Connection options for BullMQ Queue/Worker/FlowProducer. `maxRetriesPerRequest: null` is what
 * BullMQ requires of a worker's blocking connection.
 */
export function bullConnection(): { host: string; port: number; db: number; maxRetriesPerRequest: null } {
  const u = new URL(REDIS_URL);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    db: Number(u.pathname.slice(1) || 0),
    maxRetriesPerRequest: null,
  };
}

/** A prefix no other run uses: `sqbench-<scenario>-<random>`. */
export function uniquePrefix(scenario: string): string {
  return `sqbench-${scenario}-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under `prefix` (BullMQ keys are `<prefix>:<queue>:...`). */
export async function deletePrefix(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Fails fast, with a clear message, when Redis does not answer. */
export async function redisVersion(): Promise<string> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 });
  try {
    await redis.connect();
    const info = await redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch (err) {
    throw new Error(`BullMQ needs Redis at ${REDIS_URL} (set REDIS_URL): ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    redis.disconnect();
  }
}

/** The installed BullMQ version. */
export function bullmqVersion(): string {
  return (createRequire(import.meta.url)('bullmq/package.json') as { version: string }).version;
}

/** `median (min–max)` of repetitions, rounded to `digits`. */
export function spread(values: number[], digits = 0): string {
  const f = (v: number) =>
    v.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  if (values.length === 0) return '—';
  if (values.length === 1) return f(values[0]!);
  return `${f(median(values))} (${f(Math.min(...values))}–${f(Math.max(...values))})`;
}

/** `a / b` as `1.23×`, or `—` when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '—';
  return `${(a / b).toFixed(2)}×`;
}

/** Up to `points` points of the empirical CDF of `values` (x = value, y = fraction ≤ x). */
export function cdf(values: number[], points = 200): [number, number][] {
  const s = [...values].sort((a, b) => a - b);
  const out: [number, number][] = [];
  const step = Math.max(1, Math.floor(s.length / points));
  for (let i = step - 1; i < s.length; i += step) out.push([s[i]!, (i + 1) / s.length]);
  if (s.length && out[out.length - 1]![1] !== 1) out.push([s[s.length - 1]!, 1]);
  return out;
}

/** Resolves after `ms` (the benchmarks' sleep handler and pacing). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A scenario setting from the environment (the runner's command line takes only its own
 * options): `BENCH_<NAME>` as a positive integer, or the fallback.
 */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[`BENCH_${name}`];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new Error(`BENCH_${name} needs a positive integer, got "${raw}"`);
  return v;
}

/** `BENCH_<NAME>` as a string, or the fallback. */
export function envString(name: string, fallback: string): string {
  const raw = process.env[`BENCH_${name}`];
  return raw === undefined || raw === '' ? fallback : raw;
}
