/**
 * SubmitWorkflow's idempotency keys shared by the instances of a cluster (a Coordinator's
 * reservations): two schedulers over one store and one coordinator, each with its own
 * in-process key cache, must agree on one run per key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Coordinator } from '../../../../engine/stages.js';
import { resolveGrpcApiOptions } from '../../../../plugins/api/grpc/options.js';
import { createSubmitWorkflow } from '../../../../plugins/api/grpc/submit-workflow.js';
import { createMemoryCheckpointStore } from '../../../../plugins/checkpoint/memory/index.js';
import { createInProcessCoordinator } from '../../../../plugins/coordinator/in-process/index.js';
import type { SubmitWorkflowRequest__Output } from '../../../../proto/generated/smartqueue/v1/SubmitWorkflowRequest.js';
import { rejectsWith } from '../../../support/errors.js';
import { createHarness, type Harness } from '../../engine/harness.js';

const YAML = `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: tiny
spec:
  tasks:
    - id: a
      uses: noop
`;

function request(key: string, params: Record<string, string> = {}): SubmitWorkflowRequest__Output {
  return {
    source: 'yaml',
    yaml: YAML,
    fileName: 'tiny.yaml',
    workflow: '',
    params,
    labels: {},
    idempotencyKey: key,
  } as unknown as SubmitWorkflowRequest__Output;
}

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

/** Two instances ("s1", "s2") over one store and one coordinator. */
async function cluster(waitMs = 2000) {
  const store = createMemoryCheckpointStore();
  const coordinator: Coordinator = createInProcessCoordinator();
  const submit = async (instanceId: string) => {
    const h = await createHarness({ store, coordinator, handlers: { noop: () => ({}) } });
    harnesses.push(h);
    return createSubmitWorkflow(
      resolveGrpcApiOptions({
        engine: h.engine,
        store,
        sharedKeys: { instanceId, reserve: (k, v, o) => coordinator.reserve(k, v, o), waitMs },
      }),
    );
  };
  return { store, coordinator, s1: await submit('s1'), s2: await submit('s2') };
}

describe('SubmitWorkflow idempotency keys shared across instances', () => {
  it('a retry on another instance gets the first run; a different request with the key is ALREADY_EXISTS', async () => {
    const { store, s1, s2 } = await cluster();
    const first = await s1(request('k1'));
    expect(first.deduplicated).toBe(false);
    const again = await s2(request('k1'));
    expect(again).toEqual({ runId: first.runId, workflow: 'tiny', deduplicated: true });
    await rejectsWith(s2(request('k1', { n: '2' })), 'ALREADY_EXISTS');
    expect((await store.listRuns({})).runs.map((r) => r.runId)).toEqual([first.runId]);
  });

  it('the same key sent to both instances at once makes one run', async () => {
    const { store, s1, s2 } = await cluster();
    const answers = await Promise.all([s1(request('k2')), s2(request('k2')), s1(request('k2'))]);
    expect(new Set(answers.map((a) => a.runId)).size).toBe(1);
    expect(answers.filter((a) => !a.deduplicated)).toHaveLength(1);
    expect((await store.listRuns({})).runs).toHaveLength(1);
  });

  it('starts the run of its own earlier reservation whose start failed, under the reserved id', async () => {
    const { store, coordinator, s1 } = await cluster();
    // What s1 left behind when its start failed after reserving (e.g. the store was down).
    const { fingerprint } = await import('../../../../plugins/api/grpc/idempotency.js');
    const { idempotencyKey: _k, ...rest } = request('k3');
    await coordinator.reserve(
      'idempotency/SubmitWorkflow/k3',
      JSON.stringify({ print: fingerprint(rest), runId: 'run_reserved', workflow: 'tiny', instance: 's1' }),
      { ttlMs: 60_000 },
    );
    const r = await s1(request('k3'));
    expect(r.runId).toBe('run_reserved');
    expect(await store.getRun('run_reserved')).toBeDefined();
  });

  it("answers UNAVAILABLE while another instance's reserved run does not appear", async () => {
    const { store, coordinator, s2 } = await cluster(300);
    const { fingerprint } = await import('../../../../plugins/api/grpc/idempotency.js');
    const { idempotencyKey: _k, ...rest } = request('k4');
    await coordinator.reserve(
      'idempotency/SubmitWorkflow/k4',
      JSON.stringify({ print: fingerprint(rest), runId: 'run_ghost', workflow: 'tiny', instance: 's9' }),
      { ttlMs: 60_000 },
    );
    const err = await rejectsWith(s2(request('k4')), 'UNAVAILABLE');
    expect(err.message).toContain('held by scheduler s9');
    expect(await store.getRun('run_ghost')).toBeUndefined();
  });

  it('reserves nothing for a request that does not compile', async () => {
    const { coordinator, s1 } = await cluster();
    await rejectsWith(s1({ ...request('k5'), yaml: 'not: [a workflow' }), 'INVALID_WORKFLOW');
    expect(await coordinator.reserve('idempotency/SubmitWorkflow/k5', 'free')).toBe('free');
  });
});
