/** TLS credential loading: clear errors for missing, unreadable and non-PEM files. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../../engine/errors.js';
import {
  loadClientCredentials,
  loadServerCredentials,
  resolveServerTls,
} from '../../../../plugins/api/grpc/tls.js';
import { makeCerts } from './make-certs.js';
import type { TestCerts } from './make-certs.js';

let certs: TestCerts;
beforeAll(() => {
  certs = makeCerts();
});
afterAll(() => certs.remove());

function thrown(fn: () => unknown): SmartQueueError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SmartQueueError);
    return err as SmartQueueError;
  }
  throw new Error('expected a throw');
}

describe('tls', () => {
  it('loads server credentials for TLS and mutual TLS', () => {
    expect(loadServerCredentials({ cert: certs.serverCert, key: certs.serverKey })).toBeInstanceOf(
      grpc.ServerCredentials,
    );
    const mtls = resolveServerTls({ cert: certs.serverCert, key: certs.serverKey, ca: certs.ca });
    expect(mtls.requireClientCert).toBe(true);
    const optional = resolveServerTls({
      cert: certs.serverCert,
      key: certs.serverKey,
      ca: certs.ca,
      requireClientCert: false,
    });
    expect(optional.requireClientCert).toBe(false);
    expect(resolveServerTls({ cert: certs.serverCert, key: certs.serverKey }).requireClientCert).toBe(false);
  });

  it('loads client credentials, with and without a client certificate', () => {
    expect(loadClientCredentials({ ca: certs.ca })).toBeDefined();
    expect(
      loadClientCredentials({ ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }),
    ).toBeDefined();
  });

  it('names the missing file', () => {
    const missing = path.join(certs.dir, 'nope.crt');
    const err = thrown(() => loadServerCredentials({ cert: missing, key: certs.serverKey }));
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.message).toContain('tls.cert');
    expect(err.message).toContain(missing);
  });

  it('refuses a file that is not PEM', () => {
    const junk = path.join(certs.dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate');
    const err = thrown(() => loadServerCredentials({ cert: certs.serverCert, key: junk }));
    expect(err.message).toMatch(/tls\.key: .*junk\.pem is not a PEM file/);
  });

  it('names a file that cannot be read (a directory, unreadable even for root)', () => {
    const locked = path.join(certs.dir, 'a-directory.key');
    mkdirSync(locked, { recursive: true });
    const err = thrown(() => loadServerCredentials({ cert: certs.serverCert, key: locked }));
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.message).toContain('cannot read');
    expect(err.message).toContain(locked);
  });

  it('needs a CA to require client certificates, and cert with key on the client', () => {
    expect(
      thrown(() =>
        resolveServerTls({ cert: certs.serverCert, key: certs.serverKey, requireClientCert: true }),
      ).message,
    ).toContain('needs tls.ca');
    expect(thrown(() => loadClientCredentials({ ca: certs.ca, cert: certs.clientCert })).message).toContain(
      'go together',
    );
  });
});
