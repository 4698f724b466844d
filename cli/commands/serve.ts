import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { formatDuration, parseDuration } from '../../dsl/duration.js';
import type { CompiledWorkflow } from '../../dsl/load.js';
import { compileFile, findWorkflowFiles } from '../../dsl/load.js';
import { resolveParams } from '../../dsl/params.js';
import { CronScheduler } from '../../engine/cron.js';
import type { ScheduledEntry } from '../../engine/cron.js';
import { SmartQueueError } from '../../engine/errors.js';
import type { CheckpointStore } from '../../engine/stages.js';
import type { Engine } from '../../engine/engine.js';
import { createServer } from '../../runtime/server.js';
import { openCliRuntime } from '../cli-runtime.js';
import { handlerModules, loadHandlersModule } from '../handlers-module.js';
import type { CliIO } from '../output.js';
import { printDiagnostics } from '../output.js';
import { resolveServe } from '../serve-options.js';
import type { ServeFlags } from '../serve-options.js';
import { loadServerConfig } from '../server-config.js';
import { traceOptions } from '../trace-flags.js';
import {
  handlersOption,
  intOption,
  stateOption,
  storeOption,
  applyStoreFlag,
  threadHeapOption,
  threadsOption,
} from './common.js';

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

interface ServeOptions extends Omit<ServeFlags, 'state'> {
  state: string;
  store?: string;
  config?: string;
  threads?: number;
  threadHeap?: number;
}

