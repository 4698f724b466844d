/**
 * The server side of remote workers: a {@link Transport} whose workers are processes connected
 * over a session (the gRPC `Workers.Connect` stream, see plugins/api/grpc/workers-service.ts).
 * It keeps the balancer's membership in step with the sessions (join on register, leave on
 * drain, disconnect or death), watches heartbeats, and tells the engine when a worker is lost so
 * its attempts are dispatched again. Each heartbeat's `load` (the worker's score, see
 * engine/load-sampler.ts `loadScore`) goes to the balancer, which orders workers by it; the
 * measurements behind it are kept per worker ({@link RemoteTransport.workerLoads}).
 *
 * It knows nothing of gRPC: a session is a {@link RemoteConnection} (how to reach the worker)
 * and the {@link RemoteSession} it gets back (what the worker said).
 */
import { SmartQueueError } from '../../../engine/errors.js';
import { handlerNameOf } from '../../../engine/handler.js';
import type { ProgressReport } from '../../../engine/handler.js';
import { HeartbeatMonitor } from '../../../engine/heartbeats.js';
import type { HeartbeatStats } from '../../../engine/heartbeats.js';
import type { WorkerLoadSample } from '../../../engine/load-sampler.js';
import type {
  Balancer,
  CallOptions,
  TaskAssignment,
  TaskResult,
  Transport,
  WorkerEndpoint,
  WorkerInfo,
} from '../../../engine/stages.js';

/** A cancel request, as passed to `Transport.cancel`. */
export type CancelRequest = { runId: string; taskId: string; attempt: number };

/** How the transport reaches one connected worker. */
export interface RemoteConnection {
  sendTask(assignment: TaskAssignment): void;
  sendCancel(cancel: CancelRequest): void;
  /** Tells the worker new session settings (the heartbeat interval changed). */
  sendSettings?(settings: { heartbeatIntervalMs: number }): void;
  /** Ends the session from the server side (the worker was declared dead, replaced, or the server stops). */
  end(reason: SmartQueueError): void;
}

/**
 * A heartbeat as the transport takes it: `load` is the score the balancer orders by; the
 * measurements are optional (0 when a worker does not send them).
 */
export type HeartbeatReport = { running: number; load: number } & Partial<Omit<WorkerLoadSample, 'running'>>;

/** The latest heartbeat of a worker: its measurements, its score (`load`), and when it came (epoch ms). */
export type ReportedWorkerLoad = WorkerLoadSample & { load: number; at: number };

/** What a connected worker tells the transport; returned by {@link RemoteTransport.connect}. */
export interface RemoteSession {
  readonly workerId: string;
  /** Liveness, and the worker's load (its `load` score goes to the balancer). */
  heartbeat(beat: HeartbeatReport): void;
  /** A result; its worker id is the session's, whatever the message said. */
  result(result: Omit<TaskResult, 'workerId'>): void;
  /** How far a running attempt got; passed to the engine (which ignores stale attempts). */
  progress(report: Omit<ProgressReport, 'workerId'>): void;
  /** The worker takes no new assignments (it is stopping). */
  drain(reason: string): void;
  /** The session ended (stream closed or failed). Its unfinished attempts are handed back. */
  closed(reason: string): void;
}

/** What the transport needs of the engine: worker loss, and a wake-up when capacity appears. */
export interface WorkerLossListener {
  workerLost(workerId: string, reason: string): unknown;
  wake(): void;
  /** A handler's progress report (optional: dropped without it). */
  recordProgress?(report: ProgressReport): unknown;
}

