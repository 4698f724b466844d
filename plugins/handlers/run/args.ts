/**
 * The arguments of a `run` task, checked at run time: they come from a workflow file after
 * expression resolution, so their types are only known once they arrive.
 */
import { NonRetryableError } from '../../../engine/errors.js';

/** What the engine passes as `ctx.args` to the `run` handler (expressions already resolved). */
export interface RunArgs {
  /** Program and its arguments. Never a shell string: `['sh', '-c', '...']` if you need a shell. */
  argv: string[];
  /** Working directory, resolved against the handler's `baseDir`. */
  cwd?: string;
  /** Extra environment variables of the child (added to the allow-listed parent ones). */
  env?: Record<string, string>;
}

/** Checks `ctx.args`; bad arguments cannot succeed on a retry, so they fail for good. */
export function checkRunArgs(args: unknown): RunArgs {
  if (args === null || typeof args !== 'object') throw new NonRetryableError('run: args must be an object');
  const { argv, cwd, env } = args as Record<string, unknown>;
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string')) {
    throw new NonRetryableError('run: args.argv must be a non-empty array of strings');
  }
  if (argv[0] === '') throw new NonRetryableError('run: args.argv[0] (the program) must not be empty');
  if ((argv as string[]).some((a) => a.includes('\0'))) {
    throw new NonRetryableError('run: args.argv must not contain NUL characters');
  }
  if (cwd !== undefined && (typeof cwd !== 'string' || cwd === '')) {
    throw new NonRetryableError('run: args.cwd must be a non-empty string');
  }
  return { argv: argv as string[], cwd: cwd as string | undefined, env: checkEnv(env) };
}

function checkEnv(env: unknown): Record<string, string> | undefined {
  if (env === undefined) return undefined;
  if (env === null || typeof env !== 'object' || Array.isArray(env)) {
    throw new NonRetryableError('run: args.env must be an object of strings');
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name === '' || name.includes('=') || name.includes('\0')) {
      throw new NonRetryableError(`run: invalid environment variable name ${JSON.stringify(name)}`);
    }
    // Expressions such as ${{ params.n }} may resolve to numbers or booleans: accept their text.
    if (typeof value === 'string') out[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[name] = String(value);
    else
      throw new NonRetryableError(
        `run: args.env.${name} must be a string, got ${value === null ? 'null' : typeof value}`,
      );
    if (out[name]!.includes('\0'))
      throw new NonRetryableError(`run: args.env.${name} must not contain NUL characters`);
  }
  return out;
}
