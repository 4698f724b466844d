/**
 * Small helpers for CLI output: aligned tables and the one-line error convention.
 */
import { formatDiagnostic, SmartQueueError } from '../engine/errors.js';
import type { SourceDiagnostic } from '../engine/errors.js';

/** Where a command writes; injectable so tests can capture output. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is an interactive terminal. */
  isTTY: boolean;
  /** Writes raw text (no newline added): the live progress line redraws itself with it. */
  raw?(text: string): void;
}

export const processIO: CliIO = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
  isTTY: Boolean(process.stdout.isTTY),
  raw: (t) => process.stdout.write(t),
};

/** Renders rows as a left-aligned table (right-aligned for columns named in `right`). */
export function table(header: string[], rows: string[][], right: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Prints diagnostics, errors first, and returns how many were errors. */
export function printDiagnostics(io: CliIO, diagnostics: SourceDiagnostic[]): number {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  for (const d of errors) io.err(formatDiagnostic(d));
  for (const d of diagnostics) if (d.severity === 'warning') io.err(formatDiagnostic(d));
  return errors.length;
}

/** One clear line for an error that ends a command; the exit code to use. */
export function reportFailure(io: CliIO, err: unknown): number {
  if (err instanceof SmartQueueError) {
    if (err.diagnostics.length) printDiagnostics(io, err.diagnostics);
    else io.err(`smartqueue: ${err.message}`);
    return err.code === 'INVALID_ARGUMENT' || err.code === 'INVALID_OPTIONS' ? 2 : 1;
  }
  io.err(`smartqueue: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return 1;
}
