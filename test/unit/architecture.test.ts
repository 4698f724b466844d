/**
 * Architecture rules of STYLE.md, checked on the source text: engine/ never imports plugins/
 * or a driver, and no module imports itself through a cycle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SOURCE_DIRS = ['engine', 'dsl', 'plugins', 'cli', 'runtime'];
const DRIVERS = ['kafkajs', 'cassandra-driver', 'etcd3', 'ioredis', 'onnxruntime-node', 'better-sqlite3'];

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

/** Static and dynamic import specifiers of a file (type-only imports included: they still couple). */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [
    ...text.matchAll(
      /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
    ),
  ].map((m) => m[1] ?? m[2]!);
}

/** Resolves a relative `.js` specifier to the `.ts` file it compiles from. */
function resolve(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return path.normalize(path.join(path.dirname(from), spec.replace(/\.js$/, '.ts')));
}

const files = SOURCE_DIRS.flatMap(sourceFiles);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('architecture', () => {
  it('finds the source files', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(graph.get(path.normalize('engine/engine.ts'))!.length).toBeGreaterThan(5);
  });

  it('engine/ imports no plugin and no driver', () => {
    const offences: string[] = [];
    for (const [file, specs] of graph) {
      if (!file.startsWith(`engine${path.sep}`)) continue;
      for (const spec of specs) {
        const target = resolve(file, spec);
        if (target?.startsWith(`plugins${path.sep}`) || DRIVERS.includes(spec))
          offences.push(`${file} -> ${spec}`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('has no circular imports', () => {
    const edges = new Map<string, string[]>();
    for (const [file, specs] of graph) {
      edges.set(
        file,
        specs.map((s) => resolve(file, s)).filter((t): t is string => t !== undefined && graph.has(t)),
      );
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    // Iterative DFS, keeping the path to print a cycle when an open node is met again.
    for (const start of edges.keys()) {
      if (state.has(start)) continue;
      const stack: { node: string; next: number }[] = [{ node: start, next: 0 }];
      state.set(start, 'open');
      while (stack.length) {
        const top = stack[stack.length - 1]!;
        const out = edges.get(top.node)!;
        if (top.next >= out.length) {
          state.set(top.node, 'done');
          stack.pop();
          continue;
        }
        const to = out[top.next++]!;
        if (state.get(to) === 'open') {
          const at = stack.findIndex((f) => f.node === to);
          cycles.push([...stack.slice(at).map((f) => f.node), to].join(' -> '));
        } else if (!state.has(to)) {
          state.set(to, 'open');
          stack.push({ node: to, next: 0 });
        }
      }
    }
    expect(cycles).toEqual([]);
  });
});
