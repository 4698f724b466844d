/**
 * The `run` handler: runs a program from an argv (never through a shell), in a checked working
 * directory, with an allow-listed environment, and turns its exit into outputs or an error.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { NonRetryableError } from '../../../engine/errors.js';
import type { HandlerContext, TaskHandler } from '../../../engine/handler.js';
import { checkRunArgs, type RunArgs } from './args.js';
import { buildChildEnv } from './env.js';
import { parseLastLineOutputs } from './json-outputs.js';
import {
  resolveRunHandlerOptions,
  type ResolvedRunHandlerOptions,
  type RunHandlerOptions,
} from './options.js';
import { spawnProcess } from './spawn-process.js';

/**
 * Outputs of a successful `run` task: the exit code, the (tails of) stdout and stderr, and the
 * keys of the JSON object printed as stdout's last non-empty line (see json-outputs.ts).
 */
export interface RunOutputs extends Record<string, unknown> {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Present (true) when stdout or stderr was longer than `maxOutputBytes` and lost its head. */
  truncated?: true;
}

const BUILTIN_OUTPUT_KEYS: ReadonlySet<string> = new Set(['exitCode', 'stdout', 'stderr', 'truncated']);
/** A stderr quote in an error message stays readable even when the last lines are huge. */
const MAX_ERROR_TAIL_CHARS = 4000;

/** A program that ended with a non-zero exit code or by a signal. Retryable. */
export class RunExitError extends Error {
  override readonly name = 'RunExitError';
  constructor(
    message: string,
    /** null when the program was ended by a signal. */
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/**
 * Creates the `run` handler. Each attempt spawns `args.argv` with `shell: false`, so arguments
 * reach the program verbatim (`$(...)`, `;`, `|` are just characters), in `args.cwd` resolved
 * against `baseDir` (which must exist), with the allow-listed parent environment, `args.env`
 * and SMARTQUEUE_RUN_ID / SMARTQUEUE_TASK_ID / SMARTQUEUE_ATTEMPT / SMARTQUEUE_IDEMPOTENCY_KEY.
 *
 * Exit code 0 resolves to {@link RunOutputs}; any other exit throws a {@link RunExitError}
 * quoting the last lines of stderr; a missing program or directory throws NonRetryableError;
 * `ctx.signal` stops the program (SIGTERM, SIGKILL after `killGraceMs`) and rejects with the
 * signal's reason once it is gone.
 * @throws SmartQueueError `INVALID_OPTIONS` at creation for bad options.
 */
export function createRunHandler(options: RunHandlerOptions = {}): TaskHandler<RunArgs, RunOutputs> {
  const resolved = resolveRunHandlerOptions(options);
  return (ctx) => runTask(ctx, resolved);
}

async function runTask(
  ctx: HandlerContext<RunArgs>,
  options: ResolvedRunHandlerOptions,
): Promise<RunOutputs> {
  const args = checkRunArgs(ctx.args);
  ctx.signal.throwIfAborted();
  const cwd = path.resolve(options.baseDir, args.cwd ?? '.');
  await checkDirectory(cwd);
  ctx.signal.throwIfAborted();
  const result = await spawnProcess(args.argv, {
    cwd,
    env: buildChildEnv(options.envAllowList, process.env, args.env, ctx),
    signal: ctx.signal,
    maxOutputBytes: options.maxOutputBytes,
    killGraceMs: options.killGraceMs,
    killProcessGroup: options.killProcessGroup,
  });
  const stdout = result.stdout.toString();
  const stderr = result.stderr.toString();
  if (result.exitCode !== 0) {
    const program = JSON.stringify(args.argv[0]);
    const how =
      result.exitCode === null
        ? `was killed by signal ${result.signal ?? 'unknown'}`
        : `exited with code ${result.exitCode}`;
    const tail = lastLines(stderr, options.errorTailLines);
    const quote = tail === '' ? ' (stderr was empty)' : `; last lines of stderr:\n${tail}`;
    throw new RunExitError(`run: ${program} ${how}${quote}`, result.exitCode, result.signal, stdout, stderr);
  }
  const outputs: RunOutputs = { exitCode: 0, stdout, stderr };
  const named = parseLastLineOutputs(stdout);
  if (named) {
    for (const key of Object.keys(named)) if (!BUILTIN_OUTPUT_KEYS.has(key)) outputs[key] = named[key];
  }
  if (result.stdout.truncated || result.stderr.truncated) {
    outputs.truncated = true;
    ctx.log.warn('run: output truncated to its tail', {
      maxOutputBytes: options.maxOutputBytes,
      stdout: result.stdout.truncated,
      stderr: result.stderr.truncated,
    });
  }
  return outputs;
}

async function checkDirectory(dir: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(dir)).isDirectory();
  } catch (err) {
    throw new NonRetryableError(`run: working directory ${JSON.stringify(dir)} does not exist`, {
      cause: err,
    });
  }
  if (!isDirectory)
    throw new NonRetryableError(`run: working directory ${JSON.stringify(dir)} is not a directory`);
}

/** The last `count` non-blank-trailing lines of `text`, at most MAX_ERROR_TAIL_CHARS long. */
function lastLines(text: string, count: number): string {
  const trimmed = text.trimEnd();
  if (count === 0 || trimmed === '') return '';
  let start = trimmed.length;
  for (let i = 0; i < count && start > 0; i++) start = trimmed.lastIndexOf('\n', start - 1);
  const tail = trimmed.slice(start + 1);
  return tail.length > MAX_ERROR_TAIL_CHARS ? `…${tail.slice(-MAX_ERROR_TAIL_CHARS)}` : tail;
}
