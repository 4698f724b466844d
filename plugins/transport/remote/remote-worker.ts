/**
 * A worker process's side of the `Workers.Connect` stream: registers with a server, runs the
 * assignments it receives with `runAttempt` (a Cancel aborts the attempt's `ctx.signal`), sends
 * heartbeats and results, and reconnects with exponential backoff and jitter when the connection
 * drops. `close()` drains: no new assignments, running attempts get a grace period to finish,
 * then are cancelled and reported, and the stream closes (the server hands back what is left).
 *
 * Each heartbeat carries the load measured since the previous one (engine/load-sampler.ts: pool
 * threads, queued tasks, CPU, memory, event loop lag) and its `loadScore`, which the server's
 * balancer orders workers by.
 */
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { SmartQueueError } from '../../../engine/errors.js';
import type { HandlerRegistry, ProgressReport, TaskLogger } from '../../../engine/handler.js';
import { createLoadSampler, loadScore } from '../../../engine/load-sampler.js';
import type { LoadSampler, PoolLoad } from '../../../engine/load-sampler.js';
import type { AttemptTracer, TaskResult } from '../../../engine/stages.js';
import type { ThreadRunner } from '../../../engine/threads/run-in-thread.js';
import { notifyAttempt, runAttempt } from '../../../engine/worker.js';
import type { AttemptListener } from '../../../engine/worker.js';
import type { TaskLogLine } from '../../../engine/worker.js';
import type { Heartbeat } from '../../../proto/generated/smartqueue/v1/Heartbeat.js';
import type { ServerMessage__Output } from '../../../proto/generated/smartqueue/v1/ServerMessage.js';
import type { WorkerMessage } from '../../../proto/generated/smartqueue/v1/WorkerMessage.js';
import type { WorkersClient } from '../../../proto/generated/smartqueue/v1/Workers.js';
import { fromWireAssignment, toWireResult } from '../../api/grpc/workers-convert.js';
import { loadWorkersContract } from '../../api/grpc/workers-proto.js';

/** Options of {@link createRemoteWorker}. */
export interface RemoteWorkerOptions {
  /** The server, `host:port`. */
  server: string;
  /** Worker id, stable across reconnects. @default `<hostname>-<pid>` */
  id?: string;
  /** Attempts run at once. */
  capacity: number;
  /** Handlers by name; the worker registers exactly these names. */
  handlers: HandlerRegistry;
  /** Labels sent at registration. @default {} */
  labels?: Record<string, string>;
  /** Heartbeat interval (ms); at most the server's. @default the interval the server asks for */
  heartbeatIntervalMs?: number;
  /** Reconnect backoff: first delay and cap (ms); each delay gets ±50% jitter. @default { initialMs: 200, maxMs: 10000 } */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Channel credentials (TLS). @default insecure */
  credentials?: grpc.ChannelCredentials;
  /** Metadata sent with every call (e.g. `authorization: Bearer ...`). @default none */
  metadata?: Record<string, string>;
  /**
   * Extra load added to the measured score of each heartbeat (cost units: 1 is one attempt of
   * the default 1 s estimate). @default () => 0
   */
  load?: () => number;
  /**
   * Stats of the thread pool the worker runs handlers in, read at each heartbeat (threads, busy
   * threads, queued tasks; queued tasks raise the score). @default none: reported as 0
   */
  pool?: () => PoolLoad;
  /**
   * Runs `thread: true` tasks in worker threads (engine/threads/run-in-thread.ts); its pool's
   * figures go into heartbeats unless `pool` is given. The caller closes it. @default none
   */
  threads?: ThreadRunner;
  /** Told of every attempt this worker finished (worker metrics). @default none */
  onAttemptFinished?: AttemptListener;
  /** Called after each heartbeat written to the server (worker metrics). @default none */
  onHeartbeatSent?: () => void;
  /** Connection events (registered, lost, reconnecting). @default none */
  log?: (line: string) => void;
  /** What handlers log through `ctx.log`. @default dropped */
  logger?: (line: TaskLogLine) => void;
  /** Runs each attempt in its trace span (plugins/telemetry/tracing). @default untraced */
  tracer?: AttemptTracer;
}

/** A connected (or reconnecting) remote worker. */
export interface RemoteWorker extends AsyncDisposable {
  readonly id: string;
  /** Attempts running now. */
  readonly busy: number;
  /** Whether the server accepted the current connection's registration. */
  readonly registered: boolean;
  /** Starts connecting (in the background); resolves at once. */
  start(): void;
  /** Resolves once registered with the server (or rejects on `signal`). */
  ready(options?: { signal?: AbortSignal }): Promise<void>;
  /** Drains and disconnects: running attempts get `graceMs` to finish, then are cancelled. */
  close(options?: { graceMs?: number }): Promise<void>;
}

const noop = () => {};

