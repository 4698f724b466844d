/**
 * The HTTP side of `smartqueue serve`: /healthz for probes, /metrics for Prometheus, and the live
 * event stream over WebSocket at /v1/events. One node:http (or node:https) server; the `ws`
 * package handles the upgrade.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { errorMessage, SmartQueueError } from '../../../engine/errors.js';
import { NAMESPACE_LABEL } from '../grpc/submit-task.js';
import { DEFAULT_NAMESPACE } from '../grpc/auth-namespaces.js';
import { resolveServerTls } from '../grpc/tls.js';
import { CLOSE, parseStreamQuery, streamRunEvents } from './events-ws.js';
import type { EventStream } from './events-ws.js';
import { createSchedulerMetrics } from '../../telemetry/metrics/index.js';
import type { EngineMetrics } from '../../telemetry/metrics/index.js';
import { resolveHttpServerOptions } from './options.js';
import type { HttpServerOptions } from './options.js';

/** Path of the event stream. */
export const EVENTS_PATH = '/v1/events';

/** The HTTP server; create it with {@link createHttpServer}. */
export interface HttpApi extends AsyncDisposable {
  /** Binds and starts serving; resolves to the bound port (useful with port 0). */
  start(): Promise<number>;
  /** /healthz answers 503 from now on (call it first on SIGTERM, so balancers stop routing here). */
  markShuttingDown(): void;
  /** Open event streams. */
  readonly connections: number;
  /** The metrics served at /metrics, if any. */
  readonly metrics: EngineMetrics | undefined;
  /** Closes every stream with 1001, stops listening and releases the metrics' listeners. */
  close(): Promise<void>;
}

const HTTP_STATUS: Partial<Record<string, number>> = { UNAUTHENTICATED: 401, PERMISSION_DENIED: 403 };

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

