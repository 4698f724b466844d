import type { Command } from 'commander';
import { SmartQueueError } from '../../engine/errors.js';
import type { TaskHandler } from '../../engine/handler.js';
import { builtinHandlers } from '../../plugins/handlers/index.js';
import { hostname } from 'node:os';
import { createRemoteWorker } from '../../plugins/transport/remote/remote-worker.js';
import { startKafkaWorker } from '../../runtime/kafka-worker.js';
import { handlerModules, loadHandlersModule } from '../handlers-module.js';
import { createThreadRunner } from '../../engine/threads/run-in-thread.js';
import { addClientOptions, resolveClientConnection } from '../client-connection.js';
import type { ClientConnectionFlags } from '../client-connection.js';
import type { CliIO } from '../output.js';
import { formatLogLine } from '../progress.js';
import { resolveCliTracing, traceOptions } from '../trace-flags.js';
import type { TraceFlags } from '../trace-flags.js';
import { openTracing } from '../../plugins/telemetry/tracing/open.js';
import {
  createWorkerMetrics,
  parseMetricsAddress,
  startMetricsEndpoint,
} from '../../plugins/telemetry/metrics/index.js';
import type { MetricsEndpoint, WorkerMetrics } from '../../plugins/telemetry/metrics/index.js';
import type { KafkaTransport } from '../../plugins/transport/kafka/index.js';
import { handlersOption, intOption, threadHeapOption, threadsOption } from './common.js';

interface WorkerOptions extends ClientConnectionFlags, TraceFlags {
  server?: string;
  transport?: string;
  handlers?: string;
  capacity: number;
  id?: string;
  heartbeatInterval?: number;
  allowRun?: boolean;
  grace: number;
  threads?: number;
  threadHeap?: number;
  metricsAddress?: string;
}

