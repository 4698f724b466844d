import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { HandlerContext } from '../../../engine/handler.js';
import { dslSource, isWorkflowDefinition, workflow } from '../../../dsl/builder.js';
import type { TaskRef, WorkflowDefinition } from '../../../dsl/builder.js';
import { compileWorkflow } from '../../../dsl/compiler.js';
import { compileFile, loadYamlText } from '../../../dsl/load.js';
import { normalizeWorkflow } from '../../../dsl/normalize.js';
import { runAttempt } from '../../../engine/worker.js';

const execFileAsync = promisify(execFile);
const THIS_FILE = fileURLToPath(import.meta.url);
const PROJECT_ROOT = path.resolve(path.dirname(THIS_FILE), '../../..');
const THIS_TEXT = readFileSync(THIS_FILE, 'utf8');

/** Line and column of the `task(` (or `workflow(`) call on the line that carries `// @site:<marker>`. */
function siteOf(marker: string, call = 'task('): { line: number; column: number } {
  const lines = THIS_TEXT.split('\n');
  const i = lines.findIndex((l) => l.includes(`// @site:${marker}`) && !l.includes('siteOf'));
  if (i < 0) throw new Error(`marker ${marker} not found`);
  return { line: i + 1, column: lines[i]!.indexOf(call) + 1 };
}

function normalizeDsl(def: WorkflowDefinition, file = 'wf.ts') {
  return normalizeWorkflow(def.document, dslSource(def, file));
}

function fakeContext(inputs: Record<string, Record<string, unknown>>): HandlerContext {
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  return {
    runId: 'run-1',
    taskId: 't',
    attempt: 1,
    idempotencyKey: 'k',
    args: {},
    inputs,
    params: {},
    signal: new AbortController().signal,
    progress: () => undefined,
    log,
  };
}

const NIGHTLY_YAML = `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: nightly
  description: Nightly ETL
  labels: { team: data }
spec:
  deadline: 1h
  priority: high
  shardKey: "\${{ params.date }}"
  failurePolicy: continue
  schedule: { cron: "0 2 * * *", timezone: Europe/Paris }
  defaults:
    retries: 2
    timeout: 10m
  params:
    date: { type: string, default: "2026-12-01" }
  tasks:
    - id: extract
      uses: noop
      estimate: 5m
      outputs: [rows]
    - id: transform
      needs: [extract]
      run: [python, transform.py, "\${{ params.date }}"]
      env: { MODE: fast }
      estimate: 20m
      deadline: 45m
    - id: load
      needs: [extract, transform]
      uses: http
      with: { url: "https://example.test/load", rows: "\${{ tasks.extract.outputs.rows }}" }
      retries: { max: 3, backoff: fixed, initial: 10s }
      priority: 90
      when: "\${{ params.date != '' }}"
    - id: nap
      needs: [load]
      uses: sleep
      with: { duration: 30s }
`;

function nightlyDsl(): WorkflowDefinition {
  return workflow(
    'nightly',
    {
      description: 'Nightly ETL',
      labels: { team: 'data' },
      deadline: '1h',
      priority: 'high',
      shardKey: '${{ params.date }}',
      failurePolicy: 'continue',
      schedule: { cron: '0 2 * * *', timezone: 'Europe/Paris' },
      defaults: { retries: 2, timeout: '10m' },
      params: { date: { type: 'string', default: '2026-12-01' } },
    },
    (w) => {
      const extract = w.task('extract', { uses: 'noop', estimate: '5m', outputs: ['rows'] });
      const transform = w.task('transform', {
        needs: [extract],
        run: ['python', 'transform.py', '${{ params.date }}'],
        env: { MODE: 'fast' },
        estimate: '20m',
        deadline: '45m',
      });
      const load = w.task('load', {
        needs: [extract, transform],
        uses: 'http',
        with: { url: 'https://example.test/load', rows: '${{ tasks.extract.outputs.rows }}' },
        retries: { max: 3, backoff: 'fixed', initial: '10s' },
        priority: 90,
        when: "${{ params.date != '' }}",
      });
      w.task('nap', { needs: [load], uses: 'sleep', with: { duration: '30s' } });
    },
  );
}

