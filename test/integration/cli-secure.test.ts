/**
 * `smartqueue serve --config` with bearer tokens and TLS, reached by the client verbs' --token /
 * --token-file / --tls-* options and by a `smartqueue worker` over TLS with a worker token. serve
 * and worker run as processes (through tsx, so no build is needed); submit, submit-task and watch
 * run in-process through `main(argv, io)`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts } from '../unit/plugins/api/make-certs.js';
import type { TestCerts } from '../unit/plugins/api/make-certs.js';
import { cli } from '../support/cli.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ENTRY =
  `import { main } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'cli/main.ts')).href)};` +
  'process.exitCode = await main(process.argv.slice(1));';
const CLIENT_TOKEN = 'client-token-0123456789abcdef';
const WORKER_TOKEN = 'worker-token-0123456789abcdef';

let certs: TestCerts;
let dir: string;
const p = (name: string) => path.join(dir, name);

beforeAll(() => {
  certs = makeCerts();
  dir = mkdtempSync(path.join(tmpdir(), 'sq-cli-secure-'));
  // The config file names its files relative to its own folder.
  copyFileSync(certs.serverCert, p('server.crt'));
  copyFileSync(certs.serverKey, p('server.key'));
  writeFileSync(
    p('tokens.yaml'),
    `${CLIENT_TOKEN}: { name: ci, namespaces: '*' }\n${WORKER_TOKEN}: { name: pool, namespaces: '*', role: worker }\n`,
  );
  writeFileSync(p('client-token'), `${CLIENT_TOKEN}\n`);
  writeFileSync(p('worker-token'), `${WORKER_TOKEN}\n`);
  writeFileSync(
    p('server.yaml'),
    `# served by the test
listen: 127.0.0.1:0
http: 127.0.0.1:0
state: state.db
localWorkers: 0
heartbeatInterval: 1s
allowRemoteRun: false
auth: { tokensFile: tokens.yaml }
tls: { cert: server.crt, key: server.key }
limits: { maxMessageBytes: 1048576, maxTasksPerSubmission: 100 }
rateLimit: { ratePerSecond: 1000, burst: 2000 }
`,
  );
  writeFileSync(
    p('tiny.yaml'),
    `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: tiny
spec:
  tasks:
    - id: a
      uses: sleep
      with: { duration: 10ms }
    - id: b
      uses: noop
      needs: [a]
`,
  );
});
afterAll(() => {
  certs.remove();
  rmSync(dir, { recursive: true, force: true });
});

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}
const procs: Proc[] = [];

afterEach(async () => {
  const all = procs.splice(0);
  for (const proc of all)
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  await Promise.all(all.map((proc) => proc.exited));
  for (const proc of all) expect(proc.child.exitCode !== null || proc.child.signalCode !== null).toBe(true);
});

/** Runs `smartqueue <args>` as a process (the TypeScript sources, through tsx). */
function start(args: string[]): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ENTRY, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SMARTQUEUE_TOKEN: '', SMARTQUEUE_TOKENS: '' },
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const proc = { child, output: () => out, exited };
  procs.push(proc);
  return proc;
}

