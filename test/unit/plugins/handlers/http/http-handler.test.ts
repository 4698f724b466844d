import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NonRetryableError, RetryAfterError, SmartQueueError } from '../../../../../engine/errors.js';
import {
  createHttpHandler,
  isHostAllowed,
  resolveHttpHandlerOptions,
  type HttpArgs,
} from '../../../../../plugins/handlers/http/index.js';
import { makeContext } from '../make-context.js';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('createHttpHandler', () => {
  let server: http.Server;
  let base: string;
  let port: number;
  let received: Received[];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        route(req, res, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  beforeEach(() => {
    received = [];
  });

  function route(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const url = new URL(req.url!, base);
    switch (url.pathname) {
      case '/json':
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          etag: '"v1"',
          'x-internal': 'hidden',
        });
        res.end(JSON.stringify({ ok: true, items: [1, 2] }));
        return;
      case '/text':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('plain text');
        return;
      case '/bad-json':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{oops');
        return;
      case '/echo':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            method: req.method,
            contentType: req.headers['content-type'],
            auth: req.headers.authorization,
            body,
          }),
        );
        return;
      case '/status': {
        const code = Number(url.searchParams.get('code'));
        const headers: Record<string, string> = { 'content-type': 'text/plain' };
        const retryAfter = url.searchParams.get('retryAfter');
        if (retryAfter !== null) headers['retry-after'] = retryAfter;
        res.writeHead(code, headers);
        res.end(`status body ${code}`);
        return;
      }
      case '/big':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('x'.repeat(2 * 1024 * 1024));
        return;
      case '/redirect':
        res.writeHead(Number(url.searchParams.get('code') ?? 302), { location: url.searchParams.get('to')! });
        res.end();
        return;
      case '/slow':
        // Never answers: the client must give up.
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('no such route');
    }
  }

  it('GETs JSON: status, a few headers and the parsed body', async () => {
    const out = await createHttpHandler()(makeContext<HttpArgs>({ url: `${base}/json` }));
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ ok: true, items: [1, 2] });
    expect(out.headers).toEqual({ 'content-type': 'application/json; charset=utf-8', etag: '"v1"' });
    expect(received[0]!.method).toBe('GET');
  });

  it('returns text bodies as text, and JSON that is not JSON as text with a warning', async () => {
    const handler = createHttpHandler();
    await expect(handler(makeContext<HttpArgs>({ url: `${base}/text` }))).resolves.toMatchObject({
      body: 'plain text',
    });
    const ctx = makeContext<HttpArgs>({ url: `${base}/bad-json` });
    await expect(handler(ctx)).resolves.toMatchObject({ body: '{oops' });
    expect(ctx.logged.map((l) => l.level)).toEqual(['warn']);
  });

  it('sends the method, headers and a JSON body', async () => {
    const out = await createHttpHandler()(
      makeContext<HttpArgs>({
        url: `${base}/echo`,
        method: 'post',
        headers: { authorization: 'Bearer t' },
        body: { a: 1 },
      }),
    );
    expect(out.body).toEqual({
      method: 'POST',
      contentType: 'application/json',
      auth: 'Bearer t',
      body: '{"a":1}',
    });
    const text = await createHttpHandler()(
      makeContext<HttpArgs>({
        url: `${base}/echo`,
        method: 'PUT',
        headers: { 'Content-Type': 'text/csv' },
        body: 'a,b',
      }),
    );
    expect(text.body).toMatchObject({ method: 'PUT', contentType: 'text/csv', body: 'a,b' });
  });

  it('fails for good on 404 (and other 4xx)', async () => {
    const attempt = createHttpHandler()(makeContext<HttpArgs>({ url: `${base}/missing?token=secret` }));
    await expect(attempt).rejects.toBeInstanceOf(NonRetryableError);
    await expect(attempt).rejects.toThrow(
      `http: GET ${base}/missing failed with 404 Not Found: no such route`,
    );
    await expect(attempt).rejects.not.toThrow(/secret/);
    await expect(
      createHttpHandler()(makeContext<HttpArgs>({ url: `${base}/status?code=403` })),
    ).rejects.toBeInstanceOf(NonRetryableError);
  });

  it('fails retryably on 500, 408 and 429 without Retry-After', async () => {
    for (const code of [500, 502, 408, 429]) {
      const error = await Promise.resolve(
        createHttpHandler()(makeContext<HttpArgs>({ url: `${base}/status?code=${code}` })),
      ).catch((e: unknown) => e);
      expect(error, String(code)).toBeInstanceOf(Error);
      expect(error, String(code)).not.toBeInstanceOf(NonRetryableError);
      expect(error, String(code)).not.toBeInstanceOf(RetryAfterError);
      expect((error as Error).message).toContain(`failed with ${code}`);
    }
  });

  it('asks for a delayed retry on 429 and 503 with Retry-After (seconds or a date)', async () => {
    const seconds = await Promise.resolve(
      createHttpHandler()(makeContext<HttpArgs>({ url: `${base}/status?code=429&retryAfter=7` })),
    ).catch((e: unknown) => e);
    expect(seconds).toBeInstanceOf(RetryAfterError);
    expect((seconds as RetryAfterError).delayMs).toBe(7000);
    const date = new Date(Date.now() + 60_000).toUTCString();
    const dated = await Promise.resolve(
      createHttpHandler()(
        makeContext<HttpArgs>({ url: `${base}/status?code=503&retryAfter=${encodeURIComponent(date)}` }),
      ),
    ).catch((e: unknown) => e);
    expect(dated).toBeInstanceOf(RetryAfterError);
    expect((dated as RetryAfterError).delayMs).toBeGreaterThan(55_000);
    expect((dated as RetryAfterError).delayMs).toBeLessThanOrEqual(60_000);
  });

  it('refuses a body over maxBodyBytes for good', async () => {
    const attempt = createHttpHandler({ maxBodyBytes: 1024 })(makeContext<HttpArgs>({ url: `${base}/big` }));
    await expect(attempt).rejects.toBeInstanceOf(NonRetryableError);
    await expect(attempt).rejects.toThrow(/larger than maxBodyBytes \(1024\)/);
    const fits = await createHttpHandler({ maxBodyBytes: 10 })(
      makeContext<HttpArgs>({ url: `${base}/text` }),
    );
    expect(fits.body).toBe('plain text');
  });

  it('refuses hosts outside allowedHosts without sending anything', async () => {
    const attempt = createHttpHandler({ allowedHosts: ['api.example.com'] })(
      makeContext<HttpArgs>({ url: `${base}/json` }),
    );
    await expect(attempt).rejects.toBeInstanceOf(NonRetryableError);
    await expect(attempt).rejects.toThrow(`host 127.0.0.1:${port} is not in allowedHosts`);
    expect(received).toEqual([]);
    const allowed = await createHttpHandler({ allowedHosts: ['127.0.0.1'] })(
      makeContext<HttpArgs>({ url: `${base}/json` }),
    );
    expect(allowed.status).toBe(200);
    const withPort = await createHttpHandler({ allowedHosts: [`127.0.0.1:${port}`] })(
      makeContext<HttpArgs>({ url: `${base}/json` }),
    );
    expect(withPort.status).toBe(200);
    await expect(
      createHttpHandler({ allowedHosts: ['127.0.0.1:1'] })(makeContext<HttpArgs>({ url: `${base}/json` })),
    ).rejects.toBeInstanceOf(NonRetryableError);
  });

  it('follows redirects, checking every hop against allowedHosts', async () => {
    const to = encodeURIComponent(`${base}/json`);
    const followed = await createHttpHandler({ allowedHosts: ['127.0.0.1'] })(
      makeContext<HttpArgs>({ url: `${base}/redirect?to=${to}` }),
    );
    expect(followed.body).toEqual({ ok: true, items: [1, 2] });
    expect(received.map((r) => r.url)).toEqual([`/redirect?to=${to}`, '/json']);

    received = [];
    const elsewhere = encodeURIComponent(`http://localhost:${port}/json`);
    const refused = createHttpHandler({ allowedHosts: ['127.0.0.1'] })(
      makeContext<HttpArgs>({ url: `${base}/redirect?to=${elsewhere}` }),
    );
    await expect(refused).rejects.toBeInstanceOf(NonRetryableError);
    await expect(refused).rejects.toThrow(
      /host localhost:\d+ is not in allowedHosts \(reached by a redirect/,
    );
    expect(received.map((r) => r.url)).toEqual([`/redirect?to=${elsewhere}`]);
  });

  it('turns a POST into a GET on 303 and drops credentials when leaving the origin', async () => {
    const to = encodeURIComponent(`http://localhost:${port}/echo`);
    const out = await createHttpHandler()(
      makeContext<HttpArgs>({
        url: `${base}/redirect?code=303&to=${to}`,
        method: 'POST',
        headers: { authorization: 'Bearer t' },
        body: { a: 1 },
      }),
    );
    expect(out.body).toEqual({ method: 'GET', body: '' });
  });

  it('gives up after maxRedirects', async () => {
    const loop = encodeURIComponent('/redirect?to=%2Fjson');
    const attempt = createHttpHandler({ maxRedirects: 1 })(
      makeContext<HttpArgs>({ url: `${base}/redirect?to=${loop}` }),
    );
    await expect(attempt).rejects.toThrow(/more than 1 redirects/);
  });

  it('times out retryably, after args.timeout', async () => {
    const started = Date.now();
    const attempt = createHttpHandler()(makeContext<HttpArgs>({ url: `${base}/slow`, timeout: '150ms' }));
    const error = await Promise.resolve(attempt).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`http: GET ${base}/slow timed out after 150ms`);
    expect(error).not.toBeInstanceOf(NonRetryableError);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('aborts with the signal reason', async () => {
    const controller = new AbortController();
    const attempt = createHttpHandler()(
      makeContext<HttpArgs>({ url: `${base}/slow` }, { signal: controller.signal }),
    );
    const reason = new Error('cancelled');
    setTimeout(() => controller.abort(reason), 50);
    await expect(attempt).rejects.toBe(reason);
  });

  it('fails retryably on a connection error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await Promise.resolve(
      createHttpHandler()(makeContext<HttpArgs>({ url: `http://127.0.0.1:${deadPort}/` })),
    ).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/failed: ECONNREFUSED/);
    expect(error).not.toBeInstanceOf(NonRetryableError);
  });

  it('refuses bad arguments for good', async () => {
    const handler = createHttpHandler();
    const bad: unknown[] = [
      {},
      { url: 'not a url' },
      { url: 'ftp://example.com/file' },
      { url: `${base}/json`, method: 'GET /x' },
      { url: `${base}/json`, body: 'x' },
      { url: `${base}/json`, timeout: 'soon' },
      { url: `${base}/json`, headers: { a: { b: 1 } } },
    ];
    for (const args of bad) {
      await expect(handler(makeContext(args as HttpArgs)), JSON.stringify(args)).rejects.toBeInstanceOf(
        NonRetryableError,
      );
    }
    expect(received).toEqual([]);
  });
});

