/**
 * A trace backend that is down at shutdown (here: a Zipkin endpoint answering 500) loses the
 * spans still batched, with a warning on stderr, but does not fail the process's shutdown.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it, vi } from 'vitest';
import { resolveTracingOptions, startTracing } from '../../../../../plugins/telemetry/tracing/index.js';

let server: Server | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

it('shutdown resolves and warns when the exporter fails to send the last spans', async () => {
  let posts = 0;
  server = createServer((req, res) => {
    posts++;
    req.resume();
    req.on('end', () => res.writeHead(500).end('down'));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const tracing = await startTracing(
    resolveTracingOptions({
      explicit: {
        exporter: 'zipkin',
        endpoint: `http://127.0.0.1:${port}/api/v2/spans`,
        sampleRatio: 1,
        batchDelayMs: 600_000,
      },
      env: {},
    }),
  );
  tracing!.tracer.startSpan('left in the batch').end();
  await expect(tracing!.shutdown()).resolves.toBeUndefined();
  expect(posts).toBeGreaterThanOrEqual(1);
  expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toMatch(
    /tracing: spans left unexported at shutdown/,
  );
});
