/**
 * The embedded runtime as the CLI verbs that run work (`run`, `replay`, `serve`) open it: state
 * file, concurrency, extra handlers from `--handlers`, and handler logs shown in the progress view.
 */
import type { TaskLogLine } from '../engine/worker.js';
import { createEmbeddedRuntime } from '../runtime/embedded.js';
import type { EmbeddedRuntime } from '../runtime/embedded.js';
import { handlerModules, loadHandlersModule } from './handlers-module.js';
import { formatLogLine } from './progress.js';
import type { ProgressView } from './progress.js';
import { resolveCliTracing } from './trace-flags.js';
import type { TraceFlags } from './trace-flags.js';

export interface RuntimeFlags extends TraceFlags {
  state: string;
  concurrency?: number;
  shards?: number;
  handlers?: string;
  threads?: number;
  threadHeap?: number;
}

export interface CliRuntime {
  runtime: EmbeddedRuntime;
  /** Handler log lines go to this view from now on (before: to stderr). */
  attach(view: ProgressView | undefined): void;
}

/** The --handlers module's handlers, where they live (for threads), and --threads. */
async function handlersOf(flags: RuntimeFlags) {
  if (flags.handlers === undefined) return {};
  const handlers = await loadHandlersModule(flags.handlers);
  return {
    handlers,
    handlerModules: handlerModules(flags.handlers, handlers),
    ...(flags.threads !== undefined && { threads: flags.threads }),
    ...(flags.threadHeap !== undefined && { threadHeapMb: flags.threadHeap }),
  };
}

export async function openCliRuntime(
  flags: RuntimeFlags,
  fallbackLog: (text: string) => void,
): Promise<CliRuntime> {
  let view: ProgressView | undefined;
  const logger = (line: TaskLogLine) =>
    view ? view.note(formatLogLine(line)) : fallbackLog(formatLogLine(line));
  const tracing = resolveCliTracing(flags, 'smartqueue');
  const runtime = await createEmbeddedRuntime({
    ...(tracing && { tracing }),
    statePath: flags.state === ':memory:' ? false : flags.state,
    ...(flags.concurrency !== undefined && { concurrency: flags.concurrency }),
    ...(flags.shards !== undefined && { shards: flags.shards }),
    ...(await handlersOf(flags)),
    logger,
  });
  return { runtime, attach: (v) => (view = v) };
}
