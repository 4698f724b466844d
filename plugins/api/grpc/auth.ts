/**
 * Bearer-token authorization for the gRPC API (and the HTTP/WebSocket endpoints): who is calling
 * (UNAUTHENTICATED when nobody we know) and whether they may touch the namespace they ask for
 * (PERMISSION_DENIED). Auth is off only when configured `auth: 'none'`, and then the caller gets
 * a warning to print at startup.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { SmartQueueError } from '../../../engine/errors.js';
import { loadTokensFile, loadTokensFromEnv, TOKENS_ENV } from './auth-tokens.js';
import type { TokenGrant, TokenTable } from './auth-tokens.js';
import { toServiceError } from './errors.js';

export { loadTokensFile, loadTokensFromEnv, parseTokens, TOKENS_ENV } from './auth-tokens.js';
export type { TokenGrant, TokenTable } from './auth-tokens.js';

/** The caller of a request, once authenticated. */
export interface Principal extends TokenGrant {
  /** True when auth is off (`auth: 'none'`) and nobody was checked. */
  anonymous: boolean;
}

/** What a call wants to do. */
export interface AccessRequest {
  /** The namespace it touches; undefined for calls that span namespaces (only `'*'` tokens). */
  namespace?: string;
  /** `client` for the SmartQueue service, `worker` for the Workers service. */
  kind: 'client' | 'worker';
}

/**
 * Checks one call. Throws SmartQueueError UNAUTHENTICATED (no or unknown bearer token) or
 * PERMISSION_DENIED (namespace or role not granted); returns the principal otherwise.
 * `metadata` is gRPC metadata or HTTP headers (`authorization: Bearer <token>`).
 */
export type Authorizer = (
  metadata: grpc.Metadata | { authorization?: string | string[] | undefined },
  request: AccessRequest,
) => { principal: Principal };

const ANONYMOUS: Principal = { name: 'anonymous', namespaces: '*', role: 'client', anonymous: true };