describe('workflow(): the TypeScript DSL', () => {
  it('yields the same IR as the equivalent YAML', () => {
    const fromYaml = loadYamlText(NIGHTLY_YAML, 'nightly.yaml');
    expect(fromYaml.diagnostics).toEqual([]);
    const fromDsl = normalizeDsl(nightlyDsl());
    expect(fromDsl.diagnostics).toEqual([]);
    expect(fromDsl.partial).toBe(false);
    expect(fromDsl.ir).toEqual(fromYaml.workflows[0]!.ir);
    // The DSL builds the very document the YAML file holds.
    expect(nightlyDsl().document).toEqual(parseYaml(NIGHTLY_YAML));
  });

  it('compiles to the same plan as the YAML', () => {
    const y = loadYamlText(NIGHTLY_YAML, 'nightly.yaml').workflows[0]!;
    const d = normalizeDsl(nightlyDsl());
    const now = Date.parse('2026-12-01T00:00:00Z');
    const fromYaml = compileWorkflow(y.ir, y.source, { now, taskIndex: y.taskIndex });
    const fromDsl = compileWorkflow(d.ir!, dslSource(nightlyDsl(), 'wf.ts'), { now, taskIndex: d.taskIndex });
    expect(fromDsl.diagnostics).toEqual([]);
    expect(fromYaml.diagnostics).toEqual([]);
    expect(fromDsl.plan!.order).toEqual(fromYaml.plan!.order);
    expect(fromDsl.plan!.criticalPath).toEqual(['extract', 'transform', 'load', 'nap']);
    expect([...fromDsl.plan!.tasks.values()]).toEqual([...fromYaml.plan!.tasks.values()]);
  });

  it('is recognised as a workflow definition', () => {
    expect(isWorkflowDefinition(nightlyDsl())).toBe(true);
    expect(isWorkflowDefinition({ name: 'x', document: {} })).toBe(false);
    expect(isWorkflowDefinition(null)).toBe(false);
    expect(nightlyDsl().name).toBe('nightly');
  });
});

describe('inline handlers', () => {
  it('are registered under dsl:<workflow>/<task> and referenced by `uses`', async () => {
    const def = workflow('inline', { deadline: '10m' }, (w) => {
      const extract = w.task('extract', { estimate: '1m' }, async () => ({ rows: 42, table: 'raw' }));
      const side = w.task('side', { needs: [extract] }, () => undefined);
      w.task('load', { needs: [extract, side], estimate: '2m' }, async (ctx) => {
        const out = ctx.get(extract);
        expectTypeOf(out).toEqualTypeOf<{ rows: number; table: string }>();
        expectTypeOf(ctx.get(side)).toEqualTypeOf<Record<string, never>>();
        // @ts-expect-error: extract declares no output "nope"
        void out.nope;
        return { loaded: out.rows, table: out.table, side: ctx.get(side), run: ctx.runId };
      });
    });
    expect([...def.handlers.keys()]).toEqual(['dsl:inline/extract', 'dsl:inline/side', 'dsl:inline/load']);
    const tasks = (def.document.spec as { tasks: { id: string; uses?: string }[] }).tasks;
    expect(tasks.map((t) => t.uses)).toEqual(['dsl:inline/extract', 'dsl:inline/side', 'dsl:inline/load']);

    expect(await def.handlers.get('dsl:inline/extract')!(fakeContext({}))).toEqual({
      rows: 42,
      table: 'raw',
    });
    const load = def.handlers.get('dsl:inline/load')!;
    // ctx.get reads the needed task's outputs; a task that returned nothing reads as {}.
    expect(await load(fakeContext({ extract: { rows: 7, table: 't' } }))).toEqual({
      loaded: 7,
      table: 't',
      side: {},
      run: 'run-1',
    });

    const r = normalizeDsl(def);
    expect(r.diagnostics).toEqual([]);
    expect(r.ir!.tasks.map((t) => t.handler)).toEqual([
      { kind: 'uses', name: 'dsl:inline/extract', with: {} },
      { kind: 'uses', name: 'dsl:inline/side', with: {} },
      { kind: 'uses', name: 'dsl:inline/load', with: {} },
    ]);
    expect(r.ir!.tasks.map((t) => t.needs)).toEqual([[], ['extract'], ['extract', 'side']]);
  });

  it('keeps handlers of different workflows apart', () => {
    const a = workflow('a', {}, (w) => void w.task('t', {}, () => ({ from: 'a' })));
    const b = workflow('b', {}, (w) => void w.task('t', {}, () => ({ from: 'b' })));
    expect(a.handlers.get('dsl:a/t')!(fakeContext({}))).toEqual({ from: 'a' });
    expect(b.handlers.get('dsl:b/t')!(fakeContext({}))).toEqual({ from: 'b' });
  });
});

