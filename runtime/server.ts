/**
 * SmartQueue as a server: the engine on the SQLite checkpoint store, the gRPC client API and the
 * Workers service on one gRPC port, worker processes connected over the Workers stream, and
 * optionally workers inside this process. `smartqueue serve` is a thin shell around it.
 */
import { cpus, hostname } from 'node:os';
import type * as grpc from '@grpc/grpc-js';
import { Engine } from '../engine/engine.js';
import { SmartQueueError } from '../engine/errors.js';
import type { HandlerRegistry, TaskHandler } from '../engine/handler.js';
import type { EngineOptions } from '../engine/options.js';
import type { CheckpointStore } from '../engine/stages.js';
import type { HandlerModules } from '../engine/threads/run-in-thread.js';
import { startLocalWorkers } from './local-workers.js';
import type { TaskLogLine } from '../engine/worker.js';
import type { Authorizer } from '../plugins/api/grpc/auth.js';
import { smartQueueNamespaceOf } from '../plugins/api/grpc/auth-namespaces.js';
import { createGrpcApi } from '../plugins/api/grpc/server.js';
import type { GrpcAuthorize } from '../plugins/api/grpc/server.js';
import type { GrpcApiLimits } from '../plugins/api/grpc/options.js';
import { createRateLimiter } from '../plugins/api/grpc/rate-limit.js';
import type { RateLimitOptions } from '../plugins/api/grpc/rate-limit.js';
import { addWorkersService } from '../plugins/api/grpc/workers-service.js';
import { createAvlBalancer } from '../plugins/balancer/avl/index.js';
import { createEwmaPredictor } from '../plugins/predictor/ewma/index.js';
import { createInProcessTransport } from '../plugins/transport/in-process/index.js';
import { createRemoteTransport } from '../plugins/transport/remote/remote-transport.js';
import type { RemoteTransport } from '../plugins/transport/remote/remote-transport.js';
import { createRoutingTransport } from '../plugins/transport/remote/routing-transport.js';
import { openTracing } from '../plugins/telemetry/tracing/open.js';
import type { ResolvedTracingOptions } from '../plugins/telemetry/tracing/options.js';
import type { KafkaTransport } from '../plugins/transport/kafka/index.js';
import type { ClusterMember } from './cluster.js';
import { openDistributedStages } from './distributed.js';
import type { DistributedStages } from './distributed.js';
import { DEFAULT_STATE_PATH, openStore } from './embedded.js';
import { createHttpServer } from '../plugins/api/http/index.js';
import { createServerMetrics } from '../plugins/telemetry/metrics/index.js';
import type { EngineMetrics } from '../plugins/telemetry/metrics/index.js';
import type { HttpApi } from '../plugins/api/http/index.js';
import type { ServerTlsOptions } from '../plugins/api/grpc/tls.js';

