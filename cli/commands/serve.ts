import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { formatDuration } from '../../dsl/duration.js';
import type { CompiledWorkflow } from '../../dsl/load.js';
import { compileFile, findWorkflowFiles } from '../../dsl/load.js';
import { resolveParams } from '../../dsl/params.js';
import { CronScheduler } from '../../engine/cron.js';
import type { ScheduledEntry } from '../../engine/cron.js';
import { SmartQueueError } from '../../engine/errors.js';
import type { CheckpointStore } from '../../engine/stages.js';
import type { Engine } from '../../engine/engine.js';
import { resolveAuth } from '../../plugins/api/grpc/auth.js';
import { createServer } from '../../runtime/server.js';
import { openCliRuntime } from '../cli-runtime.js';
import { loadHandlersModule } from '../handlers-module.js';
import { loadServerCredentials } from '../../plugins/api/grpc/tls.js';
import type { CliIO } from '../output.js';
import { printDiagnostics } from '../output.js';
import { handlersOption, intOption, stateOption } from './common.js';

type Scheduled = Map<string, { file: string; compiled: CompiledWorkflow }>;

/** Label of runs started by the scheduler: the fire time they stand for (ISO-8601). */
export const SCHEDULED_AT_LABEL = 'smartqueue.io/scheduled-at';

/** When a workflow last fired, from the runs the store recorded for it. */
async function lastFireAt(store: CheckpointStore, workflowName: string): Promise<number | undefined> {
  let cursor: string | undefined;
  for (let page = 0; page < 10; page++) {
    const r = await store.listRuns({ workflowName, limit: 100, ...(cursor && { cursor }) });
    for (const run of r.runs) {
      const at = run.labels?.[SCHEDULED_AT_LABEL];
      if (at !== undefined) return Date.parse(at);
    }
    if (!r.nextCursor) return undefined;
    cursor = r.nextCursor;
  }
  return undefined;
}

/** Compiles the workflows in `paths` and returns those with a schedule (errors are printed). */
async function loadScheduled(io: CliIO, paths: string[], requireSchedule: boolean): Promise<Scheduled> {
  const { files, diagnostics } = await findWorkflowFiles(paths);
  let errors = printDiagnostics(io, diagnostics);
  const scheduled: Scheduled = new Map();
  for (const file of files) {
    const r = await compileFile(file, { allowInfeasible: true });
    errors += printDiagnostics(io, r.diagnostics);
    for (const c of r.compiled) if (c.plan.ir.schedule) scheduled.set(c.plan.ir.name, { file, compiled: c });
  }
  if (errors)
    throw new SmartQueueError('INVALID_WORKFLOW', `${errors} error(s) in the workflows`, {
      details: { reported: true },
    });
  if (requireSchedule && scheduled.size === 0)
    throw new SmartQueueError('INVALID_ARGUMENT', 'none of these workflows has a schedule');
  return scheduled;
}

const clock = () => new Date().toISOString().slice(0, 19).replace('T', ' ');

