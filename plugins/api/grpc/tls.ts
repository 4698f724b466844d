/**
 * TLS and mutual TLS for the gRPC API (and the PEM material the HTTP server reuses). Certificates
 * are read once, at startup, so a missing or unreadable file fails fast with the path in the message
 * instead of as an opaque handshake error later.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { errorMessage, SmartQueueError } from '../../../engine/errors.js';

/** Certificate paths of a server. */
export interface ServerTlsOptions {
  /** PEM certificate chain of the server. */
  cert: string;
  /** PEM private key of the server. */
  key: string;
  /** PEM bundle of the CAs that sign client certificates (mutual TLS). @default undefined */
  ca?: string;
  /**
   * Refuse clients without a certificate signed by `ca` (mutual TLS). Needs `ca`.
   * @default true when `ca` is given, false otherwise
   */
  requireClientCert?: boolean;
}

/** Certificate paths of a client. */
export interface ClientTlsOptions {
  /** PEM bundle of the CAs that sign the server's certificate. @default the system roots */
  ca?: string;
  /** PEM certificate of the client (mutual TLS; needs `key`). */
  cert?: string;
  /** PEM private key of the client (mutual TLS; needs `cert`). */
  key?: string;
}

/** The PEM contents of a server's TLS options, read and checked. */
export interface ResolvedServerTls {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
  requireClientCert: boolean;
}

function readPem(what: string, file: string | undefined): Buffer {
  if (!file) throw new SmartQueueError('INVALID_OPTIONS', `tls.${what} is required`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new SmartQueueError('INVALID_OPTIONS', `tls.${what}: cannot read ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  if (!bytes.includes('-----BEGIN ')) {
    throw new SmartQueueError('INVALID_OPTIONS', `tls.${what}: ${file} is not a PEM file`);
  }
  return bytes;
}

/** Reads and validates a server's TLS files (the one place their defaults are applied). */
export function resolveServerTls(raw: ServerTlsOptions): ResolvedServerTls {
  const requireClientCert = raw.requireClientCert ?? raw.ca !== undefined;
  if (requireClientCert && !raw.ca) {
    throw new SmartQueueError('INVALID_OPTIONS', 'tls.requireClientCert needs tls.ca (the client CA bundle)');
  }
  return {
    cert: readPem('cert', raw.cert),
    key: readPem('key', raw.key),
    ca: raw.ca ? readPem('ca', raw.ca) : undefined,
    requireClientCert,
  };
}

/** Server credentials: TLS, or mutual TLS when `ca` is given and client certificates are required. */
export function loadServerCredentials(raw: ServerTlsOptions): grpc.ServerCredentials {
  const tls = resolveServerTls(raw);
  return grpc.ServerCredentials.createSsl(
    tls.ca ?? null,
    [{ cert_chain: tls.cert, private_key: tls.key }],
    tls.requireClientCert,
  );
}

/** Client credentials: TLS against `ca` (or the system roots), with a client certificate for mutual TLS. */
export function loadClientCredentials(raw: ClientTlsOptions = {}): grpc.ChannelCredentials {
  if ((raw.cert === undefined) !== (raw.key === undefined)) {
    throw new SmartQueueError('INVALID_OPTIONS', 'tls.cert and tls.key go together (mutual TLS)');
  }
  return grpc.credentials.createSsl(
    raw.ca ? readPem('ca', raw.ca) : null,
    raw.key ? readPem('key', raw.key) : null,
    raw.cert ? readPem('cert', raw.cert) : null,
  );
}
