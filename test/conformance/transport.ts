/**
 * The conformance suite of the Transport stage: every implementation (in-process, Kafka)
 * registers it from its own `*.test.ts` file and must pass it unchanged.
 *
 * It only uses the Transport interface and waits for deliveries with a deadline rather than a
 * tick, so networked transports pass it too. Every test uses fresh random worker and run ids, so
 * a transport whose topics outlive one test still sees only its own messages.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../engine/errors.js';
import type { TaskAssignment, TaskResult, Transport, WorkerEndpoint } from '../../engine/stages.js';

/** What a factory hands the suite: a fresh, open transport and how to dispose of it. */
export interface TransportHandle {
  transport: Transport;
  /** Runs after the suite closed the transport; removes topics and the like. */
  cleanup?: () => Promise<void>;
}

/** Timing knobs for transports with real network latency. */
export interface TransportConformanceOptions {
  /**
   * How long the suite waits for a message to arrive, in ms.
   * @default 5000
   */
  deliveryTimeoutMs?: number;
  /**
   * How long the suite watches for a message that must NOT arrive, in ms.
   * @default 200
   */
  quietPeriodMs?: number;
  /**
   * How a transport picks the worker that gets an assignment. 'addressed': exactly
   * `assignment.workerId`. 'group': the subscribed workers form one consumer group (Kafka) and
   * the transport decides; `workerId` is advice, so the suite checks that each assignment
   * reaches exactly one of the subscribed workers, and that a cancel reaches the one holding it.
   * @default 'addressed'
   */
  delivery?: 'addressed' | 'group';
}

type CancelMessage = { runId: string; taskId: string; attempt: number };

