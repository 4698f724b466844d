/** SubmitWorkflow: YAML text or compiled IR → validated, compiled plan → a new run. */
import { compileWorkflow } from '../../../dsl/compiler.js';
import type { CompiledPlan } from '../../../dsl/compiler.js';
import { parseWorkflowIr } from '../../../dsl/ir-schema.js';
import { loadYamlText } from '../../../dsl/load.js';
import { SmartQueueError } from '../../../engine/errors.js';
import type { SourceDiagnostic } from '../../../engine/errors.js';
import type { TraceCarrier } from '../../../engine/stages.js';
import type { SubmitWorkflowRequest__Output } from '../../../proto/generated/smartqueue/v1/SubmitWorkflowRequest.js';
import type { SubmitWorkflowResponse } from '../../../proto/generated/smartqueue/v1/SubmitWorkflowResponse.js';
import { fromStruct } from './convert.js';
import { badRequest } from './errors.js';
import { fingerprint, IdempotencyCache } from './idempotency.js';
import type { ResolvedGrpcApiOptions, SharedIdempotencyKeys } from './options.js';

/** Loads and compiles every workflow of the text; throws INVALID_WORKFLOW with every diagnostic. */
function compileText(text: string, file: string, maxTasks: number): CompiledPlan[] {
  const loaded = loadYamlText(text, file);
  const tasks = loaded.workflows.reduce((n, w) => n + w.ir.tasks.length, 0);
  if (tasks > maxTasks) {
    throw new SmartQueueError(
      'RESOURCE_EXHAUSTED',
      `${file} holds ${tasks} tasks; this server accepts at most ${maxTasks} per submission`,
      { details: { tasks, limit: maxTasks } },
    );
  }
  const diagnostics: SourceDiagnostic[] = [...loaded.diagnostics];
  const plans: CompiledPlan[] = [];
  for (const w of loaded.workflows) {
    const r = compileWorkflow(w.ir, w.source, { taskIndex: w.taskIndex, partial: w.partial });
    diagnostics.push(...r.diagnostics);
    if (r.plan && !w.partial) plans.push(r.plan);
  }
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  if (errors) throw new SmartQueueError('INVALID_WORKFLOW', `${file}: ${errors} error(s)`, { diagnostics });
  if (plans.length === 0) throw badRequest([{ field: 'yaml', description: `${file} holds no workflow` }]);
  return plans;
}

/** Checks and compiles an IR given as a Struct; field violations name `ir.<path>`. */
function compileIr(req: SubmitWorkflowRequest__Output, file: string, maxTasks: number): CompiledPlan {
  const parsed = parseWorkflowIr(fromStruct(req.ir ?? undefined, 'ir'));
  if (!parsed.ok) {
    throw badRequest(
      parsed.problems.map((p) => ({ field: p.path ? `ir.${p.path}` : 'ir', description: p.message })),
    );
  }
  const { ir } = parsed;
  if (ir.tasks.length > maxTasks) {
    throw new SmartQueueError(
      'RESOURCE_EXHAUSTED',
      `${file} holds ${ir.tasks.length} tasks; this server accepts at most ${maxTasks} per submission`,
      { details: { tasks: ir.tasks.length, limit: maxTasks } },
    );
  }
  if (req.workflow && req.workflow !== ir.name)
    throw new SmartQueueError('NOT_FOUND', `${file} has no workflow "${req.workflow}"; it has: ${ir.name}`);
  // An IR has no text to point into: positions are 1:1 and the path says where.
  const r = compileWorkflow(ir, { file, locate: () => ({ line: 1, column: 1 }) });
  const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
  if (errors || !r.plan)
    throw new SmartQueueError('INVALID_WORKFLOW', `${file}: ${errors} error(s)`, {
      diagnostics: r.diagnostics,
    });
  return r.plan;
}

function choose(plans: CompiledPlan[], name: string, file: string): CompiledPlan {
  if (!name) {
    if (plans.length === 1) return plans[0]!;
    const names = plans.map((p) => p.ir.name).join(', ');
    throw badRequest([
      { field: 'workflow', description: `${file} holds ${plans.length} workflows (${names}); choose one` },
    ]);
  }
  const plan = plans.find((p) => p.ir.name === name);
  if (!plan) {
    const names = plans.map((p) => p.ir.name).join(', ');
    throw new SmartQueueError('NOT_FOUND', `${file} has no workflow "${name}"; it has: ${names}`);
  }
  return plan;
}

