/**
 * `smartqueue serve`'s settings from its three sources, in one place: command-line flags over the
 * config file (cli/server-config.ts) over the environment and the defaults.
 */
import { SmartQueueError } from '../engine/errors.js';
import { resolveAuth, TOKENS_ENV } from '../plugins/api/grpc/auth.js';
import { loadServerCredentials } from '../plugins/api/grpc/tls.js';
import type { ServerTlsOptions } from '../plugins/api/grpc/tls.js';
import { DEFAULT_STATE_PATH } from '../runtime/embedded.js';
import type { ServerConfig } from '../runtime/server.js';
import type { ServerConfigFile } from './server-config.js';
import { resolveCliTracing } from './trace-flags.js';
import type { TraceFlags } from './trace-flags.js';

/** The `serve` flags that have a config-file key; undefined means "not given on the command line". */
export interface ServeFlags extends TraceFlags {
  listen?: string;
  http?: string;
  /** Only when given on the command line (its default comes after the file). */
  state?: string;
  localWorkers?: number;
  concurrency?: number;
  handlers?: string;
  heartbeatInterval?: number;
  allowRemoteRun?: boolean;
  tokens?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  transport?: string;
  coordinator?: string;
  clusterShards?: number;
  instanceId?: string;
}

/** What `serve` starts: createServer's config (without handlers and log) and the scheduled paths. */
export interface ResolvedServe {
  config: Omit<ServerConfig, 'handlers' | 'log' | 'logger'>;
  /** Handlers module of the local workers, if any. */
  handlers?: string;
  /** Workflow files or directories to schedule. */
  workflows: string[];
  /** Lines to print at startup (auth or TLS off). */
  warnings: string[];
}

/**
 * Merges flags over the config file over the environment and defaults (explicit > config file >
 * env), reads the tokens and TLS files, and builds the createServer config.
 */
export function resolveServe(
  flags: ServeFlags,
  file: ServerConfigFile | undefined,
  options: { paths?: string[]; defaultState?: string; env?: NodeJS.ProcessEnv } = {},
): ResolvedServe {
  const env = options.env ?? process.env;
  const f = file ?? ({ file: '' } as ServerConfigFile);
  const warnings: string[] = [];
  const fileAuth = f.auth;
  const auth =
    flags.tokens !== undefined
      ? resolveAuth({ tokensFile: flags.tokens })
      : fileAuth === 'none'
        ? resolveAuth({ mode: 'none' })
        : fileAuth !== undefined
          ? resolveAuth({ tokensFile: fileAuth.tokensFile })
          : env[TOKENS_ENV]
            ? resolveAuth({ env })
            : resolveAuth({ mode: 'none' });
  if (auth.warning) warnings.push(auth.warning);
  const cert = flags.tlsCert ?? f.tls?.cert;
  const key = flags.tlsKey ?? f.tls?.key;
  const ca = flags.tlsCa ?? f.tls?.ca;
  let tls: ServerTlsOptions | undefined;
  if (cert !== undefined || key !== undefined) {
    if (cert === undefined || key === undefined)
      throw new SmartQueueError(
        'INVALID_OPTIONS',
        'TLS needs both a certificate and a key (--tls-cert, --tls-key)',
      );
    tls = {
      cert,
      key,
      ...(ca !== undefined && { ca }),
      ...(f.tls?.requireClientCert !== undefined && { requireClientCert: f.tls.requireClientCert }),
    };
  } else if (ca !== undefined) {
    throw new SmartQueueError('INVALID_OPTIONS', '--tls-ca needs --tls-cert and --tls-key');
  } else {
    warnings.push('warning: TLS is off (pass --tls-cert and --tls-key): traffic is in clear text');
  }
  const state = flags.state ?? f.state ?? options.defaultState ?? DEFAULT_STATE_PATH;
  const http = flags.http ?? f.http;
  const localConcurrency = flags.concurrency ?? f.concurrency;
  const heartbeatIntervalMs = flags.heartbeatInterval ?? f.heartbeatIntervalMs;
  const handlers = flags.handlers ?? f.handlers;
  const transport = flags.transport ?? f.transport ?? env.SMARTQUEUE_TRANSPORT;
  const coordinator = flags.coordinator ?? f.coordinator ?? env.SMARTQUEUE_COORDINATOR;
  const clusterShards = flags.clusterShards ?? f.clusterShards;
  const instanceId = flags.instanceId ?? f.instanceId;
  const tracing = resolveCliTracing(flags, 'smartqueue', f.tracing, env);
  return {
    config: {
      listen: flags.listen ?? f.listen ?? '127.0.0.1:7070',
      ...(http !== undefined && { http }),
      statePath: state === ':memory:' ? false : state,
      localWorkers: flags.localWorkers ?? f.localWorkers ?? 0,
      ...(localConcurrency !== undefined && { localConcurrency }),
      ...(heartbeatIntervalMs !== undefined && { heartbeatIntervalMs }),
      ...(f.maxHeartbeatsPerSecond !== undefined && { maxHeartbeatsPerSecond: f.maxHeartbeatsPerSecond }),
      allowRemoteRun: flags.allowRemoteRun ?? f.allowRemoteRun ?? false,
      ...(tls && { credentials: loadServerCredentials(tls), httpTls: tls }),
      ...(auth.mode === 'tokens' && { auth: auth.authorizer }),
      ...(f.limits && { limits: f.limits }),
      ...(f.rateLimit !== undefined && { rateLimit: f.rateLimit }),
      ...(transport && { transport }),
      ...(coordinator && { coordinator }),
      ...(clusterShards !== undefined && { clusterShards }),
      ...(instanceId !== undefined && { instanceId }),
      ...(tracing && { tracing }),
    },
    ...(handlers !== undefined && { handlers }),
    workflows: options.paths?.length ? options.paths : (f.workflows ?? []),
    warnings,
  };
}
