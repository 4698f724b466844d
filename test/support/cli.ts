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