export function createSubmitWorkflow(options: ResolvedGrpcApiOptions) {
  const { engine, limits } = options;
  const keys = new IdempotencyCache<{ runId: string; workflow: string; deduplicated: boolean }>(
    limits.maxIdempotencyKeys,
  );

  const compile = (req: SubmitWorkflowRequest__Output): CompiledPlan =>
    req.source === 'ir'
      ? compileIr(req, req.fileName || '<ir>', limits.maxTasksPerSubmission)
      : choose(
          compileText(req.yaml ?? '', req.fileName || '<input>', limits.maxTasksPerSubmission),
          req.workflow,
          req.fileName || '<input>',
        );
  const start = async (
    req: SubmitWorkflowRequest__Output,
    plan: CompiledPlan,
    traceContext?: TraceCarrier,
    runId?: string,
  ) => {
    const id = await engine.startRun(plan, {
      params: { ...req.params },
      labels: { ...req.labels },
      ...(traceContext && { traceContext }),
      ...(runId !== undefined && { runId }),
    });
    return { runId: id, workflow: plan.ir.name, deduplicated: false };
  };
  const submit = (req: SubmitWorkflowRequest__Output, traceContext?: TraceCarrier) =>
    start(req, compile(req), traceContext);
  const shared = options.sharedKeys && sharedSubmit(options, options.sharedKeys, compile, start);

  return async (
    req: SubmitWorkflowRequest__Output,
    traceContext?: TraceCarrier,
  ): Promise<SubmitWorkflowResponse> => {
    if (req.source === 'ir' ? !req.ir : !req.yaml?.trim())
      throw badRequest([
        {
          field: req.source === 'ir' ? 'ir' : 'yaml',
          description: 'is required: the workflow as YAML text (`yaml`) or compiled IR (`ir`)',
        },
      ]);
    if (!req.idempotencyKey) return submit(req, traceContext);
    const { idempotencyKey: key, ...rest } = req;
    const print = fingerprint(rest);
    // Concurrent calls with one key in this process share one execution; across instances the
    // shared reservation decides.
    const r = await keys.run(key, print, () =>
      shared ? shared(req, key, print, traceContext) : submit(req, traceContext),
    );
    return { ...r.value, deduplicated: r.deduplicated || r.value.deduplicated };
  };
}

/** What a shared idempotency key holds: the request's fingerprint, its run, who reserved it. */
interface HeldKey {
  print: string;
  runId: string;
  workflow: string;
  instance: string;
}

/**
 * SubmitWorkflow with a key shared across instances: the workflow is compiled (a bad request
 * reserves nothing), a run id drawn, and the key reserved for {fingerprint, run id} before the
 * run starts, so two instances given the same key agree on one run. Whoever finds the key held:
 * a different request → ALREADY_EXISTS; the same one → that run (deduplicated), once it exists;
 * its own earlier reservation whose run never started (that start failed) → starts it now.
 */
function sharedSubmit(
  options: ResolvedGrpcApiOptions,
  shared: SharedIdempotencyKeys,
  compile: (req: SubmitWorkflowRequest__Output) => CompiledPlan,
  start: (
    req: SubmitWorkflowRequest__Output,
    plan: CompiledPlan,
    traceContext?: TraceCarrier,
    runId?: string,
  ) => Promise<{ runId: string; workflow: string; deduplicated: boolean }>,
) {
  const ttlMs = shared.ttlMs ?? 86_400_000;
  const waitMs = shared.waitMs ?? 10_000;
  return async (
    req: SubmitWorkflowRequest__Output,
    key: string,
    print: string,
    traceContext?: TraceCarrier,
  ) => {
    const plan = compile(req);
    const mine: HeldKey = {
      print,
      runId: options.engine.newRunId(),
      workflow: plan.ir.name,
      instance: shared.instanceId,
    };
    const held = JSON.parse(
      await shared.reserve(`idempotency/SubmitWorkflow/${key}`, JSON.stringify(mine), { ttlMs }),
    ) as HeldKey;
    if (held.print !== print) {
      throw new SmartQueueError(
        'ALREADY_EXISTS',
        `idempotency key "${key}" was already used for a different request`,
        { details: { idempotencyKey: key, runId: held.runId } },
      );
    }
    if (held.runId === mine.runId) return start(req, plan, traceContext, mine.runId);
    const deduplicated = { runId: held.runId, workflow: held.workflow, deduplicated: true };
    if (await options.store.getRun(held.runId)) return deduplicated;
    if (held.instance === shared.instanceId) {
      // This instance reserved it earlier and that start failed (this process serializes calls
      // per key): finish what it began, under the reserved run id.
      return start(req, plan, traceContext, held.runId);
    }
    // Another instance is starting it right now, or died between reserving and starting.
    const until = Date.now() + waitMs;
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (await options.store.getRun(held.runId)) return deduplicated;
    }
    throw new SmartQueueError(
      'UNAVAILABLE',
      `idempotency key "${key}" is held by scheduler ${held.instance}, whose run ${held.runId} has not started within ${waitMs} ms; retry later`,
      { details: { idempotencyKey: key, runId: held.runId, instance: held.instance } },
    );
  };
}