/** The bearer token of gRPC metadata or HTTP headers, if any. */
export function bearerToken(
  metadata: grpc.Metadata | { authorization?: string | string[] | undefined },
): string | undefined {
  const raw =
    typeof (metadata as grpc.Metadata).get === 'function'
      ? (metadata as grpc.Metadata).get('authorization')[0]
      : (metadata as { authorization?: string | string[] }).authorization;
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (typeof value !== 'string') return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return m?.[1];
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * An authorizer over a token table. Tokens are compared as SHA-256 digests with
 * `timingSafeEqual`, against every entry (no early exit), so timing reveals neither a token's
 * prefix nor which entry matched.
 */
export function createAuthorizer(tokens: TokenTable): Authorizer {
  const entries = [...tokens].map(([token, grant]) => ({ hash: digest(token), grant }));
  return (metadata, request) => {
    const token = bearerToken(metadata);
    if (token === undefined) {
      throw new SmartQueueError(
        'UNAUTHENTICATED',
        'missing bearer token (metadata authorization: Bearer <token>)',
      );
    }
    const hash = digest(token);
    let found: TokenGrant | undefined;
    for (const e of entries) if (timingSafeEqual(e.hash, hash) && !found) found = e.grant;
    if (!found) throw new SmartQueueError('UNAUTHENTICATED', 'unknown bearer token');
    if (found.role !== request.kind) {
      throw new SmartQueueError(
        'PERMISSION_DENIED',
        `${found.name} has role ${found.role} and may not make ${request.kind} calls`,
      );
    }
    if (found.namespaces !== '*') {
      if (request.namespace === undefined) {
        throw new SmartQueueError('PERMISSION_DENIED', `${found.name} may not make calls across namespaces`);
      }
      if (!found.namespaces.includes(request.namespace)) {
        throw new SmartQueueError(
          'PERMISSION_DENIED',
          `${found.name} may not use namespace ${request.namespace}`,
        );
      }
    }
    return { principal: { ...found, anonymous: false } };
  };
}

/** An authorizer that lets everything through (auth: none). */
export function allowAll(): Authorizer {
  return () => ({ principal: ANONYMOUS });
}

/** How the server authenticates callers. */
export interface AuthOptions {
  /**
   * `tokens`: bearer tokens from `tokensFile` or the SMARTQUEUE_TOKENS env. `none`: no auth (local
   * use only; a warning is returned for the caller to print).
   * @default 'tokens'
   */
  mode?: 'tokens' | 'none';
  /** YAML or JSON tokens file; wins over the environment. @default undefined (use SMARTQUEUE_TOKENS) */
  tokensFile?: string;
  /** Environment to read SMARTQUEUE_TOKENS from. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** The authorizer to install and, when auth is off, the warning the caller must print at startup. */
export interface ResolvedAuth {
  authorizer: Authorizer;
  mode: 'tokens' | 'none';
  warning?: string;
}

/** Resolves auth options in one place: explicit file > env; `none` only when asked for. */
export function resolveAuth(raw: AuthOptions = {}): ResolvedAuth {
  const mode = raw.mode ?? 'tokens';
  if (mode === 'none') {
    return {
      authorizer: allowAll(),
      mode,
      warning:
        'WARNING: authentication is off (auth: none): anyone who can reach this server can submit, ' +
        'cancel and watch every run. Use it for local development only.',
    };
  }
  if (mode !== 'tokens') {
    throw new SmartQueueError('INVALID_OPTIONS', `auth.mode must be tokens or none, got ${String(mode)}`);
  }
  const tokens = raw.tokensFile ? loadTokensFile(raw.tokensFile) : loadTokensFromEnv(raw.env ?? process.env);
  if (!tokens || tokens.size === 0) {
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `auth needs tokens: set auth.tokensFile or ${TOKENS_ENV}, or auth: none for local use`,
    );
  }
  return { authorizer: createAuthorizer(tokens), mode };
}

// ---------------------------------------------------------------------------------------------
// grpc-js handler wrapping
// ---------------------------------------------------------------------------------------------

/** Any grpc-js server call (all carry metadata; unary and server-streaming calls also a request). */
export type AnyServerCall = grpc.ServerUnaryCall<unknown, unknown> & { request?: unknown };

/** Answers a call with an error status, whatever its kind (unary callback or stream error). */
export function rejectCall(call: AnyServerCall, callback: unknown, err: unknown): void {
  const status = toServiceError(err);
  if (typeof callback === 'function') (callback as grpc.sendUnaryData<unknown>)(status);
  else (call as unknown as NodeJS.EventEmitter).emit('error', status);
}

const principals = new WeakMap<object, Principal>();

/** The principal a call was authorized as by {@link withAuthorization}, if any. */
export function principalOf(call: object): Principal | undefined {
  return principals.get(call);
}

/** Where a method's namespace and kind come from. */
export interface AuthorizationOptions {
  /**
   * The namespace a call touches, from its method name and request (the request is undefined for
   * client-streaming and bidi calls). May be async (a run id to look up).
   * @default () => undefined (calls span namespaces: only '*' tokens pass)
   */
  namespaceOf?: (method: string, request: unknown) => string | undefined | Promise<string | undefined>;
  /** @default 'client' */
  kind?: 'client' | 'worker';
}

/**
 * Wraps every handler of a grpc-js service implementation so it runs only after `authorizer`
 * accepts the call; a refused call gets UNAUTHENTICATED / PERMISSION_DENIED and the handler is
 * never invoked. Works for unary, client-, server- and bidi-streaming handlers alike.
 */
export function withAuthorization<H extends object>(
  handlers: H,
  authorizer: Authorizer,
  options: AuthorizationOptions = {},
): H {
  const kind = options.kind ?? 'client';
  const namespaceOf = options.namespaceOf ?? (() => undefined);
  const wrapped: Record<string, unknown> = {};
  for (const [method, handler] of Object.entries(handlers)) {
    if (typeof handler !== 'function') {
      wrapped[method] = handler;
      continue;
    }
    wrapped[method] = (call: AnyServerCall, callback?: unknown) => {
      Promise.resolve()
        .then(() => namespaceOf(method, call.request))
        .then((namespace) => {
          const { principal } = authorizer(call.metadata, {
            kind,
            ...(namespace !== undefined && { namespace }),
          });
          principals.set(call, principal);
        })
        .then(
          // Outside the guarded part: a handler's own failure must not be answered twice.
          () => (handler as (c: unknown, cb?: unknown) => void)(call, callback),
          (err: unknown) => rejectCall(call, callback, err),
        )
        .catch(() => undefined);
    };
  }
  return wrapped as H;
}

/**
 * Client side: call credentials that send `authorization: Bearer <token>` with every call.
 * Combine them with TLS channel credentials
 * (`grpc.credentials.combineChannelCredentials(loadClientCredentials(...), bearerCallCredentials(t))`);
 * grpc-js refuses to send call credentials over an insecure channel.
 */
export function bearerCallCredentials(token: string): grpc.CallCredentials {
  return grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    callback(null, md);
  });
}

/**
 * Client side, for channels without TLS (loopback, behind a TLS-terminating proxy), where grpc-js
 * refuses call credentials: an interceptor that adds `authorization: Bearer <token>` to every
 * call. Pass it as `new Client(address, creds, { interceptors: [bearerInterceptor(token)] })`.
 */
export function bearerInterceptor(token: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}
