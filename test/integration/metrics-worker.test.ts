/**
 * A remote worker started by the CLI (`smartqueue worker --metrics-address`) serves its own
 * /metrics: the attempts it ran by handler and outcome, its slots, heartbeats sent, and the
 * default process metrics; the server it works for counts its heartbeats. Runs bin/smartqueue.js,
 * so `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, expect, it } from 'vitest';
import { createSmartQueueClient } from '../../plugins/api/grpc/client.js';
import { createServer } from '../../runtime/server.js';
import type { SmartQueueServer } from '../../runtime/server.js';
import { killAllCli, startCli, until } from '../support/processes.js';
import { findExecutable, IN_CI } from '../support/services.js';

const YAML = `apiVersion: smartqueue/v1
kind: Workflow
metadata: { name: worker-metrics }
spec:
  tasks:
    - { id: a, uses: noop }
    - { id: b, uses: noop, needs: [a] }
    - { id: c, uses: sleep, with: { duration: 20ms }, needs: [a] }
    - { id: d, uses: noop, needs: [b, c] }
`;

let server: SmartQueueServer | undefined;
afterEach(async () => {
  const left = await killAllCli();
  await server?.close();
  server = undefined;
  // Each test stops its own processes: none should have needed the SIGKILL.
  expect(left.filter((p) => p.child.signalCode === 'SIGKILL').map((p) => p.name)).toEqual([]);
});

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

it('serves a CLI worker’s metrics at --metrics-address, and the server counts its heartbeats', async () => {
  server = await createServer({ listen: '127.0.0.1:0', http: '127.0.0.1:0', statePath: false });
  const worker = startCli('worker', [
    'worker',
    '--server',
    server.address,
    '--capacity',
    '3',
    '--heartbeat-interval',
    '50',
    '--metrics-address',
    '127.0.0.1:0',
  ]);
  const metricsUrl = await until('the worker metrics address', 20_000, () => {
    if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.output()}`);
    return /metrics on (http:\/\/\S+\/metrics)/.exec(worker.output())?.[1];
  });
  await until('the worker to register', 20_000, () => server!.remote.workers().length === 1);

  const client = createSmartQueueClient(server.address);
  let runId: string;
  try {
    ({ runId } = await client.submitWorkflow({ yaml: YAML }));
  } finally {
    client.close();
  }
  expect(await server.engine.waitForRun(runId)).toBe('succeeded');

  // Results are reported before they are counted as finished by the server: wait for the count.
  const text = await until('the worker to count its attempts', 10_000, async () => {
    const t = await (await fetch(metricsUrl)).text();
    const beats = value(t, 'smartqueue_worker_heartbeats_sent_total') ?? 0;
    return value(t, 'smartqueue_worker_attempts_total{handler="noop",outcome="succeeded"}') === 3 &&
      beats >= 2
      ? t
      : undefined;
  });
  expect(value(text, 'smartqueue_worker_attempts_total{handler="sleep",outcome="succeeded"}')).toBe(1);
  expect(value(text, 'smartqueue_worker_attempt_seconds_count{handler="noop",outcome="succeeded"}')).toBe(3);
  expect(value(text, 'smartqueue_worker_attempt_seconds_count{handler="sleep",outcome="succeeded"}')).toBe(1);
  expect(value(text, 'smartqueue_worker_threads{state="busy"}')).toBe(0);
  expect(value(text, 'smartqueue_worker_threads{state="idle"}')).toBe(3);
  expect(value(text, 'smartqueue_worker_steals_total{result="attempted"}')).toBe(0);
  expect(text).toMatch(/^smartqueue_build_info\{version="[^"]+"\} 1$/m);
  expect(text).toContain('# TYPE process_resident_memory_bytes gauge');
  expect(text).not.toContain('smartqueue_kafka_consumer_lag');

  const serverText = await (await fetch(`http://${server.httpAddress!}/metrics`)).text();
  expect(value(serverText, 'smartqueue_workers{state="alive"}')).toBe(1);
  expect(value(serverText, 'smartqueue_worker_heartbeats_received_total')).toBeGreaterThanOrEqual(2);
  expect(value(serverText, 'smartqueue_task_attempts_succeeded_total{handler="noop"}')).toBe(3);

  const promtool = findExecutable('promtool');
  if (!promtool && IN_CI)
    throw new Error('promtool is not installed (bash scripts/services install prometheus)');
  if (promtool) {
    const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  }

  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
  // Stopped with the worker: the port no longer answers.
  await expect(fetch(metricsUrl)).rejects.toThrow();
});

it('refuses a malformed --metrics-address before connecting', async () => {
  const worker = startCli('bad-worker', [
    'worker',
    '--server',
    '127.0.0.1:1',
    '--metrics-address',
    'nine-four-six-five',
  ]);
  expect(await worker.exited).not.toBe(0);
  expect(worker.output()).toContain('the metrics address must be host:port');
});
