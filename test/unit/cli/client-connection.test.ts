/**
 * The connection options of the gRPC client verbs (--token, --token-file, --tls, --tls-ca,
 * --tls-cert/--tls-key, --tls-server-name): what they build, and the errors that name the file.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveClientConnection } from '../../../cli/client-connection.js';
import { makeCerts } from '../plugins/api/make-certs.js';
import type { TestCerts } from '../plugins/api/make-certs.js';
import { cli } from '../../support/cli.js';

let certs: TestCerts;
let dir: string;
beforeAll(() => {
  certs = makeCerts();
  dir = mkdtempSync(path.join(tmpdir(), 'sq-client-conn-'));
});
afterAll(() => {
  certs.remove();
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('resolveClientConnection', () => {
  it('nothing given: a plain-text channel without a token', () => {
    expect(resolveClientConnection({}, {})).toEqual({});
  });

  it('token: --token > --token-file > SMARTQUEUE_TOKEN; sent by interceptor and as metadata', () => {
    const tokenFile = file('token', '  from-file-token\n');
    const env = { SMARTQUEUE_TOKEN: 'from-env-token' };
    expect(resolveClientConnection({ token: 'flag-token' }, env).token).toBe('flag-token');
    expect(resolveClientConnection({ tokenFile }, env).token).toBe('from-file-token');
    const c = resolveClientConnection({}, env);
    expect(c.token).toBe('from-env-token');
    expect(c.metadata).toEqual({ authorization: 'Bearer from-env-token' });
    expect(c.credentials).toBeUndefined();
    expect(c.channelOptions?.interceptors).toHaveLength(1);
  });

  it('TLS: --tls alone, or implied by --tls-ca, --tls-cert/--tls-key and --tls-server-name', () => {
    expect(resolveClientConnection({ tls: true }, {}).credentials?._isSecure()).toBe(true);
    expect(resolveClientConnection({ tlsCa: certs.ca }, {}).credentials?._isSecure()).toBe(true);
    const mtls = resolveClientConnection({ tlsCert: certs.clientCert, tlsKey: certs.clientKey }, {});
    expect(mtls.credentials).toBeInstanceOf(grpc.ChannelCredentials);
    const named = resolveClientConnection({ tlsServerName: 'queue.internal' }, {});
    expect(named.credentials?._isSecure()).toBe(true);
    expect(named.channelOptions).toEqual({ 'grpc.ssl_target_name_override': 'queue.internal' });
  });

  it('unreadable or wrong files fail at once and name the option and the file', () => {
    const missing = path.join(dir, 'missing.pem');
    expect(() => resolveClientConnection({ tlsCa: missing }, {})).toThrow(
      `--tls-ca: cannot read ${missing}: ENOENT`,
    );
    const notPem = file('not.pem', 'hello');
    expect(() => resolveClientConnection({ tlsCert: notPem, tlsKey: certs.clientKey }, {})).toThrow(
      `--tls-cert: ${notPem} is not a PEM file`,
    );
    expect(() => resolveClientConnection({ tokenFile: missing }, {})).toThrow(
      `--token-file: cannot read ${missing}: ENOENT`,
    );
    if (process.getuid?.() !== 0) {
      const locked = file('locked.pem', '-----BEGIN CERTIFICATE-----\n');
      chmodSync(locked, 0);
      expect(() => resolveClientConnection({ tlsCa: locked }, {})).toThrow(`--tls-ca: cannot read ${locked}`);
    }
  });

  it('bad combinations and bad tokens are INVALID_ARGUMENT', () => {
    expect(() => resolveClientConnection({ tlsCert: certs.clientCert }, {})).toThrow(
      '--tls-cert and --tls-key go together',
    );
    const empty = file('empty-token', '\n');
    expect(() => resolveClientConnection({ tokenFile: empty }, {})).toThrow(
      `${empty}: the token must be one word of printable ASCII (it is empty)`,
    );
    expect(() => resolveClientConnection({ token: 'two words' }, {})).toThrow(
      '--token: the token must be one word of printable ASCII',
    );
  });
});

describe('the client verbs take the connection options', () => {
  it.each(['submit', 'submit-task', 'watch', 'worker'])('%s --help lists them', async (verb) => {
    const r = await cli(verb, '--help');
    expect(r.code).toBe(0);
    for (const o of [
      '--token <token>',
      '--token-file <file>',
      '--tls ',
      '--tls-ca <file>',
      '--tls-cert <file>',
      '--tls-key <file>',
      '--tls-server-name <name>',
    ])
      expect(r.out).toContain(o);
  });

  it('an unreadable CA fails before any call, exit 2, naming the file', async () => {
    const missing = path.join(dir, 'nope.pem');
    const wf = file('wf.yaml', 'apiVersion: smartqueue/v1\n');
    for (const argv of [
      ['submit', wf],
      ['submit-task', '--handler', 'noop'],
      ['watch', 'run_x'],
      ['worker'],
    ]) {
      const r = await cli(...argv, '--server', '127.0.0.1:1', '--tls-ca', missing);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(new RegExp(`^smartqueue: --tls-ca: cannot read ${missing}: ENOENT`));
    }
  });

  it('--token and --token-file conflict', async () => {
    const r = await cli('watch', 'run_x', '--token', 'a', '--token-file', 'b');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/option '--token-file <file>' cannot be used with option '--token <token>'/);
  });
});
