/**
 * Worker load end to end: a real server (createServer, gRPC on loopback) and in-process remote
 * workers heartbeating every 50 ms. The measured load arrives on the server, and the engine's
 * balancer sends work to the worker whose heartbeats say it is less loaded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compileWorkflow } from '../../dsl/compiler.js';
import { loadYamlText } from '../../dsl/load.js';
import type { TaskHandler } from '../../engine/handler.js';
import type { PoolLoad } from '../../engine/load-sampler.js';
import { createRemoteWorker } from '../../plugins/transport/remote/index.js';
import type { RemoteWorker } from '../../plugins/transport/remote/index.js';
import { createServer } from '../../runtime/server.js';
import type { SmartQueueServer } from '../../runtime/server.js';
import { eventually } from '../unit/engine/harness.js';

const open: (RemoteWorker | SmartQueueServer)[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

const WORKFLOW = `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: three
spec:
  tasks:
    - id: a
      uses: noop
    - id: b
      uses: noop
    - id: c
      uses: noop
`;

describe('worker load in heartbeats', () => {
  it('arrives on the server with every field, and steers work away from the loaded worker', async () => {
    const server = await createServer({ listen: '127.0.0.1:0', statePath: false, rateLimit: false });
    open.push(server);
    const ran: string[] = [];
    const worker = (id: string, extra: { pool?: () => PoolLoad; load?: () => number } = {}) => {
      const noop: TaskHandler = () => {
        ran.push(id);
        return {};
      };
      const w = createRemoteWorker({
        server: server.address,
        id,
        capacity: 4,
        handlers: new Map([['noop', noop]]),
        heartbeatIntervalMs: 50,
        ...extra,
      });
      open.push(w);
      w.start();
      return w;
    };
    // `busy` says its pool is backed up (20 queued tasks) and adds 1 through the `load` option.
    const busy = worker('busy', { pool: () => ({ threads: 2, busy: 2, queued: 20 }), load: () => 1 });
    const idle = worker('idle');
    await Promise.all([busy.ready(), idle.ready()]);
    await eventually(() => server.remote.workerLoads().size === 2);

    const loads = server.remote.workerLoads();
    const b = loads.get('busy')!;
    expect(b).toMatchObject({ running: 0, threads: 2, busyThreads: 2, queued: 20 });
    expect(b.load).toBeGreaterThanOrEqual(21); // 20 queued + 1 extra (+ any CPU or lag penalty)
    const i = loads.get('idle')!;
    expect(i).toMatchObject({ running: 0, threads: 0, busyThreads: 0, queued: 0 });
    for (const l of [b, i]) {
      expect(l.memoryBytes).toBeGreaterThan(1e6); // both are this process: its RSS
      expect(l.cpu).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(l.cpu)).toBe(true);
      expect(l.eventLoopLagMs).toBeGreaterThanOrEqual(0);
      expect(l.at).toBeGreaterThan(Date.now() - 5000);
    }
    // At most 6 (a saturated CPU and a stalled loop on a capacity of 4): well below `busy`.
    expect(i.load).toBeLessThan(b.load);

    // Three tasks of cost 1: `idle` stays below (20 + 1) / 4 all along, so it gets them all.
    const loaded = loadYamlText(WORKFLOW, 'three.yaml');
    const w = loaded.workflows[0]!;
    const plan = compileWorkflow(w.ir, w.source, { taskIndex: w.taskIndex }).plan!;
    const runId = await server.engine.startRun(plan);
    expect(await server.engine.waitForRun(runId)).toBe('succeeded');
    expect(ran).toEqual(['idle', 'idle', 'idle']);

    // The latest heartbeat replaces the previous one.
    const at = server.remote.workerLoads().get('idle')!.at;
    await eventually(() => server.remote.workerLoads().get('idle')!.at > at);
  });
});
