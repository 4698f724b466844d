/**
 * Renders bench/RESULTS.md from the stored per-scenario records (bench/results/<name>.json).
 * Rendering from the records rather than from the live run means `--only heap` refreshes the
 * heap section and keeps every other section from its own last run, each labelled with when
 * and where it ran.
 */
import type { MachineInfo, Versions } from './versions.js';
import type { ResultTable, ScenarioResult } from './types.js';
import { fmt } from './stats.js';

/** What bench/results/<name>.json holds for one scenario run. */
export interface ScenarioRecord {
  scenario: string;
  title: string;
  /** ISO date and time the scenario started. */
  date: string;
  quick: boolean;
  runs: number;
  durationS: number;
  machine: MachineInfo;
  versions: Versions;
  /** Problems found in the result (see validate.ts); empty when sound. */
  problems: string[];
  /** Set when the scenario threw; `result` is then absent. */
  error?: string;
  result?: ScenarioResult;
}

function cell(v: string | number): string {
  const s = typeof v === 'number' ? fmt(v) : v;
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(t: ResultTable): string[] {
  const numeric = t.columns.map((_, i) => t.rows.length > 0 && t.rows.every((r) => typeof r[i] === 'number'));
  return [
    `| ${t.columns.map(cell).join(' | ')} |`,
    `| ${numeric.map((n) => (n ? '---:' : '---')).join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

function machineLine(m: MachineInfo): string {
  return `${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}, load average ${m.loadAverage} at the start`;
}

/** The anchor GitHub gives a heading, so the contents list can link to sections. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');
}

/**
 * The whole RESULTS.md. `header` describes the run that wrote it; sections whose record comes
 * from another run say so.
 */
export function renderResults(
  records: ScenarioRecord[],
  header: { date: string; machine: MachineInfo; versions: Versions; command: string },
  chartDir: string,
): string {
  const out: string[] = [
    '# SmartQueue benchmark results',
    '',
    `Written by \`${header.command}\` on ${header.date}. Every comparison runs its contenders`,
    'alternately in one process run; a figure is the median of the repetitions with the range',
    '(min–max) in parentheses, and ratios are computed from the medians of the same run.',
    '',
    `Machine: ${machineLine(header.machine)}.`,
    '',
    '| software | version |',
    '| --- | --- |',
    ...Object.entries(header.versions).map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`),
    '',
    '## Contents',
    '',
  ];
  const headings = records.map((r, i) => `${i + 1}. ${r.title}`);
  records.forEach((r, i) => {
    const status = r.error ? ' (failed)' : r.problems.length ? ' (with problems)' : '';
    out.push(`- [${headings[i]}](#${anchor(headings[i]!)})${status}`);
  });
  records.forEach((r, i) => {
    out.push('', `## ${headings[i]}`, '');
    const mode = r.quick ? 'quick mode, ' : '';
    out.push(
      `_Scenario \`${r.scenario}\`: ${mode}${r.runs} repetitions, ran ${r.date} in ${r.durationS.toFixed(1)} s._`,
    );
    if (r.machine.cpuModel !== header.machine.cpuModel || r.machine.cpus !== header.machine.cpus) {
      out.push(`_Measured on another machine: ${machineLine(r.machine)}._`);
    } else if (r.date.slice(0, 10) !== header.date.slice(0, 10)) {
      out.push(`_From an earlier run (load average ${r.machine.loadAverage} at its start)._`);
    }
    if (r.error) {
      out.push('', `**Failed:** ${cell(r.error)}`);
      return;
    }
    const result = r.result!;
    for (const t of result.tables) out.push('', `### ${t.title}`, '', ...table(t));
    for (const c of result.charts ?? []) out.push('', `![${c.title}](${chartDir}/${c.file})`);
    if (result.notes?.length) out.push('', ...result.notes.map((n) => `- ${n}`));
    if (r.problems.length)
      out.push('', '**Problems in this result:**', '', ...r.problems.map((p) => `- ${p}`));
  });
  out.push('');
  return out.join('\n');
}
