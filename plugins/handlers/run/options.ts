/**
 * Options of the `run` handler, validated and defaulted in one place.
 */
import { SmartQueueError } from '../../../engine/errors.js';

/** The parent environment variables a `run` task sees unless told otherwise. */
export const DEFAULT_ENV_ALLOW_LIST: readonly string[] = Object.freeze([
  'PATH',
  'HOME',
  'LANG',
  'TZ',
  'TMPDIR',
  'SYSTEMROOT',
]);

/** Options of {@link createRunHandler}. */
export interface RunHandlerOptions {
  /**
   * Directory a task's relative `cwd` is resolved against; also the working directory of tasks
   * without a `cwd`.
   * @default process.cwd() at the time the handler is created
   */
  baseDir?: string;
  /**
   * Names of the parent's environment variables passed to the child. Everything else in the
   * parent's environment (tokens, passwords) stays invisible to the task.
   * @default ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR', 'SYSTEMROOT']
   */
  envAllowList?: readonly string[];
  /**
   * Bytes kept of each of stdout and stderr. Longer output keeps its tail (the end is where the
   * result and the error usually are) and the outputs say `truncated: true`.
   * @default 1048576 (1 MiB)
   */
  maxOutputBytes?: number;
  /**
   * After an abort, how long the child gets between SIGTERM and SIGKILL, in ms.
   * @default 5000
   */
  killGraceMs?: number;
  /**
   * Lines of stderr quoted in the error of a failed command.
   * @default 10
   */
  errorTailLines?: number;
  /**
   * POSIX only: start each command in its own process group and signal the whole group on
   * abort, so the grandchildren a script starts die with it. Ignored on Windows.
   * @default true
   */
  killProcessGroup?: boolean;
}

/** {@link RunHandlerOptions} with every default applied. */
export interface ResolvedRunHandlerOptions {
  baseDir: string;
  envAllowList: readonly string[];
  maxOutputBytes: number;
  killGraceMs: number;
  errorTailLines: number;
  killProcessGroup: boolean;
}

function checkInteger(problems: string[], name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min)
    problems.push(`${name} must be an integer >= ${min}, got ${String(value)}`);
}

/** Validates options and applies defaults; throws one `INVALID_OPTIONS` error naming every problem. */
export function resolveRunHandlerOptions(raw: RunHandlerOptions = {}): ResolvedRunHandlerOptions {
  const problems: string[] = [];
  const baseDir = raw.baseDir ?? process.cwd();
  if (typeof baseDir !== 'string' || baseDir === '') problems.push('baseDir must be a non-empty string');
  const envAllowList = raw.envAllowList ?? DEFAULT_ENV_ALLOW_LIST;
  if (!Array.isArray(envAllowList) || envAllowList.some((n) => typeof n !== 'string' || n === '')) {
    problems.push('envAllowList must be an array of non-empty strings');
  }
  const maxOutputBytes = raw.maxOutputBytes ?? 1024 * 1024;
  checkInteger(problems, 'maxOutputBytes', maxOutputBytes, 0);
  const killGraceMs = raw.killGraceMs ?? 5000;
  checkInteger(problems, 'killGraceMs', killGraceMs, 0);
  const errorTailLines = raw.errorTailLines ?? 10;
  checkInteger(problems, 'errorTailLines', errorTailLines, 0);
  const killProcessGroup = raw.killProcessGroup ?? true;
  if (typeof killProcessGroup !== 'boolean') problems.push('killProcessGroup must be a boolean');
  if (problems.length > 0) {
    throw new SmartQueueError('INVALID_OPTIONS', `invalid run handler options: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return {
    baseDir,
    envAllowList: Object.freeze([...envAllowList]),
    maxOutputBytes,
    killGraceMs,
    errorTailLines,
    killProcessGroup: killProcessGroup && process.platform !== 'win32',
  };
}
