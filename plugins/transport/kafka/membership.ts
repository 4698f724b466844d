/**
 * Scheduler-side worker membership from the heartbeats topic, as RemoteTransport does it for
 * gRPC sessions: the first heartbeat joins a worker to the balancer, each one reports its load,
 * a `leave` heartbeat removes it at once, and `missedHeartbeats` intervals of silence declare it
 * lost (the listener's `workerLost`).
 *
 * Silence of every worker at once is not taken as every worker dying: it is what a broker
 * restart (or this scheduler losing the heartbeats topic) looks like, and declaring them all
 * lost would run every attempt in flight twice. So while no heartbeat at all arrives, nobody is
 * judged; when heartbeats come back, every member's clock restarts. (Workers that really died
 * meanwhile are then found out after `missedHeartbeats` intervals; their uncommitted tasks go to
 * the live members of the consumer group anyway.)
 */
import { HeartbeatMonitor, type HeartbeatStats } from '../../../engine/heartbeats.js';
import type { Balancer } from '../../../engine/stages.js';
import type { HeartbeatMessage } from './codec.js';

/** What the transport tells the engine: a worker was lost, or capacity appeared. */
export interface KafkaWorkerLossListener {
  workerLost(workerId: string, reason: string): unknown;
  wake(): void;
}

export class KafkaMembership {
  readonly #balancer: Balancer;
  readonly #monitor: HeartbeatMonitor;
  readonly #members = new Set<string>();
  readonly #log: (line: string) => void;
  #listener: KafkaWorkerLossListener | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** When the last heartbeat of any worker arrived. */
  #lastAnyBeat = Date.now();
  #stalled = false;

  constructor(balancer: Balancer, intervalMs: number, missed: number, log: (line: string) => void) {
    this.#balancer = balancer;
    this.#log = log;
    this.#monitor = new HeartbeatMonitor({
      intervalMs,
      missedLimit: missed,
      onDead: (id, silentForMs) =>
        this.#lose(id, `missed ${missed} heartbeats (silent for ${silentForMs} ms)`),
    });
    // As in RemoteTransport: a late tick (this process was blocked) is skipped, and the check
    // runs after pending I/O, so queued heartbeats are read before anyone is judged.
    const period = Math.max(10, Math.floor(intervalMs / 2));
    let last = Date.now();
    this.#timer = setInterval(() => {
      const now = Date.now();
      const late = now - last > 2 * period;
      last = now;
      if (!late) setImmediate(() => this.#check(intervalMs));
    }, period).unref();
  }

  #check(intervalMs: number): void {
    const silentForMs = Date.now() - this.#lastAnyBeat;
    if (this.#members.size > 0 && silentForMs > 2 * intervalMs) {
      if (!this.#stalled)
        this.#log(
          `no heartbeat from any worker for ${silentForMs} ms: waiting for the heartbeats topic before judging workers`,
        );
      this.#stalled = true;
      return;
    }
    if (this.#stalled) {
      // Heartbeats are back: give every member a fresh start.
      this.#stalled = false;
      for (const id of this.#members) this.#monitor.beat(id);
      return;
    }
    this.#monitor.check();
  }

  attach(listener: KafkaWorkerLossListener): void {
    this.#listener = listener;
  }

  workers(): string[] {
    return [...this.#members];
  }

  /** Heartbeats received and missed, and workers declared dead since (for metrics). */
  heartbeatStats(): HeartbeatStats & { dead: number } {
    return { ...this.#monitor.stats, dead: this.#monitor.deadCount };
  }

  handle(beat: HeartbeatMessage): void {
    const id = beat.workerId;
    this.#lastAnyBeat = Date.now();
    if (beat.type === 'leave') {
      if (!this.#members.delete(id)) return;
      this.#monitor.forget(id);
      this.#balancer.leave(id);
      this.#log(`worker ${id} left`);
      return;
    }
    this.#monitor.beat(id);
    if (!this.#members.has(id)) {
      this.#members.add(id);
      this.#balancer.join({
        id,
        capacity: beat.capacity,
        ...(beat.handlers && { handlers: beat.handlers }),
        ...(beat.labels && { labels: beat.labels }),
      });
      this.#log(`worker ${id} joined (capacity ${beat.capacity})`);
      this.#listener?.wake();
    }
    if (Number.isFinite(beat.load) && beat.load >= 0) this.#balancer.report(id, beat.load);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #lose(id: string, reason: string): void {
    if (!this.#members.delete(id)) return;
    this.#balancer.leave(id);
    this.#log(`worker ${id} lost: ${reason}`);
    this.#listener?.workerLost(id, reason);
  }
}
