/** SubmitWorkflow: YAML text → validated, compiled plan → a new run. */
import { compileWorkflow } from '../../../dsl/compiler.js';
import type { CompiledPlan } from '../../../dsl/compiler.js';
import { loadYamlText } from '../../../dsl/load.js';
import { SmartQueueError } from '../../../engine/errors.js';
import type { SourceDiagnostic } from '../../../engine/errors.js';
import type { SubmitWorkflowRequest__Output } from '../../../proto/generated/smartqueue/v1/SubmitWorkflowRequest.js';
import type { SubmitWorkflowResponse } from '../../../proto/generated/smartqueue/v1/SubmitWorkflowResponse.js';
import { badRequest } from './errors.js';
import { fingerprint, IdempotencyCache } from './idempotency.js';
import type { ResolvedGrpcApiOptions } from './options.js';

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
  const keys = new IdempotencyCache<{ runId: string; workflow: string }>(limits.maxIdempotencyKeys);

  const submit = async (req: SubmitWorkflowRequest__Output) => {
    const file = req.fileName || '<input>';
    const plan = choose(compileText(req.yaml, file, limits.maxTasksPerSubmission), req.workflow, file);
    const runId = await engine.startRun(plan, { params: { ...req.params }, labels: { ...req.labels } });
    return { runId, workflow: plan.ir.name };
  };

  return async (req: SubmitWorkflowRequest__Output): Promise<SubmitWorkflowResponse> => {
    if (!req.yaml.trim())
      throw badRequest([{ field: 'yaml', description: 'is required (the workflow YAML text)' }]);
    if (!req.idempotencyKey) return { ...(await submit(req)), deduplicated: false };
    const { idempotencyKey: _key, ...rest } = req;
    const r = await keys.run(req.idempotencyKey, fingerprint(rest), () => submit(req));
    return { ...r.value, deduplicated: r.deduplicated };
  };
}