describe('isHostAllowed', () => {
  it('matches host names, host:port and *.subdomain entries', () => {
    const allow = ['api.example.com', 'localhost:8080', '*.internal.example'];
    expect(isHostAllowed(new URL('https://api.example.com/x'), allow)).toBe(true);
    expect(isHostAllowed(new URL('https://API.Example.com:444/x'), allow)).toBe(true);
    expect(isHostAllowed(new URL('http://localhost:8080/'), allow)).toBe(true);
    expect(isHostAllowed(new URL('http://localhost:8081/'), allow)).toBe(false);
    expect(isHostAllowed(new URL('http://localhost/'), allow)).toBe(false);
    expect(isHostAllowed(new URL('https://a.b.internal.example/'), allow)).toBe(true);
    expect(isHostAllowed(new URL('https://internal.example/'), allow)).toBe(false);
    expect(isHostAllowed(new URL('https://evilinternal.example/'), allow)).toBe(false);
    expect(isHostAllowed(new URL('https://api.example.com.evil.io/'), allow)).toBe(false);
    expect(isHostAllowed(new URL('https://anything/'), undefined)).toBe(true);
    expect(isHostAllowed(new URL('https://api.example.com:443/'), ['api.example.com:443'])).toBe(true);
    expect(isHostAllowed(new URL('https://api.example.com/'), ['api.example.com:443'])).toBe(true);
  });
});

describe('resolveHttpHandlerOptions', () => {
  it('applies the documented defaults', () => {
    expect(resolveHttpHandlerOptions()).toMatchObject({
      allowedHosts: undefined,
      maxBodyBytes: 1024 * 1024,
      timeoutMs: 30_000,
      maxRedirects: 5,
    });
  });

  it('throws INVALID_OPTIONS naming the bad options', () => {
    expect(() =>
      resolveHttpHandlerOptions({ maxBodyBytes: -1, allowedHosts: 'x' as unknown as string[] }),
    ).toThrow(SmartQueueError);
    expect(() => resolveHttpHandlerOptions({ timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});
