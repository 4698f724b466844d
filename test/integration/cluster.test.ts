/**
 * Distributed mode end to end, on the real servers: 3 `smartqueue serve` instances (Kafka
 * transport, etcd coordinator, one shared store: Cassandra, then Redis) and 4 `smartqueue worker
 * --transport kafka://` processes run 20 workflows plus 2,000 submitted tasks, and one more
 * workflow sent to two schedulers with one idempotency key (one run). Meanwhile the test kill -9's
 * one scheduler and one worker (while it runs attempts) and restarts the Kafka broker. Afterwards
 * every task has exactly one recorded success, no run is stuck, the survivors took the killed
 * scheduler's runs over, and no completed task ran again unless its worker died mid-attempt:
 * repeated executions are counted by cause and printed (attempts the killed worker had started;
 * the same attempt delivered twice while the first still ran), and any execution after a
 * completed one fails the test.
 *
 * Also: `smartqueue replay <run> --store cassandra://...` finishes a run whose scheduler and
 * worker were both killed in distributed mode.
 *
 * Needs `npm run build` (the processes run bin/smartqueue.js) and Kafka, etcd, Redis and
 * Cassandra (`bash scripts/services up`); with CI=true a missing one fails the test.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CheckpointStore } from '../../engine/stages.js';
import { createSmartQueueClient } from '../../plugins/api/grpc/index.js';
import type { SmartQueueClient } from '../../plugins/api/grpc/index.js';
import { openStore } from '../../runtime/open-store.js';
import { BIN, killAllCli, ROOT, startCli, startedCli, until } from '../support/processes.js';
import type { CliProcess } from '../support/processes.js';
import { probeService, serviceAddress, serviceHostPort, withService } from '../support/services.js';

const HANDLERS = path.join(ROOT, 'test/fixtures/cluster/handlers.ts');
const run = promisify(execFile);

const available = (
  await Promise.all((['kafka', 'etcd', 'redis', 'cassandra'] as const).map((s) => probeService(s)))
).every(Boolean);

const clients: SmartQueueClient[] = [];
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await killAllCli();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

afterAll(async () => {
  for (const c of cleanups.splice(0)) await c().catch(() => {});
});

type Proc = CliProcess;
const start = startCli;
/** Waits for `check` (every 100 ms: some checks read the executions log). */
const poll = <T>(
  what: string,
  ms: number,
  check: () => T | undefined | false | Promise<T | undefined | false>,
) => until(what, ms, check, 100);

/** The store URLs of one test: a fresh Cassandra keyspace (migrated by the CLI) or Redis prefix. */
async function freshStore(kind: 'cassandra' | 'redis', id: string): Promise<string> {
  if (kind === 'redis') {
    const { host, port } = serviceHostPort('redis');
    const prefix = `sq-cluster-${id}`;
    cleanups.push(async () => {
      const { Redis } = await import('ioredis');
      const redis = new Redis({ host, port, lazyConnect: true });
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    });
    return `redis://${host}:${port}/0?prefix=${prefix}`;
  }
  const { host, port } = serviceHostPort('cassandra');
  const keyspace = `sq_cluster_${id.replace(/-/g, '_')}`;
  const spec = `cassandra://${host}:${port}/${keyspace}?dc=datacenter1`;
  const migrated = await run(process.execPath, [BIN, 'store', 'migrate', '--store', spec], { cwd: ROOT });
  expect(migrated.stdout).toMatch(/migrated from v0 to v\d+/);
  cleanups.push(async () => {
    const cassandra = await import('cassandra-driver');
    const client = new cassandra.default.Client({
      contactPoints: [`${host}:${port}`],
      localDataCenter: 'datacenter1',
    });
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    await client.shutdown();
  });
  return spec;
}

interface ClusterSetup {
  id: string;
  store: string;
  kafka: string;
  etcd: string;
  execLog: string;
}

function setup(storeSpec: string, id: string): ClusterSetup {
  const dir = mkdtempSync(path.join(tmpdir(), 'sq-cluster-'));
  dirs.push(dir);
  // The test's topics go when the file is done.
  cleanups.push(async () => {
    const { Kafka, logLevel } = await import('kafkajs');
    const admin = new Kafka({ brokers: [serviceAddress('kafka')], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`sqc-${id}.`));
    if (topics.length) await admin.deleteTopics({ topics });
    await admin.disconnect();
  });
  const kafkaAddress = serviceAddress('kafka');
  const etcd = serviceHostPort('etcd');
  return {
    id,
    store: storeSpec,
    // Short consumer sessions and heartbeats, so a killed worker's partitions and attempts move
    // within seconds.
    kafka: `kafka://${kafkaAddress}?prefix=sqc-${id}&partitions=8&heartbeatIntervalMs=500&sessionTimeoutMs=6000`,
    etcd: `etcd://${etcd.host}:${etcd.port}/sqc-${id}?ttlMs=3000`,
    execLog: path.join(dir, 'executions.log'),
  };
}

