/**
 * `smartqueue` CLI processes for integration tests (they run bin/smartqueue.js, so build
 * first): start them with their output captured, and kill whatever is left after a test.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'bin/smartqueue.js');

export interface CliProcess {
  name: string;
  child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr interleaved. */
  output: () => string;
  /** Its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

const running: CliProcess[] = [];

/** Starts `smartqueue <args>` in the project folder, with `env` over the test's environment. */
export function startCli(name: string, args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const p = { name, child, output: () => out, exited };
  running.push(p);
  return p;
}

/** The processes started and not yet cleaned up by {@link killAllCli}. */
export function startedCli(): readonly CliProcess[] {
  return [...running];
}

/** Kills (SIGKILL) every process started since the last call that is still running; resolves once all have exited. */
export async function killAllCli(): Promise<CliProcess[]> {
  const all = running.splice(0);
  for (const p of all) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(all.map((p) => p.exited));
  return all;
}

/** Polls `check` every `everyMs` until it returns a value (not undefined or false), for at most `ms`. */
export async function until<T>(
  what: string,
  ms: number,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