/** `serve --listen` or `--config`: the gRPC server (client API + Workers service), with cron for workflows. */
async function serveGrpc(io: CliIO, paths: string[], opts: ServeOptions, stateGiven: boolean): Promise<void> {
  const file = opts.config !== undefined ? await loadServerConfig(opts.config) : undefined;
  const { state, config: _config, threads, threadHeap, ...flags } = opts;
  const resolved = resolveServe({ ...flags, ...(stateGiven && { state }) }, file, {
    paths,
    defaultState: state,
  });
  const scheduled = resolved.workflows.length
    ? await loadScheduled(io, resolved.workflows, false)
    : (new Map() as Scheduled);
  for (const warning of resolved.warnings) io.err(warning);
  const handlers = resolved.handlers !== undefined ? await loadHandlersModule(resolved.handlers) : undefined;
  const server = await createServer({
    ...resolved.config,
    ...(handlers && {
      handlers,
      handlerModules: handlerModules(resolved.handlers!, handlers),
      ...(threads !== undefined && { threads }),
      ...(threadHeap !== undefined && { threadHeapMb: threadHeap }),
    }),
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

/** `--heartbeat-interval`: a duration like the workflow files' (`30s`, `PT1M`) or milliseconds. */
function durationOption(name: string): (value: string) => number {
  return (value: string) => {
    const ms = /^\d+$/.test(value) ? Number(value) : parseDuration(value);
    if (ms === undefined || !Number.isSafeInteger(ms) || ms < 1)
      throw new InvalidArgumentError(`${name} must be a duration (30s, 1m, PT30S) or milliseconds >= 1`);
    return ms;
  };
}

const CONFIG_HELP = `
Config file (--config; YAML or JSON; flags given on the command line win over it, and it wins over
env SMARTQUEUE_STATE / SMARTQUEUE_TOKENS; relative paths are relative to the file's folder):
  listen: 0.0.0.0:7070              # --listen
  http: 0.0.0.0:9464                # --http
  state: /var/lib/smartqueue/state.db   # --state (":memory:" keeps nothing)
  store: cassandra://db:9042/sq?dc=dc1  # --store: a store URL (redis://, cassandra://) wins over state
  transport: kafka://kafka:9092     # --transport: tasks also over Kafka (workers: worker --transport)
  coordinator: etcd://etcd:2379/sq  # --coordinator: cluster mode (shards owned through etcd)
  clusterShards: 16                 # --cluster-shards (the same on every instance)
  instanceId: sched-1               # --instance-id [default: <hostname>-<pid>]
  localWorkers: 0                   # --local-workers
  concurrency: 8                    # --concurrency (per local worker)
  handlers: handlers.ts             # --handlers
  heartbeatInterval: 30s            # --heartbeat-interval (duration or ms)
  maxHeartbeatsPerSecond: 100       # from all workers; past it, workers are told a longer interval
  allowRemoteRun: false             # --allow-remote-run
  auth: { tokensFile: tokens.yaml } # --tokens; or \`auth: none\` (no auth, with a warning)
  tls: { cert: server.pem, key: server.key, ca: ca.pem }   # --tls-cert/--tls-key/--tls-ca
  limits: { maxMessageBytes: 4194304, maxTasksPerSubmission: 10000,
            maxIdempotencyKeys: 100000, shutdownGraceMs: 5000 }
  rateLimit: { ratePerSecond: 1000, burst: 2000, maxClients: 10000 }   # or false
  tracing: { exporter: zipkin, endpoint: http://zipkin:9411/api/v2/spans, serviceName: smartqueue,
             sampleRatio: 1, batchDelay: 5s }
                                    # --trace-exporter/--trace-endpoint/--trace-service/--trace-sample/--trace-batch-delay
  workflows: [workflows/]           # the [paths...] (paths given on the command line replace it)
Unknown keys and wrong types are errors reported as file:line:column key: message (exit 2).
Example: deploy/smartqueue.yaml.`;

export function registerServe(program: Command, io: CliIO): void {
  program
    .command('serve')
    .summary('run the SmartQueue server (gRPC API + remote workers) and/or start scheduled workflows')
    .description(
      'With --listen or --config (or without paths): serves the gRPC API (smartqueue.v1.SmartQueue) and ' +
        'the Workers service on one port, on the SQLite store; `smartqueue worker` processes connect to it, and ' +
        '--local-workers adds workers inside the server. It prints "listening on host:port" once bound.\n\n' +
        'With paths: also starts a run of every workflow with a `schedule` at each cron fire time (in its time ' +
        "zone). Fire times missed while the server was down are handled per the schedule's catchUp: none (skip), " +
        'latest (run once for the last one) or all. Given paths and neither --listen nor --config, it runs only ' +
        'the scheduler, on the embedded engine, as before.\n\n' +
        'Stops on SIGINT/SIGTERM; runs in progress stay resumable with `smartqueue replay`.',
    )
    .argument('[paths...]', 'workflow files or directories (their scheduled workflows run on time)')
    .option('--config <file>', 'server config file (YAML or JSON; see below); flags override it')
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
      '--heartbeat-interval <duration>',
      'heartbeat interval remote workers must keep (30s, or ms); 3 missed make one lost [default: 30s]',
      durationOption('--heartbeat-interval'),
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
    .option(
      '--transport <url>',
      'also carry tasks over Kafka: kafka://host:9092[,host2:9092]?prefix=smartqueue&partitions=16 (workers: smartqueue worker --transport); env SMARTQUEUE_TRANSPORT',
    )
    .option(
      '--coordinator <url>',
      "cluster mode: etcd://host:2379[/prefix]; instances on one etcd prefix and one --store share the runs, each shard owned by one of them, and a dead one's shards move to the others; env SMARTQUEUE_COORDINATOR",
    )
    .option(
      '--cluster-shards <n>',
      'ownership shards of the cluster (the same on every instance) [default: 16]',
      intOption('--cluster-shards'),
    )
    .option(
      '--instance-id <id>',
      "this instance's id in the cluster and on Kafka [default: <hostname>-<pid>]",
    )
    .option('-c, --concurrency <n>', 'attempts run at once (per local worker)', intOption('--concurrency'))
    .option(...stateOption)
    .option(...storeOption)
    .option(...handlersOption)
    .option(...threadsOption)
    .option(...threadHeapOption)
    .option(...traceOptions.exporter)
    .option(...traceOptions.endpoint)
    .option(...traceOptions.service)
    .option(...traceOptions.sample)
    .option(...traceOptions.batchDelay)
    .addHelpText(
      'after',
      CONFIG_HELP +
        '\n\nExamples:\n  $ smartqueue serve --config /etc/smartqueue/smartqueue.yaml\n  $ smartqueue serve --listen 127.0.0.1:7070\n  $ smartqueue serve workflows/examples --listen 0.0.0.0:7070 --local-workers 1\n' +
        '  $ smartqueue serve reports/ --state /var/lib/smartqueue/state.db',
    )
    .action(async (paths: string[], opts: ServeOptions, command: Command) => {
      const storeGiven = opts.store !== undefined || Boolean(process.env.SMARTQUEUE_STORE);
      applyStoreFlag(opts);
      if (opts.config !== undefined || opts.listen !== undefined || paths.length === 0) {
        await serveGrpc(io, paths, opts, command.getOptionValueSource('state') === 'cli' || storeGiven);
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
