/**
 * The live progress view of `smartqueue run` / `replay`: a redrawn status line on a terminal,
 * plain timestamped lines otherwise, or JSON lines with --json. It is fed by engine events only.
 */
import { formatDuration } from '../dsl/duration.js';
import type { Engine } from '../engine/engine.js';
import type { EngineEventName } from '../engine/events.js';
import type { CliIO } from './output.js';

export type ProgressMode = 'tty' | 'lines' | 'json' | 'quiet';

interface Counts {
  total: number;
  done: number;
  running: number;
  failed: number;
  skipped: number;
  retries: number;
}

const BAR = 24;

/** A live view of one run: `note` prints a line above the status line; `stop` ends the view. */
export interface ProgressView {
  note(text: string): void;
  stop(): void;
}

/** Follows one run until it finishes. */
export function followRun(
  engine: Engine,
  runId: string,
  io: CliIO,
  mode: ProgressMode,
  info: { total: number; alreadyDone?: number; deadlineAt?: number },
): ProgressView {
  const started = Date.now();
  const c: Counts = {
    total: info.total,
    done: info.alreadyDone ?? 0,
    running: 0,
    failed: 0,
    skipped: 0,
    retries: 0,
  };
  const clock = () => new Date().toISOString().slice(11, 23);
  let lastLine = '';
  const write = (text: string) => (io.raw ? io.raw(text) : io.out(text));

  const statusLine = () => {
    const frac = c.total ? (c.done + c.failed + c.skipped) / c.total : 1;
    const filled = Math.round(frac * BAR);
    const elapsed = Date.now() - started;
    const finished = c.done + c.failed + c.skipped - (info.alreadyDone ?? 0);
    const left = c.total - c.done - c.failed - c.skipped;
    const eta = finished > 0 && left > 0 ? formatDuration((elapsed / finished) * left) : '-';
    let deadline = '';
    if (info.deadlineAt !== undefined) {
      const slack = info.deadlineAt - Date.now();
      deadline =
        slack >= 0
          ? ` · deadline in ${formatDuration(slack)}`
          : ` · deadline missed by ${formatDuration(-slack)}`;
    }
    return (
      `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${c.done + c.skipped}/${c.total} done · ${c.running} running` +
      ` · ${c.failed} failed${c.retries ? ` · ${c.retries} retries` : ''} · ${formatDuration(elapsed)} elapsed · ETA ${eta}${deadline}`
    );
  };
  const redraw = () => {
    const line = statusLine();
    if (line !== lastLine) {
      write(`\r\x1b[2K${line}`);
      lastLine = line;
    }
  };
  const print = (text: string) => {
    if (mode === 'tty') {
      write(`\r\x1b[2K${text}\n`);
      lastLine = '';
      redraw();
    } else if (mode === 'lines') io.out(`${clock()} ${text}`);
  };

  const stop = engine.events.onAny((name: EngineEventName, payload: unknown) => {
    const p = payload as Record<string, unknown> & { runId?: string; taskId?: string };
    if (p.runId !== runId) return;
    if (mode === 'json') {
      io.out(JSON.stringify({ event: name, ...p }));
    }
    switch (name) {
      case 'task:attempt:dispatched':
        c.running++;
        if (mode === 'lines')
          print(`start   ${p.taskId} (attempt ${String(p.attempt)}, ${String(p.workerId)})`);
        break;
      case 'task:attempt:succeeded':
        c.running--;
        c.done++;
        print(`ok      ${p.taskId} in ${formatDuration(Number(p.durationMs))}`);
        break;
      case 'task:attempt:failed':
        c.running--;
        if (p.willRetry) c.retries++;
        print(`${p.willRetry ? 'retry  ' : 'FAILED '} ${p.taskId}: ${String(p.error)}`);
        break;
      case 'task:attempt:lost':
        c.running--;
        print(`lost    ${p.taskId} (worker ${String(p.workerId)}: ${String(p.reason)}); re-dispatching`);
        break;
      case 'task:state:skipped':
        c.skipped++;
        print(`skip    ${p.taskId}: ${String(p.reason)}`);
        break;
      case 'task:state:cancelled':
        c.failed++;
        print(`cancel  ${p.taskId}: ${String(p.reason)}`);
        break;
      case 'task:deadline:missed':
        print(`LATE    ${p.taskId} missed its deadline by ${formatDuration(Number(p.lateByMs))}`);
        break;
      case 'run:deadline:missed':
        print(`LATE    run missed its deadline`);
        break;
      default:
        break;
    }
    if (name === 'task:attempt:failed' && !p.willRetry) c.failed++;
  });
  const timer = mode === 'tty' ? setInterval(redraw, 100) : undefined;
  if (mode === 'tty') redraw();
  return {
    note: (text) => (mode === 'json' ? io.out(JSON.stringify({ event: 'log', text })) : print(text)),
    stop: () => {
      stop();
      if (timer) clearInterval(timer);
      if (mode === 'tty') {
        redraw();
        write('\n');
      }
    },
  };
}

/** Formats a handler's log line for the view. */
export function formatLogLine(line: {
  level: string;
  taskId: string;
  message: string;
  fields?: Record<string, unknown>;
  traceId?: string;
}): string {
  const fields = line.fields ? ` ${JSON.stringify(line.fields)}` : '';
  // The trace id leads from a log line to the attempt's trace (`smartqueue inspect` prints links).
  const trace = line.traceId !== undefined ? ` trace=${line.traceId}` : '';
  return `${line.level === 'info' ? 'log    ' : line.level.toUpperCase().padEnd(7)} ${line.taskId}: ${line.message}${fields}${trace}`;
}