/** Configuration of {@link createServer}. */
export interface ServerConfig {
  /** Where to listen, `host:port` (port 0 picks a free one). @default '127.0.0.1:7070' */
  listen?: string;
  /**
   * The checkpoint store: a SQLite file path or a store URL (`redis://`, `cassandra://`,
   * `memory:`; runtime/open-store.ts); `false` keeps checkpoints in memory.
   * @default '.smartqueue/state.db'
   */
  statePath?: string | false;
  /**
   * Carry tasks over Kafka as well: `kafka://host:9092?prefix=...` (workers started with
   * `smartqueue worker --transport` take them from the tasks topic). Workers connected over gRPC
   * and local workers keep working beside it. @default none
   */
  transport?: string;
  /**
   * Cluster mode: `etcd://host:2379/<prefix>`. Instances on the same etcd prefix and store share
   * the runs: each shard has one owner, and a dead instance's shards (and runs) move to the
   * others. Needs a store every instance reaches (Cassandra or Redis). @default none (one instance)
   */
  coordinator?: string;
  /** Ownership shards of the cluster; the same on every instance. @default 16 */
  clusterShards?: number;
  /** This instance's id in the cluster and on Kafka. @default `<hostname>-<pid>` */
  instanceId?: string;
  /** Workers inside the server process (they run every handler, `run` included). @default 0 */
  localWorkers?: number;
  /** Attempts each local worker runs at once. @default max(4, cores * 2) */
  localConcurrency?: number;
  /** Extra handlers of the local workers, added to the built-in ones. @default none */
  handlers?: Record<string, TaskHandler> | HandlerRegistry;
  /** Heartbeat interval remote workers are told to keep (ms); 3 missed ones make a worker lost. @default 30000 */
  heartbeatIntervalMs?: number;
  /**
   * Heartbeats per second the server takes from all remote workers together: past it, workers
   * are told a longer interval (and the configured one comes back when they leave). @default 100
   */
  maxHeartbeatsPerSecond?: number;
  /** Let remote workers run `run` (argv) tasks. @default false */
  allowRemoteRun?: boolean;
  /** Base directory of local `run` tasks' relative `cwd`. @default process.cwd() */
  baseDir?: string;
  /** Shards (heaps). @default 4 */
  shards?: number;
  /** Group-commit interval of the SQLite store (ms). @default 0 */
  flushIntervalMs?: number;
  /** Limits of the gRPC API. @default see GrpcApiLimits */
  limits?: GrpcApiLimits;
  /**
   * Per-client rate limit of the client API (token bucket per bearer-token principal, else per
   * peer host); `false` turns it off. @default { ratePerSecond: 1000, burst: 2000 }
   */
  rateLimit?: RateLimitOptions | false;
  /**
   * TLS / mutual TLS of the gRPC port (`grpc.ServerCredentials.createSsl(...)`).
   * @default insecure (local use only)
   */
  credentials?: grpc.ServerCredentials;
  /**
   * Checks every call (client API and Workers service) from its metadata; throw a SmartQueueError
   * UNAUTHENTICATED or PERMISSION_DENIED to refuse it (e.g. a bearer-token check).
   * @default every call is allowed
   */
  authorize?: GrpcAuthorize;
  /**
   * Bearer-token auth (plugins/api/grpc/auth.ts, e.g. `resolveAuth(...).authorizer`): client calls
   * are checked as `client` in the namespace they touch, Workers calls as `worker`. Used when
   * `authorize` is not given. @default none (every call is allowed)
   */
  auth?: Authorizer;
  /**
   * Where to serve HTTP, `host:port`: /healthz, /metrics and the WebSocket event stream
   * /v1/events (plugins/api/http). @default none
   */
  http?: string;
  /** TLS of the HTTP port (HTTPS/WSS; mutual TLS with `ca`). @default plain HTTP */
  httpTls?: ServerTlsOptions;
  /**
   * Where the extra handlers come from (module file and export by name), so `thread: true` tasks
   * run them in a pool of worker threads. Without it, thread tasks run on the main thread.
   * @default none
   */
  handlerModules?: HandlerModules;
  /** Threads of that pool (0: thread tasks run on the main thread). @default os.availableParallelism() */
  threads?: number;
  /** Heap limit of each of those threads (MiB). @default Node's */
  threadHeapMb?: number;
  /** Server log lines (worker joins and losses). @default none */
  log?: (line: string) => void;
  /** What local handlers log through `ctx.log`. @default dropped */
  logger?: (line: TaskLogLine) => void;
  /** Engine options passed through. */
  engine?: Partial<Omit<EngineOptions, 'store' | 'transport' | 'balancer' | 'coordinator'>>;
  /** Traces runs, attempts and submit calls (plugins/telemetry/tracing). @default off */
  tracing?: ResolvedTracingOptions;
}

/** A running server; `close()` (or `await using`) shuts it down gracefully. */
export interface SmartQueueServer extends AsyncDisposable {
  engine: Engine;
  store: CheckpointStore;
  remote: RemoteTransport;
  /** The Kafka transport, when `transport` named one. */
  kafka?: KafkaTransport;
  /** This instance's part in the cluster, when `coordinator` named one. */
  cluster?: ClusterMember;
  /** The bound address, `host:port` (the real port when 0 was asked). */
  address: string;
  port: number;
  /** The bound HTTP address (health, metrics, WebSocket events), when `http` was given. */
  httpAddress?: string;
  /**
   * Stops accepting calls and worker connections, closes the API (calls in flight get a grace
   * period), hands back in-flight attempts (they stay resumable), and flushes the checkpoints.
   */
  close(): Promise<void>;
}

/** Splits `host:port` (`[::1]:7070` for IPv6). @throws SmartQueueError INVALID_ARGUMENT */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535)
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      `--listen must be host:port (e.g. 127.0.0.1:7070), got "${listen}"`,
    );
  return { host: m[1] ?? m[2]!, port };
}

