/** Builds a HandlerContext for handler unit tests, recording what the handler logs. */
import type { HandlerContext, TaskLogger } from '../../../../engine/handler.js';

export interface LoggedLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}

export function makeContext<Args>(
  args: Args,
  overrides: Partial<Omit<HandlerContext<Args>, 'args' | 'progress'>> = {},
): HandlerContext<Args> & { logged: LoggedLine[] } {
  const logged: LoggedLine[] = [];
  const log: TaskLogger = {
    info: (message, fields) => logged.push({ level: 'info', message, fields }),
    warn: (message, fields) => logged.push({ level: 'warn', message, fields }),
    error: (message, fields) => logged.push({ level: 'error', message, fields }),
  };
  return {
    runId: 'run_test',
    taskId: 'task-a',
    attempt: 1,
    idempotencyKey: 'run_test/task-a',
    inputs: {},
    params: {},
    signal: new AbortController().signal,
    log,
    progress: () => undefined,
    ...overrides,
    args,
    logged,
  };
}
