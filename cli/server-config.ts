/**
 * The `smartqueue serve --config <file>` file: one YAML (or JSON) mapping of server settings,
 * validated with zod and reported like workflow files (`server.yaml:4:20 heartbeatInterval: ...`),
 * then merged with the command-line flags (flags win) by cli/serve-options.ts.
 *
 * ```yaml
 * listen: 0.0.0.0:7070
 * http: 0.0.0.0:9464
 * state: /var/lib/smartqueue/state.db
 * heartbeatInterval: 30s
 * auth: { tokensFile: tokens.yaml }      # or `auth: none`
 * tls: { cert: server.pem, key: server.key, ca: ca.pem }
 * limits: { maxMessageBytes: 4194304 }
 * rateLimit: { ratePerSecond: 1000, burst: 2000 }   # or false
 * workflows: [workflows/]
 * ```
 */
import { parseStoreSpec } from '../runtime/open-store.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../dsl/duration.js';
import { issuesToDiagnostics } from '../dsl/normalize.js';
import { diagnosticAt } from '../dsl/source.js';
import { parseYamlDocuments } from '../dsl/yaml-loader.js';
import { errorMessage, SmartQueueError } from '../engine/errors.js';
import type { SourceDiagnostic } from '../engine/errors.js';
import type { GrpcApiLimits } from '../plugins/api/grpc/options.js';
import type { RateLimitOptions } from '../plugins/api/grpc/rate-limit.js';
import type { ServerTlsOptions } from '../plugins/api/grpc/tls.js';
import type { TracingOptions } from '../plugins/telemetry/tracing/options.js';
import { tracingConfigSchema, tracingFromConfig } from './trace-flags.js';

const DURATION_ERROR =
  'expected a duration such as "30s", "1m30s" or "PT30S", or a whole number of milliseconds (at least 1)';

const text = (what: string) =>
  z.string({ error: `expected ${what} (a string)` }).min(1, { error: `expected ${what}, got ""` });
const hostPort = z
  .string({ error: 'expected host:port (a string), e.g. 0.0.0.0:7070' })
  .regex(/^(?:\[[^\]]+\]|[^\s:[\]]+):\d{1,5}$/, {
    error: 'expected host:port, e.g. 0.0.0.0:7070 or [::1]:7070',
    abort: true,
  })
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, {
    error: 'the port must be at most 65535',
  });
const int = (min: number) =>
  z
    .int({ error: `expected an integer >= ${min}` })
    .min(min, { error: `expected an integer >= ${min}` })
    .max(Number.MAX_SAFE_INTEGER, { error: 'too large' });
const bool = z.boolean({ error: 'expected true or false' });
const durationMs = z.union([z.number(), z.string()], { error: DURATION_ERROR }).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : parseDuration(v);
  if (ms === undefined || !Number.isSafeInteger(ms) || ms < 1) {
    ctx.addIssue({ code: 'custom', message: DURATION_ERROR });
    return z.NEVER;
  }
  return ms;
});

const authSchema = z.union(
  [z.literal('none'), z.strictObject({ tokensFile: text('the path of a tokens file') })],
  { error: 'expected "none" or { tokensFile: <file> }' },
);
const tlsSchema = z.strictObject(
  {
    cert: text('the path of the PEM certificate'),
    key: text('the path of the PEM private key'),
    ca: text('the path of a PEM CA bundle').optional(),
    requireClientCert: bool.optional(),
  },
  { error: 'expected { cert: <file>, key: <file>, ca?: <file> }' },
);
const limitsSchema = z.strictObject(
  {
    maxMessageBytes: int(1).optional(),
    maxTasksPerSubmission: int(1).optional(),
    maxIdempotencyKeys: int(1).optional(),
    shutdownGraceMs: int(1).optional(),
  },
  { error: 'expected a mapping of limits' },
);
const rateLimitSchema = z.union(
  [
    z.literal(false),
    z.strictObject({
      ratePerSecond: z
        .number({ error: 'expected a number > 0' })
        .positive({ error: 'expected a number > 0' })
        .optional(),
      burst: int(1).optional(),
      maxClients: int(1).optional(),
    }),
  ],
  { error: 'expected false or { ratePerSecond, burst, maxClients }' },
);

/** The file format, defined once: the validator and the allowed-key hints come from it. */
export const serverConfigSchema = z.strictObject(
  {
    listen: hostPort.optional(),
    http: hostPort.optional(),
    state: text('the path of the SQLite state file, or ":memory:"').optional(),
    store: text('the checkpoint store: a SQLite path, redis://..., cassandra://... or memory:').optional(),
    transport: text('a kafka:// URL (tasks over Kafka)').optional(),
    coordinator: text('an etcd:// URL (cluster mode)').optional(),
    clusterShards: int(1).optional(),
    instanceId: text("this instance's id in the cluster").optional(),
    localWorkers: int(0).optional(),
    concurrency: int(1).optional(),
    handlers: text('the path of a handlers module').optional(),
    heartbeatInterval: durationMs.optional(),
    maxHeartbeatsPerSecond: int(1).optional(),
    allowRemoteRun: bool.optional(),
    auth: authSchema.optional(),
    tls: tlsSchema.optional(),
    limits: limitsSchema.optional(),
    rateLimit: rateLimitSchema.optional(),
    tracing: tracingConfigSchema.optional(),
    workflows: z
      .array(text('a workflow file or directory'), {
        error: 'expected a list of workflow files or directories',
      })
      .optional(),
  },
  { error: 'expected a mapping of server settings (listen, http, state, auth, tls, ...)' },
);