describe('inline handlers under a real attempt', () => {
  it('see the attempt signal abort on timeout, and read needs through ctx.get', async () => {
    let sawAbort = false;
    const def = workflow('signals', {}, (w) => {
      const up = w.task('up', {}, () => ({ n: 1 }));
      w.task('slow', { needs: [up] }, async (ctx) => {
        expect(ctx.get(up).n).toBe(1);
        await new Promise<void>((_, reject) =>
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(new Error('aborted'));
          }),
        );
      });
    });
    const name = 'dsl:signals/slow';
    const result = await runAttempt(
      {
        runId: 'r',
        taskId: 'slow',
        attempt: 1,
        workerId: 'w',
        shard: 0,
        idempotencyKey: 'r/slow',
        handler: { kind: 'uses', name, with: {} },
        inputs: { up: { n: 1 } },
        params: {},
        timeoutMs: 30,
      },
      def.handlers,
    );
    expect(result.error).toMatchObject({ timedOut: true });
    expect(sawAbort).toBe(true);
  });
});

describe('error positions', () => {
  it('point at the w.task call line of the task in error', () => {
    const def = workflow('positions', {}, (w) => {
      w.task('ok', { uses: 'noop' }); // @site:ok
      w.task('broken', { uses: 'noop', estimate: 'soon' }); // @site:broken
      w.task('both', { uses: 'noop', run: ['x'] }); // @site:both
    });
    const r = normalizeDsl(def, 'positions.ts');
    expect(
      r.diagnostics.map((d) => ({ line: d.line, column: d.column, path: d.path, file: d.file })),
    ).toEqual([
      { ...siteOf('broken'), path: 'tasks[1].estimate', file: 'positions.ts' },
      { ...siteOf('both'), path: 'tasks[2]', file: 'positions.ts' },
    ]);
    expect(def.sites.tasks[0]).toEqual({ file: THIS_FILE, ...siteOf('ok') });
  });

  it('point at the w.task line for compile errors too', () => {
    // A reference to a task of another workflow: its id is unknown here.
    const foreign = { id: 'elsewhre' } as unknown as TaskRef;
    const def = workflow('compile-errors', {}, (w) => {
      const a = w.task('a', { uses: 'noop' }); // @site:a
      w.task('a', { uses: 'noop', needs: [a] }); // @site:dup
      w.task('c', { uses: 'noop', needs: [foreign] }); // @site:unknown
    });
    const n = normalizeDsl(def);
    const r = compileWorkflow(n.ir!, dslSource(def, 'wf.ts'), { taskIndex: n.taskIndex });
    expect(r.diagnostics.map((d) => [d.line, d.column, d.message])).toEqual([
      [
        siteOf('dup').line,
        siteOf('dup').column,
        `duplicate task id "a" (first defined at line ${siteOf('a').line})`,
      ],
      [siteOf('unknown').line, siteOf('unknown').column, 'unknown task "elsewhre"'],
    ]);
  });

  it('point at the workflow() call for workflow-level errors', () => {
    const def = workflow('bad-deadline', { deadline: 'later' }, (w) => void w.task('a', { uses: 'noop' })); // @site:wf
    const r = normalizeDsl(def);
    expect(r.diagnostics.map((d) => [d.line, d.column, d.path])).toEqual([
      [siteOf('wf').line, siteOf('wf', 'workflow(').column, 'deadline'],
    ]);
  });
});

