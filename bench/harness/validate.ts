/**
 * Checks a scenario's result before it is written, so a broken measurement (NaN from a division
 * by zero, an empty table) is reported loudly instead of landing in RESULTS.md as `null`.
 * JSON.stringify turns NaN and Infinity into null, which is why this runs on the live object.
 */
import type { ScenarioResult } from './types.js';

function walk(value: unknown, where: string, problems: string[], depth = 0): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) problems.push(`${where} is ${value}`);
    return 1;
  }
  if (value === null || typeof value !== 'object' || depth > 32) return 0;
  let numbers = 0;
  if (Array.isArray(value))
    value.forEach((v, i) => (numbers += walk(v, `${where}[${i}]`, problems, depth + 1)));
  else for (const [k, v] of Object.entries(value)) numbers += walk(v, `${where}.${k}`, problems, depth + 1);
  return numbers;
}

/**
 * The problems of a result: non-finite numbers anywhere (tables, charts, raw), tables without
 * rows or with rows of the wrong width, and a result without a single number.
 * @returns an empty list when the result is sound.
 */
export function validateResult(result: ScenarioResult): string[] {
  const problems: string[] = [];
  if (!Array.isArray(result.tables) || result.tables.length === 0) problems.push('no tables');
  let numbers = 0;
  (result.tables ?? []).forEach((t, i) => {
    const where = `table ${i + 1} (${t.title})`;
    if (t.rows.length === 0) problems.push(`${where} has no rows`);
    t.rows.forEach((row, r) => {
      if (row.length !== t.columns.length) {
        problems.push(`${where} row ${r + 1} has ${row.length} cells for ${t.columns.length} columns`);
      }
    });
    numbers += walk(t.rows, where, problems);
  });
  (result.charts ?? []).forEach((c, i) => {
    if (!/^[\w.-]+\.svg$/.test(c.file))
      problems.push(`chart ${i + 1} file name ${c.file} is not a plain .svg name`);
    if (c.series.every((s) => s.points.length === 0)) problems.push(`chart ${c.file} has no points`);
    walk(c.series, `chart ${c.file}`, problems);
  });
  numbers += walk(result.raw, 'raw', problems);
  if (numbers === 0) problems.push('no numbers in tables or raw');
  return problems;
}
