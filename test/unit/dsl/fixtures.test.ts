/**
 * Golden diagnostics for broken workflows, and a clean compile for every example.
 *
 * Every file in test/fixtures/broken starts with the exact diagnostics it must produce, one
 * `# expect: <formatDiagnostic output>` line each (`// expect:` in TypeScript files); see
 * test/fixtures/broken/README.md. Adding a fixture file adds a test case.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileFile, isWorkflowFile } from '../../../dsl/load.js';
import { formatDiagnostic } from '../../../engine/errors.js';

// Paths relative to the repository root (vitest's cwd), so messages read `test/fixtures/...:line:col`.
const BROKEN_DIR = 'test/fixtures/broken';
const EXAMPLES_DIR = 'workflows/examples';
const MODELINE = '# yaml-language-server: $schema=../../dsl/workflow.schema.json';
const EXPECT_LINE = /^(?:#|\/\/) expect: (.*)$/;

async function workflowFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names
    .map((name) => path.posix.join(dir, name))
    .filter(isWorkflowFile)
    .sort();
}

/** The `expect:` lines at the top of a fixture (the header ends at the first other line). */
function expectations(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = EXPECT_LINE.exec(line);
    if (!m) break;
    out.push(m[1]!.trimEnd());
  }
  return out;
}

const brokenFiles = await workflowFiles(BROKEN_DIR);
const exampleFiles = await workflowFiles(EXAMPLES_DIR);

describe('broken workflow fixtures', () => {
  it('has enough fixtures to cover the checks (at least 25)', () => {
    expect(brokenFiles.length).toBeGreaterThanOrEqual(25);
  });

  it.each(brokenFiles)('%s reports exactly its expected diagnostics', async (file) => {
    const expected = expectations(await readFile(file, 'utf8'));
    expect(expected.length, `${file} has no "expect:" header`).toBeGreaterThan(0);
    for (const line of expected)
      expect(line.startsWith(`${file}:`), `expectation names another file: ${line}`).toBe(true);

    const { diagnostics } = await compileFile(file);
    const actual = diagnostics.map(formatDiagnostic);
    // Order-insensitive, but every message and position must match and nothing may be extra.
    expect([...actual].sort()).toEqual([...expected].sort());
    expect(diagnostics.some((d) => d.severity === 'error')).toBe(true);
  });
});

describe('broken single-document fixtures', () => {
  // A document with an error must never come back as a runnable plan (a caller that only looks
  // at `compiled` would otherwise run a workflow with its invalid parts silently dropped).
  it('yield no compiled workflow', async () => {
    const offenders: string[] = [];
    for (const file of brokenFiles) {
      const text = await readFile(file, 'utf8');
      if (/^---\s*$/m.test(text)) continue; // several documents: the valid ones do compile
      const { compiled } = await compileFile(file);
      if (compiled.length > 0) offenders.push(`${file}: ${compiled.map((c) => c.plan.ir.name).join(', ')}`);
    }
    expect(offenders).toEqual([]);
  });
});

describe('example workflows', () => {
  it('has at least 6 examples', () => {
    expect(exampleFiles.length).toBeGreaterThanOrEqual(6);
  });

  it.each(exampleFiles)('%s compiles cleanly', async (file) => {
    const { compiled, diagnostics } = await compileFile(file);
    expect(diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(compiled.length).toBeGreaterThanOrEqual(1);
    for (const { plan } of compiled) expect(plan.order.length).toBe(plan.ir.tasks.length);
  });

  it.each(exampleFiles.filter((f) => /\.ya?ml$/.test(f)))(
    '%s starts with the yaml-language-server modeline',
    async (file) => {
      const [first] = (await readFile(file, 'utf8')).split('\n');
      expect(first).toBe(MODELINE);
    },
  );
});
