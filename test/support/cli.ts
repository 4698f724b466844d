/** Runs the CLI in-process (`main(argv, io)`) with its output captured. */
import { main } from '../../cli/main.js';
import type { CliIO } from '../../cli/output.js';

export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n'), isTTY: false };
  const code = await main(argv, io);
  return { code, out, err };
}

/** A CliIO that keeps what was written to stdout and stderr. */
export function captureIO(): CliIO & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => (out += t.endsWith('\n') ? t : t + '\n'),
    err: (t) => (err += t.endsWith('\n') ? t : t + '\n'),
    isTTY: false,
    stdout: () => out,
    stderr: () => err,
  };
}

/** `smartqueue <argv...>` in this process: its exit code and output. */
export async function runCli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIO();
  const code = await main(argv, io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}
