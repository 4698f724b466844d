/**
 * The gRPC client verbs (submit, submit-task, watch) against a real in-process gRPC server over
 * the embedded runtime with a SQLite state file, through `main(argv, io)` with captured output.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcApi, createSmartQueueClient } from '../../plugins/api/grpc/index.js';
import type { GrpcApi } from '../../plugins/api/grpc/index.js';
import { createEmbeddedRuntime } from '../../runtime/embedded.js';
import type { EmbeddedRuntime } from '../../runtime/embedded.js';
import { cli } from '../support/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sq-cli-client-'));
let runtime: EmbeddedRuntime;
let api: GrpcApi;
let server = '';

beforeAll(async () => {
  runtime = await createEmbeddedRuntime({ statePath: path.join(dir, 'state.db'), concurrency: 8 });
  api = createGrpcApi({ engine: runtime.engine, store: runtime.store });
  server = `127.0.0.1:${await api.start('127.0.0.1', 0)}`;
});

afterAll(async () => {
  await api.close();
  await runtime.close();
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

const TINY = file(
  'tiny.yaml',
  `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: tiny
spec:
  params:
    who: { type: string, default: world }
  tasks:
    - id: a
      uses: sleep
      with: { duration: 20ms }
    - id: b
      uses: noop
      needs: [a]
`,
);

const FAILING = file(
  'failing.yaml',
  `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: failing
spec:
  tasks:
    - id: boom
      uses: sleep
      with: { duration: not-a-duration }
`,
);

describe('smartqueue submit', () => {
  it('prints the run id, which watch then follows to success (exit 0)', async () => {
    const r = await cli('submit', TINY, '--server', server, '--param', 'who=nginx');
    expect(r.code, r.err).toBe(0);
    const runId = r.out.trim();
    expect(runId).toMatch(/^run_\S+$/);
    expect(r.err).toContain('submitted tiny');
    const w = await cli('watch', runId, '--server', server);
    expect(w.code, w.err).toBe(0);
    expect(w.out).toMatch(/^\S+ +1 task:attempt:dispatched a#1 +workerId=local-1$/m);
    expect(w.out).toMatch(/task:attempt:succeeded b#1/);
    expect(w.out.trim().split('\n').at(-1)).toMatch(/run:state:succeeded/);
    expect(w.err).toContain(`run ${runId} succeeded`);
  });

  it('--watch follows the run; --json prints the response and events as JSON lines', async () => {
    const r = await cli('submit', TINY, '--server', server, '--watch', '--json');
    expect(r.code, r.err).toBe(0);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ workflow: 'tiny', deduplicated: false });
    const events = lines.slice(1);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)).toMatchObject({ type: 'run:state:succeeded', runId: lines[0]!.runId });
  });

  it('--idempotency-key returns the original run', async () => {
    const a = await cli('submit', TINY, '--server', server, '--idempotency-key', 'cli-k1');
    const b = await cli('submit', TINY, '--server', server, '--idempotency-key', 'cli-k1');
    expect(b.code).toBe(0);
    expect(b.out).toBe(a.out);
    expect(b.err).toContain('the original run');
  });

  it('watch exits 1 for a failed run, and --from resumes', async () => {
    const r = await cli('submit', FAILING, '--server', server, '--watch');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/run:state:failed/);
    const runId = r.out.split('\n')[0]!;
    const all = (await cli('watch', runId, '--server', server, '--json')).out.trim().split('\n');
    const tail = await cli('watch', runId, '--server', server, '--json', '--from', '3');
    expect(tail.code).toBe(1);
    expect(tail.out.trim().split('\n')).toEqual(all.slice(2));
    const past = await cli('watch', runId, '--server', server, '--from', '999');
    expect(past.code).toBe(1);
    expect(past.out).toBe('');
  });

  it('a bad workflow: INVALID_ARGUMENT with file:line:column, exit 2', async () => {
    const bad = file('bad.yaml', TINY_TEXT().replace('needs: [a]', 'needs: [zz]'));
    const r = await cli('submit', bad, '--server', server);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^smartqueue: INVALID_ARGUMENT: bad\.yaml:\d+:\d+ .*unknown task "zz"/);
  });

  it('a bad --param is caught before any call', async () => {
    const r = await cli('submit', TINY, '--server', server, '--param', 'oops');
    expect(r.code).toBe(2);
    expect(r.err).toContain('expected name=value');
  });

  it('sends TypeScript-DSL workflows and `plan --ir` output as compiled IR', async () => {
    const mod = file(
      'named.ts',
      `import { workflow } from '${path.resolve('dsl/builder.ts')}';
export default workflow('named', {}, (w) => {
  const a = w.task('a', { uses: 'noop' });
  w.task('b', { uses: 'sleep', with: { duration: '10ms' }, needs: [a] });
});
`,
    );
    const fromModule = await cli('submit', mod, '--server', server, '--watch');
    expect(fromModule.err + fromModule.out).toMatch(/run:state:succeeded/);
    expect(fromModule.code).toBe(0);

    const ir = await cli('plan', TINY, '--ir');
    expect(ir.code).toBe(0);
    expect(JSON.parse(ir.out)).toMatchObject({ apiVersion: 'smartqueue/v1', name: 'tiny' });
    const fromJson = await cli('submit', file('tiny.ir.json', ir.out), '--server', server, '--watch');
    expect(fromJson.code).toBe(0);

    // Inline functions cannot travel: refused before any call, naming the tasks.
    const inline = await cli('submit', 'workflows/examples/ml-pipeline.ts', '--server', server);
    expect(inline.code).toBe(2);
    expect(inline.err).toMatch(/task\(s\) "generate-data", .* run inline functions, which cannot be sent/);
    const notIr = await cli(
      'submit',
      file('bad.json', '{"apiVersion": "smartqueue/v1"}'),
      '--server',
      server,
    );
    expect(notIr.code).toBe(2);
    expect(notIr.err).toMatch(/INVALID_ARGUMENT: .*ir\.name|ir\.tasks/);
  });
});

function TINY_TEXT(): string {
  return `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: tiny
spec:
  tasks:
    - id: a
      uses: noop
    - id: b
      uses: noop
      needs: [a]
`;
}

describe('smartqueue submit-task', () => {
  it('prints task and run ids; needs, args, priority, deadline and estimate reach the server', async () => {
    const a = await cli(
      'submit-task',
      '--server',
      server,
      '--namespace',
      'cli',
      '--id',
      'fetch',
      '--handler',
      'noop',
    );
    expect(a.code, a.err).toBe(0);
    const [, taskId, , runId] = a.out.trim().split(' ');
    expect(taskId).toBe('fetch');
    expect(runId).toMatch(/^run_/);
    const b = await cli(
      'submit-task',
      '--server',
      server,
      '--namespace',
      'cli',
      '--id',
      'parse',
      '--handler',
      'sleep',
      '--args',
      '{"duration":"10ms"}',
      '--needs',
      'fetch',
      '--priority',
      '80',
      '--deadline',
      '5m',
      '--estimate',
      '10ms',
      '--metadata',
      'owner=team-a',
      '--json',
    );
    expect(b.code, b.err).toBe(0);
    expect(JSON.parse(b.out)).toEqual({ taskId: 'parse', runId, deduplicated: false });
    const until = Date.now() + 10_000;
    const direct = createSmartQueueClient(server);
    try {
      for (;;) {
        const task = await direct.getTask({ runId: runId!, taskId: 'parse' });
        if (task.status === 'TASK_STATUS_SUCCEEDED') {
          expect(task.metadata).toEqual({ owner: 'team-a' });
          expect(task.outputs?.fields?.sleptMs?.numberValue).toBe(10);
          break;
        }
        if (Date.now() > until) throw new Error(`task parse is ${task.status}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      direct.close();
    }
    const c = await cli('submit-task', '--server', server, '--handler', 'noop');
    expect(c.out).toMatch(/^task task_\S+ run run_\S+\n$/);
  });

  it('errors are one line naming the gRPC status', async () => {
    const need = await cli(
      'submit-task',
      '--server',
      server,
      '--namespace',
      'cli2',
      '--handler',
      'noop',
      '--needs',
      'ghost',
    );
    expect(need.code).toBe(1);
    expect(need.err).toMatch(/^smartqueue: NOT_FOUND: .*"ghost"/);
    expect(need.err.trim().split('\n')).toHaveLength(1);
    const deadline = await cli(
      'submit-task',
      '--server',
      server,
      '--handler',
      'noop',
      '--deadline',
      'soonish',
    );
    expect(deadline.code).toBe(2);
    expect(deadline.err).toMatch(/^smartqueue: INVALID_ARGUMENT: .*soonish/);
    const args = await cli('submit-task', '--server', server, '--handler', 'noop', '--args', '[1]');
    expect(args.code).toBe(2);
    expect(args.err).toContain('--args must be a JSON object');
    const missing = await cli('submit-task', '--server', server);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("required option '--handler <name>'");
  });
});

describe('client verbs: server and help', () => {
  it('an unreachable server is UNAVAILABLE with a hint', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const r = await cli('watch', 'run_x', '--server', `127.0.0.1:${port}`);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^smartqueue: UNAVAILABLE: .*is `smartqueue serve` running at 127\.0\.0\.1:\d+ without TLS\?\)$/m,
    );
    const bad = await cli('watch', 'run_x', '--server', 'nope');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('expected host:port');
  });

  it('SMARTQUEUE_SERVER sets the default server; unknown runs are NOT_FOUND', async () => {
    process.env.SMARTQUEUE_SERVER = server;
    try {
      const r = await cli('watch', 'run_nope');
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^smartqueue: NOT_FOUND: /);
    } finally {
      delete process.env.SMARTQUEUE_SERVER;
    }
  });

  it.each(['submit', 'submit-task', 'watch'])('%s --help shows examples', async (verb) => {
    const r = await cli(verb, '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Examples:');
    expect(r.out).toContain('--server <host:port>');
  });
});
