/**
 * Worker liveness: a worker that misses `missedLimit` heartbeats in a row (3 by default, at the
 * configured interval, 30 s by default) is declared dead, once. The engine then re-dispatches
 * its attempts (`Engine.workerLost`); a late result from one of them is discarded.
 */
import { SmartQueueError } from './errors.js';

export interface HeartbeatOptions {
  /** Expected time between heartbeats. @default 30_000 */
  intervalMs?: number;
  /** Heartbeats missed in a row before a worker is declared dead. @default 3 */
  missedLimit?: number;
  /** Called once when a worker is declared dead (it is forgotten afterwards). */
  onDead(workerId: string, silentForMs: number): void;
  now?: () => number;
}

/** Live counters of a {@link HeartbeatMonitor}, for metrics. */
export interface HeartbeatStats {
  /** Heartbeats received (joining counts as one). */
  received: number;
  /** Heartbeats expected at the interval and not received (each counted once). */
  missed: number;
}

/** Dead workers remembered until they come back (bounded: the oldest are forgotten). */
const MAX_DEAD_REMEMBERED = 1000;

export class HeartbeatMonitor {
  readonly stats: HeartbeatStats = { received: 0, missed: 0 };
  private readonly lastBeat = new Map<string, number>();
  /** Missed heartbeats already counted per silent worker (since its last beat). */
  private readonly missedCounted = new Map<string, number>();
  private readonly dead = new Set<string>();
  private intervalMs: number;
  /** After an interval change: the longer of the two applies until `graceUntil`. */
  private graceIntervalMs = 0;
  private graceUntil = 0;
  private readonly missedLimit: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private lastCheck: number | undefined;

  constructor(private readonly options: HeartbeatOptions) {
    this.intervalMs = options.intervalMs ?? 30_000;
    this.missedLimit = options.missedLimit ?? 3;
    this.now = options.now ?? Date.now;
    if (!(this.intervalMs > 0) || !Number.isInteger(this.missedLimit) || this.missedLimit < 1) {
      throw new SmartQueueError(
        'INVALID_OPTIONS',
        'heartbeat intervalMs must be > 0 and missedLimit an integer >= 1',
      );
    }
  }

  /** How long a worker may stay silent before it is declared dead. */
  get deadlineMs(): number {
    const interval = this.now() < this.graceUntil ? this.graceIntervalMs : this.intervalMs;
    return interval * this.missedLimit;
  }

  /** The interval workers are expected to keep now. */
  get currentIntervalMs(): number {
    return this.intervalMs;
  }

  /**
   * Changes the expected interval (workers were told a new one). Until every worker has had the
   * time of a whole old deadline to adopt it, silence is judged against the longer of the two.
   */
  setIntervalMs(ms: number): void {
    if (!(ms > 0)) throw new SmartQueueError('INVALID_OPTIONS', `heartbeat interval must be > 0, got ${ms}`);
    if (ms === this.intervalMs) return;
    this.graceIntervalMs = Math.max(
      ms,
      this.intervalMs,
      this.now() < this.graceUntil ? this.graceIntervalMs : 0,
    );
    this.graceUntil = this.now() + this.intervalMs * this.missedLimit;
    this.intervalMs = ms;
  }

  /** Records a heartbeat (joining counts as one). */
  beat(workerId: string): void {
    this.lastBeat.set(workerId, this.now());
    this.stats.received++;
    this.missedCounted.delete(workerId);
    this.dead.delete(workerId);
  }

  /** Forgets a worker that left on purpose. */
  forget(workerId: string): void {
    this.lastBeat.delete(workerId);
    this.missedCounted.delete(workerId);
  }

  /** Workers being watched. */
  get size(): number {
    return this.lastBeat.size;
  }

  /** Workers declared dead that have not beaten again since (at most 1000 remembered). */
  get deadCount(): number {
    return this.dead.size;
  }

  /**
   * Declares dead every worker silent for longer than the deadline. After a stall of this
   * process's own event loop (the previous check is more than an interval ago), heartbeats may
   * be queued unread: that check only notes the time, and the next one decides.
   */
  check(): string[] {
    const now = this.now();
    const previous = this.lastCheck;
    this.lastCheck = now;
    if (previous !== undefined && now - previous > this.intervalMs) return [];
    const dead: string[] = [];
    const deadline = this.deadlineMs;
    for (const [id, at] of this.lastBeat) {
      const missed = Math.floor((now - at) / this.intervalMs);
      const counted = this.missedCounted.get(id) ?? 0;
      if (missed > counted) {
        this.stats.missed += missed - counted;
        this.missedCounted.set(id, missed);
      }
      if (now - at > deadline) dead.push(id);
    }
    for (const id of dead) {
      const silent = now - this.lastBeat.get(id)!;
      this.lastBeat.delete(id);
      this.missedCounted.delete(id);
      this.dead.add(id);
      if (this.dead.size > MAX_DEAD_REMEMBERED) this.dead.delete(this.dead.values().next().value!);
      this.options.onDead(id, silent);
    }
    return dead;
  }

  /** Checks on a timer (a fraction of the interval, so detection is at most that late). */
  start(): void {
    this.timer ??= setInterval(() => this.check(), Math.max(10, Math.floor(this.intervalMs / 2))).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