/** Refuses an upgrade with a plain HTTP answer (before any WebSocket frame). */
function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  const extra = status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '';
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n${extra}` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Creates the HTTP server (not yet listening: call `start()`). */
export function createHttpServer(raw: HttpServerOptions): HttpApi {
  const options = resolveHttpServerOptions(raw);
  const { store, engineEvents, limits, authorizer } = options;
  const ownMetrics = options.metrics === undefined;
  const metrics =
    options.metrics === false
      ? undefined
      : (options.metrics ??
        createSchedulerMetrics({
          engineEvents,
          ...(options.readyTasks && { readyTasks: options.readyTasks }),
        }));
  const tls = options.tls ? resolveServerTls(options.tls) : undefined;
  let shuttingDown = false;
  let closing: Promise<void> | undefined;
  const streams = new Set<EventStream>();

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(res, 405, { error: 'method not allowed' });
    }
    if (url.pathname === '/healthz') {
      return shuttingDown
        ? json(res, 503, { status: 'shutting-down' })
        : json(res, 200, { status: 'ok', streams: streams.size });
    }
    if (url.pathname === '/metrics' && metrics) {
      metrics.exposition(req.headers.accept).then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'content-type': contentType });
          res.end(body);
        },
        (err: unknown) => json(res, 500, { error: `metrics failed: ${errorMessage(err)}` }),
      );
      return;
    }
    if (url.pathname === EVENTS_PATH)
      return json(res, 426, { error: 'use a WebSocket (Upgrade: websocket)' });
    json(res, 404, { error: `no route ${url.pathname}` });
  };

  const server = tls
    ? https.createServer(
        {
          cert: tls.cert,
          key: tls.key,
          ...(tls.ca && { ca: tls.ca }),
          requestCert: tls.requireClientCert,
          rejectUnauthorized: tls.requireClientCert,
        },
        onRequest,
      )
    : http.createServer(onRequest);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });

  /** Accepted: check the run, then stream (or close with a reason). */
  const accept = async (ws: WebSocket, runId: string, from: number): Promise<void> => {
    // Clients only listen; anything they send is ignored (maxPayload bounds it).
    ws.on('message', () => undefined);
    if (streams.size >= limits.maxConnections) {
      ws.close(CLOSE.TRY_AGAIN_LATER, 'too many event streams; try again later');
      return;
    }
    const run = await store.getRun(runId);
    if (!run) {
      ws.close(CLOSE.POLICY, `unknown run ${runId}`.slice(0, 120));
      return;
    }
    if (ws.readyState !== ws.OPEN) return;
    const stream = streamRunEvents(
      ws,
      { runId, from, finished: run.status !== 'running' },
      { store, engineEvents, limits },
    );
    streams.add(stream);
    void stream.done.then(() => streams.delete(stream));
  };

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== EVENTS_PATH) return refuseUpgrade(socket, 404, `no route ${url.pathname}`);
    if (shuttingDown) return refuseUpgrade(socket, 503, 'the server is shutting down');
    void (async () => {
      let runId = '';
      let from = 1;
      let badQuery: string | undefined;
      try {
        ({ runId, from } = parseStreamQuery(url));
      } catch (err) {
        badQuery = errorMessage(err);
      }
      if (authorizer) {
        try {
          // Unknown runs count as `default`, so other namespaces' run ids cannot be probed.
          const run = runId ? await store.getRun(runId) : undefined;
          const namespace = run?.labels?.[NAMESPACE_LABEL] ?? DEFAULT_NAMESPACE;
          authorizer({ authorization: req.headers.authorization }, { kind: 'client', namespace });
        } catch (err) {
          const status = err instanceof SmartQueueError ? (HTTP_STATUS[err.code] ?? 500) : 500;
          return refuseUpgrade(socket, status, status === 500 ? 'internal error' : errorMessage(err));
        }
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        if (badQuery !== undefined) {
          ws.close(CLOSE.POLICY, badQuery.slice(0, 120));
          return;
        }
        accept(ws, runId, from).catch((err: unknown) => {
          ws.close(CLOSE.INTERNAL, `cannot read the run: ${errorMessage(err)}`.slice(0, 120));
        });
      });
    })().catch(() => socket.destroy());
  });
  server.on('clientError', (_err, socket: Duplex) => socket.destroy());

  const shutdown = async (): Promise<void> => {
    shuttingDown = true;
    const open = [...streams];
    for (const s of open) s.stop(CLOSE.GOING_AWAY, 'the server is shutting down; resume elsewhere with from');
    for (const ws of wss.clients) ws.close(CLOSE.GOING_AWAY, 'the server is shutting down');
    const grace = setTimeout(() => {
      for (const ws of wss.clients) ws.terminate();
      server.closeAllConnections();
    }, limits.closeGraceMs);
    grace.unref();
    await Promise.all(open.map((s) => s.done));
    server.closeIdleConnections();
    await new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      // Keep-alive sockets of scrapers would hold close() open; idle ones go now, busy ones at the grace.
      server.closeIdleConnections();
    });
    clearTimeout(grace);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    if (ownMetrics) metrics?.close();
  };

  return {
    start() {
      if (closing) return Promise.reject(new SmartQueueError('UNAVAILABLE', 'the server is closed'));
      return new Promise((resolve, reject) => {
        const onError = (err: Error) =>
          reject(
            new SmartQueueError(
              'UNAVAILABLE',
              `cannot listen on ${options.host}:${options.port}: ${err.message}`,
              {
                cause: err,
              },
            ),
          );
        server.once('error', onError);
        server.listen(options.port, options.host, () => {
          server.off('error', onError);
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : options.port);
        });
      });
    },
    markShuttingDown() {
      shuttingDown = true;
    },
    get connections() {
      return streams.size;
    },
    metrics,
    close: () => (closing ??= shutdown()),
    [Symbol.asyncDispose]() {
      return (closing ??= shutdown());
    },
  };
}