function startScheduler(s: ClusterSetup, name: string): Proc {
  return start(name, [
    'serve',
    '--listen',
    '127.0.0.1:0',
    '--store',
    s.store,
    '--transport',
    s.kafka,
    '--coordinator',
    s.etcd,
    '--cluster-shards',
    '12',
    '--instance-id',
    name,
  ]);
}

function startWorker(s: ClusterSetup, name: string, capacity = 16): Proc {
  return start(
    name,
    ['worker', '--transport', s.kafka, '--id', name, '--capacity', String(capacity), '--handlers', HANDLERS],
    { SMARTQUEUE_TEST_EXEC_LOG: s.execLog, SMARTQUEUE_TEST_WORKER: name },
  );
}

/** A 10-task DAG of `work` tasks: two fan-outs joined, as YAML. */
function workflowYaml(name: string): string {
  const tasks = [
    `  - id: extract\n    uses: work`,
    ...Array.from({ length: 4 }, (_, i) => `  - id: part-${i}\n    uses: work\n    needs: [extract]`),
    `  - id: merge\n    uses: work\n    needs: [part-0, part-1, part-2, part-3]`,
    ...Array.from({ length: 3 }, (_, i) => `  - id: report-${i}\n    uses: work\n    needs: [merge]`),
    `  - id: publish\n    uses: work\n    needs: [report-0, report-1, report-2]`,
  ];
  return `apiVersion: smartqueue/v1\nkind: Workflow\nmetadata:\n  name: ${name}\nspec:\n  tasks:\n${tasks.join('\n')}\n`;
}

