/**
 * Where things are in a workflow's source, so every error can name file:line:column and the
 * field path (`tasks[2].needs[0]`).
 */
import type { SourceDiagnostic } from '../engine/errors.js';

/** A path into the document: `['spec', 'tasks', 2, 'needs', 0]`. */
export type FieldPath = readonly (string | number)[];

export interface Position {
  line: number;
  column: number;
}

/** Locates fields of one workflow document. */
export interface WorkflowSource {
  /** The file as the user named it (or `<input>`). */
  file: string;
  /**
   * Position of the field at `path` (its value, or its key with part 'key'); falls back to the
   * nearest enclosing field that exists.
   */
  locate(path: FieldPath, part?: 'key' | 'value'): Position;
}

/** Formats a path the way users read it: `tasks[2].needs[0]` (the `spec.` prefix is dropped). */
export function formatPath(path: FieldPath): string {
  const segs = path[0] === 'spec' ? path.slice(1) : path;
  let out = '';
  for (const seg of segs) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

/** Builds a diagnostic for a field of a source. */
export function diagnosticAt(
  source: WorkflowSource,
  path: FieldPath,
  message: string,
  options: { part?: 'key' | 'value'; severity?: 'error' | 'warning' } = {},
): SourceDiagnostic {
  const pos = source.locate(path, options.part);
  return {
    file: source.file,
    line: pos.line,
    column: pos.column,
    path: formatPath(path),
    message,
    severity: options.severity ?? 'error',
  };
}

/** Levenshtein distance, for "did you mean" hints. */
function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate within a small edit distance, for `(did you mean "extract"?)`. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  // A shared stem ("retry" for "retries") is a likelier slip than its edit distance says.
  const lower = word.toLowerCase();
  if (lower.length >= 4) {
    const stem = (c: string) => {
      let i = 0;
      while (i < c.length && i < lower.length && c[i] === lower[i]) i++;
      return i;
    };
    const match = list.find((c) => {
      const n = stem(c.toLowerCase());
      return n >= 4 && n >= Math.min(lower.length, c.length) - 1;
    });
    if (match !== undefined && match !== word) return match;
  }
  let best: string | undefined;
  let bestDist = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of list) {
    if (Math.abs(c.length - word.length) >= bestDist) continue;
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best;
}

/** ` (did you mean "x"?)` or an empty string. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const s = suggest(word, candidates);
  return s ? ` (did you mean "${s}"?)` : '';
}
