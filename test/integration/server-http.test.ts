/**
 * `createServer` with its HTTP port: health, metrics that count what ran, and the WebSocket
 * event stream of a run submitted over gRPC.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSmartQueueClient } from '../../plugins/api/grpc/client.js';
import { createServer } from '../../runtime/server.js';
import type { SmartQueueServer } from '../../runtime/server.js';

const YAML = `apiVersion: smartqueue/v1
kind: Workflow
metadata: { name: http-check }
spec:
  tasks:
    - { id: a, uses: sleep, with: { duration: 50ms } }
    - { id: b, uses: noop, needs: [a] }
`;

let server: SmartQueueServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('serve: the HTTP port', () => {
  it('answers /healthz, counts tasks in /metrics, streams a run over WebSocket, and turns 503 on close', async () => {
    server = await createServer({
      listen: '127.0.0.1:0',
      http: '127.0.0.1:0',
      statePath: false,
      localWorkers: 1,
    });
    const base = `http://${server.httpAddress!}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);

    const client = createSmartQueueClient(server.address);
    const { runId } = await client.submitWorkflow({ yaml: YAML });
    client.close();

    const types: string[] = [];
    const seqs: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`ws://${server!.httpAddress!}/v1/events?run=${runId}&from=1`);
      ws.on('message', (data) => {
        const e = JSON.parse(String(data)) as { seq: number; type: string };
        types.push(e.type);
        seqs.push(e.seq);
      });
      ws.on('close', () => resolve());
      ws.on('error', reject);
    });
    expect(types).toContain('task:attempt:succeeded');
    expect(types.at(-1)).toBe('run:state:succeeded');
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^smartqueue_task_attempts_succeeded_total\{handler="sleep"\} 1$/m);
    expect(metrics).toMatch(/^smartqueue_task_attempts_succeeded_total\{handler="noop"\} 1$/m);

    const closing = server.close();
    const during = await fetch(`${base}/healthz`).catch(() => undefined);
    if (during) expect(during.status).toBe(503);
    await closing;
    server = undefined;
  });
});
