/** Per-client token buckets, alone and wrapped around a real grpc-js service. */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../../engine/errors.js';
import { createAuthorizer, parseTokens, withAuthorization } from '../../../../plugins/api/grpc/auth.js';
import {
  createRateLimiter,
  resolveRateLimitOptions,
  withRateLimit,
} from '../../../../plugins/api/grpc/rate-limit.js';
import { bearer, echoHandlers, EchoClient, startServer, unary } from './echo-service.js';

function clock() {
  const c = { t: 1_000_000, now: () => c.t };
  return c;
}

describe('rate limiter', () => {
  it('lets a burst through, then refills at the sustained rate', () => {
    const c = clock();
    const limiter = createRateLimiter({ ratePerSecond: 10, burst: 3, now: c.now });
    for (let i = 0; i < 3; i++) limiter.take('a');
    let err: unknown;
    try {
      limiter.take('a');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SmartQueueError);
    expect((err as SmartQueueError).code).toBe('RESOURCE_EXHAUSTED');
    expect((err as SmartQueueError).message).toMatch(/retry in 100 ms/);
    // Another client has its own bucket.
    expect(() => limiter.take('b')).not.toThrow();
    c.t += 100; // one token back
    expect(() => limiter.take('a')).not.toThrow();
    expect(() => limiter.take('a')).toThrow(/rate limit exceeded/);
    c.t += 10_000; // never more than the burst
    expect(limiter.available('a')).toBe(3);
  });

  it('forgets the least recently seen clients beyond maxClients', () => {
    const limiter = createRateLimiter({ maxClients: 2, burst: 1 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('c');
    expect(limiter.size).toBe(2);
    expect(limiter.available('a')).toBe(1); // forgotten: a full bucket again
  });

  it('validates its options', () => {
    expect(resolveRateLimitOptions()).toMatchObject({ ratePerSecond: 1000, burst: 2000, maxClients: 10_000 });
    expect(() => resolveRateLimitOptions({ burst: 0 })).toThrow(/burst must be a positive number/);
    expect(() => resolveRateLimitOptions({ maxClients: 1.5 })).toThrow(/maxClients/);
  });
});

describe('withRateLimit on a real grpc-js server', () => {
  const open: { server: grpc.Server; client: grpc.Client }[] = [];
  afterEach(() => {
    for (const o of open.splice(0)) {
      o.client.close();
      o.server.forceShutdown();
    }
  });

  it('answers RESOURCE_EXHAUSTED per principal, and per peer without auth', async () => {
    const A = 'token-a-0123456789abcdef';
    const B = 'token-b-0123456789abcdef';
    const authorizer = createAuthorizer(
      parseTokens(`${A}: { name: a, namespaces: '*' }\n${B}: { name: b, namespaces: '*' }`, 't'),
    );
    const calls = { n: 0 };
    const limiter = createRateLimiter({ ratePerSecond: 0.001, burst: 2 });
    const { server, address } = await startServer(
      withAuthorization(withRateLimit(echoHandlers(calls), limiter), authorizer),
    );
    const client = new EchoClient(address, grpc.credentials.createInsecure());
    open.push({ server, client });
    await unary(client, 'Echo', { text: '1' }, bearer(A));
    await unary(client, 'Echo', { text: '2' }, bearer(A));
    const third = (await unary(client, 'Echo', { text: '3' }, bearer(A)).catch(
      (e: unknown) => e,
    )) as grpc.ServiceError;
    expect(third.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(third.details).toContain('principal:a');
    // b shares the connection (same peer) but has its own bucket.
    await unary(client, 'Echo', { text: 'b' }, bearer(B));
    expect(calls.n).toBe(3);

    const anonymous = await startServer(
      withRateLimit(echoHandlers(calls), createRateLimiter({ burst: 1, ratePerSecond: 0.001 })),
    );
    const c2 = new EchoClient(anonymous.address, grpc.credentials.createInsecure());
    open.push({ server: anonymous.server, client: c2 });
    await unary(c2, 'Echo', {});
    const err = (await unary(c2, 'Echo', {}).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toContain('peer:127.0.0.1:');
  });
});
