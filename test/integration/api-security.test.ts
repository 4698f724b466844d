/**
 * Security of the API through real clients: a grpc-js server with TLS or mutual TLS (throwaway
 * certificates from openssl) serving the SmartQueue service built from the same handler modules
 * as createGrpcApi, wrapped by withAuthorization with bearer tokens; and the HTTP server over
 * HTTPS with mutual TLS. UNAUTHENTICATED and PERMISSION_DENIED arrive as real statuses.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import * as grpc from '@grpc/grpc-js';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createAuthorizer,
  bearerCallCredentials,
  parseTokens,
  withAuthorization,
} from '../../plugins/api/grpc/auth.js';
import { smartQueueNamespaceOf } from '../../plugins/api/grpc/auth-namespaces.js';
import { createSmartQueueClient } from '../../plugins/api/grpc/client.js';
import type { SmartQueueClient } from '../../plugins/api/grpc/client.js';
import { toServiceError } from '../../plugins/api/grpc/errors.js';
import { resolveGrpcApiOptions } from '../../plugins/api/grpc/options.js';
import { loadContract } from '../../plugins/api/grpc/proto.js';
import { createQueries } from '../../plugins/api/grpc/queries.js';
import { createSubmitTask } from '../../plugins/api/grpc/submit-task.js';
import { createSubmitWorkflow } from '../../plugins/api/grpc/submit-workflow.js';
import { loadClientCredentials, loadServerCredentials } from '../../plugins/api/grpc/tls.js';
import type { ServerTlsOptions } from '../../plugins/api/grpc/tls.js';
import { createWatchers } from '../../plugins/api/grpc/watch-run.js';
import { createHttpServer } from '../../plugins/api/http/index.js';
import type { SmartQueueHandlers } from '../../proto/generated/smartqueue/v1/SmartQueue.js';
import { createEmbeddedRuntime } from '../../runtime/embedded.js';
import type { EmbeddedRuntime } from '../../runtime/embedded.js';
import { makeCerts } from '../unit/plugins/api/make-certs.js';
import type { TestCerts } from '../unit/plugins/api/make-certs.js';

const ETL = 'etl-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';
const WORKER = 'worker-token-0123456789abcdef';
const TOKENS = `
${ETL}: { name: etl-ci, namespaces: [etl] }
${ADMIN}: { name: admin, namespaces: '*' }
${WORKER}: { name: pool, namespaces: '*', role: worker }
`;

let certs: TestCerts;
beforeAll(() => {
  certs = makeCerts();
});
afterAll(() => certs.remove());

interface Started {
  runtime: EmbeddedRuntime;
  server: grpc.Server;
  address: string;
  clients: SmartQueueClient[];
}
const open: Started[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) {
    for (const c of s.clients) c.close();
    s.server.forceShutdown();
    await s.runtime.close();
  }
});

/** The SmartQueue service (its real handler modules) behind TLS and token authorization. */
async function startSecureServer(tls: ServerTlsOptions): Promise<Started> {
  const runtime = await createEmbeddedRuntime({ statePath: false, concurrency: 4 });
  const options = resolveGrpcApiOptions({ engine: runtime.engine, store: runtime.store });
  const queries = createQueries(options);
  const submit = createSubmitTask(options);
  const watchers = createWatchers(options, submit.openRunOf);
  const unary =
    <Req, Res>(fn: (req: Req) => Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) =>
      void fn(call.request).then(
        (res) => cb(null, res),
        (err: unknown) => cb(toServiceError(err)),
      );
  const handlers: SmartQueueHandlers = {
    SubmitWorkflow: unary(createSubmitWorkflow(options)),
    SubmitTask: unary(submit.submitTask),
    SubmitTasks: unary(submit.submitTasks),
    GetRun: unary(queries.getRun),
    GetTask: unary(queries.getTask),
    ListRuns: unary(queries.listRuns),
    CancelRun: unary(queries.cancelRun),
    CancelTask: unary(queries.cancelTask),
    WatchRun: (call) => watchers.watch(call),
    WatchTasks: (call) => watchers.watchTasks(call),
  };
  const authorizer = createAuthorizer(parseTokens(TOKENS, 'tokens.yaml'));
  const server = new grpc.Server();
  server.addService(
    loadContract().grpcType.smartqueue.v1.SmartQueue.service,
    withAuthorization(handlers, authorizer, { namespaceOf: smartQueueNamespaceOf(runtime.store) }),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', loadServerCredentials(tls), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const started = { runtime, server, address: `127.0.0.1:${port}`, clients: [] };
  open.push(started);
  return started;
}

function client(s: Started, credentials: grpc.ChannelCredentials): SmartQueueClient {
  // The certificate names localhost; grpc-js would otherwise send the IP as TLS server name.
  const c = createSmartQueueClient(s.address, {
    credentials,
    channelOptions: { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' },
  });
  s.clients.push(c);
  return c;
}

/** TLS to the test CA, with the token as call credentials when given. */
function tlsWith(token?: string, mtls = false): grpc.ChannelCredentials {
  const channel = loadClientCredentials({
    ca: certs.ca,
    ...(mtls && { cert: certs.clientCert, key: certs.clientKey }),
  });
  return token ? grpc.credentials.combineChannelCredentials(channel, bearerCallCredentials(token)) : channel;
}

async function statusOf(p: Promise<unknown>): Promise<grpc.ServiceError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as grpc.ServiceError,
  );
  expect(err, 'the call should have failed').toBeDefined();
  return err!;
}

