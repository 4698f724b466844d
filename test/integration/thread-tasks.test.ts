/**
 * `thread: true` tasks end to end: the embedded runtime and a remote worker run them in worker
 * threads (handlers from a --handlers module), other tasks on the main thread, and a crashing
 * thread fails only its own task.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { handlerModules, loadHandlersModule } from '../../cli/handlers-module.js';
import { compileYaml } from '../unit/engine/harness.js';
import { createThreadRunner } from '../../engine/threads/run-in-thread.js';
import { createRemoteWorker } from '../../plugins/transport/remote/index.js';
import { createEmbeddedRuntime } from '../../runtime/embedded.js';
import { createServer } from '../../runtime/server.js';

const MODULE = path.resolve(import.meta.dirname, '../fixtures/threads/handlers.ts');
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const WORKFLOW = `apiVersion: smartqueue/v1
kind: Workflow
metadata: { name: threads }
spec:
  failurePolicy: continue
  tasks:
    - { id: hot, uses: where, thread: true }
    - { id: cool, uses: where }
    - { id: burn, uses: burn, thread: true, with: { ms: 20 }, needs: [hot] }
    - { id: boom, uses: crash, thread: true }
    - { id: after, uses: where, thread: true, needs: [boom] }
    - { id: later, uses: where, thread: true, needs: [burn] }
`;

async function checkRun(
  tasks: Map<string, { status: string; outputs?: Record<string, unknown>; error?: string }>,
) {
  expect(tasks.get('hot')).toMatchObject({ status: 'succeeded', outputs: { mainThread: false } });
  expect(tasks.get('cool')).toMatchObject({ status: 'succeeded', outputs: { mainThread: true } });
  expect(tasks.get('burn')!.status).toBe('succeeded');
  expect(tasks.get('boom')!.status).toBe('failed');
  expect(tasks.get('boom')!.error).toContain("the handler's thread died");
  expect(tasks.get('after')!.status).toBe('skipped');
  // The pool replaced the crashed thread: later thread tasks still run in threads.
  expect(tasks.get('later')).toMatchObject({ status: 'succeeded', outputs: { mainThread: false } });
}

describe('thread: true tasks', () => {
  it('run in worker threads in the embedded runtime; the rest on the main thread', async () => {
    const handlers = await loadHandlersModule(MODULE);
    const runtime = await createEmbeddedRuntime({
      statePath: false,
      handlers,
      handlerModules: handlerModules(MODULE, handlers),
      threads: 2,
    });
    closers.push(() => runtime.close());
    const runId = await runtime.engine.startRun(compileYaml(WORKFLOW));
    expect(await runtime.engine.waitForRun(runId)).toBe('failed');
    await checkRun(new Map((await runtime.store.getTasks(runId)).map((t) => [t.taskId, t])));
  }, 30_000);

  it('run in worker threads on a remote worker', async () => {
    const server = await createServer({ listen: '127.0.0.1:0', statePath: false, rateLimit: false });
    closers.push(() => server.close());
    const handlers = await loadHandlersModule(MODULE);
    const threads = createThreadRunner({ modules: handlerModules(MODULE, handlers), threads: 2 });
    closers.push(() => threads.close());
    const worker = createRemoteWorker({
      server: server.address,
      id: 'w1',
      capacity: 4,
      handlers,
      threads,
    });
    closers.push(() => worker.close({ graceMs: 0 }));
    worker.start();
    await worker.ready();
    const runId = await server.engine.startRun(compileYaml(WORKFLOW));
    expect(await server.engine.waitForRun(runId)).toBe('failed');
    await checkRun(new Map((await server.store.getTasks(runId)).map((t) => [t.taskId, t])));
    expect(threads.stats().threads).toBe(2);
  }, 30_000);
});
