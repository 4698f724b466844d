/**
 * A small HTTP listener that serves only /metrics (and /healthz), for processes without an HTTP
 * API of their own: `smartqueue worker --metrics-address`. `serve` keeps /metrics on its HTTP
 * port (plugins/api/http). node:http is enough: one GET path, no routing library.
 */
import http from 'node:http';
import { errorMessage, SmartQueueError } from '../../../engine/errors.js';
import type { EngineMetrics } from './scheduler-metrics.js';

/** A listening metrics endpoint; `close()` (or `await using`) stops it. */
export interface MetricsEndpoint extends AsyncDisposable {
  /** The bound address, `host:port` (the real port when 0 was asked). */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Splits `host:port` (`[::1]:9465` for IPv6). @throws SmartQueueError INVALID_ARGUMENT */
export function parseMetricsAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(address.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535)
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      `the metrics address must be host:port (e.g. 127.0.0.1:9465), got "${address}"`,
    );
  return { host: m[1] ?? m[2]!, port };
}

/** Starts serving `metrics` at http://`address`/metrics; resolves once listening. */
export async function startMetricsEndpoint(
  address: string,
  metrics: EngineMetrics,
): Promise<MetricsEndpoint> {
  const { host, port } = parseMetricsAddress(address);
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`no route ${path}; metrics are at /metrics\n`);
      return;
    }
    metrics.exposition(req.headers.accept).then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType });
        res.end(body);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`metrics failed: ${errorMessage(err)}\n`);
      },
    );
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) =>
      reject(
        new SmartQueueError('UNAVAILABLE', `cannot serve metrics on ${address}: ${err.message}`, {
          cause: err,
        }),
      );
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound ? bound.port : port;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Scrapers keep connections alive: let idle ones go now.
      server.closeIdleConnections();
    }));
  return {
    address: host.includes(':') ? `[${host}]:${boundPort}` : `${host}:${boundPort}`,
    port: boundPort,
    close,
    [Symbol.asyncDispose]: close,
  };
}
