/**
 * `serve --config`: the file format (what a valid file becomes, the file:line:column lines of a
 * bad one), and how flags, the file and the environment merge into createServer's config.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServe } from '../../../cli/serve-options.js';
import { loadServerConfig, parseServerConfig } from '../../../cli/server-config.js';
import type { ServerConfigFile } from '../../../cli/server-config.js';
import { formatDiagnostic, SmartQueueError } from '../../../engine/errors.js';
import { makeCerts } from '../plugins/api/make-certs.js';
import type { TestCerts } from '../plugins/api/make-certs.js';
import { cli } from '../../support/cli.js';

let certs: TestCerts;
let dir: string;
beforeAll(() => {
  certs = makeCerts();
  dir = mkdtempSync(path.join(tmpdir(), 'sq-server-config-'));
});
afterAll(() => {
  certs.remove();
  rmSync(dir, { recursive: true, force: true });
});

const TOKENS = `
client-token-0123456789: { name: ci, namespaces: '*' }
worker-token-0123456789: { name: pool, namespaces: '*', role: worker }
`;

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

const lines = (text: string, name = 'server.yaml') =>
  parseServerConfig(text, name, '/etc/smartqueue').diagnostics.map(formatDiagnostic);

describe('the config file', () => {
  it('a valid file: durations in ms, paths relative to its folder', () => {
    const r = parseServerConfig(
      `listen: 0.0.0.0:7070
http: '[::1]:9464'
state: data/state.db
localWorkers: 2
concurrency: 8
handlers: ./handlers.ts
heartbeatInterval: 1m30s
allowRemoteRun: true
auth: { tokensFile: tokens.yaml }
tls: { cert: server.pem, key: /abs/server.key, ca: ca.pem }
limits: { maxMessageBytes: 4194304, maxTasksPerSubmission: 10000, maxIdempotencyKeys: 5, shutdownGraceMs: 100 }
rateLimit: { ratePerSecond: 1000, burst: 2000 }
workflows: [workflows/, /srv/reports.yaml]
`,
      'server.yaml',
      '/etc/smartqueue',
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.config).toEqual({
      file: 'server.yaml',
      listen: '0.0.0.0:7070',
      http: '[::1]:9464',
      state: '/etc/smartqueue/data/state.db',
      localWorkers: 2,
      concurrency: 8,
      handlers: '/etc/smartqueue/handlers.ts',
      heartbeatIntervalMs: 90_000,
      allowRemoteRun: true,
      auth: { tokensFile: '/etc/smartqueue/tokens.yaml' },
      tls: { cert: '/etc/smartqueue/server.pem', key: '/abs/server.key', ca: '/etc/smartqueue/ca.pem' },
      limits: {
        maxMessageBytes: 4194304,
        maxTasksPerSubmission: 10000,
        maxIdempotencyKeys: 5,
        shutdownGraceMs: 100,
      },
      rateLimit: { ratePerSecond: 1000, burst: 2000 },
      workflows: ['/etc/smartqueue/workflows', '/srv/reports.yaml'],
    } satisfies ServerConfigFile);
  });

  it('JSON works too; ms numbers, auth: none, rateLimit: false, :memory:', () => {
    const r = parseServerConfig(
      '{ "heartbeatInterval": 500, "auth": "none", "rateLimit": false, "state": ":memory:" }',
      'server.json',
      '/x',
    );
    expect(r.config).toEqual({
      file: 'server.json',
      heartbeatIntervalMs: 500,
      auth: 'none',
      rateLimit: false,
      state: ':memory:',
    });
  });

  it('reports every problem as file:line:column path: message, in file order', () => {
    const text = `listen: 0.0.0.0:7070
http: localhost
heartbeatInterval: 30 seconds
allowRemoteRun: yes
auth: { tokenFile: tokens.yaml }
tls: { cert: server.pem }
limit: { maxMessageBytes: 4 }
limits: { maxMessageBytes: 0 }
rateLimit: { ratePerSecond: 1000, burst: 1.5 }
workflows: workflows/
localWorkers: -1
listen2: x
`;
    expect(lines(text)).toEqual([
      'server.yaml:2:7 http: expected host:port, e.g. 0.0.0.0:7070 or [::1]:7070',
      'server.yaml:3:20 heartbeatInterval: expected a duration such as "30s", "1m30s" or "PT30S", or a whole number of milliseconds (at least 1)',
      'server.yaml:4:17 allowRemoteRun: expected true or false',
      'server.yaml:5:9 auth.tokenFile: unknown key "tokenFile" (did you mean "tokensFile"?); allowed keys: tokensFile',
      'server.yaml:6:6 tls.key: missing required field "key"',
      'server.yaml:7:1 limit: unknown key "limit" (did you mean "limits"?); allowed keys: listen, http, state, store, transport, coordinator, clusterShards, instanceId, localWorkers, concurrency, handlers, heartbeatInterval, maxHeartbeatsPerSecond, allowRemoteRun, auth, tls, limits, rateLimit, tracing, workflows',
      'server.yaml:8:28 limits.maxMessageBytes: expected an integer >= 1',
      'server.yaml:9:42 rateLimit.burst: expected an integer >= 1',
      'server.yaml:10:12 workflows: expected a list of workflow files or directories',
      'server.yaml:11:15 localWorkers: expected an integer >= 0',
      'server.yaml:12:1 listen2: unknown key "listen2" (did you mean "listen"?); allowed keys: listen, http, state, store, transport, coordinator, clusterShards, instanceId, localWorkers, concurrency, handlers, heartbeatInterval, maxHeartbeatsPerSecond, allowRemoteRun, auth, tls, limits, rateLimit, tracing, workflows',
    ]);
  });

  it.each([
    ['auth: nope\n', 'server.yaml:1:7 auth: expected "none" or { tokensFile: <file> }'],
    [
      'rateLimit: true\n',
      'server.yaml:1:12 rateLimit: expected false or { ratePerSecond, burst, maxClients }',
    ],
    ['tls: 5\n', 'server.yaml:1:6 tls: expected { cert: <file>, key: <file>, ca?: <file> }'],
    ['listen: 0.0.0.0:99999\n', 'server.yaml:1:9 listen: the port must be at most 65535'],
    [
      'heartbeatInterval: 0s\n',
      expect.stringMatching(/^server\.yaml:1:20 heartbeatInterval: expected a duration/),
    ],
    [
      'tls: { cert: a, key: b, requireClientCert: true }\n',
      'server.yaml:1:44 tls.requireClientCert: needs tls.ca (the CA that signs client certificates)',
    ],
    [
      '- listen\n',
      'server.yaml:1:1 expected a mapping of server settings (listen, http, state, auth, tls, ...)',
    ],
    [
      'listen: a:1\n---\nhttp: b:2\n',
      'server.yaml:3:1 a server config file holds one YAML document, this is a second one',
    ],
    ['listen: [a\n', expect.stringMatching(/^server\.yaml:\d+:\d+ YAML syntax: /)],
    ['', 'server.yaml:1:1 the file holds no YAML document'],
  ])('%j → %s', (text, expected) => {
    expect(lines(text)).toEqual([expected]);
  });

  it('loadServerConfig throws INVALID_OPTIONS with the diagnostics, or naming an unreadable file', async () => {
    const bad = file('bad.yaml', 'listen: nowhere\n');
    const err = await loadServerConfig(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SmartQueueError);
    expect((err as SmartQueueError).code).toBe('INVALID_OPTIONS');
    expect((err as SmartQueueError).diagnostics.map(formatDiagnostic)).toEqual([
      `${bad}:1:9 listen: expected host:port, e.g. 0.0.0.0:7070 or [::1]:7070`,
    ]);
    const missing = path.join(dir, 'missing.yaml');
    await expect(loadServerConfig(missing)).rejects.toThrow(`--config: cannot read ${missing}: ENOENT`);
  });

  it('serve --config with a bad file prints the lines and exits 2, before listening', async () => {
    const bad = file('serve-bad.yaml', 'listen: 127.0.0.1:0\nheartbeat: 30s\nlocalWorkers: two\n');
    const r = await cli('serve', '--config', bad);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toEqual([
      `${bad}:2:1 heartbeat: unknown key "heartbeat" (did you mean "heartbeatInterval"?); allowed keys: listen, http, state, store, transport, coordinator, clusterShards, instanceId, localWorkers, concurrency, handlers, heartbeatInterval, maxHeartbeatsPerSecond, allowRemoteRun, auth, tls, limits, rateLimit, tracing, workflows`,
      `${bad}:3:15 localWorkers: expected an integer >= 0`,
    ]);
  });

  it('serve --help documents the file and the new options', async () => {
    const r = await cli('serve', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('--config <file>');
    expect(r.out).toContain('auth: { tokensFile: tokens.yaml }');
    expect(r.out).toContain('--heartbeat-interval <duration>');
  });
});

describe('flags, the file and the environment → createServer config', () => {
  const tokensFile = () => file('tokens.yaml', TOKENS);
  const fromFile = (): ServerConfigFile => ({
    file: 'server.yaml',
    listen: '0.0.0.0:7070',
    http: '0.0.0.0:9464',
    state: '/var/lib/smartqueue/state.db',
    localWorkers: 1,
    concurrency: 3,
    heartbeatIntervalMs: 30_000,
    allowRemoteRun: true,
    auth: { tokensFile: tokensFile() },
    tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
    limits: { maxMessageBytes: 1024 },
    rateLimit: false,
    workflows: ['/srv/workflows'],
  });

  it('a file alone: the config createServer receives', () => {
    const r = resolveServe({}, fromFile(), { env: {} });
    expect(r.config).toEqual({
      listen: '0.0.0.0:7070',
      http: '0.0.0.0:9464',
      statePath: '/var/lib/smartqueue/state.db',
      localWorkers: 1,
      localConcurrency: 3,
      heartbeatIntervalMs: 30_000,
      allowRemoteRun: true,
      credentials: expect.any(Object),
      httpTls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
      auth: expect.any(Function),
      limits: { maxMessageBytes: 1024 },
      rateLimit: false,
    });
    expect(r.workflows).toEqual(['/srv/workflows']);
    expect(r.warnings).toEqual([]);
    // The authorizer holds the file's tokens.
    expect(() => r.config.auth!({ authorization: 'Bearer nope-nope-nope-nope' }, { kind: 'client' })).toThrow(
      'unknown bearer token',
    );
    expect(
      r.config.auth!({ authorization: 'Bearer client-token-0123456789' }, { kind: 'client' }).principal.name,
    ).toBe('ci');
  });

  it('flags override the file, field by field; paths replace its workflows', () => {
    const other = file('other-tokens.yaml', 'other-token-0123456789: { name: other, namespaces: "*" }\n');
    const r = resolveServe(
      {
        listen: '127.0.0.1:0',
        http: '127.0.0.1:0',
        state: ':memory:',
        localWorkers: 0,
        concurrency: 9,
        heartbeatInterval: 200,
        tokens: other,
        tlsCa: certs.serverCert,
        handlers: '/x/handlers.ts',
      },
      fromFile(),
      { env: {}, paths: ['a.yaml'] },
    );
    expect(r.config).toMatchObject({
      listen: '127.0.0.1:0',
      http: '127.0.0.1:0',
      statePath: false,
      localWorkers: 0,
      localConcurrency: 9,
      heartbeatIntervalMs: 200,
      allowRemoteRun: true,
      httpTls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.serverCert },
    });
    expect(r.handlers).toBe('/x/handlers.ts');
    expect(r.workflows).toEqual(['a.yaml']);
    expect(
      r.config.auth!({ authorization: 'Bearer other-token-0123456789' }, { kind: 'client' }).principal.name,
    ).toBe('other');
  });

  it('the file wins over the environment; without either, the defaults (and warnings)', () => {
    const env = { SMARTQUEUE_TOKENS: TOKENS };
    const none = resolveServe({}, { file: 's.yaml', auth: 'none' }, { env });
    expect(none.config.auth).toBeUndefined();
    expect(none.warnings[0]).toMatch(/authentication is off/);
    const fromEnv = resolveServe({}, { file: 's.yaml' }, { env });
    expect(fromEnv.config.auth).toEqual(expect.any(Function));
    const defaults = resolveServe({}, undefined, { env: {}, defaultState: '/from/env/state.db' });
    expect(defaults.config).toEqual({
      listen: '127.0.0.1:7070',
      statePath: '/from/env/state.db',
      localWorkers: 0,
      allowRemoteRun: false,
    });
    expect(defaults.warnings).toEqual([
      expect.stringMatching(/authentication is off/),
      'warning: TLS is off (pass --tls-cert and --tls-key): traffic is in clear text',
    ]);
    // The file's state wins over SMARTQUEUE_STATE (the default of --state).
    expect(
      resolveServe(
        {},
        { file: 's.yaml', state: '/file/state.db' },
        { env: {}, defaultState: '/env/state.db' },
      ).config.statePath,
    ).toBe('/file/state.db');
  });

  it('half a TLS pair, or a CA without a certificate, is an error', () => {
    expect(() => resolveServe({ tlsCert: certs.serverCert }, undefined, { env: {} })).toThrow(
      'TLS needs both a certificate and a key',
    );
    expect(() => resolveServe({ tlsCa: certs.ca }, undefined, { env: {} })).toThrow(
      '--tls-ca needs --tls-cert and --tls-key',
    );
    expect(() =>
      resolveServe({}, { file: 's.yaml', tls: { cert: '/no/such.pem', key: certs.serverKey } }, { env: {} }),
    ).toThrow('tls.cert: cannot read /no/such.pem');
  });
});

describe('deploy/smartqueue.yaml', () => {
  it('is a valid config file', async () => {
    const config = await loadServerConfig('deploy/smartqueue.yaml');
    expect(config).toMatchObject({
      listen: '0.0.0.0:7070',
      heartbeatIntervalMs: 30_000,
      auth: { tokensFile: '/etc/smartqueue/tokens.yaml' },
    });
  });
});
