/**
 * The environment of a `run` child. It starts empty, not from the parent's: a scheduler's
 * environment holds credentials that a task must not read unless it is given them on purpose.
 */
import type { HandlerContext } from '../../../engine/handler.js';

/**
 * Allow-listed parent variables, then the task's `env`, then the SMARTQUEUE_* identity of the
 * attempt (last, so a task cannot spoof its own run id or idempotency key).
 */
export function buildChildEnv(
  allowList: readonly string[],
  parentEnv: NodeJS.ProcessEnv,
  taskEnv: Record<string, string> | undefined,
  ctx: Pick<HandlerContext, 'runId' | 'taskId' | 'attempt' | 'idempotencyKey'>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of allowList) {
    const value = parentEnv[name];
    if (value !== undefined) env[name] = value;
  }
  if (taskEnv) Object.assign(env, taskEnv);
  env.SMARTQUEUE_RUN_ID = ctx.runId;
  env.SMARTQUEUE_TASK_ID = ctx.taskId;
  env.SMARTQUEUE_ATTEMPT = String(ctx.attempt);
  env.SMARTQUEUE_IDEMPOTENCY_KEY = ctx.idempotencyKey;
  return env;
}
