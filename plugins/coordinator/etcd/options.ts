/**
 * Options of the etcd coordinator: one resolver that validates and applies defaults, and a
 * parser for `etcd://` URLs.
 */
import { randomBytes } from 'node:crypto';
import { SmartQueueError } from '../../../engine/errors.js';

/** TLS material for `https` endpoints (PEM text or buffers). */
export interface EtcdTlsOptions {
  /** CA certificate(s) that sign the server certificate. */
  ca: string | Buffer;
  /** Client certificate, for mutual TLS (needs `key`). */
  cert?: string | Buffer;
  /** Client private key, for mutual TLS (needs `cert`). */
  key?: string | Buffer;
}

/** etcd user authentication (etcd exchanges it for a token itself). */
export interface EtcdAuthOptions {
  username: string;
  password: string;
}

/** Options of {@link createEtcdCoordinator}. */
export interface EtcdCoordinatorOptions {
  /**
   * etcd endpoints, `http(s)://host:port` or `host:port`.
   * @default ['http://127.0.0.1:2379']
   */
  endpoints?: string[] | string;
  /**
   * Key namespace: every key lives under `<prefix>/`. Instances that share a prefix form one
   * cluster.
   * @default 'smartqueue'
   */
  prefix?: string;
  /**
   * This instance's id (the value of the shard keys it owns).
   * @default a random `coord-<12 hex>`
   */
  instanceId?: string;
  /**
   * TTL of the instance's own session lease, in ms (rounded up to whole seconds, at least 1 s).
   * Its shards, candidacy and locks die with it, so this is also how long a crashed instance's
   * shards stay unowned at most.
   * @default 10000
   */
  leaseTtlMs?: number;
  /**
   * How often shard ownership is re-evaluated besides on watch events, in ms.
   * @default half of leaseTtlMs
   */
  rebalanceIntervalMs?: number;
  /**
   * How long connecting to etcd may take, in ms.
   * @default 5000
   */
  dialTimeoutMs?: number;
  /**
   * A shard count to start owning shards of at once (ownedShards(total) starts tracking any
   * other count on first use).
   * @default undefined (nothing until ownedShards is called)
   */
  shards?: number;
  /** TLS material; needed for `https` endpoints signed by a private CA. @default undefined */
  tls?: EtcdTlsOptions;
  /** User and password, when etcd has auth enabled. @default undefined */
  auth?: EtcdAuthOptions;
}

/** {@link EtcdCoordinatorOptions} with every default applied. */
export interface ResolvedEtcdCoordinatorOptions {
  endpoints: string[];
  prefix: string;
  instanceId: string;
  leaseTtlMs: number;
  /** leaseTtlMs in whole seconds, as etcd grants it. */
  leaseTtlSeconds: number;
  rebalanceIntervalMs: number;
  dialTimeoutMs: number;
  shards: number | undefined;
  tls: { ca: Buffer; cert?: Buffer; key?: Buffer } | undefined;
  auth: EtcdAuthOptions | undefined;
}

const ENDPOINT_RE = /^(?:(https?):\/\/)?([^/:\s]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\/?$/;
const PREFIX_RE = /^[A-Za-z0-9._\-/]+$/;

function isPositive(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

function toBuffer(value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}

/** Whole seconds of an etcd lease for `ttlMs` (etcd TTLs are whole seconds, at least 1). */
export function leaseSeconds(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / 1000));
}

/**
 * Validates options and applies defaults.
 * @throws SmartQueueError `INVALID_OPTIONS` naming every problem found.
 */
