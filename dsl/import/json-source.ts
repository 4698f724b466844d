/**
 * Positions inside an imported JSON file, so importer errors read like every other diagnostic
 * (`file:line:column path: message`) even though the input is JSON, not a workflow file.
 */
import type { SourceDiagnostic } from '../../engine/errors.js';
import { parseYamlDocuments } from '../yaml-loader.js';
import { DEFAULT_LIMITS } from '../yaml-loader.js';
import type { FieldPath, Position, WorkflowSource } from '../source.js';

/**
 * A {@link WorkflowSource} over JSON text. JSON is YAML 1.2, so the YAML loader's source map
 * locates fields; it is built on the first `locate` only, because an import without problems
 * never needs a position and a large trace costs a second parse.
 */
export function jsonSource(file: string, text: string | undefined): WorkflowSource {
  let located: WorkflowSource | null | undefined;
  return {
    file,
    locate(path: FieldPath, part?: 'key' | 'value'): Position {
      if (path.length === 0) return { line: 1, column: 1 };
      if (located === undefined) {
        located = null;
        if (text !== undefined) {
          const limits = { ...DEFAULT_LIMITS, maxFileBytes: Number.MAX_SAFE_INTEGER, maxDocuments: 1 };
          located = parseYamlDocuments(text, file, limits).documents[0]?.source ?? null;
        }
      }
      return located ? located.locate(path, part) : { line: 1, column: 1 };
    },
  };
}

/**
 * Parses JSON text; a syntax error becomes a diagnostic at its line and column (V8 reports the
 * character offset, as `position N` or `line L column C`).
 */
export function parseJsonText(
  text: string,
  file: string,
): { ok: true; value: unknown } | { ok: false; diagnostic: SourceDiagnostic } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    let line = 1;
    let column = 1;
    const lc = /line (\d+) column (\d+)/.exec(message);
    const pos = /position (\d+)/.exec(message);
    if (lc) {
      line = Number(lc[1]);
      column = Number(lc[2]);
    } else if (pos) {
      const before = text.slice(0, Number(pos[1]));
      line = before.split('\n').length;
      column = before.length - before.lastIndexOf('\n');
    }
    const why = message
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/\s*\(line \d+ column \d+\)$/, '');
    return {
      ok: false,
      diagnostic: { file, line, column, path: '', message: `invalid JSON: ${why}`, severity: 'error' },
    };
  }
}