/** Options of {@link createRemoteTransport}. */
export interface RemoteTransportOptions {
  /** The engine's balancer: workers join it on register and leave it when they go. */
  balancer: Balancer;
  /** Heartbeat interval told to workers at registration (ms). @default 30000 */
  heartbeatIntervalMs?: number;
  /** Heartbeats missed in a row before a worker is declared dead. @default 3 */
  missedHeartbeats?: number;
  /**
   * Heartbeats per second the server is willing to take from all workers together. When more
   * workers connect than `heartbeatIntervalMs` allows within it, every worker is told a longer
   * interval (`Settings`); when they leave, the configured interval comes back. Loss detection
   * slows by the same factor, which is the price of keeping heartbeats cheap. @default 100
   */
  maxHeartbeatsPerSecond?: number;
  /**
   * Let remote workers run `run` (argv) tasks. When false, a `run` task that reaches a remote
   * worker fails at once, non-retryably, with a message saying how to enable it.
   * @default false
   */
  allowRemoteRun?: boolean;
  /**
   * Without allowRemoteRun, offer `run` tasks to remote workers anyway so they fail with a clear
   * reason instead of waiting for a worker that will never come. Turn it off when local workers
   * run `run` tasks (they then go to those). @default true
   */
  refuseRunRemotely?: boolean;
  /** Log line sink (joins, losses). @default none */
  log?: (line: string) => void;
}

/** {@link RemoteTransportOptions} with every default applied. */
export interface ResolvedRemoteTransportOptions {
  balancer: Balancer;
  heartbeatIntervalMs: number;
  missedHeartbeats: number;
  maxHeartbeatsPerSecond: number;
  allowRemoteRun: boolean;
  refuseRunRemotely: boolean;
  log: (line: string) => void;
}

/** The remote transport; `await using` closes it. */
export interface RemoteTransport extends Transport, AsyncDisposable {
  /** The interval workers are told now (the configured one, or longer under many workers). */
  readonly heartbeatIntervalMs: number;
  readonly allowRemoteRun: boolean;
  /** Tells the transport which engine to notify of lost workers (it is created before the engine). */
  bindEngine(engine: WorkerLossListener): void;
  /**
   * Registers a worker that connected. A session already open under the same id is ended and
   * its attempts handed back (the worker reconnected before the server noticed the drop).
   * @throws SmartQueueError INVALID_ARGUMENT for a bad registration, UNAVAILABLE when closed.
   */
  connect(worker: WorkerInfo, connection: RemoteConnection): RemoteSession;
  /** A result that arrived outside a session (the unary fallback). */
  reportResult(workerId: string, result: Omit<TaskResult, 'workerId'>): void;
  /** Ids of the workers connected now. */
  workers(): string[];
  /** Whether `workerId` is a worker connected over a session now. */
  hasWorker(workerId: string): boolean;
  /** The latest heartbeat load of each connected worker (absent until its first heartbeat). */
  workerLoads(): Map<string, ReportedWorkerLoad>;
  /** Heartbeat counters and workers declared dead (not yet back), for metrics. */
  heartbeatStats(): HeartbeatStats & { dead: number };
  /** Ends every session (server shutdown); their attempts are handed back. */
  disconnectAll(reason: string): void;
}

const WORKER_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const HANDLER_NAME = /^[A-Za-z0-9._:-]{1,128}$/;

/** Validates options and applies defaults; throws `INVALID_OPTIONS` for bad options. */
export function resolveRemoteTransportOptions(raw: RemoteTransportOptions): ResolvedRemoteTransportOptions {
  if (!raw?.balancer) throw new SmartQueueError('INVALID_OPTIONS', 'remote transport needs a balancer');
  const heartbeatIntervalMs = raw.heartbeatIntervalMs ?? 30_000;
  const missedHeartbeats = raw.missedHeartbeats ?? 3;
  if (!Number.isInteger(heartbeatIntervalMs) || heartbeatIntervalMs < 10) {
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `heartbeatIntervalMs must be an integer >= 10, got ${heartbeatIntervalMs}`,
    );
  }
  const maxHeartbeatsPerSecond = raw.maxHeartbeatsPerSecond ?? 100;
  if (!(maxHeartbeatsPerSecond > 0) || !Number.isFinite(maxHeartbeatsPerSecond)) {
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `maxHeartbeatsPerSecond must be a positive number, got ${maxHeartbeatsPerSecond}`,
    );
  }
  if (!Number.isInteger(missedHeartbeats) || missedHeartbeats < 1) {
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `missedHeartbeats must be an integer >= 1, got ${missedHeartbeats}`,
    );
  }
  return {
    balancer: raw.balancer,
    heartbeatIntervalMs,
    missedHeartbeats,
    maxHeartbeatsPerSecond,
    allowRemoteRun: raw.allowRemoteRun === true,
    refuseRunRemotely: raw.refuseRunRemotely !== false,
    log: raw.log ?? (() => {}),
  };
}

