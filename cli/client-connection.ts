/**
 * How the CLI's gRPC verbs (`submit`, `submit-task`, `watch`, `worker`) reach a server that runs
 * with `--tokens` and `--tls-cert`: the shared `--token`/`--token-file` and `--tls*` options, and
 * the channel credentials, channel options and metadata built from them.
 */
import { readFileSync } from 'node:fs';
import { checkServerIdentity } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { Option } from 'commander';
import type { Command } from 'commander';
import { errorMessage, SmartQueueError } from '../engine/errors.js';
import { bearerInterceptor } from '../plugins/api/grpc/auth.js';

/** Environment variable holding the bearer token when neither --token nor --token-file is given. */
export const TOKEN_ENV = 'SMARTQUEUE_TOKEN';

/** The parsed connection flags. */
export interface ClientConnectionFlags {
  token?: string;
  tokenFile?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServerName?: string;
}

/** The connection options every gRPC client verb takes (add them with `addOption`). */
export function clientOptions(): Option[] {
  return [
    new Option('--token <token>', `bearer token (env ${TOKEN_ENV}; prefer --token-file: argv is visible)`),
    new Option('--token-file <file>', 'read the bearer token from this file').conflicts('token'),
    new Option('--tls', 'connect with TLS, verifying the server against the system roots'),
    new Option('--tls-ca <file>', "PEM CA bundle that signs the server's certificate (implies --tls)"),
    new Option('--tls-cert <file>', 'PEM client certificate, for mutual TLS (with --tls-key; implies --tls)'),
    new Option('--tls-key <file>', 'PEM private key of --tls-cert'),
    new Option(
      '--tls-server-name <name>',
      "name to verify the server's certificate against (e.g. when connecting by IP; implies --tls)",
    ),
  ];
}

/** Adds {@link clientOptions} to `command`; returns it, for chaining. */
export function addClientOptions(command: Command): Command {
  for (const option of clientOptions()) command.addOption(option);
  return command;
}

/** What a client needs to connect: the pieces of grpc-js options, built from the flags. */
export interface ClientConnection {
  /** TLS channel credentials; undefined for a plain-text channel. */
  credentials?: grpc.ChannelCredentials;
  /** The bearer token, if any. */
  token?: string;
  /** `authorization: Bearer <token>`, for APIs that take metadata (the Workers stream). */
  metadata?: Record<string, string>;
  /** Channel options of a SmartQueue client: the token interceptor and the TLS name override. */
  channelOptions?: grpc.ChannelOptions;
}

function readFlagFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new SmartQueueError('INVALID_ARGUMENT', `${flag}: cannot read ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

function readPem(flag: string, file: string): Buffer {
  const bytes = readFlagFile(flag, file);
  if (!bytes.includes('-----BEGIN '))
    throw new SmartQueueError('INVALID_ARGUMENT', `${flag}: ${file} is not a PEM file`);
  return bytes;
}

function resolveToken(flags: ClientConnectionFlags, env: NodeJS.ProcessEnv): string | undefined {
  let token: string | undefined;
  let from: string;
  if (flags.token !== undefined) [token, from] = [flags.token.trim(), '--token'];
  else if (flags.tokenFile !== undefined)
    [token, from] = [readFlagFile('--token-file', flags.tokenFile).toString('utf8').trim(), flags.tokenFile];
  else [token, from] = [env[TOKEN_ENV]?.trim() || undefined, TOKEN_ENV];
  if (token === undefined) return undefined;
  // The server reads `Bearer <token>`: a token with spaces or line breaks could never match.
  if (!/^[\x21-\x7e]+$/.test(token))
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      `${from}: the token must be one word of printable ASCII${token ? '' : ' (it is empty)'}`,
    );
  return token;
}

/**
 * Builds the connection from the flags (token: --token > --token-file > env SMARTQUEUE_TOKEN).
 * Every file is read here, so an unreadable one fails at once, named, before any call.
 * @throws SmartQueueError INVALID_ARGUMENT
 */
export function resolveClientConnection(
  flags: ClientConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
): ClientConnection {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined))
    throw new SmartQueueError('INVALID_ARGUMENT', '--tls-cert and --tls-key go together (mutual TLS)');
  const token = resolveToken(flags, env);
  const tls =
    flags.tls === true ||
    flags.tlsCa !== undefined ||
    flags.tlsCert !== undefined ||
    flags.tlsServerName !== undefined;
  const serverName = flags.tlsServerName;
  const credentials = tls
    ? grpc.credentials.createSsl(
        flags.tlsCa !== undefined ? readPem('--tls-ca', flags.tlsCa) : null,
        flags.tlsKey !== undefined ? readPem('--tls-key', flags.tlsKey) : null,
        flags.tlsCert !== undefined ? readPem('--tls-cert', flags.tlsCert) : null,
        // Checked here as well as through the channel option, for clients without channel
        // options (the remote worker).
        serverName !== undefined
          ? { checkServerIdentity: (_host, cert) => checkServerIdentity(serverName, cert) }
          : {},
      )
    : undefined;
  // A bearer interceptor rather than call credentials: grpc-js refuses call credentials on a
  // plain-text channel (loopback, or behind a TLS-terminating proxy).
  const channelOptions: grpc.ChannelOptions = {
    ...(token !== undefined && { interceptors: [bearerInterceptor(token)] }),
    ...(serverName !== undefined && { 'grpc.ssl_target_name_override': serverName }),
  };
  return {
    ...(credentials && { credentials }),
    ...(token !== undefined && { token, metadata: { authorization: `Bearer ${token}` } }),
    ...(Object.keys(channelOptions).length > 0 && { channelOptions }),
  };
}
