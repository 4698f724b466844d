/** Bearer-token auth: token files, the authorizer's decisions, and the grpc-js handler wrapper. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../../engine/errors.js';
import {
  bearerInterceptor,
  bearerToken,
  createAuthorizer,
  parseTokens,
  principalOf,
  resolveAuth,
  withAuthorization,
} from '../../../../plugins/api/grpc/auth.js';
import type { Principal } from '../../../../plugins/api/grpc/auth.js';
import { smartQueueNamespaceOf } from '../../../../plugins/api/grpc/auth-namespaces.js';
import { bearer, echoHandlers, EchoClient, startServer, unary } from './echo-service.js';
import type { EchoRequest } from './echo-service.js';

const CI = 'ci-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';
const WORKER = 'worker-token-0123456789abcdef';
const TOKENS_YAML = `
${CI}: { name: ci, namespaces: [etl, reports] }
${ADMIN}: { name: admin, namespaces: '*' }
${WORKER}: { name: pool-a, namespaces: '*', role: worker }
`;

const dir = mkdtempSync(path.join(tmpdir(), 'sq-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SmartQueueError);
    return (err as SmartQueueError).code;
  }
  return 'OK';
}

describe('tokens', () => {
  it('reads YAML and JSON, defaulting the role to client', () => {
    const yaml = parseTokens(TOKENS_YAML, 'tokens.yaml');
    expect(yaml.get(CI)).toEqual({ name: 'ci', namespaces: ['etl', 'reports'], role: 'client' });
    const json = parseTokens(
      JSON.stringify({ [WORKER]: { name: 'w', namespaces: '*', role: 'worker' } }),
      'x',
    );
    expect(json.get(WORKER)?.role).toBe('worker');
  });

  it('rejects bad documents without echoing the token', () => {
    const secret = 'short';
    let message = '';
    try {
      parseTokens(`${secret}-but-not-long: { name: x, namespaces: [a], role: admin }`, 'tokens.yaml');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^tokens\.yaml: token #1/);
    expect(message).not.toContain(secret);
    expect(() => parseTokens(`${CI}: { name: x, namespaces: [a], extra: 1 }`, 'f')).toThrow(/token #1/);
    expect(() => parseTokens('a: [', 'f')).toThrow(/not valid YAML/);
  });

  it('takes the file over the env, and needs one of them unless auth is none', () => {
    const file = path.join(dir, 'tokens.yaml');
    writeFileSync(file, TOKENS_YAML);
    const env = { SMARTQUEUE_TOKENS: JSON.stringify({ [ADMIN]: { name: 'env-admin', namespaces: '*' } }) };
    const fromFile = resolveAuth({ tokensFile: file, env });
    expect(fromFile.authorizer(bearer(CI), { kind: 'client', namespace: 'etl' }).principal.name).toBe('ci');
    const fromEnv = resolveAuth({ env });
    expect(fromEnv.authorizer(bearer(ADMIN), { kind: 'client' }).principal.name).toBe('env-admin');
    expect(fromEnv.warning).toBeUndefined();
    expect(() => resolveAuth({ env: {} })).toThrow(/auth needs tokens/);
    expect(() => resolveAuth({ tokensFile: path.join(dir, 'missing.yaml') })).toThrow(
      /cannot read tokens file/,
    );
    const none = resolveAuth({ mode: 'none' });
    expect(none.warning).toMatch(/authentication is off/);
    expect(none.authorizer(new grpc.Metadata(), { kind: 'worker', namespace: 'x' }).principal.anonymous).toBe(
      true,
    );
  });
});

describe('authorizer', () => {
  const authorize = createAuthorizer(parseTokens(TOKENS_YAML, 't'));

  it('reads bearer tokens from metadata and from HTTP headers', () => {
    expect(bearerToken(bearer('abc'))).toBe('abc');
    expect(bearerToken({ authorization: 'bearer xyz' })).toBe('xyz');
    expect(bearerToken({ authorization: 'Basic Zm9v' })).toBeUndefined();
    expect(bearerToken({})).toBeUndefined();
  });

  it('is UNAUTHENTICATED without a token or with an unknown one', () => {
    expect(code(() => authorize(new grpc.Metadata(), { kind: 'client', namespace: 'etl' }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(code(() => authorize(bearer(CI + 'x'), { kind: 'client', namespace: 'etl' }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(code(() => authorize(bearer(CI.slice(0, -1)), { kind: 'client', namespace: 'etl' }))).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('is PERMISSION_DENIED outside the granted namespaces and role', () => {
    expect(code(() => authorize(bearer(CI), { kind: 'client', namespace: 'etl' }))).toBe('OK');
    expect(code(() => authorize(bearer(CI), { kind: 'client', namespace: 'billing' }))).toBe(
      'PERMISSION_DENIED',
    );
    expect(code(() => authorize(bearer(CI), { kind: 'client' }))).toBe('PERMISSION_DENIED');
    expect(code(() => authorize(bearer(CI), { kind: 'worker', namespace: 'etl' }))).toBe('PERMISSION_DENIED');
    expect(code(() => authorize(bearer(ADMIN), { kind: 'client', namespace: 'billing' }))).toBe('OK');
    expect(code(() => authorize(bearer(ADMIN), { kind: 'client' }))).toBe('OK');
    expect(code(() => authorize(bearer(WORKER), { kind: 'client', namespace: 'etl' }))).toBe(
      'PERMISSION_DENIED',
    );
    expect(code(() => authorize(bearer(WORKER), { kind: 'worker' }))).toBe('OK');
  });
});

describe('namespaces of SmartQueue calls', () => {
  const runs = new Map([['r-etl', { labels: { 'smartqueue.io/namespace': 'etl' } }]]);
  const namespaceOf = smartQueueNamespaceOf({ getRun: (id) => Promise.resolve(runs.get(id) as never) });

  it('reads the namespace from the request or the run', async () => {
    expect(await namespaceOf('SubmitTask', { namespace: 'reports' })).toBe('reports');
    expect(await namespaceOf('SubmitTask', { namespace: '' })).toBe('default');
    expect(await namespaceOf('SubmitTask', { namespace: 'x', runId: 'r-etl' })).toBe('etl');
    expect(await namespaceOf('SubmitWorkflow', { labels: { 'smartqueue.io/namespace': 'etl' } })).toBe('etl');
    expect(await namespaceOf('GetRun', { runId: 'r-etl' })).toBe('etl');
    expect(await namespaceOf('WatchRun', { runId: 'r-unknown' })).toBe('default');
    expect(await namespaceOf('ListRuns', {})).toBeUndefined();
  });
});

describe('withAuthorization on a real grpc-js server', () => {
  const open: { server: grpc.Server; client: grpc.Client }[] = [];
  afterEach(() => {
    for (const o of open.splice(0)) {
      o.client.close();
      o.server.forceShutdown();
    }
  });

  it('runs handlers only for authorized calls, of every call kind', async () => {
    const calls = { n: 0 };
    const seen: (Principal | undefined)[] = [];
    const inner = echoHandlers(calls);
    const echo = inner.Echo;
    inner.Echo = (call, cb) => {
      seen.push(principalOf(call));
      echo(call, cb);
    };
    const authorizer = createAuthorizer(parseTokens(TOKENS_YAML, 't'));
    const handlers = withAuthorization(inner, authorizer, {
      namespaceOf: (_method, req) => (req as EchoRequest | undefined)?.namespace ?? 'etl',
    });
    const { server, address } = await startServer(handlers);
    const client = new EchoClient(address, grpc.credentials.createInsecure());
    open.push({ server, client });

    expect(await unary(client, 'Echo', { namespace: 'etl', text: 'hi' }, bearer(CI))).toEqual({ text: 'hi' });
    expect(seen[0]?.name).toBe('ci');

    const denied = await unary(client, 'Echo', { namespace: 'billing' }, bearer(CI)).catch((e: unknown) => e);
    expect((denied as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((denied as grpc.ServiceError).details).toContain('namespace billing');
    const anon = await unary(client, 'Echo', { namespace: 'etl' }).catch((e: unknown) => e);
    expect((anon as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);

    // Server streaming: refused before the handler writes anything.
    const stream = (
      client as unknown as { Count: (r: unknown, m: grpc.Metadata) => grpc.ClientReadableStream<unknown> }
    ).Count({ n: 3 }, bearer('unknown-token-0123456789'));
    const streamed: unknown[] = [];
    const streamErr = await new Promise<grpc.ServiceError>((resolve) => {
      stream.on('data', (d) => streamed.push(d));
      stream.on('error', resolve);
    });
    expect(streamErr.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(streamed).toEqual([]);
    const ok = (
      client as unknown as { Count: (r: unknown, m: grpc.Metadata) => grpc.ClientReadableStream<unknown> }
    ).Count({ n: 3 }, bearer(ADMIN));
    const got: unknown[] = [];
    for await (const d of ok) got.push(d);
    expect(got).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }]);

    // Client streaming: no request to read the namespace from, the metadata decides.
    const sum = await new Promise<unknown>((resolve, reject) => {
      const c = (
        client as unknown as {
          Sum: (m: grpc.Metadata, cb: (e: unknown, r: unknown) => void) => grpc.ClientWritableStream<unknown>;
        }
      ).Sum(bearer(CI), (e, r) => (e ? reject(e as Error) : resolve(r)));
      c.write({ n: 2 });
      c.write({ n: 5 });
      c.end();
    });
    expect(sum).toEqual({ sum: 7 });

    // Without TLS, a client sends its token through an interceptor.
    const intercepted = new EchoClient(address, grpc.credentials.createInsecure(), {
      interceptors: [bearerInterceptor(CI)],
    });
    open.push({ server, client: intercepted });
    expect(await unary(intercepted, 'Echo', { namespace: 'etl', text: 'via interceptor' })).toEqual({
      text: 'via interceptor',
    });

    // Echo (twice), Count and Sum ran: the refused calls never reached a handler.
    expect(calls.n).toBe(4);
  });
});
