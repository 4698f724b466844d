/**
 * deploy/nginx/smartqueue.conf in front of two SmartQueue gRPC servers, with a REAL nginx (the
 * Debian package) on loopback: submissions are spread round-robin, the documented sticky option
 * keeps a run's calls on one server, a WatchRun streams through the proxy, and WebSocket upgrades
 * at /v1/events reach the servers' HTTP ports. With CI=true a missing nginx fails the test.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcApi, createSmartQueueClient } from '../../plugins/api/grpc/index.js';
import type { GrpcApi, SmartQueueClient } from '../../plugins/api/grpc/index.js';
import type { RunEvent__Output } from '../../proto/generated/smartqueue/v1/RunEvent.js';
import { createEmbeddedRuntime } from '../../runtime/embedded.js';
import type { EmbeddedRuntime } from '../../runtime/embedded.js';
import { writeNginxConfig } from '../../scripts/nginx-config.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const IN_CI = process.env.CI === 'true';

function findNginx(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim();
  return [onPath, '/usr/sbin/nginx', '/sbin/nginx'].find((p) => p && existsSync(p));
}

/** In CI, install it through the services script when it is missing (as .ci/run does). */
function ensureNginx(): string | undefined {
  const found = findNginx();
  if (found || !IN_CI) return found;
  spawnSync('bash', [path.join(ROOT, 'scripts/services'), 'install', 'nginx'], { stdio: 'inherit' });
  return findNginx();
}

const NGINX = ensureNginx();
if (!NGINX && !IN_CI) {
  console.warn(
    'nginx.test.ts: SKIPPED, nginx is not installed (run `bash scripts/services install nginx`; with CI=true this fails)',
  );
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });

interface Nginx {
  grpc: string;
  httpPort: number;
  dir: string;
  stop(): Promise<void>;
}

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Renders the template for these servers and starts nginx with everything under a temp dir. */
async function startNginx(grpcServers: string[], httpServers: string[], sticky: boolean): Promise<Nginx> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sq-nginx-'));
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const conf = writeNginxConfig(dir, {
    grpcServers,
    httpServers,
    grpcListen: `127.0.0.1:${grpcPort}`,
    httpListen: `127.0.0.1:${httpPort}`,
    sticky,
  });
  const errorLog = path.join(dir, 'error.log');
  try {
    // Daemon mode: the command returns once the master has forked.
    execFileSync(NGINX!, ['-c', conf, '-p', dir, '-e', errorLog], { stdio: 'pipe' });
  } catch (err) {
    const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '';
    throw new Error(`nginx did not start: ${String(err)}\n${log}`);
  }
  const until = Date.now() + 10_000;
  while (!(await accepts(grpcPort)) || !(await accepts(httpPort))) {
    if (Date.now() > until) throw new Error(`nginx not listening:\n${readFileSync(errorLog, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = Number(readFileSync(path.join(dir, 'nginx.pid'), 'utf8'));
  return {
    grpc: `127.0.0.1:${grpcPort}`,
    httpPort,
    dir,
    async stop() {
      if (pidAlive(pid)) process.kill(pid, 'SIGQUIT');
      const end = Date.now() + 10_000;
      while (pidAlive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Backend {
  name: string;
  runtime: EmbeddedRuntime;
  api: GrpcApi;
  /** A direct client, bypassing nginx, to see what this server holds. */
  direct: SmartQueueClient;
  grpc: string;
  /** A stand-in for the server's HTTP port: answers WebSocket upgrades at /v1/events. */
  ws: http.Server;
  wsSockets: Set<net.Socket>;
  http: string;
}

async function startBackend(name: string, dir: string): Promise<Backend> {
  const runtime = await createEmbeddedRuntime({ statePath: path.join(dir, `${name}.db`), concurrency: 8 });
  const api = createGrpcApi({ engine: runtime.engine, store: runtime.store });
  const port = await api.start('127.0.0.1', 0);
  const ws = http.createServer((_req, res) => res.writeHead(426).end());
  const sockets = new Set<net.Socket>();
  ws.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n' +
        `hello from ${name} ${req.url} upgrade=${req.headers.upgrade}\n`,
    );
    socket.on('data', (d: Buffer) => socket.write(`${name} echo ${d.toString()}`));
  });
  await new Promise<void>((r) => ws.listen(0, '127.0.0.1', r));
  return {
    name,
    runtime,
    api,
    direct: createSmartQueueClient(`127.0.0.1:${port}`),
    grpc: `127.0.0.1:${port}`,
    ws,
    wsSockets: sockets,
    http: `127.0.0.1:${(ws.address() as net.AddressInfo).port}`,
  };
}

/** A typed client whose every call carries `x-smartqueue-run: <key>` (the sticky routing key). */
function stickyClient(address: string, key: string): SmartQueueClient {
  const interceptor: grpc.Interceptor = (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('x-smartqueue-run', key);
        next(metadata, listener);
      },
    });
  return createSmartQueueClient(address, {
    channelOptions: { interceptors: [interceptor] } as grpc.ChannelOptions,
  });
}

const SLEEPY_YAML = `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: through-nginx
spec:
  tasks:
    - id: a
      uses: sleep
      with: { duration: 50ms }
    - id: b
      uses: noop
      needs: [a]
    - id: c
      uses: sleep
      with: { duration: 30ms }
      needs: [a]
`;

/** Tasks of `namespace` that `backend` holds. */
async function tasksHeld(backend: Backend, namespace: string): Promise<number> {
  const { runs } = await backend.direct.listRuns({ workflow: `namespace-${namespace}`, pageSize: 100 });
  let n = 0;
  for (const r of runs) n += (await backend.direct.getRun({ runId: r.runId })).tasks.length;
  return n;
}

async function ownerOf(backends: Backend[], runId: string): Promise<Backend[]> {
  const owners: Backend[] = [];
  for (const b of backends) {
    const found = await b.direct.getRun({ runId }).then(
      (r) => r.workflow === 'through-nginx',
      () => false,
    );
    if (found) owners.push(b);
  }
  return owners;
}

describe.skipIf(!NGINX && !IN_CI)('nginx in front of two SmartQueue servers', () => {
  const backends: Backend[] = [];
  const proxies: Nginx[] = [];
  const clients: SmartQueueClient[] = [];
  let dir = '';
  let roundRobin: Nginx;
  let sticky: Nginx;

  beforeAll(async () => {
    // In CI a missing nginx is a failure, not a skip.
    expect(
      NGINX,
      'nginx is not installed and could not be installed (scripts/services install nginx)',
    ).toBeDefined();
    dir = mkdtempSync(path.join(tmpdir(), 'sq-nginx-backends-'));
    backends.push(await startBackend('A', dir), await startBackend('B', dir));
    const grpcServers = backends.map((b) => b.grpc);
    const httpServers = backends.map((b) => b.http);
    roundRobin = await startNginx(grpcServers, httpServers, false);
    proxies.push(roundRobin);
    sticky = await startNginx(grpcServers, httpServers, true);
    proxies.push(sticky);
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    const pids = proxies.map((p) => Number(readFileSync(path.join(p.dir, 'nginx.pid'), 'utf8')));
    for (const p of proxies.splice(0)) await p.stop();
    for (const b of backends.splice(0)) {
      b.direct.close();
      await b.api.close();
      await b.runtime.close();
      for (const s of b.wsSockets) s.destroy();
      b.ws.closeAllConnections();
      await new Promise((r) => b.ws.close(r));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    // Nothing left running.
    expect(pids.filter(pidAlive)).toEqual([]);
  });

  const client = (address: string, key?: string) => {
    const c = key === undefined ? createSmartQueueClient(address) : stickyClient(address, key);
    clients.push(c);
    return c;
  };

  it('spreads SubmitTask and SubmitWorkflow calls round-robin over both servers', async () => {
    const c = client(roundRobin.grpc);
    for (let i = 0; i < 20; i++) {
      const r = await c.submitTask({ namespace: 'rr', taskId: `t${i}`, handler: 'noop' });
      expect(r.taskId).toBe(`t${i}`);
    }
    const held = [await tasksHeld(backends[0]!, 'rr'), await tasksHeld(backends[1]!, 'rr')];
    // Equal weights, one nginx worker, sequential calls: strict alternation.
    expect(held).toEqual([10, 10]);

    const runIds: string[] = [];
    for (let i = 0; i < 4; i++) runIds.push((await c.submitWorkflow({ yaml: SLEEPY_YAML })).runId);
    const owners = new Map<string, number>();
    for (const id of runIds) {
      const o = await ownerOf(backends, id);
      expect(o).toHaveLength(1);
      owners.set(o[0]!.name, (owners.get(o[0]!.name) ?? 0) + 1);
    }
    expect(Object.fromEntries(owners)).toEqual({ A: 2, B: 2 });

    const log = readFileSync(path.join(roundRobin.dir, 'access.log'), 'utf8');
    for (const b of backends) expect(log).toContain(`upstream=${b.grpc}`);
  });

  it('shows why sticky routing exists: without it, calls about one run alternate between servers', async () => {
    const c = client(roundRobin.grpc);
    const { runId } = await c.submitWorkflow({ yaml: SLEEPY_YAML });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(
        await c.getRun({ runId }).then(
          () => 'OK',
          (e: grpc.ServiceError) => grpc.status[e.code],
        ),
      );
    }
    // These two servers do not share a store (a real deployment shares Cassandra): every other
    // call lands on the server that never saw the run.
    expect(outcomes.filter((o) => o === 'OK')).toHaveLength(2);
    expect(outcomes.filter((o) => o === 'NOT_FOUND')).toHaveLength(2);
  });

  it('sticky by x-smartqueue-run: a run submitted and watched through nginx streams to success', async () => {
    const c = client(sticky.grpc, 'watch-me');
    const { runId } = await c.submitWorkflow({ yaml: SLEEPY_YAML });
    const events: RunEvent__Output[] = [];
    for await (const e of c.watchRun({ runId })) events.push(e);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(
      events
        .filter((e) => e.type === 'task:attempt:succeeded')
        .map((e) => e.taskId)
        .sort(),
    ).toEqual(['a', 'b', 'c']);
    expect(events.at(-1)!.type).toBe('run:state:succeeded');
    // Resuming from a sequence number works through the proxy too.
    const tail: RunEvent__Output[] = [];
    for await (const e of c.watchRun({ runId, fromSeq: events.length - 1 })) tail.push(e);
    expect(tail).toEqual(events.slice(-2));
  });

  it('sticky by x-smartqueue-run: each key stays on one server, and keys spread over both', async () => {
    const keys = Array.from({ length: 16 }, (_, i) => `ns-${i}`);
    for (const key of keys) {
      const c = client(sticky.grpc, key);
      await c.submitTask({ namespace: key, taskId: 'first', handler: 'noop' });
      // `needs` names a task only the first call's server knows: NOT_FOUND if routed elsewhere.
      for (let i = 0; i < 3; i++)
        await c.submitTask({ namespace: key, taskId: `next${i}`, handler: 'noop', needs: ['first'] });
    }
    const perServer = { A: 0, B: 0 };
    for (const key of keys) {
      const held = [await tasksHeld(backends[0]!, key), await tasksHeld(backends[1]!, key)];
      expect([...held].sort()).toEqual([0, 4]);
      if (held[0] === 4) perServer.A++;
      else perServer.B++;
    }
    expect(perServer.A).toBeGreaterThan(0);
    expect(perServer.B).toBeGreaterThan(0);
  });

  it('proxies WebSocket upgrades at /v1/events to the servers, both ways, round-robin', async () => {
    const open = (run: string) =>
      new Promise<string>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port: roundRobin.httpPort,
          path: `/v1/events?run=${run}`,
          headers: { Connection: 'Upgrade', Upgrade: 'websocket' },
        });
        req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
        req.on('upgrade', (res, socket: net.Socket, head: Buffer) => {
          expect(res.statusCode).toBe(101);
          let text = '';
          const onData = (d: Buffer) => {
            text += d.toString();
            if (text.includes('echo')) {
              socket.destroy();
              resolve(text);
            } else if (text.includes('\n')) socket.write('ping');
          };
          socket.on('data', onData);
          if (head.length) onData(head);
        });
        req.on('error', reject);
        req.end();
      });
    const answers = [await open('run_1'), await open('run_2')];
    expect(answers.map((a) => a.split(' ')[2]).sort()).toEqual(['A', 'B']);
    for (const [i, a] of answers.entries()) {
      expect(a).toContain(`/v1/events?run=run_${i + 1} upgrade=websocket`);
      expect(a).toMatch(/[AB] echo ping$/);
    }
  });
});