describe('workflow modules on disk', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sq-dsl-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const builderUrl = pathToFileURL(path.join(PROJECT_ROOT, 'dsl/builder.ts')).href;
  const moduleText = (estimate: string) =>
    [
      `import { workflow } from ${JSON.stringify(builderUrl)};`,
      '',
      "export default workflow('mod', { deadline: '1h' }, (w) => {",
      "  const a = w.task('a', { estimate: '5m' }, async () => ({ n: 1 }));",
      `  w.task('b', { needs: [a], estimate: '${estimate}' }, async (ctx) => ({ m: ctx.get(a).n }));`,
      '});',
      '',
    ].join('\n');

  /**
   * Compiles module files in a fresh Node process, as the CLI does: inside the test worker the
   * runner's own Error.prepareStackTrace hides Node's source-mapped stack traces.
   */
  async function diagnosticsInChild(files: string[]): Promise<[number, number, string][][]> {
    const driver = path.join(dir, 'driver.mjs');
    const loadUrl = pathToFileURL(path.join(PROJECT_ROOT, 'dsl/load.ts')).href;
    await writeFile(
      driver,
      [
        `const { compileFile } = await import(${JSON.stringify(loadUrl)});`,
        'const out = [];',
        'for (const f of process.argv.slice(2)) {',
        '  const r = await compileFile(f);',
        '  out.push(r.diagnostics.map((d) => [d.line, d.column, d.path]));',
        '}',
        'console.log(JSON.stringify(out));',
      ].join('\n'),
    );
    const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', driver, ...files], {
      cwd: PROJECT_ROOT,
    });
    return JSON.parse(stdout) as [number, number, string][][];
  }

  it('compile through compileFile: handlers, plan and diagnostics', async () => {
    const bad = path.join(dir, 'flow-bad.mts');
    await writeFile(bad, moduleText('whenever'));
    const r = await compileFile(bad);
    expect(r.diagnostics.map((d) => [d.file, d.path, d.severity])).toEqual([
      [bad, 'tasks[1].estimate', 'error'],
    ]);

    const good = path.join(dir, 'flow-ok.mts');
    await writeFile(good, moduleText('10m'));
    const ok = await compileFile(good, { now: 0 });
    expect(ok.diagnostics).toEqual([]);
    expect(ok.compiled).toHaveLength(1);
    const { loaded, plan } = ok.compiled[0]!;
    expect(loaded.file).toBe(good);
    expect([...loaded.handlers.keys()]).toEqual(['dsl:mod/a', 'dsl:mod/b']);
    expect(plan.makespanMs).toBe(15 * 60_000);
    expect(plan.deadlineMs).toBe(60 * 60_000);
    expect(await loaded.handlers.get('dsl:mod/b')!(fakeContext({ a: { n: 5 } }))).toEqual({ m: 5 });
  });

  /** Both module kinds compiled by one child process (each start costs seconds). */
  let childResults: Promise<[number, number, string][][]> | undefined;
  const inChild = async (index: number) => {
    childResults ??= (async () => {
      const esm = path.join(dir, 'flow-esm.mts');
      const cjs = path.join(dir, 'flow-cjs.ts');
      await writeFile(esm, moduleText('whenever'));
      await writeFile(cjs, moduleText('whenever'));
      return diagnosticsInChild([esm, cjs]);
    })();
    return (await childResults)[index];
  };

  it('report errors at the w.task line of an ES module file', async () => {
    expect(await inChild(0)).toEqual([[5, 5, 'tasks[1].estimate']]);
  });

  // Regression: tsx loads a `.ts` file outside a `"type": "module"` package as CommonJS from a
  // data: URL without a source map; call sites used to be those of the transpiled code (2:960).
  it('report errors at the w.task line of a .ts file outside a module package', async () => {
    expect(await inChild(1)).toEqual([[5, 5, 'tasks[1].estimate']]);
  });
});