describe('gRPC over TLS with bearer tokens', () => {
  it('serves authorized calls and refuses the rest with UNAUTHENTICATED / PERMISSION_DENIED', async () => {
    const s = await startSecureServer({ cert: certs.serverCert, key: certs.serverKey });
    const etl = client(s, tlsWith(ETL));
    const task = await etl.submitTask({ namespace: 'etl', handler: 'noop' });
    expect(task.runId).toBeTruthy();
    expect((await etl.getRun({ runId: task.runId })).runId).toBe(task.runId);

    const anonymous = await statusOf(client(s, tlsWith()).submitTask({ namespace: 'etl', handler: 'noop' }));
    expect(anonymous.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(anonymous.details).toContain('missing bearer token');
    const forged = await statusOf(
      client(s, tlsWith('forged-token-0123456789ab')).getRun({ runId: task.runId }),
    );
    expect(forged.code).toBe(grpc.status.UNAUTHENTICATED);

    const otherNs = await statusOf(etl.submitTask({ namespace: 'billing', handler: 'noop' }));
    expect(otherNs.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(otherNs.details).toBe('etl-ci may not use namespace billing');
    expect((await statusOf(etl.listRuns({}))).code).toBe(grpc.status.PERMISSION_DENIED);
    const worker = await statusOf(client(s, tlsWith(WORKER)).getRun({ runId: task.runId }));
    expect(worker.code).toBe(grpc.status.PERMISSION_DENIED);

    // A run of another namespace is out of reach by id, for reads and for watching.
    const admin = client(s, tlsWith(ADMIN));
    const billing = await admin.submitTask({ namespace: 'billing', handler: 'noop' });
    expect((await statusOf(etl.getRun({ runId: billing.runId }))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await statusOf(etl.cancelRun({ runId: billing.runId }))).code).toBe(
      grpc.status.PERMISSION_DENIED,
    );
    const watch = await statusOf(
      (async () => {
        for await (const _ of etl.watchRun({ runId: billing.runId })) void _;
      })(),
    );
    expect(watch.code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await admin.listRuns({})).runs.length).toBe(2);
  });

  it('refuses plaintext clients', async () => {
    const s = await startSecureServer({ cert: certs.serverCert, key: certs.serverKey });
    const plain = client(s, grpc.credentials.createInsecure());
    const err = await statusOf(plain.getRun({ runId: 'x' }, { timeoutMs: 3000 }));
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(err.code);
  });
});

describe('gRPC over mutual TLS', () => {
  it('accepts clients with a certificate from the CA only', async () => {
    const s = await startSecureServer({ cert: certs.serverCert, key: certs.serverKey, ca: certs.ca });
    const good = client(s, tlsWith(ADMIN, true));
    expect((await good.submitTask({ handler: 'noop' })).runId).toBeTruthy();

    const noCert = await statusOf(client(s, tlsWith(ADMIN)).listRuns({}, { timeoutMs: 3000 }));
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(noCert.code);
    const stranger = grpc.credentials.combineChannelCredentials(
      loadClientCredentials({ ca: certs.ca, cert: certs.strangerCert, key: certs.strangerKey }),
      bearerCallCredentials(ADMIN),
    );
    const bad = await statusOf(client(s, stranger).listRuns({}, { timeoutMs: 3000 }));
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(bad.code);

    // A valid certificate is not a token: auth still applies.
    const certOnly = await statusOf(client(s, tlsWith(undefined, true)).listRuns({}));
    expect(certOnly.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});

describe('HTTP and WebSocket over mutual TLS', () => {
  it('serves /healthz and the event stream to clients with a certificate from the CA', async () => {
    const runtime = await createEmbeddedRuntime({ statePath: false, concurrency: 2 });
    const http = createHttpServer({
      port: 0,
      store: runtime.store,
      engineEvents: runtime.engine.events,
      tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
      authorizer: createAuthorizer(parseTokens(TOKENS, 'tokens.yaml')),
    });
    try {
      const port = await http.start();
      const get = (withCert: boolean) =>
        new Promise<number>((resolve, reject) => {
          const req = https.get(
            {
              host: '127.0.0.1',
              servername: 'localhost',
              port,
              path: '/healthz',
              ca: readPem(certs.ca),
              ...(withCert && { cert: readPem(certs.clientCert), key: readPem(certs.clientKey) }),
            },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', reject);
        });
      expect(await get(true)).toBe(200);
      await expect(get(false)).rejects.toThrow();

      const ws = new WebSocket(`wss://localhost:${port}/v1/events?run=nope`, {
        ca: readPem(certs.ca),
        cert: readPem(certs.clientCert),
        key: readPem(certs.clientKey),
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      const closed = await new Promise<{ code: number; reason: string }>((resolve, reject) => {
        ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
        ws.on('error', reject);
      });
      expect(closed).toEqual({ code: 1008, reason: 'unknown run nope' });
    } finally {
      await http.close();
      await runtime.close();
    }
  });
});

function readPem(file: string): Buffer {
  return readFileSync(file);
}