/** A worker endpoint that records what it receives. */
class RecordingEndpoint implements WorkerEndpoint {
  readonly tasks: TaskAssignment[] = [];
  readonly cancels: CancelMessage[] = [];
  onTask(assignment: TaskAssignment): void {
    this.tasks.push(assignment);
  }
  onCancel(cancel: CancelMessage): void {
    this.cancels.push(cancel);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Registers the Transport conformance tests. `factory` is called once per test and must return
 * a new transport (scheduler and worker side are the same object).
 */
export function transportConformance(
  name: string,
  factory: () => Promise<TransportHandle> | TransportHandle,
  options: TransportConformanceOptions = {},
): void {
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 5000;
  const quietPeriodMs = options.quietPeriodMs ?? 200;
  const delivery = options.delivery ?? 'addressed';

  describe(`Transport conformance: ${name}`, () => {
    let handle: TransportHandle;
    let transport: Transport;
    let runId: string;

    beforeEach(async () => {
      handle = await factory();
      transport = handle.transport;
      runId = `run-${randomUUID()}`;
    });

    afterEach(async () => {
      await transport.close();
      await handle.cleanup?.();
    });

    async function until(what: string, done: () => boolean): Promise<void> {
      const deadline = Date.now() + deliveryTimeoutMs;
      while (!done()) {
        if (Date.now() > deadline)
          throw new Error(`timed out after ${deliveryTimeoutMs}ms waiting for ${what}`);
        await sleep(5);
      }
    }

    function workerId(): string {
      return `w-${randomUUID()}`;
    }

    function assignment(
      worker: string,
      taskId: string,
      overrides: Partial<TaskAssignment> = {},
    ): TaskAssignment {
      return {
        runId,
        taskId,
        attempt: 1,
        workerId: worker,
        shard: 3,
        idempotencyKey: `${runId}/${taskId}`,
        handler: { kind: 'run', argv: ['echo', 'hi there', '$(not a shell)'], env: { A: '1' } },
        inputs: { extract: { rows: 12, path: '/tmp/x', nested: { ok: true, list: [1, 'two', null] } } },
        params: { day: '2024-05-01', n: 3 },
        timeoutMs: 30_000,
        deadlineAt: 1_900_000_000_000,
        headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
        ...overrides,
      };
    }

    function result(worker: string, taskId: string, overrides: Partial<TaskResult> = {}): TaskResult {
      return {
        runId,
        taskId,
        attempt: 1,
        workerId: worker,
        ok: true,
        outputs: { rows: 12, nested: { list: [1, 2] } },
        startedAt: 1_700_000_000_000,
        finishedAt: 1_700_000_000_250,
        ...overrides,
      };
    }

    it('delivers an assignment to the subscribed worker, unchanged', async () => {
      const worker = workerId();
      const endpoint = new RecordingEndpoint();
      const unsubscribe = await transport.subscribe(worker, endpoint);
      const sent = assignment(worker, 'a');
      await transport.dispatch(sent);
      await until('the assignment', () => endpoint.tasks.length > 0);
      expect(endpoint.tasks).toEqual([sent]);
      await unsubscribe();
    });

    it('delivers a uses-handler assignment without optional fields', async () => {
      const worker = workerId();
      const endpoint = new RecordingEndpoint();
      await transport.subscribe(worker, endpoint);
      const sent: TaskAssignment = {
        runId,
        taskId: 'b',
        attempt: 2,
        workerId: worker,
        shard: 0,
        idempotencyKey: `${runId}/b`,
        handler: { kind: 'uses', name: 'http', with: { url: 'https://example.com', body: { a: [1] } } },
        inputs: {},
        params: {},
      };
      await transport.dispatch(sent);
      await until('the assignment', () => endpoint.tasks.length > 0);
      expect(endpoint.tasks).toEqual([sent]);
    });

    if (delivery === 'addressed')
      it('delivers only to the addressed worker', async () => {
        const [w1, w2] = [workerId(), workerId()];
        const [e1, e2] = [new RecordingEndpoint(), new RecordingEndpoint()];
        await transport.subscribe(w1, e1);
        await transport.subscribe(w2, e2);
        await transport.dispatch(assignment(w1, 'for-1'));
        await transport.dispatch(assignment(w2, 'for-2'));
        await until('both assignments', () => e1.tasks.length > 0 && e2.tasks.length > 0);
        await sleep(quietPeriodMs);
        expect(e1.tasks.map((t) => t.taskId)).toEqual(['for-1']);
        expect(e2.tasks.map((t) => t.taskId)).toEqual(['for-2']);
      });

    if (delivery === 'group')
      it('delivers each assignment exactly once to one of the group, and cancels to its holder', async () => {
        const [w1, w2] = [workerId(), workerId()];
        const [e1, e2] = [new RecordingEndpoint(), new RecordingEndpoint()];
        await transport.subscribe(w1, e1);
        await transport.subscribe(w2, e2);
        const ids = Array.from({ length: 8 }, (_, i) => `g${i}`);
        // Different shards, so the group may spread them over its members.
        for (const [i, id] of ids.entries()) {
          await transport.dispatch(assignment(i % 2 ? w2 : w1, id, { shard: i }));
        }
        const all = () => [...e1.tasks, ...e2.tasks].map((t) => t.taskId);
        await until('every assignment', () => new Set(all()).size === ids.length);
        await sleep(quietPeriodMs);
        expect(all().sort()).toEqual([...ids].sort());
        const holder = (id: string) => (e1.tasks.some((t) => t.taskId === id) ? e1 : e2);
        for (const [i, id] of ids.entries()) {
          await transport.cancel(i % 2 ? w2 : w1, { runId, taskId: id, attempt: 1 });
        }
        await until('every cancel', () => e1.cancels.length + e2.cancels.length === ids.length);
        await sleep(quietPeriodMs);
        for (const id of ids) {
          const other = holder(id) === e1 ? e2 : e1;
          expect(holder(id).cancels.filter((c) => c.taskId === id)).toHaveLength(1);
          expect(other.cancels.filter((c) => c.taskId === id)).toHaveLength(0);
        }
      });

    it('delivers every assignment of a burst, in order for one worker and shard', async () => {
      const worker = workerId();
      const endpoint = new RecordingEndpoint();
      await transport.subscribe(worker, endpoint);
      const ids = Array.from({ length: 200 }, (_, i) => `t${i}`);
      await Promise.all(ids.map((id) => transport.dispatch(assignment(worker, id))));
      await until('200 assignments', () => new Set(endpoint.tasks.map((t) => t.taskId)).size === ids.length);
      // Delivery is at least once: a redelivery may repeat a task, but first deliveries keep order.
      const firstSeen = [...new Set(endpoint.tasks.map((t) => t.taskId))];
      expect(firstSeen).toEqual(ids);
    });

    it('delivers results to every result listener until it unsubscribes', async () => {
      const worker = workerId();
      const first: TaskResult[] = [];
      const second: TaskResult[] = [];
      const offFirst = transport.onResult((r) => {
        if (r.runId === runId) first.push(r);
      });
      const offSecond = transport.onResult((r) => {
        if (r.runId === runId) second.push(r);
      });
      const ok = result(worker, 'a');
      await transport.publishResult(ok);
      await until('the result at both listeners', () => first.length > 0 && second.length > 0);
      expect(first).toEqual([ok]);
      expect(second).toEqual([ok]);

      offSecond();
      const { outputs: _outputs, ...withoutOutputs } = result(worker, 'b');
      const failed: TaskResult = {
        ...withoutOutputs,
        ok: false,
        attempt: 2,
        error: { message: 'boom', retryable: true, retryAfterMs: 1500, timedOut: false, cancelled: false },
      };
      await transport.publishResult(failed);
      await until('the second result', () => first.length > 1);
      await sleep(quietPeriodMs);
      expect(first[1]).toEqual(failed);
      expect(second).toHaveLength(1);
      offFirst();
    });

    it('delivers a cancel to the worker running the attempt, after the assignment', async () => {
      const worker = workerId();
      const endpoint = new RecordingEndpoint();
      await transport.subscribe(worker, endpoint);
      await transport.dispatch(assignment(worker, 'a', { attempt: 2 }));
      await transport.cancel(worker, { runId, taskId: 'a', attempt: 2 });
      await until('the cancel', () => endpoint.cancels.length > 0);
      expect(endpoint.tasks.map((t) => t.taskId)).toEqual(['a']);
      expect(endpoint.cancels).toEqual([{ runId, taskId: 'a', attempt: 2 }]);
    });

    it('stops delivering to a worker that unsubscribed', async () => {
      const worker = workerId();
      const endpoint = new RecordingEndpoint();
      const unsubscribe = await transport.subscribe(worker, endpoint);
      await unsubscribe();
      // A transport may refuse the dispatch (UNAVAILABLE) or accept it for a later subscriber.
      await transport.dispatch(assignment(worker, 'late')).catch((err: unknown) => {
        expect(err).toBeInstanceOf(SmartQueueError);
        expect((err as SmartQueueError).code).toBe('UNAVAILABLE');
      });
      await sleep(quietPeriodMs);
      expect(endpoint.tasks).toEqual([]);
    });

    it('does not deliver a dispatch whose signal is already aborted', async () => {
      const worker = workerId();
      const endpoint = new RecordingEndpoint();
      await transport.subscribe(worker, endpoint);
      const controller = new AbortController();
      const reason = new Error('shutting down');
      controller.abort(reason);
      await expect(
        transport.dispatch(assignment(worker, 'never'), { signal: controller.signal }),
      ).rejects.toBe(reason);
      await sleep(quietPeriodMs);
      expect(endpoint.tasks).toEqual([]);
    });

    it('after close, refuses to dispatch or publish with UNAVAILABLE, and close is idempotent', async () => {
      const worker = workerId();
      const endpoint = new RecordingEndpoint();
      await transport.subscribe(worker, endpoint);
      await transport.close();
      await transport.close();
      for (const call of [
        () => transport.dispatch(assignment(worker, 'a')),
        () => transport.publishResult(result(worker, 'a')),
      ]) {
        const error = await call().then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(error).toBeInstanceOf(SmartQueueError);
        expect((error as SmartQueueError).code).toBe('UNAVAILABLE');
      }
      await sleep(quietPeriodMs);
      expect(endpoint.tasks).toEqual([]);
    });
  });
}