class RemoteWorkerImpl implements RemoteWorker {
  readonly id: string;
  readonly #o: RemoteWorkerOptions;
  readonly #client: WorkersClient;
  readonly #running = new Map<string, () => void>();
  readonly #metadata = new grpc.Metadata();
  #stream: grpc.ClientDuplexStream<WorkerMessage, ServerMessage__Output> | undefined;
  #registered = false;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #readyWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  #pendingResults = new Set<Promise<void>>();
  #sampler: LoadSampler | undefined;

  constructor(options: RemoteWorkerOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1)
      throw new SmartQueueError(
        'INVALID_OPTIONS',
        `capacity must be a positive integer, got ${options.capacity}`,
      );
    if (options.handlers.size === 0)
      throw new SmartQueueError('INVALID_OPTIONS', 'a worker needs at least one handler');
    this.#o = options;
    this.id = options.id ?? `${hostname()}-${process.pid}`;
    for (const [k, v] of Object.entries(options.metadata ?? {})) this.#metadata.set(k, v);
    const { grpcType } = loadWorkersContract();
    this.#client = new grpcType.smartqueue.v1.Workers(
      options.server,
      options.credentials ?? grpc.credentials.createInsecure(),
    );
  }

  get busy(): number {
    return this.#running.size;
  }

  get registered(): boolean {
    return this.#registered;
  }

  start(): void {
    if (this.#loop) return;
    const threads = this.#o.threads;
    const pool = this.#o.pool ?? (threads && (() => threads.stats()));
    this.#sampler = createLoadSampler({ ...(pool && { pool }) });
    this.#loop = this.#connectLoop();
  }

  ready(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#registered) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(options.signal?.reason ?? new Error('aborted'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#readyWaiters.push(() => {
        options.signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#wake?.();
    const stream = this.#stream;
    if (stream && this.#registered) this.#write(stream, { drain: { reason: 'worker stopping' } });
    if (this.#running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#idleWaiters.push(resolve);
        timer = setTimeout(resolve, options.graceMs ?? 10_000);
      });
      clearTimeout(timer);
      // Not finished in time: cancel them (their cancelled results are still reported).
      for (const cancel of this.#running.values()) cancel();
    }
    await Promise.allSettled([...this.#pendingResults]);
    stream?.end();
    await this.#loop;
    this.#sampler?.close();
    this.#client.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #connectLoop(): Promise<void> {
    const initial = this.#o.backoff?.initialMs ?? 200;
    const max = this.#o.backoff?.maxMs ?? 10_000;
    let failures = 0;
    while (!this.#stopping) {
      const registered = await this.#session();
      if (this.#stopping) break;
      failures = registered ? 1 : failures + 1;
      const base = Math.min(max, initial * 2 ** (failures - 1));
      const delay = Math.round(base * (0.5 + Math.random()));
      this.#o.log?.(`reconnecting to ${this.#o.server} in ${delay} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** One connection, from register to its end. Resolves to whether it got registered. */
  #session(): Promise<boolean> {
    return new Promise((resolve) => {
      const stream = this.#client.Connect(this.#metadata);
      this.#stream = stream;
      let heartbeat: NodeJS.Timeout | undefined;
      let interval = 0;
      let wasRegistered = false;
      /** (Re)starts the heartbeat timer at the server's interval (or ours, when shorter). */
      const beatEvery = (asked: number): void => {
        const server = asked > 0 ? asked : 30_000;
        const next = Math.max(10, Math.min(server, this.#o.heartbeatIntervalMs ?? server));
        if (next === interval && heartbeat) return;
        interval = next;
        if (heartbeat) clearInterval(heartbeat);
        heartbeat = setInterval(() => {
          if (this.#write(stream, { heartbeat: this.#heartbeat() })) this.#o.onHeartbeatSent?.();
        }, interval);
      };
      let ended = false;
      const end = (why: string) => {
        if (ended) return;
        ended = true;
        if (heartbeat) clearInterval(heartbeat);
        if (this.#stream === stream) this.#stream = undefined;
        this.#registered = false;
        if (wasRegistered && !this.#stopping) {
          this.#o.log?.(`connection lost: ${why}`);
          // The server hands back the attempts of a lost connection: stop working on them.
          for (const cancel of this.#running.values()) cancel();
        } else if (!this.#stopping) this.#o.log?.(`cannot register with ${this.#o.server}: ${why}`);
        resolve(wasRegistered);
      };
      stream.on('data', (msg: ServerMessage__Output) => {
        try {
          if (msg.kind === 'registered' && msg.registered) {
            wasRegistered = true;
            this.#registered = true;
            beatEvery(Number(msg.registered.heartbeatIntervalMs));
            this.#o.log?.(
              `registered with ${this.#o.server} as ${this.id} (capacity ${this.#o.capacity}, heartbeat every ${interval} ms)`,
            );
            for (const w of this.#readyWaiters.splice(0)) w();
            if (this.#stopping) this.#write(stream, { drain: { reason: 'worker stopping' } });
          } else if (msg.kind === 'assignment' && msg.assignment) {
            this.#execute(stream, fromWireAssignment(msg.assignment, this.id));
          } else if (msg.kind === 'cancel' && msg.cancel) {
            const c = msg.cancel;
            this.#running.get(`${c.runId}/${c.taskId}/${c.attempt}`)?.();
          } else if (msg.kind === 'settings' && msg.settings) {
            const before = interval;
            beatEvery(Number(msg.settings.heartbeatIntervalMs));
            if (interval !== before) this.#o.log?.(`the server asks for a heartbeat every ${interval} ms`);
          }
        } catch (err) {
          this.#o.log?.(`bad message from the server: ${err instanceof Error ? err.message : String(err)}`);
        }
      });
      stream.on('error', (err: grpc.ServiceError) => end(err.details || err.message));
      stream.on('end', () => end('the server closed the stream'));
      stream.on('close', () => end('the connection closed'));
      this.#write(stream, {
        register: {
          workerId: this.id,
          capacity: this.#o.capacity,
          handlers: [...this.#o.handlers.keys()],
          labels: this.#o.labels ?? {},
        },
      });
    });
  }

  /** The load since the previous heartbeat, and its score (plus the `load` option's extra). */
  #heartbeat(): Heartbeat {
    const sample = this.#sampler!.sample(this.#running.size);
    let extra = 0;
    try {
      extra = this.#o.load?.() ?? 0;
    } catch {
      // A failing load callback must not stop the heartbeats (the worker would be declared lost).
    }
    const score = loadScore(sample, this.#o.capacity) + (Number.isFinite(extra) && extra > 0 ? extra : 0);
    return { ...sample, load: score };
  }

  #write(stream: grpc.ClientDuplexStream<WorkerMessage, ServerMessage__Output>, msg: WorkerMessage): boolean {
    try {
      if (stream.writable) {
        stream.write(msg);
        return true;
      }
    } catch {
      // The stream closed meanwhile.
    }
    return false;
  }

  #execute(
    stream: grpc.ClientDuplexStream<WorkerMessage, ServerMessage__Output>,
    a: ReturnType<typeof fromWireAssignment>,
  ): void {
    const key = `${a.runId}/${a.taskId}/${a.attempt}`;
    if (this.#running.has(key)) return; // a duplicate delivery of an attempt already running
    this.#running.set(key, noop);
    const tracer = this.#o.tracer;
    const done = (
      tracer
        ? tracer.execute(a, (traceId) => this.#attempt(stream, a, key, traceId))
        : this.#attempt(stream, a, key)
    )
      .then((result) => {
        this.#running.delete(key);
        notifyAttempt(this.#o.onAttemptFinished, a, result);
        return this.#report(stream, result);
      })
      .finally(() => {
        this.#pendingResults.delete(done);
        if (this.#running.size === 0) for (const w of this.#idleWaiters.splice(0)) w();
      });
    this.#pendingResults.add(done);
  }

  #attempt(
    stream: grpc.ClientDuplexStream<WorkerMessage, ServerMessage__Output>,
    a: ReturnType<typeof fromWireAssignment>,
    key: string,
    traceId?: string,
  ): Promise<TaskResult> {
    const logger = this.#o.logger;
    const line = (level: TaskLogLine['level']) => (message: string, fields?: Record<string, unknown>) =>
      logger?.({
        level,
        runId: a.runId,
        taskId: a.taskId,
        message,
        ...(fields && { fields }),
        ...(traceId !== undefined && { traceId }),
      });
    const log: TaskLogger | undefined = logger && {
      info: line('info'),
      warn: line('warn'),
      error: line('error'),
    };
    const hooks = {
      bindCancel: (cancel: () => void) => this.#running.set(key, cancel),
      ...(log && { log }),
      // On the stream the attempt came on; dropped if it has closed (the result still goes).
      progress: (p: ProgressReport) => {
        if (stream === this.#stream)
          this.#write(stream, {
            progress: {
              runId: p.runId,
              taskId: p.taskId,
              attempt: p.attempt,
              ...(p.fraction !== undefined && { fraction: p.fraction }),
              message: p.message ?? '',
            },
          });
      },
    };
    const threads = this.#o.threads;
    return threads?.accepts(a) ? threads.run(a, hooks) : runAttempt(a, this.#o.handlers, hooks);
  }

  /** On the attempt's own stream when it is still open, else by the unary fallback. */
  async #report(
    stream: grpc.ClientDuplexStream<WorkerMessage, ServerMessage__Output>,
    result: TaskResult,
  ): Promise<void> {
    const wire = toWireResult(result);
    if (stream === this.#stream && this.#write(stream, { result: wire })) return;
    await new Promise<void>((resolve) => {
      this.#client.ReportResult(
        { workerId: this.id, result: wire },
        this.#metadata,
        { deadline: Date.now() + 5000 },
        () => resolve(), // best effort: the server re-dispatches attempts whose result it never got
      );
    });
  }
}

/** Creates a remote worker; call `start()` to connect. */
export function createRemoteWorker(options: RemoteWorkerOptions): RemoteWorker {
  return new RemoteWorkerImpl(options);
}
