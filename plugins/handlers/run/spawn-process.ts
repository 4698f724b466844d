/**
 * Starts one program without a shell, captures the tails of its output and stops it when the
 * attempt is aborted: SIGTERM first, SIGKILL after a grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { NonRetryableError, errorMessage } from '../../../engine/errors.js';
import { TailBuffer } from './tail-buffer.js';

/**
 * After the program exited, how long a grandchild that inherited its stdout/stderr may keep
 * them open before we stop waiting for the end of output. Without it, `run: ['sh', '-c',
 * 'daemon &']` would hang the attempt until the daemon exits.
 */
const EXIT_DRAIN_MS = 1000;

export interface SpawnProcessOptions {
  cwd: string;
  env: Record<string, string>;
  signal: AbortSignal;
  maxOutputBytes: number;
  killGraceMs: number;
  killProcessGroup: boolean;
}

export interface ProcessResult {
  /** null when the program was ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: TailBuffer;
  stderr: TailBuffer;
}

/**
 * Runs `argv` to its end. Resolves whatever the exit code; rejects with `signal.reason` once an
 * aborted program is gone, and with a NonRetryableError when the program cannot be started.
 */
export function spawnProcess(argv: readonly string[], options: SpawnProcessOptions): Promise<ProcessResult> {
  const { signal } = options;
  return new Promise<ProcessResult>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        cwd: options.cwd,
        env: options.env,
        shell: false,
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
        // A new process group, so that an abort reaches the program's own children too.
        detached: options.killProcessGroup,
      });
    } catch (err) {
      // Synchronous failures are argument problems (e.g. invalid characters): never retryable.
      reject(
        new NonRetryableError(`run: cannot start ${JSON.stringify(argv[0])}: ${errorMessage(err)}`, {
          cause: err,
        }),
      );
      return;
    }
    const stdout = new TailBuffer(options.maxOutputBytes);
    const stderr = new TailBuffer(options.maxOutputBytes);
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    // A broken pipe only loses output; the exit code still decides the attempt.
    child.stdout!.on('error', () => undefined);
    child.stderr!.on('error', () => undefined);

    let settled = false;
    let aborted = false;
    let graceTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const kill = (sig: NodeJS.Signals): void => {
      const pid = child.pid;
      if (pid === undefined) return;
      try {
        if (options.killProcessGroup) process.kill(-pid, sig);
        else child.kill(sig);
      } catch {
        // ESRCH: already gone. Anything else: fall back to the program itself.
        child.kill(sig);
      }
    };
    const onAbort = (): void => {
      if (aborted || settled) return;
      aborted = true;
      kill('SIGTERM');
      graceTimer = setTimeout(() => kill('SIGKILL'), options.killGraceMs);
    };
    const settle = (): void => {
      settled = true;
      signal.removeEventListener('abort', onAbort);
      clearTimeout(graceTimer);
      clearTimeout(drainTimer);
    };

    // `on`, not `once`: a second 'error' (a failed kill) without a listener would crash the process.
    child.on('error', (err: NodeJS.ErrnoException) => {
      // With a pid the program runs and the error is about signalling it; 'close' still comes.
      if (settled || child.pid !== undefined) return;
      settle();
      child.stdout?.destroy();
      child.stderr?.destroy();
      reject(startError(argv[0]!, err));
    });
    child.once('exit', () => {
      drainTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, EXIT_DRAIN_MS);
    });
    child.once('close', (exitCode: number | null, exitSignal: NodeJS.Signals | null) => {
      if (settled) return;
      settle();
      if (aborted) reject(signal.reason);
      else resolve({ exitCode, signal: exitSignal, stdout, stderr });
    });

    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

function startError(program: string, err: NodeJS.ErrnoException): Error {
  const name = JSON.stringify(program);
  if (err.code === 'ENOENT') {
    const where = program.includes('/') || program.includes('\\') ? 'no such file' : 'not found on PATH';
    return new NonRetryableError(`run: program ${name} ${where} (is it installed?)`, { cause: err });
  }
  if (err.code === 'EACCES') {
    return new NonRetryableError(`run: program ${name} is not executable (permission denied)`, {
      cause: err,
    });
  }
  return new Error(`run: cannot start ${name}: ${err.message}`, { cause: err });
}
