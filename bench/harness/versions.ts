/**
 * Where the numbers come from: the machine, and the versions of everything measured (Node,
 * SmartQueue with its commit, BullMQ and the other compared libraries, the Redis and Kafka
 * servers). Printed at the top of RESULTS.md and stored with every raw result.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The machine a run happened on. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  platform: string;
  /** 1-minute load average when the run started: a busy machine makes every figure suspect. */
  loadAverage: number;
}

/** Versions of the measured software; `unavailable (...)` when it could not be found. */
export type Versions = Record<string, string>;

/** Libraries whose versions matter to some scenario (a contender or a driver). */
const PACKAGES = [
  'bullmq',
  'ioredis',
  'kafkajs',
  '@grpc/grpc-js',
  'better-sqlite3',
  'heap-js',
  'flatqueue',
  '@datastructures-js/priority-queue',
];

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown CPU',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage: Number(os.loadavg()[0]!.toFixed(2)),
  };
}

function packageVersion(root: string, name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return 'not installed';
  }
}

async function smartQueueVersion(root: string): Promise<string> {
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    version: string;
  };
  try {
    const { stdout: sha } = await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, timeout: 5000 });
    const { stdout: dirty } = await run('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: root,
      timeout: 5000,
    });
    return `${version} (${sha.trim()}${dirty.trim() ? ', with uncommitted changes' : ''})`;
  } catch {
    return version;
  }
}

async function redisVersion(): Promise<string> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1500, maxRetriesPerRequest: 0 });
  client.on('error', () => {}); // reported through the rejected connect below
  try {
    await client.connect();
    const info = await client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch (e) {
    return `unavailable (${(e as Error).message})`;
  } finally {
    client.disconnect();
  }
}

/**
 * Kafka's protocol does not tell a client the broker's release, so this asks the services
 * script, which knows the jars it runs (read-only `status`; nothing is started or stopped).
 */
async function kafkaVersion(root: string): Promise<string> {
  try {
    const { stdout } = await run('bash', [path.join(root, 'scripts', 'services'), 'status', 'kafka'], {
      cwd: root,
      timeout: 15_000,
    });
    const line = stdout.split('\n').find((l) => l.startsWith('kafka'));
    const v = line && /\(Kafka ([^)]+)\)/.exec(line)?.[1];
    return v ?? `unavailable (${line?.replace(/\s+/g, ' ').trim() ?? 'no status'})`;
  } catch (e) {
    return `unavailable (${(e as Error).message.split('\n')[0]})`;
  }
}

/** Collects the versions; never throws (a missing server is reported, not fatal). */
export async function collectVersions(root: string): Promise<Versions> {
  const [smartqueue, redis, kafka] = await Promise.all([
    smartQueueVersion(root),
    redisVersion(),
    kafkaVersion(root),
  ]);
  const versions: Versions = {
    node: process.version,
    smartqueue,
    'Redis server': redis,
    'Kafka broker': kafka,
  };
  for (const name of PACKAGES) versions[name] = packageVersion(root, name);
  return versions;
}