export function resolveEtcdCoordinatorOptions(
  raw: EtcdCoordinatorOptions = {},
): ResolvedEtcdCoordinatorOptions {
  const problems: string[] = [];
  const rawEndpoints = raw.endpoints ?? ['http://127.0.0.1:2379'];
  const list = typeof rawEndpoints === 'string' ? rawEndpoints.split(',') : rawEndpoints;
  const endpoints: string[] = [];
  if (!Array.isArray(list) || list.length === 0) {
    problems.push('endpoints must be a non-empty list of host:port or http(s)://host:port');
  } else {
    for (const endpoint of list) {
      const match = typeof endpoint === 'string' ? ENDPOINT_RE.exec(endpoint.trim()) : null;
      if (match === null || Number(match[3]) > 65535) {
        problems.push(`endpoint ${JSON.stringify(endpoint)} is not host:port or http(s)://host:port`);
      } else {
        endpoints.push(`${match[1] ?? (raw.tls ? 'https' : 'http')}://${match[2]}:${match[3]}`);
      }
    }
  }
  const prefix = raw.prefix ?? 'smartqueue';
  if (typeof prefix !== 'string' || !PREFIX_RE.test(prefix) || prefix.endsWith('/')) {
    problems.push(
      `prefix must be letters, digits, '.', '_', '-' and '/' (not ending in '/'), got ${JSON.stringify(prefix)}`,
    );
  }
  const instanceId = raw.instanceId ?? `coord-${randomBytes(6).toString('hex')}`;
  if (typeof instanceId !== 'string' || instanceId === '' || instanceId.includes('/')) {
    problems.push(`instanceId must be a non-empty string without '/', got ${JSON.stringify(instanceId)}`);
  }
  const leaseTtlMs = raw.leaseTtlMs ?? 10_000;
  if (!isPositive(leaseTtlMs)) problems.push(`leaseTtlMs must be a number > 0, got ${String(leaseTtlMs)}`);
  const rebalanceIntervalMs = raw.rebalanceIntervalMs ?? (isPositive(leaseTtlMs) ? leaseTtlMs / 2 : 5000);
  if (!isPositive(rebalanceIntervalMs)) {
    problems.push(`rebalanceIntervalMs must be a number > 0, got ${String(rebalanceIntervalMs)}`);
  }
  const dialTimeoutMs = raw.dialTimeoutMs ?? 5000;
  if (!isPositive(dialTimeoutMs))
    problems.push(`dialTimeoutMs must be a number > 0, got ${String(dialTimeoutMs)}`);
  const shards = raw.shards;
  if (shards !== undefined && (!Number.isInteger(shards) || shards < 0)) {
    problems.push(`shards must be an integer >= 0, got ${String(shards)}`);
  }
  let tls: ResolvedEtcdCoordinatorOptions['tls'];
  if (raw.tls !== undefined) {
    const { ca, cert, key } = raw.tls;
    const isPem = (v: unknown): v is string | Buffer => typeof v === 'string' || Buffer.isBuffer(v);
    if (!isPem(ca)) problems.push('tls.ca must be PEM text or a Buffer');
    if ((cert === undefined) !== (key === undefined)) problems.push('tls.cert and tls.key go together');
    if (cert !== undefined && !isPem(cert)) problems.push('tls.cert must be PEM text or a Buffer');
    if (key !== undefined && !isPem(key)) problems.push('tls.key must be PEM text or a Buffer');
    if (isPem(ca)) {
      tls = { ca: toBuffer(ca) };
      if (cert !== undefined && key !== undefined && isPem(cert) && isPem(key)) {
        tls.cert = toBuffer(cert);
        tls.key = toBuffer(key);
      }
    }
  }
  const auth = raw.auth;
  if (auth !== undefined && (typeof auth.username !== 'string' || typeof auth.password !== 'string')) {
    problems.push('auth needs a string username and password');
  }
  if (problems.length > 0) {
    throw new SmartQueueError('INVALID_OPTIONS', `invalid etcd coordinator options: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return {
    endpoints,
    prefix,
    instanceId,
    leaseTtlMs,
    leaseTtlSeconds: leaseSeconds(leaseTtlMs),
    rebalanceIntervalMs,
    dialTimeoutMs,
    shards,
    tls,
    auth,
  };
}

const URL_RE = /^(etcd|etcd\+https|etcd\+http):\/\/(?:([^@/?#]*)@)?([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?$/;

/**
 * Options from `etcd://host:port[,host2:port2]/<prefix>?ttlMs=...&shards=...`; `etcd+https://`
 * selects TLS (pass `tls` yourself), and `user:password@` sets `auth`. Query keys: `ttlMs`
 * (leaseTtlMs), `shards`, `dialTimeoutMs`, `instanceId`. The result still goes through
 * {@link resolveEtcdCoordinatorOptions}, which reports bad values.
 * @throws SmartQueueError `INVALID_OPTIONS` for a URL that does not have this shape.
 */
export function etcdCoordinatorOptionsFromUrl(url: string): EtcdCoordinatorOptions {
  const match = typeof url === 'string' ? URL_RE.exec(url.trim()) : null;
  if (match === null) {
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `invalid etcd coordinator URL ${JSON.stringify(url)}: expected etcd[+https]://host:port[,host:port]/<prefix>?ttlMs=...&shards=...`,
    );
  }
  const [, scheme, userInfo, hosts, path, query] = match;
  const httpScheme = scheme === 'etcd+https' ? 'https' : 'http';
  const options: EtcdCoordinatorOptions = {
    endpoints: hosts!.split(',').map((host) => `${httpScheme}://${host}`),
  };
  const prefix = decodeURIComponent((path ?? '').replace(/^\/+|\/+$/g, ''));
  if (prefix !== '') options.prefix = prefix;
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':');
    options.auth = {
      username: decodeURIComponent(colon < 0 ? userInfo : userInfo.slice(0, colon)),
      password: colon < 0 ? '' : decodeURIComponent(userInfo.slice(colon + 1)),
    };
  }
  const problems: string[] = [];
  const params = new URLSearchParams(query ?? '');
  const numeric = (name: string): number | undefined => {
    const value = params.get(name);
    if (value === null) return undefined;
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed))
      problems.push(`${name} must be a number, got ${JSON.stringify(value)}`);
    return parsed;
  };
  for (const key of params.keys()) {
    if (!['ttlMs', 'shards', 'dialTimeoutMs', 'instanceId'].includes(key)) {
      problems.push(
        `unknown query parameter ${JSON.stringify(key)} (allowed: ttlMs, shards, dialTimeoutMs, instanceId)`,
      );
    }
  }
  const ttlMs = numeric('ttlMs');
  if (ttlMs !== undefined) options.leaseTtlMs = ttlMs;
  const shards = numeric('shards');
  if (shards !== undefined) options.shards = shards;
  const dialTimeoutMs = numeric('dialTimeoutMs');
  if (dialTimeoutMs !== undefined) options.dialTimeoutMs = dialTimeoutMs;
  const instanceId = params.get('instanceId');
  if (instanceId !== null) options.instanceId = instanceId;
  if (problems.length > 0) {
    throw new SmartQueueError('INVALID_OPTIONS', `invalid etcd coordinator URL: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return options;
}