/** Starts a SmartQueue server; resolves once it listens. */
export async function createServer(config: ServerConfig = {}): Promise<SmartQueueServer> {
  const { host, port } = parseListen(config.listen ?? '127.0.0.1:7070');
  const localCount = config.localWorkers ?? 0;
  const concurrency = config.localConcurrency ?? Math.max(4, cpus().length * 2);
  if (!Number.isInteger(localCount) || localCount < 0)
    throw new SmartQueueError('INVALID_OPTIONS', 'localWorkers must be an integer >= 0');
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new SmartQueueError('INVALID_OPTIONS', 'localConcurrency must be a positive integer');
  const log = config.log ?? (() => {});
  const storeSpec = config.statePath ?? DEFAULT_STATE_PATH;
  const store = await openStore(storeSpec, {
    flushIntervalMs: config.flushIntervalMs ?? 0,
  });
  const balancer = createAvlBalancer();
  let stages: DistributedStages;
  try {
    stages = await openDistributedStages(
      {
        ...(config.transport !== undefined && { transport: config.transport }),
        ...(config.coordinator !== undefined && { coordinator: config.coordinator }),
        ...(config.clusterShards !== undefined && { clusterShards: config.clusterShards }),
        instanceId: config.instanceId ?? `${hostname()}-${process.pid}`,
        storeSpec,
      },
      { store, balancer, log },
    );
  } catch (err) {
    await store.close();
    throw err;
  }
  const { coordinator, kafka, cluster } = stages;
  const local = createInProcessTransport();
  let remote: RemoteTransport;
  try {
    remote = createRemoteTransport({
      balancer,
      ...(config.heartbeatIntervalMs !== undefined && { heartbeatIntervalMs: config.heartbeatIntervalMs }),
      ...(config.maxHeartbeatsPerSecond !== undefined && {
        maxHeartbeatsPerSecond: config.maxHeartbeatsPerSecond,
      }),
      allowRemoteRun: config.allowRemoteRun === true,
      refuseRunRemotely: localCount === 0,
      log,
    });
  } catch (err) {
    await kafka?.close();
    await coordinator.close();
    await store.close();
    throw err;
  }
  const localIds = new Set<string>();
  // Local workers by id, then workers connected over gRPC, then (when configured) Kafka.
  const outside = kafka
    ? createRoutingTransport({ local: remote, remote: kafka, isLocal: (id) => remote.hasWorker(id) })
    : remote;
  const transport = createRoutingTransport({ local, remote: outside, isLocal: (id) => localIds.has(id) });
  const tracing = config.tracing && (await openTracing(config.tracing));
  // The dispatch span follows the conventions of the way the attempt travels.
  const runTracer = tracing?.runTracer({
    store: store.name,
    routeOf: (id) =>
      localIds.has(id)
        ? { kind: 'in-process' }
        : remote.hasWorker(id) || !kafka
          ? { kind: 'grpc' }
          : { kind: 'kafka', topic: kafka.options.topics.tasks, consumerGroup: kafka.options.groupId },
  });
  const engine = new Engine({
    predictor: createEwmaPredictor(),
    ...(runTracer && { tracing: runTracer }),
    ...config.engine,
    store,
    transport,
    balancer,
    coordinator: cluster?.engineCoordinator() ?? coordinator,
    ...(cluster && { fenceOf: cluster.fenceOf }),
    ...(config.shards !== undefined && { shards: config.shards }),
  });
  remote.bindEngine(engine);
  runTracer?.attach(engine.events);
  // A Kafka worker that dies leaves the balancer, but its attempts are not dispatched again as
  // new ones: the consumer group hands its uncommitted tasks to a live member, which runs the
  // same attempt (and the worker named in an assignment is only advice: another member may be
  // running it). Re-dispatching would run those tasks twice.
  kafka?.attach({ workerLost: () => {}, wake: () => engine.wake() });
  // Results of runs owned elsewhere are held for a takeover (see ClusterMember.holdResult).
  if (cluster) transport.onResult((r) => cluster.holdResult(r));
  // Remote worker ids cannot contain "/", so these never collide with one.
  const localWorkers = await startLocalWorkers({
    engine,
    transport: local,
    balancer,
    count: localCount,
    concurrency,
    idOf: (i) => {
      const id = `local/${i + 1}`;
      localIds.add(id);
      return id;
    },
    ...(config.handlers && { handlers: config.handlers }),
    ...(config.baseDir !== undefined && { baseDir: config.baseDir }),
    ...(config.logger && { logger: config.logger }),
    ...(config.handlerModules && { handlerModules: config.handlerModules }),
    ...(config.threads !== undefined && { threads: config.threads }),
    ...(config.threadHeapMb !== undefined && { threadHeapMb: config.threadHeapMb }),
    ...(tracing && { tracer: tracing.workerTracer({ kind: 'in-process' }) }),
  });
  /** Stops everything below the API: the engine (flushing checkpoints), workers, stages. */
  const stopCore = async () => {
    await cluster?.close();
    await engine.close();
    await localWorkers.close();
    await transport.close();
    await coordinator.close();
    await store.close();
    // Spans of runs still live end (marked interrupted), then the last batch is exported.
    runTracer?.close();
    await tracing?.shutdown();
  };
  if (cluster) {
    try {
      await cluster.start(engine);
    } catch (err) {
      await stopCore();
      throw err;
    }
  }
  let clientAuthorize = config.authorize;
  let workerAuthorize = config.authorize;
  if (!config.authorize && config.auth) {
    const authorizer = config.auth;
    const namespaceOf = smartQueueNamespaceOf(store);
    clientAuthorize = async (metadata, method, request) => {
      const namespace = await namespaceOf(method, request);
      const { principal } = authorizer(metadata, {
        kind: 'client',
        ...(namespace !== undefined && { namespace }),
      });
      // The rate limit counts per principal.
      return principal.anonymous ? undefined : principal.name;
    };
    workerAuthorize = (metadata) => {
      authorizer(metadata, { kind: 'worker' });
    };
  }
  const api = createGrpcApi(
    {
      engine,
      store,
      ...(config.limits && { limits: config.limits }),
      ...(tracing && { tracing: tracing.rpcTracer() }),
      // In a cluster, SubmitWorkflow's idempotency keys hold across instances (etcd reservations).
      ...(cluster && {
        sharedKeys: {
          instanceId: cluster.options.instanceId,
          reserve: (key: string, value: string, o: { ttlMs: number }) => coordinator.reserve(key, value, o),
        },
      }),
    },
    {
      ...(config.credentials && { credentials: config.credentials }),
      ...(clientAuthorize && { authorize: clientAuthorize }),
      ...(config.rateLimit !== false && {
        rateLimit: createRateLimiter(config.rateLimit),
      }),
      services: [
        (server, closing) =>
          addWorkersService(server, {
            transport: remote,
            closing,
            ...(workerAuthorize && { authorize: workerAuthorize }),
          }),
      ],
    },
  );
  let bound: number;
  try {
    bound = await api.start(host, port);
  } catch (err) {
    await api.close();
    await stopCore();
    throw err;
  }
  let httpApi: HttpApi | undefined;
  let httpAddress: string | undefined;
  let metrics: EngineMetrics | undefined;
  if (config.http !== undefined) {
    const at = parseListen(config.http);
    metrics = createServerMetrics({
      engine,
      store,
      remote,
      localWorkers: localCount,
      ...(kafka && { kafka }),
      ...(cluster && { cluster, coordinator }),
    });
    httpApi = createHttpServer({
      metrics,
      host: at.host,
      port: at.port,
      store,
      engineEvents: engine.events,
      readyTasks: () => engine.readyCount,
      ...(config.auth && { authorizer: config.auth }),
      ...(config.httpTls && { tls: config.httpTls }),
    });
    try {
      const httpPort = await httpApi.start();
      httpAddress = at.host.includes(':') ? `[${at.host}]:${httpPort}` : `${at.host}:${httpPort}`;
    } catch (err) {
      await httpApi.close();
      metrics.close();
      await api.close();
      remote.disconnectAll('the server could not start');
      await stopCore();
      throw err;
    }
  }
  let closing: Promise<void> | undefined;
  const shutdown = async () => {
    // Health turns 503 first, so load balancers stop routing here.
    httpApi?.markShuttingDown();
    // The API stops taking calls and worker connections first (calls in flight get their grace).
    const apiClosed = api.close();
    // Worker streams would hold the server open: end them; their attempts are handed back.
    remote.disconnectAll('the server is shutting down');
    await apiClosed;
    await httpApi?.close();
    metrics?.close();
    await stopCore();
  };
  const close = () => (closing ??= shutdown());
  const address = host.includes(':') ? `[${host}]:${bound}` : `${host}:${bound}`;
  return {
    engine,
    store,
    remote,
    ...(kafka && { kafka }),
    ...(cluster && { cluster }),
    address,
    port: bound,
    ...(httpAddress !== undefined && { httpAddress }),
    close,
    [Symbol.asyncDispose]: close,
  };
}