interface Live {
  connection: RemoteConnection;
  session: RemoteSession;
  ended: boolean;
  load?: ReportedWorkerLoad;
}

/** A finite number >= 0 (an integer when `integer`), or 0: what a worker sends is not trusted. */
function nonNegative(value: number | undefined, integer = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return 0;
  return integer ? Math.floor(value) : value;
}

function closedError(): SmartQueueError {
  return new SmartQueueError('UNAVAILABLE', 'the remote transport is closed');
}

class RemoteTransportImpl implements RemoteTransport {
  readonly name = 'remote';
  readonly #o: ResolvedRemoteTransportOptions;
  readonly #live = new Map<string, Live>();
  readonly #listeners = new Set<(result: TaskResult) => void>();
  readonly #monitor: HeartbeatMonitor;
  #engine: WorkerLossListener | undefined;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ResolvedRemoteTransportOptions) {
    this.#o = options;
    this.#monitor = new HeartbeatMonitor({
      intervalMs: options.heartbeatIntervalMs,
      missedLimit: options.missedHeartbeats,
      onDead: (id, silentForMs) => {
        const live = this.#live.get(id);
        const reason = `missed ${options.missedHeartbeats} heartbeats (silent for ${silentForMs} ms)`;
        if (live) this.#lose(id, live, reason, true);
      },
    });
    // Not monitor.start(): after this process was blocked (a big submission, a slow disk), the
    // timer fires before the heartbeats that queued up meanwhile are read, and every worker
    // would look dead. So a late tick is skipped, and a check runs after pending I/O (setImmediate).
    const period = Math.max(10, Math.floor(options.heartbeatIntervalMs / 2));
    let last = Date.now();
    this.#timer = setInterval(() => {
      const now = Date.now();
      const late = now - last > 2 * period;
      last = now;
      if (!late) setImmediate(() => this.#monitor.check());
    }, period).unref();
  }

  get heartbeatIntervalMs(): number {
    return this.#monitor.currentIntervalMs;
  }

  /**
   * Keeps the heartbeat load within maxHeartbeatsPerSecond: the interval grows with the number
   * of workers (never below the configured one). It changes only when off by more than a
   * quarter, so workers joining and leaving one by one do not cause a storm of Settings.
   */
  #adjustInterval(): void {
    const base = this.#o.heartbeatIntervalMs;
    const wanted = Math.max(base, Math.ceil((this.#live.size * 1000) / this.#o.maxHeartbeatsPerSecond));
    const current = this.#monitor.currentIntervalMs;
    if (wanted === current) return;
    const drift = Math.abs(wanted - current) / current;
    if (drift <= 0.25 && wanted !== base) return;
    this.#monitor.setIntervalMs(wanted);
    this.#o.log(
      `heartbeat interval now ${wanted} ms (${this.#live.size} workers, at most ${this.#o.maxHeartbeatsPerSecond}/s)`,
    );
    for (const live of this.#live.values()) {
      if (live.ended) continue;
      try {
        live.connection.sendSettings?.({ heartbeatIntervalMs: wanted });
      } catch {
        // Its stream is closing; the loss is handled there.
      }
    }
  }

  get allowRemoteRun(): boolean {
    return this.#o.allowRemoteRun;
  }

  bindEngine(engine: WorkerLossListener): void {
    this.#engine = engine;
  }

  dispatch(assignment: TaskAssignment, options?: CallOptions): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    if (!this.#o.allowRemoteRun && handlerNameOf(assignment.handler) === 'run') {
      const now = Date.now();
      // Refused here rather than never dispatched: the task fails with a reason instead of waiting forever.
      queueMicrotask(() =>
        this.#emit({
          runId: assignment.runId,
          taskId: assignment.taskId,
          attempt: assignment.attempt,
          workerId: assignment.workerId,
          ok: false,
          startedAt: now,
          finishedAt: now,
          error: {
            message:
              'remote workers may not run `run` (argv) tasks on this server: start it with --allow-remote-run (allowRemoteRun: true) to allow them',
            retryable: false,
          },
        }),
      );
      return Promise.resolve();
    }
    const live = this.#live.get(assignment.workerId);
    if (!live || live.ended) {
      // The worker went between pick and send: hand the attempt back (not counted as a failure).
      queueMicrotask(() => this.#engine?.workerLost(assignment.workerId, 'worker disconnected'));
      return Promise.resolve();
    }
    live.connection.sendTask(assignment);
    return Promise.resolve();
  }

  cancel(workerId: string, cancel: CancelRequest): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    const live = this.#live.get(workerId);
    if (live && !live.ended) live.connection.sendCancel(cancel);
    return Promise.resolve();
  }

  onResult(listener: (result: TaskResult) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  subscribe(workerId: string, _endpoint: WorkerEndpoint): Promise<() => Promise<void>> {
    return Promise.reject(
      new SmartQueueError(
        'FAILED_PRECONDITION',
        `worker ${workerId}: remote workers connect over gRPC (smartqueue worker --server host:port)`,
      ),
    );
  }

  publishResult(result: TaskResult, options?: CallOptions): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    this.#emit(result);
    return Promise.resolve();
  }

  connect(worker: WorkerInfo, connection: RemoteConnection): RemoteSession {
    if (this.#closed) throw closedError();
    const handlers = [...new Set(worker.handlers ?? [])];
    const problems: string[] = [];
    if (!WORKER_ID.test(worker.id))
      problems.push('worker_id: 1-128 letters, digits, ".", "_", ":" or "-" required');
    if (!Number.isInteger(worker.capacity) || worker.capacity < 1 || worker.capacity > 100_000)
      problems.push('capacity: an integer from 1 to 100000 required');
    if (handlers.length === 0) problems.push('handlers: at least one handler name required');
    const bad = handlers.filter((h) => !HANDLER_NAME.test(h));
    if (bad.length)
      problems.push(`handlers: invalid name(s) ${bad.map((h) => JSON.stringify(h)).join(', ')}`);
    if (problems.length) {
      throw new SmartQueueError('INVALID_ARGUMENT', `bad registration: ${problems.join('; ')}`, {
        details: {
          fieldViolations: problems.map((p) => {
            const [field, ...rest] = p.split(': ');
            return { field: `register.${field}`, description: rest.join(': ') };
          }),
        },
      });
    }
    const previous = this.#live.get(worker.id);
    if (previous) this.#lose(worker.id, previous, 'replaced by a new connection of the same worker', true);
    // A `run` task must reach a remote worker to be refused with a reason (see dispatch), so
    // without allowRemoteRun remote workers are offered `run` (unless local workers take it);
    // with it, only those that registered it.
    const offerRun = !this.#o.allowRemoteRun && this.#o.refuseRunRemotely && !handlers.includes('run');
    const offered = offerRun ? [...handlers, 'run'] : handlers;
    const live: Live = { connection, session: undefined as unknown as RemoteSession, ended: false };
    const id = worker.id;
    live.session = {
      workerId: id,
      heartbeat: (beat) => {
        if (live.ended) return;
        this.#monitor.beat(id);
        const valid = Number.isFinite(beat.load) && beat.load >= 0;
        live.load = {
          running: nonNegative(beat.running, true),
          threads: nonNegative(beat.threads, true),
          busyThreads: nonNegative(beat.busyThreads, true),
          queued: nonNegative(beat.queued, true),
          cpu: nonNegative(beat.cpu),
          memoryBytes: nonNegative(beat.memoryBytes, true),
          eventLoopLagMs: nonNegative(beat.eventLoopLagMs),
          load: valid ? beat.load : 0,
          at: Date.now(),
        };
        if (valid) this.#o.balancer.report(id, beat.load);
      },
      result: (r) => {
        if (live.ended) {
          this.#emit({ ...r, workerId: id }); // stale: the engine discards it
          return;
        }
        this.#monitor.beat(id);
        this.#emit({ ...r, workerId: id });
      },
      progress: (p) => {
        if (live.ended) return;
        this.#engine?.recordProgress?.({ ...p, workerId: id });
      },
      drain: (reason) => {
        if (live.ended) return;
        this.#o.log(`worker ${id} draining (${reason})`);
        this.#o.balancer.leave(id);
      },
      closed: (reason) => {
        if (this.#live.get(id) === live) this.#lose(id, live, reason, false);
      },
    };
    this.#live.set(id, live);
    this.#o.balancer.join({
      id,
      capacity: worker.capacity,
      handlers: offered,
      ...(worker.labels && { labels: worker.labels }),
    });
    this.#monitor.beat(id);
    this.#adjustInterval();
    this.#engine?.wake(); // there is a new free worker
    this.#o.log(`worker ${id} joined (capacity ${worker.capacity}, handlers ${handlers.join(', ')})`);
    return live.session;
  }

  reportResult(workerId: string, result: Omit<TaskResult, 'workerId'>): void {
    if (this.#closed) throw closedError();
    this.#emit({ ...result, workerId });
  }

  workers(): string[] {
    return [...this.#live.keys()];
  }

  /** Whether `workerId` is a worker connected over a session now. */
  hasWorker(workerId: string): boolean {
    return this.#live.has(workerId);
  }

  workerLoads(): Map<string, ReportedWorkerLoad> {
    const loads = new Map<string, ReportedWorkerLoad>();
    for (const [id, live] of this.#live) if (live.load) loads.set(id, { ...live.load });
    return loads;
  }

  heartbeatStats(): HeartbeatStats & { dead: number } {
    return { ...this.#monitor.stats, dead: this.#monitor.deadCount };
  }

  disconnectAll(reason: string): void {
    for (const [id, live] of [...this.#live]) this.#lose(id, live, reason, true);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.disconnectAll('the server is shutting down');
    this.#closed = true;
    clearInterval(this.#timer);
    this.#listeners.clear();
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Forgets a worker: out of the balancer, its attempts handed back, its session ended. */
  #lose(id: string, live: Live, reason: string, endConnection: boolean): void {
    if (live.ended) return;
    live.ended = true;
    if (this.#live.get(id) === live) this.#live.delete(id);
    this.#monitor.forget(id);
    this.#o.balancer.leave(id);
    if (!this.#closed) this.#adjustInterval();
    const lost = this.#engine?.workerLost(id, reason);
    const count = Array.isArray(lost) ? ` (${lost.length} attempt(s) handed back)` : '';
    this.#o.log(`worker ${id} lost: ${reason}${count}`);
    if (endConnection) {
      try {
        live.connection.end(new SmartQueueError('UNAVAILABLE', `worker ${id} disconnected: ${reason}`));
      } catch {
        // The stream is already gone.
      }
    }
  }

  #emit(result: TaskResult): void {
    for (const listener of this.#listeners) {
      try {
        listener(result);
      } catch (err) {
        this.#o.log(`result listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

/**
 * Creates the remote transport. Workers come and go through {@link RemoteTransport.connect};
 * `subscribe` is not supported (remote workers connect over gRPC). Call `bindEngine` once the
 * engine exists so lost workers' attempts are dispatched again.
 */
export function createRemoteTransport(options: RemoteTransportOptions): RemoteTransport {
  return new RemoteTransportImpl(resolveRemoteTransportOptions(options));
}