async function listening(p: Proc): Promise<string> {
  return poll(`${p.name} to listen`, 30_000, () => {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited:\n${p.output()}`);
    return /listening on (\S+)/.exec(p.output())?.[1];
  });
}

/** One executions log line per start and end of a `work` attempt. */
function executions(file: string) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [at, what, runId, taskId, attempt, worker] = line.split('\t');
      return {
        at: Number(at),
        what: what!,
        runId: runId!,
        taskId: taskId!,
        attempt: Number(attempt),
        worker: worker!,
      };
    });
}

async function restartKafka(): Promise<void> {
  await run('bash', [path.join(ROOT, 'scripts/services'), 'down', 'kafka'], { cwd: ROOT });
  await run('bash', [path.join(ROOT, 'scripts/services'), 'up', 'kafka'], { cwd: ROOT });
}

for (const kind of ['cassandra', 'redis'] as const) {
  withService(kind, available, `distributed mode on Kafka, etcd and ${kind}`, () => {
    describe(`distributed mode on Kafka, etcd and ${kind}`, () => {
      it('3 schedulers and 4 workers run 20 workflows and 2,000 tasks through a scheduler kill, a worker kill and a broker restart', async () => {
        const id = randomUUID().slice(0, 8);
        const s = setup(await freshStore(kind, id), id);
        const schedulers = ['s1', 's2', 's3'].map((n) => startScheduler(s, n));
        const addresses = await Promise.all(schedulers.map(listening));
        const workers = ['w1', 'w2', 'w3', 'w4'].map((n) => startWorker(s, n));
        for (const w of ['w1', 'w2', 'w3', 'w4'])
          await poll(`${w} to join`, 60_000, () =>
            schedulers.every((p) => p.output().includes(`worker ${w} joined`)),
          );
        const cs = addresses.map((a) => createSmartQueueClient(a));
        clients.push(...cs);

        // 20 workflows, spread over the three schedulers.
        const workflowRuns: string[] = [];
        for (let i = 0; i < 20; i++) {
          const r = await cs[i % 3]!.submitWorkflow({
            yaml: workflowYaml(`flow-${i}`),
            fileName: `flow-${i}.yaml`,
          });
          workflowRuns.push(r.runId);
        }
        // An idempotency key holds across instances (etcd reservations): the same request with
        // one key, sent to two schedulers, makes one run.
        const keyed = { yaml: workflowYaml('keyed'), fileName: 'keyed.yaml', idempotencyKey: `key-${id}` };
        const k1 = await cs[0]!.submitWorkflow(keyed);
        const k2 = await cs[2]!.submitWorkflow(keyed);
        expect(k2.runId).toBe(k1.runId);
        expect([k1.deduplicated, k2.deduplicated]).toEqual([false, true]);
        workflowRuns.push(k1.runId);

        // 2,000 tasks: per scheduler a namespace, in batches of 100 (10 chains of 10).
        const namespaceRuns = new Set<string>();
        let submitted = 0;
        for (let b = 0; b < 20; b++) {
          const c = cs[b % 3]!;
          const tasks = Array.from({ length: 100 }, (_, i) => ({
            taskId: `b${b}-c${Math.floor(i / 10)}-${i % 10}`,
            handler: 'work',
            needs: i % 10 === 0 ? [] : [`b${b}-c${Math.floor(i / 10)}-${(i % 10) - 1}`],
          }));
          const r = await c.submitTasks({ namespace: `bulk-${b % 3}`, tasks });
          expect(r.tasks).toHaveLength(100);
          for (const t of r.tasks) namespaceRuns.add(t.runId);
          submitted += r.tasks.length;
        }
        expect(submitted).toBe(2000);
        expect(namespaceRuns.size).toBe(3);

        // Faults, while work is under way: a scheduler, a worker, the broker.
        await poll(
          'some progress',
          60_000,
          () => executions(s.execLog).filter((e) => e.what === 'end').length > 300,
        );
        schedulers[1]!.child.kill('SIGKILL');
        // A worker killed while it holds attempts: one with a start and no end yet.
        const victim = await poll('a worker to be mid-attempt', 60_000, () => {
          const log = executions(s.execLog);
          const ended = new Set(
            log.filter((e) => e.what === 'end').map((e) => `${e.worker}/${e.runId}/${e.taskId}/${e.attempt}`),
          );
          return log.find(
            (e) => e.what === 'start' && !ended.has(`${e.worker}/${e.runId}/${e.taskId}/${e.attempt}`),
          )?.worker;
        });
        workers.find((w) => w.name === victim)!.child.kill('SIGKILL');
        const killedWorkerAt = Date.now();
        await restartKafka();

        // Everything finishes: read the shared store directly.
        const store: CheckpointStore = await openStore(s.store);
        try {
          const allRuns = [...workflowRuns, ...namespaceRuns];
          await poll('every task to succeed', 240_000, async () => {
            for (const runId of allRuns) {
              const tasks = await store.getTasks(runId);
              if (tasks.length === 0 || tasks.some((t) => t.status !== 'succeeded')) return undefined;
            }
            return true;
          }).catch(async (err: unknown) => {
            const lines = [];
            for (const runId of allRuns) {
              const tasks = await store.getTasks(runId);
              const open = tasks.filter((t) => t.status !== 'succeeded');
              if (open.length)
                lines.push(`${runId}: ${open.length} open, e.g. ${JSON.stringify(open.slice(0, 2))}`);
            }
            const tails = startedCli()
              .map((p) => `--- ${p.name}\n${p.output().slice(-1500)}`)
              .join('\n');
            throw new Error(`${String(err)}\n${lines.join('\n')}\n${tails}`);
          });
          for (const runId of workflowRuns)
            await poll(`workflow run ${runId} to finish`, 30_000, async () =>
              (await store.getRun(runId))?.status === 'succeeded' ? true : undefined,
            );

          // Exactly one recorded success per task. Per task, its executions in start order; each
          // repeat is put in one of these classes:
          // - after an earlier execution had ENDED on a worker that lived: a completed task ran
          //   again, which must never happen (a new attempt dispatched although one completed, or
          //   the same attempt redelivered to another member): listed and failed;
          // - every earlier execution was on the killed worker: its worker died mid-attempt (or
          //   before its result got out): allowed, counted;
          // - an earlier execution was still running on a live worker: the same attempt delivered
          //   twice at once (a rebalance moved its partition mid-attempt): counted and reported.
          const log = executions(s.execLog);
          let tasks = 0;
          const repeats = { total: 0, afterKilledWorker: 0, concurrent: 0 };
          const completedRanAgain: string[] = [];
          for (const runId of allRuns) {
            const successes = new Map<string, number>();
            for (const e of await store.getEvents(runId))
              if (e.type === 'task:attempt:succeeded' && e.taskId)
                successes.set(e.taskId, (successes.get(e.taskId) ?? 0) + 1);
            const records = await store.getTasks(runId);
            tasks += records.length;
            for (const t of records) {
              expect(successes.get(t.taskId), `${runId}/${t.taskId}`).toBe(1);
              const mine = log.filter((e) => e.runId === runId && e.taskId === t.taskId);
              const starts = mine.filter((e) => e.what === 'start').sort((a, b) => a.at - b.at);
              expect(starts.length, `${runId}/${t.taskId} ran`).toBeGreaterThanOrEqual(1);
              for (const [i, again] of starts.entries()) {
                if (i === 0) continue;
                repeats.total++;
                const endedLive = mine.filter(
                  (e) => e.what === 'end' && e.at <= again.at && e.worker !== victim,
                );
                if (endedLive.length > 0) {
                  const kind = endedLive.some((e) => e.attempt < again.attempt)
                    ? 'new attempt'
                    : 'same attempt';
                  completedRanAgain.push(
                    `${runId}/${t.taskId} attempt ${again.attempt} on ${again.worker} (${kind}; ended before on ${endedLive[0]!.worker})`,
                  );
                } else if (starts.slice(0, i).every((e) => e.worker === victim)) repeats.afterKilledWorker++;
                else repeats.concurrent++;
              }
            }
          }
          expect(tasks).toBe(21 * 10 + 2000);
          process.stdout.write(
            `cluster (${kind}): ${tasks} tasks, each with one recorded success. Repeated executions: ${repeats.total} ` +
              `(${repeats.afterKilledWorker} after the killed worker ${victim} had started them; ${repeats.concurrent} ` +
              `while an earlier execution was still running on a live worker; ${completedRanAgain.length} after a ` +
              `completed execution). Worker killed ${Math.round((Date.now() - killedWorkerAt) / 1000)} s before the end.\n`,
          );
          // No completed task ran again unless its worker died mid-attempt.
          expect(completedRanAgain, 'completed tasks that ran again').toEqual([]);
          // The survivors took the killed scheduler's runs over.
          const takeovers = schedulers.filter((p) => p !== schedulers[1]).map((p) => p.output());
          expect(takeovers.join('\n')).toMatch(/cluster: resumed run/);
        } finally {
          await store.close();
        }
      }, 420_000);

      if (kind === 'cassandra') {
        it('smartqueue replay --store cassandra://... finishes a run whose scheduler and worker were killed', async () => {
          const id = randomUUID().slice(0, 8);
          const s = setup(await freshStore('cassandra', id), id);
          const scheduler = startScheduler(s, 'solo');
          const address = await listening(scheduler);
          const worker = startWorker(s, 'wsolo', 4);
          await poll('wsolo to join', 60_000, () => scheduler.output().includes('worker wsolo joined'));
          const client = createSmartQueueClient(address);
          clients.push(client);
          const { runId } = await client.submitWorkflow({
            yaml: workflowYaml('replayed'),
            fileName: 'replayed.yaml',
          });
          await poll('the first tasks to finish', 60_000, () =>
            executions(s.execLog).some(
              (e) => e.runId === runId && e.what === 'end' && e.taskId.startsWith('part-'),
            ),
          );
          scheduler.child.kill('SIGKILL');
          worker.child.kill('SIGKILL');
          await Promise.all([scheduler.exited, worker.exited]);

          const replay = await run(
            process.execPath,
            [BIN, 'replay', runId, '--store', s.store, '--handlers', HANDLERS, '--json'],
            {
              cwd: ROOT,
              env: { ...process.env, SMARTQUEUE_TEST_EXEC_LOG: s.execLog, SMARTQUEUE_TEST_WORKER: 'replay' },
            },
          );
          expect(replay.stdout).toMatch(/succeeded/);
          const store = await openStore(s.store);
          try {
            expect((await store.getRun(runId))?.status).toBe('succeeded');
            const successes = new Map<string, number>();
            for (const e of await store.getEvents(runId))
              if (e.type === 'task:attempt:succeeded')
                successes.set(e.taskId!, (successes.get(e.taskId!) ?? 0) + 1);
            expect(successes.size).toBe(10);
            expect([...successes.values()].every((n) => n === 1)).toBe(true);
            // The replay ran only what had not succeeded before the kill.
            const replayed = executions(s.execLog).filter((e) => e.runId === runId && e.worker === 'replay');
            expect(replayed.length).toBeGreaterThan(0);
            expect(replayed.some((e) => e.taskId === 'extract')).toBe(false);
          } finally {
            await store.close();
          }
        }, 180_000);
      }
    });
  });
}
