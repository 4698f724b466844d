/**
 * Reads workflow YAML safely: several documents per file, positions for every node, limits on
 * size and alias expansion, and no custom tags.
 */
import { isAlias, isCollection, isMap, isScalar, LineCounter, parseAllDocuments, visit } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import type { SourceDiagnostic } from '../engine/errors.js';
import type { FieldPath, Position, WorkflowSource } from './source.js';

/** Limits that protect the loader from hostile input. */
export interface LoaderLimits {
  /** @default 5 MiB */
  maxFileBytes: number;
  /** Aliases resolved per document (a billion-laughs file exceeds it at once). @default 100 */
  maxAliasCount: number;
  /** @default 20 */
  maxDocuments: number;
  /** @default 20000 */
  maxTasks: number;
}

export const DEFAULT_LIMITS: LoaderLimits = {
  maxFileBytes: 5 * 1024 * 1024,
  maxAliasCount: 100,
  maxDocuments: 20,
  maxTasks: 20_000,
};

/** One YAML document turned into plain data, with its source map. */
export interface YamlDocument {
  data: unknown;
  source: WorkflowSource;
  /** Index of the document in its file (0-based). */
  index: number;
}

function createSource(file: string, doc: Document, lines: LineCounter): WorkflowSource {
  const posOf = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const docStart = posOf(doc.range?.[0] ?? 0);
  return {
    file,
    locate(path: FieldPath, part: 'key' | 'value' = 'value'): Position {
      // Walk down as far as the path exists, so a missing field points at its parent.
      let node: unknown = doc.contents;
      let keyNode: YamlNode | undefined;
      for (const seg of path) {
        if (!isCollection(node)) break;
        if (isMap(node)) {
          const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
          if (!pair) break;
          keyNode = pair.key as YamlNode;
          node = pair.value ?? pair.key;
        } else {
          const item = node.items[Number(seg)];
          if (item === undefined) break;
          keyNode = undefined;
          node = item;
        }
      }
      const target = part === 'key' && keyNode ? keyNode : (node as YamlNode | null);
      const range = target?.range;
      return range ? posOf(range[0]) : docStart;
    },
  };
}

/** `Map keys must be unique at line 5, column 1:` → `map keys must be unique`. */
function cleanYamlMessage(message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/**
 * Parses YAML text into documents. Syntax errors, custom tags, alias bombs and oversize input
 * become diagnostics; documents with errors are left out of the result.
 */
export function parseYamlDocuments(
  text: string,
  file: string,
  limits: LoaderLimits = DEFAULT_LIMITS,
): { documents: YamlDocument[]; diagnostics: SourceDiagnostic[] } {
  const diagnostics: SourceDiagnostic[] = [];
  const at = (line: number, column: number, message: string): SourceDiagnostic => ({
    file,
    line,
    column,
    path: '',
    message,
    severity: 'error',
  });
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxFileBytes) {
    diagnostics.push(at(1, 1, `file is ${bytes} bytes; the limit is ${limits.maxFileBytes} bytes`));
    return { documents: [], diagnostics };
  }
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    schema: 'core',
    strict: true,
    stringKeys: true,
  });
  const docs = Array.isArray(parsed) ? parsed : [];
  if (docs.length === 0) {
    // An empty stream: `parseAllDocuments` returns an EmptyStream.
    diagnostics.push(at(1, 1, 'the file holds no YAML document'));
    return { documents: [], diagnostics };
  }
  if (docs.length > limits.maxDocuments) {
    diagnostics.push(
      at(1, 1, `the file holds ${docs.length} documents; the limit is ${limits.maxDocuments}`),
    );
    return { documents: [], diagnostics };
  }
  const documents: YamlDocument[] = [];
  docs.forEach((doc, index) => {
    const posOf = (offset: number) => lines.linePos(offset);
    let failed = false;
    for (const err of doc.errors) {
      const p = posOf(err.pos[0]);
      diagnostics.push(at(p.line, p.col, `YAML syntax: ${cleanYamlMessage(err.message)}`));
      failed = true;
    }
    const showTag = (tag: string) => tag.replace(/^tag:yaml\.org,2002:/, '!!');
    const taggedLines = new Set<number>();
    for (const warn of doc.warnings) {
      if (warn.code !== 'TAG_RESOLVE_FAILED') continue;
      const p = posOf(warn.pos[0]);
      const tag = /tag: (\S+)/.exec(warn.message)?.[1] ?? '?';
      diagnostics.push(
        at(p.line, p.col, `tag "${showTag(tag)}" is not allowed: custom YAML tags are refused`),
      );
      taggedLines.add(p.line);
      failed = true;
    }
    // Tags the parser knows (!!binary, !!set, !!omap, !!timestamp...) are refused too: a
    // workflow holds plain strings, numbers, booleans, null, mappings and lists only.
    visit(doc, (_key, node) => {
      if (!(isScalar(node) || isCollection(node)) || !node.tag) return;
      if (/^tag:yaml.org,2002:(str|int|float|bool|null|map|seq)$/.test(node.tag)) return;
      const p = posOf(node.range?.[0] ?? 0);
      if (taggedLines.has(p.line)) return;
      diagnostics.push(
        at(p.line, p.col, `tag "${showTag(node.tag)}" is not allowed: custom YAML tags are refused`),
      );
      failed = true;
    });
    if (failed) return;
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (err) {
      let first: YamlNode | undefined;
      visit(doc, { Alias: (_k, node) => ((first = node as YamlNode), visit.BREAK) });
      const p = posOf((first as YamlNode | undefined)?.range?.[0] ?? 0);
      const why = err instanceof Error ? err.message : String(err);
      diagnostics.push(
        at(
          p.line,
          p.col,
          /alias count/i.test(why)
            ? `YAML aliases expand beyond the limit of ${limits.maxAliasCount} (a resource-exhaustion "billion laughs" pattern)`
            : `YAML: ${cleanYamlMessage(why)}`,
        ),
      );
      return;
    }
    if (data === null || data === undefined) {
      // An empty document between `---` markers is allowed and ignored.
      if (docs.length === 1) {
        const p = posOf(doc.range[0]);
        diagnostics.push(at(p.line, p.col, 'the document is empty'));
      }
      return;
    }
    if (isAlias(doc.contents)) return;
    documents.push({ data, source: createSource(file, doc, lines), index });
  });
  return { documents, diagnostics };
}
