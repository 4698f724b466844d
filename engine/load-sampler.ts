/**
 * What a worker process measures of its own load for its heartbeats: attempts running, its
 * thread pool (when it has one), CPU, memory and event-loop lag; and {@link loadScore}, which
 * folds that into the one number the server's balancer orders workers by.
 */
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

/** What a thread pool says of itself (engine/threads PoolStats has these fields, and more). */
export interface PoolLoad {
  threads: number;
  /** Threads running a task now. */
  busy: number;
  /** Tasks waiting for a thread. */
  queued: number;
}

/**
 * One sample of a worker's load: the fields of a `Heartbeat` apart from `load`. (Not named
 * `WorkerLoad`: engine/stages.ts has that name for the balancer's view of a worker.)
 */
export interface WorkerLoadSample {
  /** Attempts running now. */
  running: number;
  /** Threads in the worker's pool; 0 when it has none. */
  threads: number;
  /** Pool threads running a task now. */
  busyThreads: number;
  /** Tasks waiting in the worker (for a pool thread). */
  queued: number;
  /** CPU used by the process since the previous sample, in cores (1.5 = one and a half cores). */
  cpu: number;
  /** Resident set size (bytes). */
  memoryBytes: number;
  /** 99th percentile of the event loop delay since the previous sample (ms). */
  eventLoopLagMs: number;
}

/** Options of {@link createLoadSampler}. */
export interface LoadSamplerOptions {
  /** The worker's thread pool stats (read at every sample). @default none: threads, busy and queued are 0 */
  pool?: () => PoolLoad;
  /** Resolution of the event loop delay monitor (ms). @default 10 */
  resolutionMs?: number;
}

/** Measures a process's load; each `sample()` covers the time since the previous one. */
export interface LoadSampler {
  /** A sample of the load since the previous sample (or since the sampler was created). */
  sample(running: number): WorkerLoadSample;
  /** Stops the event loop delay monitor. */
  close(): void;
}

/** A finite count >= 0, or 0: a pool mid-restart must not put NaN on the wire. */
function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

/**
 * Creates a load sampler. CPU is the process's user + system time over the wall time between
 * samples; event loop lag is the p99 of `perf_hooks.monitorEventLoopDelay` less its resolution
 * (an idle loop reads ~0), and the histogram restarts at every sample. Right after a sample the
 * monitor needs one tick to start measuring again, so a block within its first `resolutionMs`
 * is not seen. A `pool` that throws reads as no pool: a heartbeat must still go out.
 */
export function createLoadSampler(options: LoadSamplerOptions = {}): LoadSampler {
  const resolution = Math.max(1, Math.floor(options.resolutionMs ?? 10));
  const delay = monitorEventLoopDelay({ resolution });
  delay.enable();
  let lastCpu = process.cpuUsage();
  let lastAt = performance.now();
  let closed = false;
  return {
    sample(running) {
      const now = performance.now();
      const cpu = process.cpuUsage(lastCpu);
      lastCpu = process.cpuUsage();
      const wallMs = now - lastAt;
      lastAt = now;
      let lag = 0;
      if (!closed && delay.count > 0) lag = Math.max(0, delay.percentile(99) / 1e6 - resolution);
      delay.reset();
      let pool: PoolLoad | undefined;
      try {
        pool = options.pool?.();
      } catch {
        pool = undefined;
      }
      return {
        running: count(running),
        threads: count(pool?.threads),
        busyThreads: count(pool?.busy),
        queued: count(pool?.queued),
        cpu: wallMs > 0 ? (cpu.user + cpu.system) / 1000 / wallMs : 0,
        memoryBytes: process.memoryUsage.rss(),
        eventLoopLagMs: lag,
      };
    },
    close() {
      if (closed) return;
      closed = true;
      delay.disable();
    },
  };
}

/** CPU use (as a share of the cores) from which a worker counts as short of CPU. */
const CPU_BUSY = 0.75;
/** Event loop lag (ms) a worker may have without penalty; the lag penalty is full at LAG_OK + LAG_SPAN. */
const LAG_OK_MS = 20;
const LAG_SPAN_MS = 200;

/**
 * The extra load a worker reports in its heartbeat (`Heartbeat.load`, cost units: 1 is one
 * attempt of the default 1 s estimate). The server's balancer orders workers by
 * `(cost of the attempts it assigned them + this) / capacity`, so the score leaves out what the
 * server already counts (`running`: counting it again would also keep a worker looking busy until
 * its next heartbeat after its attempts finished) and adds what only the worker knows:
 *
 * ```
 * score = queued + capacity × (cpuPenalty + lagPenalty)
 * cpuPenalty = min(0.5, 2 × max(0, cpu / cores − 0.75))       0 below 75% of the cores, 0.5 at 100%
 * lagPenalty = min(1, max(0, eventLoopLagMs − 20) / 200)        0 up to 20 ms, 1 from 220 ms
 * ```
 *
 * A queued task weighs as much as a running one; a saturated CPU makes the worker look half full
 * and a stalled event loop full (after the balancer divides by capacity), so such a worker still
 * gets work when every other one is worse off. Memory is reported but not scored: the worker knows
 * no limit to compare it with.
 *
 * @param capacity attempts the worker runs at once (as registered); below 1 counts as 1
 * @param cores CPU cores the process may use @default os.availableParallelism()
 */
export function loadScore(
  l: WorkerLoadSample,
  capacity: number,
  cores: number = availableParallelism(),
): number {
  const slots = Math.max(1, capacity);
  const cpuShare = cores > 0 ? l.cpu / cores : 0;
  const cpuPenalty = Math.min(0.5, 2 * Math.max(0, cpuShare - CPU_BUSY));
  const lagPenalty = Math.min(1, Math.max(0, l.eventLoopLagMs - LAG_OK_MS) / LAG_SPAN_MS);
  const score = Math.max(0, l.queued) + slots * (cpuPenalty + lagPenalty);
  return Number.isFinite(score) ? score : 0;
}