/** Starts a run of every scheduled workflow at its cron fire times; resolves to a stop function. */
async function startCron(
  io: CliIO,
  engine: Engine,
  store: CheckpointStore,
  scheduled: Scheduled,
): Promise<() => void> {
  const scheduler = new CronScheduler({
    fire: async (name, scheduledAt, reason) => {
      const entry = scheduled.get(name)!;
      // Recompile at fire time: absolute deadlines count from now.
      const fresh = await compileFile(entry.file, { allowInfeasible: true });
      const c = fresh.compiled.find((x) => x.plan.ir.name === name) ?? entry.compiled;
      const runId = await engine.startRun(c.plan, {
        params: resolveParams(c.plan.ir.params),
        labels: {
          [SCHEDULED_AT_LABEL]: new Date(scheduledAt).toISOString(),
          'smartqueue.io/trigger': reason,
        },
        handlers: c.loaded.handlers,
        ...(c.loaded.file !== undefined && { file: c.loaded.file }),
      });
      io.out(
        `${clock()} run ${runId} of ${name} started (${reason} for ${new Date(scheduledAt).toISOString()})`,
      );
    },
    onError: (name, err) =>
      io.err(`${clock()} could not start ${name}: ${err instanceof Error ? err.message : String(err)}`),
  });
  const entries: ScheduledEntry[] = [];
  for (const [name, { compiled }] of scheduled) {
    const last = await lastFireAt(store, name);
    entries.push({
      name,
      schedule: compiled.plan.ir.schedule!,
      ...(last !== undefined && { lastFireAt: last }),
    });
  }
  for (const u of scheduler.upcoming(entries)) {
    const s = scheduled.get(u.name)!.compiled.plan.ir.schedule!;
    io.out(
      `scheduled ${u.name}: "${s.cron}" (${s.timezone}, catchUp ${s.catchUp}), next at ${new Date(u.at).toISOString()}`,
    );
  }
  await scheduler.start(entries);
  return () => scheduler.stop();
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

interface ServeOptions {
  concurrency?: number;
  state: string;
  handlers?: string;
  listen?: string;
  localWorkers?: number;
  heartbeatInterval?: number;
  allowRemoteRun?: boolean;
  tokens?: string;
  http?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

/** `serve --listen`: the gRPC server (client API + Workers service), with cron when paths are given. */
async function serveGrpc(io: CliIO, paths: string[], opts: ServeOptions): Promise<void> {
  const scheduled = paths.length ? await loadScheduled(io, paths, false) : (new Map() as Scheduled);
  // Bearer tokens from --tokens or SMARTQUEUE_TOKENS; without either, auth is off (with a warning).
  const auth =
    opts.tokens !== undefined || process.env.SMARTQUEUE_TOKENS
      ? resolveAuth({ ...(opts.tokens !== undefined && { tokensFile: opts.tokens }) })
      : resolveAuth({ mode: 'none' });
  if (auth.warning) io.err(auth.warning);
  // TLS on both ports when a certificate is given (mutual TLS with --tls-ca).
  const tls =
    opts.tlsCert !== undefined || opts.tlsKey !== undefined
      ? {
          cert: opts.tlsCert ?? '',
          key: opts.tlsKey ?? '',
          ...(opts.tlsCa !== undefined && { ca: opts.tlsCa }),
        }
      : undefined;
  if (!tls) io.err('warning: TLS is off (pass --tls-cert and --tls-key): traffic is in clear text');
  const server = await createServer({
    ...(tls && { credentials: loadServerCredentials(tls), httpTls: tls }),
    ...(opts.http !== undefined && { http: opts.http }),
    listen: opts.listen ?? '127.0.0.1:7070',
    statePath: opts.state === ':memory:' ? false : opts.state,
    localWorkers: opts.localWorkers ?? 0,
    ...(opts.concurrency !== undefined && { localConcurrency: opts.concurrency }),
    ...(opts.handlers !== undefined && { handlers: await loadHandlersModule(opts.handlers) }),
    ...(opts.heartbeatInterval !== undefined && { heartbeatIntervalMs: opts.heartbeatInterval }),
    allowRemoteRun: opts.allowRemoteRun === true,
    ...(auth.mode === 'tokens' && { auth: auth.authorizer }),
    log: (line) => io.out(`${clock()} ${line}`),
  });
  const stopCron = scheduled.size ? await startCron(io, server.engine, server.store, scheduled) : () => {};
  io.out(`listening on ${server.address}`);
  if (server.httpAddress) io.out(`http on ${server.httpAddress} (/healthz, /metrics, /v1/events?run=<id>)`);
  const signal = await untilSignal();
  io.out(`stopping (${signal}): no new calls or runs; in-flight tasks are handed back and stay resumable`);
  stopCron();
  await server.close();
  io.out('stopped');
}

export function registerServe(program: Command, io: CliIO): void {
  program
    .command('serve')
    .summary('run the SmartQueue server (gRPC API + remote workers) and/or start scheduled workflows')
    .description(
      'With --listen (or without paths): serves the gRPC API (smartqueue.v1.SmartQueue) and the Workers ' +
        'service on one port, on the SQLite store; `smartqueue worker` processes connect to it, and ' +
        '--local-workers adds workers inside the server. It prints "listening on host:port" once bound.\n\n' +
        'With paths: also starts a run of every workflow with a `schedule` at each cron fire time (in its time ' +
        "zone). Fire times missed while the server was down are handled per the schedule's catchUp: none (skip), " +
        'latest (run once for the last one) or all. Given paths and no --listen, it runs only the scheduler, ' +
        'on the embedded engine, as before.\n\n' +
        'Stops on SIGINT/SIGTERM; runs in progress stay resumable with `smartqueue replay`.',
    )
    .argument('[paths...]', 'workflow files or directories (their scheduled workflows run on time)')
    .option(
      '--listen <host:port>',
      'serve gRPC here (port 0 picks a free port) [default without paths: 127.0.0.1:7070]',
    )
    .option('--local-workers <n>', 'workers inside the server process (with --listen) [default: 0]', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0)
        throw new InvalidArgumentError('--local-workers must be an integer >= 0');
      return n;
    })
    .option(
      '--heartbeat-interval <ms>',
      'heartbeat interval remote workers must keep; 3 missed make one lost [default: 30000]',
      intOption('--heartbeat-interval'),
    )
    .option(
      '--tokens <file>',
      'bearer tokens file (YAML/JSON); env SMARTQUEUE_TOKENS; without either, auth is off',
    )
    .option('--allow-remote-run', 'let remote workers run `run` (argv) tasks (refused by default)')
    .option('--http <host:port>', 'serve /healthz, /metrics and the WebSocket event stream /v1/events here')
    .option('--tls-cert <file>', 'PEM certificate of the server (TLS on the gRPC and HTTP ports)')
    .option('--tls-key <file>', 'PEM private key of the server')
    .option('--tls-ca <file>', 'PEM CA bundle: require client certificates signed by it (mutual TLS)')
    .option('-c, --concurrency <n>', 'attempts run at once (per local worker)', intOption('--concurrency'))
    .option(...stateOption)
    .option(...handlersOption)
    .addHelpText(
      'after',
      '\nExamples:\n  $ smartqueue serve --listen 127.0.0.1:7070\n  $ smartqueue serve workflows/examples --listen 0.0.0.0:7070 --local-workers 1\n' +
        '  $ smartqueue serve reports/ --state /var/lib/smartqueue/state.db',
    )
    .action(async (paths: string[], opts: ServeOptions) => {
      if (opts.listen !== undefined || paths.length === 0) {
        await serveGrpc(io, paths, opts);
        return;
      }
      const scheduled = await loadScheduled(io, paths, true);
      const { runtime } = await openCliRuntime(opts, (t) => io.out(t));
      const { engine, store } = runtime;
      engine.events.on('run:state:finished', (e) =>
        io.out(
          `${clock()} run ${e.runId} ${e.status} in ${formatDuration(e.durationMs)}${e.deadlineMissed ? ' (missed its deadline)' : ''}`,
        ),
      );
      const stopCron = await startCron(io, engine, store, scheduled);
      await untilSignal();
      io.out('stopping: no new runs; runs in progress stay resumable');
      stopCron();
      await runtime.close();
    });
}