async function until<T>(what: string, ms: number, check: () => T | undefined, proc?: Proc): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${proc ? `; output:\n${proc.output()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function serve(...extra: string[]): Promise<{ proc: Proc; address: string }> {
  const proc = start(['serve', '--config', p('server.yaml'), ...extra]);
  const address = await until(
    'serve to listen',
    30_000,
    () => /listening on (\S+)/.exec(proc.output())?.[1],
    proc,
  );
  return { proc, address };
}

describe('serve --config with tokens and TLS', () => {
  it('submit, submit-task and watch with --tls-ca and a token; a worker over TLS runs the tasks', async () => {
    const { proc, address } = await serve();
    expect(proc.output()).not.toMatch(/TLS is off|authentication is off/);
    // Printed right after "listening on", possibly in a later chunk.
    await until(
      'the http line',
      10_000,
      () => (/http on 127\.0\.0\.1:\d+/.test(proc.output()) ? true : undefined),
      proc,
    );

    const worker = start([
      'worker',
      '--server',
      address,
      '--id',
      'w-tls',
      '--tls-ca',
      certs.ca,
      '--token-file',
      p('worker-token'),
    ]);
    await until(
      'the worker to join',
      30_000,
      () => (proc.output().includes('worker w-tls joined') ? true : undefined),
      worker,
    );

    const tls = ['--server', address, '--tls-ca', certs.ca];
    const submitted = await cli('submit', p('tiny.yaml'), ...tls, '--token-file', p('client-token'));
    expect(submitted.code, submitted.err).toBe(0);
    const runId = submitted.out.trim();
    expect(runId).toMatch(/^run_\S+$/);
    const watched = await cli('watch', runId, ...tls, '--token', CLIENT_TOKEN);
    expect(watched.code, watched.err).toBe(0);
    expect(watched.out).toMatch(/task:attempt:dispatched a#1 +workerId=w-tls/);
    expect(watched.out.trim().split('\n').at(-1)).toMatch(/run:state:succeeded/);

    // --tls-server-name: the name the certificate is checked against (it holds localhost).
    const task = await cli(
      'submit-task',
      '--handler',
      'noop',
      '--namespace',
      'secure',
      ...tls,
      '--tls-server-name',
      'localhost',
      '--token',
      CLIENT_TOKEN,
    );
    expect(task.code, task.err).toBe(0);
    expect(task.out).toMatch(/^task task_\S+ run run_\S+\n$/);
    const wrongName = await cli(
      'submit-task',
      '--handler',
      'noop',
      ...tls,
      '--tls-server-name',
      'elsewhere.test',
      '--token',
      CLIENT_TOKEN,
    );
    expect(wrongName.code).toBe(1);
    expect(wrongName.err).toMatch(
      /^smartqueue: UNAVAILABLE: .*altnames.*\(check --tls-ca: .* and --tls-server-name\)$/m,
    );

    proc.child.kill('SIGTERM');
    expect(await proc.exited, proc.output()).toBe(0);
  });

  it('without a token: UNAUTHENTICATED (exit 1); a wrong token too; plain text: UNAVAILABLE', async () => {
    const { proc, address } = await serve();
    const tls = ['--server', address, '--tls-ca', certs.ca];
    const anonymous = await cli('submit', p('tiny.yaml'), ...tls);
    expect(anonymous.code).toBe(1);
    expect(anonymous.err).toBe(
      'smartqueue: UNAUTHENTICATED: missing bearer token (metadata authorization: Bearer <token>) ' +
        '(pass --token-file or --token, or set SMARTQUEUE_TOKEN)\n',
    );
    const forged = await cli('watch', 'run_x', ...tls, '--token', 'forged-token-0123456789abcdef');
    expect(forged.code).toBe(1);
    expect(forged.err).toBe('smartqueue: UNAUTHENTICATED: unknown bearer token\n');
    const plain = await cli('submit-task', '--handler', 'noop', '--server', address, '--token', CLIENT_TOKEN);
    expect(plain.code).toBe(1);
    expect(plain.err).toMatch(
      new RegExp(
        `^smartqueue: UNAVAILABLE: .* \\(is \`smartqueue serve\` running at ${address} without TLS\\?\\)\\n$`,
      ),
    );
    proc.child.kill('SIGTERM');
    expect(await proc.exited, proc.output()).toBe(0);
  });

  it('flags override the file: --tls-ca turns on mutual TLS', async () => {
    const { address } = await serve('--tls-ca', certs.ca, '--state', ':memory:');
    const tls = ['--server', address, '--tls-ca', certs.ca, '--token', CLIENT_TOKEN];
    const noCert = await cli('submit-task', '--handler', 'noop', ...tls);
    expect(noCert.code).toBe(1);
    expect(noCert.err).toMatch(/^smartqueue: UNAVAILABLE: /);
    const withCert = await cli(
      'submit-task',
      '--handler',
      'noop',
      ...tls,
      '--tls-cert',
      certs.clientCert,
      '--tls-key',
      certs.clientKey,
    );
    expect(withCert.code, withCert.err).toBe(0);
  });
});
