/**
 * The heartbeat interval under load, end to end: a real server (createServer, gRPC on loopback)
 * with a small heartbeat budget, and in-process remote workers over the Workers stream.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskHandler } from '../../engine/handler.js';
import { createRemoteWorker } from '../../plugins/transport/remote/index.js';
import type { RemoteWorker } from '../../plugins/transport/remote/index.js';
import { createServer } from '../../runtime/server.js';
import type { SmartQueueServer } from '../../runtime/server.js';
import { eventually } from '../unit/engine/harness.js';

const open: (RemoteWorker | SmartQueueServer)[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

const noop: TaskHandler = () => ({});

describe('heartbeat interval under load', () => {
  it('tells every worker a longer interval past the budget, and the configured one when they leave', async () => {
    const server = await createServer({
      listen: '127.0.0.1:0',
      statePath: false,
      heartbeatIntervalMs: 200,
      maxHeartbeatsPerSecond: 5, // 1 worker at 200 ms fits; 2 need 400 ms
      rateLimit: false,
    });
    open.push(server);
    const logs = new Map<string, string[]>();
    const worker = (id: string) => {
      logs.set(id, []);
      const w = createRemoteWorker({
        server: server.address,
        id,
        capacity: 1,
        handlers: new Map([['noop', noop]]),
        log: (line) => logs.get(id)!.push(line),
      });
      open.push(w);
      w.start();
      return w;
    };
    const a = worker('a');
    await a.ready();
    expect(logs.get('a')!.join('\n')).toContain('heartbeat every 200 ms');
    const b = worker('b');
    await b.ready();
    expect(server.remote.heartbeatIntervalMs).toBe(400);
    expect(logs.get('b')!.join('\n')).toContain('heartbeat every 400 ms');
    await eventually(() => logs.get('a')!.some((l) => l.includes('asks for a heartbeat every 400 ms')));
    await b.close();
    await eventually(() => logs.get('a')!.some((l) => l.includes('asks for a heartbeat every 200 ms')));
    expect(server.remote.heartbeatIntervalMs).toBe(200);
    // Still alive on the longer interval and back: never declared lost.
    await new Promise((r) => setTimeout(r, 700));
    expect(server.remote.workers()).toEqual(['a']);
  });
});