/** A validated config file; paths are resolved against the file's folder, durations are in ms. */
export interface ServerConfigFile {
  /** The file as the user named it. */
  file: string;
  listen?: string;
  http?: string;
  /** SQLite state file, or `:memory:`; or a store URL (see `store`, which wins over it). */
  state?: string;
  transport?: string;
  coordinator?: string;
  clusterShards?: number;
  instanceId?: string;
  localWorkers?: number;
  concurrency?: number;
  handlers?: string;
  heartbeatIntervalMs?: number;
  maxHeartbeatsPerSecond?: number;
  allowRemoteRun?: boolean;
  auth?: 'none' | { tokensFile: string };
  tls?: ServerTlsOptions;
  limits?: GrpcApiLimits;
  rateLimit?: RateLimitOptions | false;
  /** OpenTelemetry tracing (the --trace-* flags win over it). */
  tracing?: TracingOptions;
  /** Workflow files or directories whose scheduled workflows run on time. */
  workflows?: string[];
}

/**
 * Validates config text. Returns the settings, or every problem as a diagnostic (never only the
 * first). Relative paths are resolved against `baseDir` (the config file's folder).
 */
export function parseServerConfig(
  text: string,
  file: string,
  baseDir: string = path.dirname(path.resolve(file)),
): { config?: ServerConfigFile; diagnostics: SourceDiagnostic[] } {
  const { documents, diagnostics } = parseYamlDocuments(text, file);
  if (diagnostics.length) return { diagnostics };
  const [doc, second] = documents;
  if (!doc) return { diagnostics: [{ ...at(file), message: 'the file holds no settings' }] };
  if (second)
    return {
      diagnostics: [
        diagnosticAt(second.source, [], 'a server config file holds one YAML document, this is a second one'),
      ],
    };
  const parsed = serverConfigSchema.safeParse(doc.data);
  if (!parsed.success) {
    const found = issuesToDiagnostics(parsed.error.issues, serverConfigSchema, [], doc.source, doc.data);
    // `tokenFile` (did you mean "tokensFile"?) already says what `missing "tokensFile"` would.
    const parent = (p: string) => p.replace(/\.?[^.[\]]+$/, '');
    const suggested = new Set(
      found.flatMap((d) => {
        const m = /^unknown key "[^"]*" \(did you mean "([^"]+)"\?\)/.exec(d.message);
        return m ? [`${parent(d.path)}:${m[1]}`] : [];
      }),
    );
    const diagnostics = found
      .filter((d) => {
        const m = /^missing required field "([^"]+)"$/.exec(d.message);
        return !m || !suggested.has(`${parent(d.path)}:${m[1]}`);
      })
      .sort((a, b) => a.line - b.line || a.column - b.column);
    return { diagnostics };
  }
  const v = parsed.data;
  if (v.tls?.requireClientCert && v.tls.ca === undefined)
    return {
      diagnostics: [
        diagnosticAt(
          doc.source,
          ['tls', 'requireClientCert'],
          'needs tls.ca (the CA that signs client certificates)',
        ),
      ],
    };
  const resolve = (p: string) => path.resolve(baseDir, p);
  const { heartbeatInterval, tls, auth, state: stateKey, store, handlers, workflows, tracing, ...rest } = v;
  const state = store ?? stateKey;
  const config: ServerConfigFile = {
    file,
    ...rest,
    ...(heartbeatInterval !== undefined && { heartbeatIntervalMs: heartbeatInterval }),
    // A SQLite path is relative to the file; a store URL (or :memory:) is kept as written.
    ...(state !== undefined && {
      state:
        parseStoreSpec(state).kind === 'sqlite' && state === parseStoreSpec(state).target
          ? resolve(state)
          : state,
    }),
    ...(handlers !== undefined && { handlers: resolve(handlers) }),
    ...(auth !== undefined && { auth: auth === 'none' ? auth : { tokensFile: resolve(auth.tokensFile) } }),
    ...(tls && {
      tls: {
        cert: resolve(tls.cert),
        key: resolve(tls.key),
        ...(tls.ca !== undefined && { ca: resolve(tls.ca) }),
        ...(tls.requireClientCert !== undefined && { requireClientCert: tls.requireClientCert }),
      },
    }),
    ...(workflows && { workflows: workflows.map(resolve) }),
    ...(tracing && { tracing: tracingFromConfig(tracing) }),
  };
  return { config, diagnostics: [] };
}

function at(file: string): SourceDiagnostic {
  return { file, line: 1, column: 1, path: '', message: '', severity: 'error' };
}

/**
 * Reads and validates a config file.
 * @throws SmartQueueError INVALID_OPTIONS with every problem in `diagnostics`, or when the file
 *   cannot be read.
 */
export async function loadServerConfig(file: string): Promise<ServerConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new SmartQueueError('INVALID_OPTIONS', `--config: cannot read ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const { config, diagnostics } = parseServerConfig(text, file);
  if (!config)
    throw new SmartQueueError('INVALID_OPTIONS', `${diagnostics.length} error(s) in ${file}`, {
      diagnostics,
    });
  return config;
}