export function registerWorker(program: Command, io: CliIO): void {
  const command = program
    .command('worker')
    .summary('run tasks for a SmartQueue server (its Workers service, or Kafka)')
    .description(
      'Connects to `smartqueue serve --listen` at --server, registers the handlers it can run (the built-in ' +
        'sleep, http and noop, `run` with --allow-run, and those of --handlers), and runs the tasks it is ' +
        'sent, --capacity at a time; `thread: true` tasks whose handler comes from --handlers run in a pool of ' +
        'worker threads (--threads, one per core by default) with work stealing. Heartbeats (at the interval ' +
        'the server asks, or --heartbeat-interval if shorter) carry its load: busy threads, queued tasks, CPU, ' +
        'memory and event-loop lag. It reconnects with exponential backoff and jitter when the connection drops. On ' +
        'SIGTERM/SIGINT it takes no new tasks, gives running ones --grace ms to finish, cancels the rest ' +
        '(the server dispatches them again) and exits. It sends the bearer token of --token-file, --token or ' +
        'env SMARTQUEUE_TOKEN (a token with role worker), and connects with TLS given --tls or --tls-ca. ' +
        "With --transport kafka://... it talks to no server: it joins the workers' consumer group on the " +
        'tasks topic, publishes results (in Kafka transactions unless transactions=false) and heartbeats on ' +
        'the heartbeats topic; schedulers started with the same --transport find it there.',
    )
    .option('--server <host:port>', 'the server to connect to (unless --transport)')
    .option(
      '--transport <url>',
      'take tasks from Kafka instead of a server: kafka://host:9092[,host2:9092]?prefix=smartqueue&transactions=true; env SMARTQUEUE_TRANSPORT',
    )
    .option(...handlersOption)
    .option(...threadsOption)
    .option(...threadHeapOption)
    .option('--capacity <n>', 'attempts run at once', intOption('--capacity'), 4)
    .option('--id <id>', 'worker id, stable across reconnects [default: <hostname>-<pid>]')
    .option('--heartbeat-interval <ms>', 'heartbeat at least this often', intOption('--heartbeat-interval'))
    .option('--allow-run', 'register the built-in `run` handler (argv tasks; the server must allow them too)')
    .option(
      '--metrics-address <host:port>',
      'serve Prometheus metrics at http://<host:port>/metrics (off by default); env SMARTQUEUE_METRICS_ADDRESS',
    )
    .option(...traceOptions.exporter)
    .option(...traceOptions.endpoint)
    .option(...traceOptions.service)
    .option(...traceOptions.sample)
    .option(...traceOptions.batchDelay)
    .option(
      '--grace <ms>',
      'on SIGTERM, how long running tasks may take to finish',
      intOption('--grace'),
      10_000,
    );
  addClientOptions(command)
    .addHelpText(
      'after',
      '\nExamples:\n  $ smartqueue worker --server 127.0.0.1:7070 --capacity 8\n' +
        '  $ smartqueue worker --server sq.internal:7070 --handlers ./handlers.ts --id etl-1\n' +
        '  $ smartqueue worker --server sq.internal:7070 --tls-ca ca.pem --token-file /run/secrets/worker-token\n' +
        '  $ smartqueue worker --transport kafka://127.0.0.1:9092 --capacity 16\n' +
        '  $ smartqueue worker --server 127.0.0.1:7070 --metrics-address 127.0.0.1:9465   # scrape /metrics there',
    )
    .action(async (opts: WorkerOptions) => {
      const transportUrl = opts.transport ?? process.env.SMARTQUEUE_TRANSPORT;
      if (transportUrl !== undefined && !/^kafka:\/\//i.test(transportUrl))
        throw new SmartQueueError(
          'INVALID_ARGUMENT',
          `--transport must be a kafka:// URL, got "${transportUrl}"`,
        );
      if (transportUrl === undefined && opts.server === undefined)
        throw new SmartQueueError(
          'INVALID_ARGUMENT',
          'worker needs --server <host:port> or --transport kafka://...',
        );
      if (opts.server !== undefined && !/^[^\s]+:\d{1,5}$/.test(opts.server))
        throw new SmartQueueError('INVALID_ARGUMENT', `--server must be host:port, got "${opts.server}"`);
      if (opts.id !== undefined && !/^[A-Za-z0-9._:-]{1,128}$/.test(opts.id))
        throw new SmartQueueError(
          'INVALID_ARGUMENT',
          `--id must be 1-128 letters, digits, ".", "_", ":" or "-", got "${opts.id}"`,
        );
      const metricsAddress = opts.metricsAddress ?? process.env.SMARTQUEUE_METRICS_ADDRESS;
      if (metricsAddress !== undefined) parseMetricsAddress(metricsAddress);
      // Files first: an unreadable certificate or token file fails before anything starts.
      const connection = resolveClientConnection(opts);
      const builtins = builtinHandlers();
      const handlers = new Map<string, TaskHandler>();
      for (const name of ['sleep', 'http', 'noop']) handlers.set(name, builtins.get(name)!);
      if (opts.allowRun) handlers.set('run', builtins.get('run')!);
      const fromModule = opts.handlers !== undefined ? await loadHandlersModule(opts.handlers) : undefined;
      for (const [n, h] of fromModule ?? []) handlers.set(n, h);
      // `thread: true` tasks of the module's handlers run in worker threads (a pool made on first use).
      const threads =
        fromModule && opts.threads !== 0
          ? createThreadRunner({
              modules: handlerModules(opts.handlers!, fromModule),
              ...(opts.threads !== undefined && { threads: opts.threads }),
              ...(opts.threadHeap !== undefined && { maxHeapMb: opts.threadHeap }),
            })
          : undefined;
      const clock = () => new Date().toISOString().slice(0, 19).replace('T', ' ');
      // Execute spans continue the trace each assignment carries (gRPC message or Kafka headers).
      const tracingOptions = resolveCliTracing(opts, 'smartqueue-worker');
      const tracing = tracingOptions && (await openTracing(tracingOptions));
      // Created once the worker exists (its figures are read at scrape time); attempts that end
      // before that are not counted.
      let metrics: WorkerMetrics | undefined;
      const onAttemptFinished: NonNullable<Parameters<typeof createRemoteWorker>[0]['onAttemptFinished']> = (
        a,
        r,
      ) => metrics?.attemptFinished(a, r);
      let worker: {
        readonly id: string;
        readonly busy: number;
        close(o: { graceMs: number }): Promise<void>;
      };
      let where: string;
      let kafkaTransport: KafkaTransport | undefined;
      if (transportUrl) {
        const kafkaWorker = await startKafkaWorker({
          url: transportUrl,
          id: opts.id ?? `${hostname()}-${process.pid}`,
          capacity: opts.capacity,
          handlers,
          ...(threads && { threads }),
          ...(opts.heartbeatInterval !== undefined && { heartbeatIntervalMs: opts.heartbeatInterval }),
          logger: (line) => io.err(formatLogLine(line)),
          log: (line) => io.out(`${clock()} ${line}`),
          ...(metricsAddress !== undefined && { onAttemptFinished }),
          ...(tracing && { tracerFor: (route) => tracing.workerTracer(route) }),
        });
        worker = kafkaWorker;
        kafkaTransport = kafkaWorker.transport;
        where = `taking tasks from ${transportUrl.replace(/\?.*$/, '')}`;
      } else {
        const remote = createRemoteWorker({
          ...(threads && { threads }),
          ...(connection.credentials && { credentials: connection.credentials }),
          ...(connection.metadata && { metadata: connection.metadata }),
          server: opts.server!,
          capacity: opts.capacity,
          handlers,
          ...(opts.id !== undefined && { id: opts.id }),
          ...(opts.heartbeatInterval !== undefined && { heartbeatIntervalMs: opts.heartbeatInterval }),
          log: (line) => io.out(`${clock()} ${line}`),
          logger: (line) => io.err(formatLogLine(line)),
          ...(tracing && { tracer: tracing.workerTracer({ kind: 'grpc' }) }),
          ...(metricsAddress !== undefined && {
            onAttemptFinished,
            onHeartbeatSent: () => metrics?.heartbeatSent(),
          }),
        });
        remote.start();
        worker = remote;
        where = `connecting to ${opts.server}`;
      }
      let endpoint: MetricsEndpoint | undefined;
      let stopBeatCount: (() => void) | undefined;
      if (metricsAddress !== undefined) {
        const w = worker;
        metrics = createWorkerMetrics({
          capacity: opts.capacity,
          busy: () => w.busy,
          ...(threads && { pool: () => threads.stats() }),
          ...(kafkaTransport && { kafka: kafkaTransport }),
        });
        // Kafka workers' heartbeats are messages on the heartbeats topic.
        stopBeatCount = kafkaTransport?.onProduced((role) => {
          if (role === 'heartbeats') metrics?.heartbeatSent();
        });
        try {
          endpoint = await startMetricsEndpoint(metricsAddress, metrics);
        } catch (err) {
          await worker.close({ graceMs: 0 });
          await threads?.close();
          throw err;
        }
        io.out(`metrics on http://${endpoint.address}/metrics`);
      }
      io.out(`worker ${worker.id}: handlers ${[...handlers.keys()].join(', ')}; ${where}`);
      const signal = await new Promise<string>((resolve) => {
        const stop = (s: string) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve(s);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      io.out(`${clock()} stopping (${signal}): ${worker.busy} task(s) running, ${opts.grace} ms to finish`);
      await worker.close({ graceMs: opts.grace });
      await threads?.close();
      stopBeatCount?.();
      await endpoint?.close();
      // The last batch of spans goes out before the process ends.
      await tracing?.shutdown();
      io.out(`${clock()} stopped`);
    });
}
