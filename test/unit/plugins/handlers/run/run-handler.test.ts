import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NonRetryableError, SmartQueueError } from '../../../../../engine/errors.js';
import {
  createRunHandler,
  parseLastLineOutputs,
  resolveRunHandlerOptions,
  RunExitError,
  type RunArgs,
} from '../../../../../plugins/handlers/run/index.js';
import { makeContext } from '../make-context.js';

const NODE = process.execPath;

/** argv running a Node.js script, without a shell. */
function node(script: string, ...args: string[]): string[] {
  return [NODE, '-e', script, ...args];
}

/**
 * Whether a process runs. A killed orphan stays a zombie until PID 1 reaps it, which some
 * container inits do only now and then: on Linux a zombie counts as dead.
 */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

async function waitFor<T>(read: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('createRunHandler', () => {
  let dir: string;
  const pidsToReap: number[] = [];

  beforeEach(async () => {
    dir = await realpath(await mkdtemp(path.join(tmpdir(), 'sq-run-')));
  });

  afterEach(async () => {
    for (const pid of pidsToReap.splice(0)) {
      const alive = isAlive(pid);
      if (alive) process.kill(pid, 'SIGKILL');
      expect(alive, `process ${pid} was left running`).toBe(false);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a program and returns its exit code, stdout and stderr', async () => {
    const run = createRunHandler();
    const out = await run(makeContext<RunArgs>({ argv: ['echo', 'hello', 'world'] }));
    expect(out).toEqual({ exitCode: 0, stdout: 'hello world\n', stderr: '' });
    const both = await run(
      makeContext<RunArgs>({ argv: node("process.stdout.write('o'); process.stderr.write('e')") }),
    );
    expect(both).toEqual({ exitCode: 0, stdout: 'o', stderr: 'e' });
  });

  it('merges the JSON object on the last non-empty stdout line into the outputs', async () => {
    const run = createRunHandler();
    const script = `console.log('working...'); console.log(JSON.stringify({ rows: 1200, path: '/out', stdout: 'spoof' })); console.log('')`;
    const out = await run(makeContext<RunArgs>({ argv: node(script) }));
    expect(out.rows).toBe(1200);
    expect(out.path).toBe('/out');
    // Built-in outputs cannot be overridden by the command.
    expect(out.stdout).toContain('working...');
    expect(out.exitCode).toBe(0);

    const notLast = await run(
      makeContext<RunArgs>({ argv: node(`console.log('{"a":1}'); console.log('done')`) }),
    );
    expect(notLast).not.toHaveProperty('a');
    const array = await run(makeContext<RunArgs>({ argv: node(`console.log('[1,2]')`) }));
    expect(Object.keys(array).sort()).toEqual(['exitCode', 'stderr', 'stdout']);
  });

  it('fails with the exit code and the last lines of stderr', async () => {
    const run = createRunHandler({ errorTailLines: 5 });
    const script = `for (let i = 1; i <= 30; i++) console.error('err-' + String(i).padStart(2, '0')); process.exit(3)`;
    const error = await Promise.resolve(run(makeContext<RunArgs>({ argv: node(script) }))).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RunExitError);
    expect(error).not.toBeInstanceOf(NonRetryableError);
    const message = (error as RunExitError).message;
    expect(message).toContain('exited with code 3');
    expect(message).toContain('err-26\nerr-27\nerr-28\nerr-29\nerr-30');
    expect(message).not.toContain('err-25');
    expect((error as RunExitError).exitCode).toBe(3);
  });

  it('reports a program killed by a signal', async () => {
    const run = createRunHandler();
    const error = await Promise.resolve(
      run(makeContext<RunArgs>({ argv: node(`process.kill(process.pid, 'SIGKILL')`) })),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunExitError);
    expect((error as RunExitError).message).toContain('killed by signal SIGKILL');
    expect((error as RunExitError).message).toContain('stderr was empty');
  });

  it('fails for good when the program does not exist', async () => {
    const run = createRunHandler();
    const missing = run(makeContext<RunArgs>({ argv: ['sq-no-such-program-4711', '--help'] }));
    await expect(missing).rejects.toBeInstanceOf(NonRetryableError);
    await expect(missing).rejects.toThrow(/"sq-no-such-program-4711" not found on PATH/);
    const missingPath = run(makeContext<RunArgs>({ argv: [path.join(dir, 'nope')] }));
    await expect(missingPath).rejects.toThrow(/no such file/);
  });

  it('passes shell metacharacters literally: no shell ever runs', async () => {
    const victim = path.join(dir, 'victim');
    await mkdir(victim);
    const marker = path.join(dir, 'pwned');
    const hostile = `$(touch ${marker}); rm -rf ${victim} | echo \`touch ${marker}\` && exit 7 > ${marker}`;
    const run = createRunHandler();
    const out = await run(makeContext<RunArgs>({ argv: node('console.log(process.argv[1])', hostile) }));
    expect(out.stdout).toBe(`${hostile}\n`);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(victim)).toBe(true);
  });

  it('passes only allow-listed parent variables, the task env and the attempt identity', async () => {
    process.env.SQ_TEST_SECRET_TOKEN = 's3cr3t';
    process.env.SQ_TEST_ALLOWED = 'visible';
    try {
      const run = createRunHandler({ envAllowList: ['PATH', 'SQ_TEST_ALLOWED'] });
      const ctx = makeContext<RunArgs>(
        {
          argv: node('console.log(JSON.stringify({ env: process.env }))'),
          env: { GREETING: 'hi', SMARTQUEUE_RUN_ID: 'spoof' },
        },
        { runId: 'run_42', taskId: 'load', attempt: 2, idempotencyKey: 'run_42/load' },
      );
      const out = await run(ctx);
      const env = out.env as Record<string, string>;
      expect(env.SQ_TEST_SECRET_TOKEN).toBeUndefined();
      expect(JSON.stringify(env)).not.toContain('s3cr3t');
      expect(env.SQ_TEST_ALLOWED).toBe('visible');
      expect(env.PATH).toBe(process.env.PATH);
      expect(env.GREETING).toBe('hi');
      expect(env.SMARTQUEUE_RUN_ID).toBe('run_42');
      expect(env.SMARTQUEUE_TASK_ID).toBe('load');
      expect(env.SMARTQUEUE_ATTEMPT).toBe('2');
      expect(env.SMARTQUEUE_IDEMPOTENCY_KEY).toBe('run_42/load');
      // HOME is allow-listed by default but not here.
      expect(env.HOME).toBeUndefined();
    } finally {
      delete process.env.SQ_TEST_SECRET_TOKEN;
      delete process.env.SQ_TEST_ALLOWED;
    }
  });

  it('passes the default allow-list (PATH, HOME, ...) but not other variables', async () => {
    process.env.SQ_TEST_SECRET_TOKEN = 's3cr3t';
    try {
      const out = await createRunHandler()(
        makeContext<RunArgs>({ argv: node('console.log(JSON.stringify(process.env))') }),
      );
      const env = out as unknown as Record<string, string>;
      expect(env.PATH).toBe(process.env.PATH);
      expect(env.SQ_TEST_SECRET_TOKEN).toBeUndefined();
    } finally {
      delete process.env.SQ_TEST_SECRET_TOKEN;
    }
  });

  it('runs in cwd resolved against baseDir, and refuses a missing directory', async () => {
    await mkdir(path.join(dir, 'work'));
    await writeFile(path.join(dir, 'a-file'), '');
    const run = createRunHandler({ baseDir: dir });
    const out = await run(makeContext<RunArgs>({ argv: node('console.log(process.cwd())'), cwd: 'work' }));
    expect(out.stdout.trim()).toBe(path.join(dir, 'work'));
    const atBase = await run(makeContext<RunArgs>({ argv: node('console.log(process.cwd())') }));
    expect(atBase.stdout.trim()).toBe(dir);
    await expect(run(makeContext<RunArgs>({ argv: ['echo'], cwd: 'missing' }))).rejects.toThrow(
      NonRetryableError,
    );
    await expect(run(makeContext<RunArgs>({ argv: ['echo'], cwd: 'a-file' }))).rejects.toThrow(
      /not a directory/,
    );
  });

  it('keeps the tail of long output and flags the truncation', async () => {
    const run = createRunHandler({ maxOutputBytes: 1024 });
    const script = `process.stdout.write('x'.repeat(100000) + 'END'); process.stderr.write('y'.repeat(5000) + 'FIN')`;
    const ctx = makeContext<RunArgs>({ argv: node(script) });
    const out = await run(ctx);
    expect(out.truncated).toBe(true);
    expect(Buffer.byteLength(out.stdout)).toBe(1024);
    expect(out.stdout.endsWith('xEND')).toBe(true);
    expect(Buffer.byteLength(out.stderr)).toBe(1024);
    expect(out.stderr.endsWith('yFIN')).toBe(true);
    expect(ctx.logged.some((l) => l.level === 'warn' && /truncated/.test(l.message))).toBe(true);

    const small = await run(makeContext<RunArgs>({ argv: node(`process.stdout.write('short')`) }));
    expect(small).not.toHaveProperty('truncated');
  });

  it('drops a character cut in half at the start of a truncated tail', async () => {
    const run = createRunHandler({ maxOutputBytes: 5 });
    // 'é' is 2 bytes: the last 5 bytes of 'ééé' start in the middle of the first kept 'é'.
    const out = await run(makeContext<RunArgs>({ argv: node(`process.stdout.write('ééé')`) }));
    expect(out.stdout).toBe('éé');
  });

  it('on abort, stops the program and rejects with the signal reason', async () => {
    const pidFile = path.join(dir, 'pid');
    const controller = new AbortController();
    const run = createRunHandler({ killGraceMs: 5000 });
    const script = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`;
    const attempt = run(makeContext<RunArgs>({ argv: node(script) }, { signal: controller.signal }));
    const pid = Number(await waitFor(() => readFile(pidFile, 'utf8').catch(() => undefined)));
    pidsToReap.push(pid);
    expect(isAlive(pid)).toBe(true);
    const reason = new Error('cancelled by test');
    const started = Date.now();
    controller.abort(reason);
    await expect(attempt).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(4000); // SIGTERM was enough: no grace period
    expect(isAlive(pid)).toBe(false);
  });

  it('on abort, kills a program that ignores SIGTERM after the grace period, and its children', async () => {
    const pidFile = path.join(dir, 'pids');
    const controller = new AbortController();
    const run = createRunHandler({ killGraceMs: 300 });
    const grandchild = `process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)`;
    const script = [
      `process.on('SIGTERM', () => {});`,
      `const c = require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'ignore' });`,
      `setTimeout(() => require('fs').writeFileSync(${JSON.stringify(pidFile)}, process.pid + ' ' + c.pid), 200);`,
      `setInterval(() => {}, 1000)`,
    ].join('\n');
    const attempt = run(makeContext<RunArgs>({ argv: node(script) }, { signal: controller.signal }));
    const pids = (await waitFor(() => readFile(pidFile, 'utf8').catch(() => undefined)))
      .split(' ')
      .map(Number);
    pidsToReap.push(...pids);
    const started = Date.now();
    controller.abort(new Error('timeout'));
    await expect(attempt).rejects.toThrow('timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(isAlive(pids[0]!)).toBe(false);
    await waitFor(async () => (isAlive(pids[1]!) ? undefined : true), 2000);
  });

  it('rejects at once when the signal is already aborted, without starting anything', async () => {
    const marker = path.join(dir, 'ran');
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    const run = createRunHandler();
    await expect(
      run(
        makeContext<RunArgs>(
          { argv: node(`require('fs').writeFileSync(${JSON.stringify(marker)}, '')`) },
          { signal: controller.signal },
        ),
      ),
    ).rejects.toThrow('too late');
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses bad arguments for good', async () => {
    const run = createRunHandler();
    const bad: unknown[] = [
      undefined,
      { argv: [] },
      { argv: 'echo hi' },
      { argv: ['echo', 3] },
      { argv: [''] },
      { argv: ['echo'], cwd: 7 },
      { argv: ['echo'], env: { A: { nested: true } } },
      { argv: ['echo'], env: { 'A=B': 'x' } },
      { argv: ['echo', 'a\0b'] },
    ];
    for (const args of bad) {
      await expect(run(makeContext(args as RunArgs)), JSON.stringify(args)).rejects.toBeInstanceOf(
        NonRetryableError,
      );
    }
  });

  it('accepts numbers and booleans as env values (resolved expressions)', async () => {
    const run = createRunHandler();
    const out = await run(
      makeContext({
        argv: node('console.log(JSON.stringify({ n: process.env.N, b: process.env.B }))'),
        env: { N: 3, B: true },
      } as unknown as RunArgs),
    );
    expect(out.n).toBe('3');
    expect(out.b).toBe('true');
  });
});

describe('resolveRunHandlerOptions', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveRunHandlerOptions();
    expect(resolved).toMatchObject({
      baseDir: process.cwd(),
      envAllowList: ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR', 'SYSTEMROOT'],
      maxOutputBytes: 1024 * 1024,
      killGraceMs: 5000,
      errorTailLines: 10,
    });
  });

  it('names every bad option in one INVALID_OPTIONS error', () => {
    let error: unknown;
    try {
      resolveRunHandlerOptions({ maxOutputBytes: -1, killGraceMs: 1.5, envAllowList: [''] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SmartQueueError);
    expect((error as SmartQueueError).code).toBe('INVALID_OPTIONS');
    expect((error as SmartQueueError).message).toMatch(
      /maxOutputBytes.*killGraceMs|envAllowList.*maxOutputBytes/,
    );
    expect((error as SmartQueueError).details.problems).toHaveLength(3);
  });
});

describe('parseLastLineOutputs', () => {
  it('reads the last non-empty line only, and only a JSON object', () => {
    expect(parseLastLineOutputs('a\n{"x":1}\n\n  \n')).toEqual({ x: 1 });
    expect(parseLastLineOutputs('{"x":1}')).toEqual({ x: 1 });
    expect(parseLastLineOutputs('{"x":1}\r\n')).toEqual({ x: 1 });
    expect(parseLastLineOutputs('{"x":1}\nlast')).toBeUndefined();
    expect(parseLastLineOutputs('{not json}')).toBeUndefined();
    expect(parseLastLineOutputs('[1]')).toBeUndefined();
    expect(parseLastLineOutputs('null')).toBeUndefined();
    expect(parseLastLineOutputs('')).toBeUndefined();
    expect(parseLastLineOutputs('\n\n')).toBeUndefined();
  });
});
