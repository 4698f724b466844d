/**
 * The CLI verbs of the compiler, run in-process with captured output: exit codes, the
 * file:line:column lines of `validate`, the plan table and JSON, graphs, and help.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';

const cli = runCli;

const BROKEN = 'test/fixtures/broken';
const brokenFiles = (await readdir(BROKEN))
  .filter((f) => /\.(ya?ml|ts)$/.test(f))
  .map((f) => path.posix.join(BROKEN, f));

describe('smartqueue validate', () => {
  it('exits 0 on the examples directory and lists every workflow', async () => {
    const r = await cli('validate', 'workflows/examples');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/ok +workflows\/examples\/etl\.yaml: sales-etl \(9 tasks\)/);
    expect(r.stdout).toMatch(/6 file\(s\), 7 valid workflow\(s\), 0 error\(s\)/);
  });

  it.each(brokenFiles)('exits 1 on %s with its expected file:line:column lines', async (file) => {
    const text = await readFile(file, 'utf8');
    const expected = [...text.matchAll(/^(?:#|\/\/) expect: (.*)$/gm)].map((m) => m[1]!.trimEnd());
    expect(expected.length).toBeGreaterThan(0);
    const r = await cli('validate', file);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect([...lines].sort()).toEqual([...expected].sort());
  });

  it('has at least 25 broken fixtures', () => {
    expect(brokenFiles.length).toBeGreaterThanOrEqual(25);
  });

  it('reports a missing path and exits 1', async () => {
    const r = await cli('validate', 'no/such/dir');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^no\/such\/dir:1:1 no such file or directory/m);
  });

  it('downgrades infeasible deadlines with --allow-infeasible', async () => {
    const file = path.posix.join(BROKEN, 'infeasible-run-deadline.yaml');
    const strict = await cli('validate', file);
    const lax = await cli('validate', file, '--allow-infeasible');
    expect(strict.code).toBe(1);
    expect(lax.code).toBe(0);
    expect(lax.stderr).toMatch(/warning: deadline: infeasible deadline/);
  });
});

describe('smartqueue plan', () => {
  it('prints tasks in topological order with LFT/LST and the critical path', async () => {
    const r = await cli('plan', 'workflows/examples/etl.yaml');
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n');
    const order = rows.filter((l) => /^\s*\d+\s/.test(l)).map((l) => l.trim().split(/\s+/)[1]);
    expect(order[0]).toBe('extract');
    expect(order.indexOf('join')).toBeGreaterThan(order.indexOf('transform-eu'));
    expect(order.indexOf('report')).toBeGreaterThan(order.indexOf('load'));
    expect(r.stdout).toMatch(/critical path: extract -> .* -> report/);
    expect(r.stdout).toMatch(/run deadline: 30s, total slack/);
  });

  it('prints JSON with --json whose numbers agree with the table semantics', async () => {
    const r = await cli('plan', 'workflows/examples/etl.yaml', '--json');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as {
      tasks: { id: string; lftMs: number; lstMs: number; estimateMs: number }[];
      deadlineMs: number;
    };
    expect(plan.deadlineMs).toBe(30_000);
    for (const t of plan.tasks) expect(t.lstMs).toBe(t.lftMs - t.estimateMs);
    const last = plan.tasks.find((t) => t.id === 'report')!;
    expect(last.lftMs).toBe(30_000);
  });

  it('asks for --workflow only where a choice is needed, and names the choices', async () => {
    const r = await cli('graph', 'workflows/examples/media-transcode.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /holds 2 workflows \(media-transcode, media-cleanup\); choose one with --workflow/,
    );
    const ok = await cli('graph', 'workflows/examples/media-transcode.yaml', '--workflow', 'media-cleanup');
    expect(ok.code).toBe(0);
  });

  it('names a directory given where a file is expected, in one line', async () => {
    const r = await cli('plan', 'workflows/examples');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'workflows/examples:1:1 is a directory: name a workflow file (validate takes directories)',
    );
  });

  it('exits 1 with the diagnostics of a broken file', async () => {
    const r = await cli('plan', path.posix.join(BROKEN, 'cycle-three-tasks.yaml'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dependency cycle: a -> b -> c -> a/);
  });
});

describe('smartqueue graph', () => {
  it('prints Mermaid with an edge per need and the critical path highlighted', async () => {
    const r = await cli('graph', 'workflows/examples/etl.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('flowchart TD');
    const plan = JSON.parse((await cli('plan', 'workflows/examples/etl.yaml', '--json')).stdout) as {
      tasks: { needs: string[] }[];
    };
    const edges = plan.tasks.reduce((n, t) => n + t.needs.length, 0);
    expect(edges).toBeGreaterThan(5);
    expect((r.stdout.match(/-->/g) ?? []).length).toBe(edges);
    expect(r.stdout).toMatch(/class .+ critical/);
  });

  it('prints Graphviz dot', async () => {
    const r = await cli('graph', 'workflows/examples/etl.yaml', '--format', 'dot');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^digraph "sales-etl" \{/);
    expect(r.stdout).toMatch(/"extract" -> "transform-eu"/);
    // One escape level: dot renders `\n` in a quoted label as a line break.
    expect(r.stdout).toContain('"extract" [label="extract\\n');
    expect(r.stdout).not.toContain('\\\\n');
  });

  it('refuses an unknown format', async () => {
    const r = await cli('graph', 'workflows/examples/etl.yaml', '--format', 'png');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are mermaid, dot/);
  });
});

describe('help', () => {
  it.each(['validate', 'plan', 'graph', 'run', 'runs', 'inspect', 'replay'])(
    '%s --help explains and shows an example',
    async (verb) => {
      const r = await cli(verb, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Usage: smartqueue ${verb}`));
      expect(r.stdout).toMatch(/Examples:\n {2}\$ smartqueue /);
    },
  );

  it('an unknown verb exits 2 with a hint', async () => {
    const r = await cli('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
