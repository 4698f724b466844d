/**
 * The Kafka transport: tasks on a tasks topic (one partition per shard, modulo the partition
 * count), results, heartbeats, cancels and dead letters on their own topics.
 *
 * Workers form ONE consumer group on the tasks topic, so Kafka, not the scheduler, decides who
 * runs a partition: the worker id in an assignment travels as advice (`smartqueue-worker-id`
 * header), and the worker that ran it reports its own id in the result. Worker membership for
 * the balancer comes from heartbeats (see membership.ts), as with RemoteTransport.
 *
 * Production: `replicationFactor: 3, minInsyncReplicas: 2` (defaults 1/1 suit a single test
 * broker), a stable `instanceId` per process, and `transactions: true` (the default).
 * Adding partitions moves shards to other partitions: order within a shard is kept only
 * between two partition changes.
 */
import type { Admin, Producer } from 'kafkajs';
import { SmartQueueError } from '../../../engine/errors.js';
import type {
  CallOptions,
  TaskAssignment,
  TaskResult,
  Transport,
  WorkerEndpoint,
  WorkerInfo,
} from '../../../engine/stages.js';
import { createKafkaClient, ensureTopics, growPartitions } from './client.js';
import type { CancelMessage, HeartbeatMessage } from './codec.js';
import { KafkaMembership, type KafkaWorkerLossListener } from './membership.js';
import {
  resolveKafkaTransportOptions,
  type KafkaTransportOptions,
  type ResolvedKafkaTransportOptions,
} from './options.js';
import {
  BatchingSender,
  Dispatcher,
  ResultReader,
  emptyStats,
  type KafkaTransportStats,
} from './scheduler-side.js';
import { WorkerSide } from './worker-side.js';

/** The Kafka transport; `await using` closes it. */
export interface KafkaTransport extends Transport, AsyncDisposable {
  readonly options: ResolvedKafkaTransportOptions;
  /** Live counters. */
  readonly stats: Readonly<KafkaTransportStats>;
  /** Partitions of the tasks topic as the dispatcher sees them now. */
  readonly partitions: number;
  /** Creates missing topics, grows the tasks topic to `partitions`. Idempotent. */
  ensureTopics(): Promise<void>;
  /** Grows the tasks topic to `count` partitions and makes the dispatcher use them. */
  addPartitions(count: number): Promise<void>;
  /** Re-reads the tasks topic's partition count (another process added partitions). */
  refreshPartitions(): Promise<number>;
  /** Scheduler side: who to tell about lost workers and new capacity. */
  attach(listener: KafkaWorkerLossListener): void;
  /** Scheduler side: workers known from heartbeats. */
  workers(): string[];
  /** Scheduler side: heartbeats received and missed, workers declared dead (for metrics). */
  heartbeatStats(): { received: number; missed: number; dead: number };
  /**
   * Worker side: heartbeats `worker` every `heartbeatIntervalMs` with `report()`'s load. The
   * returned function stops them and sends a final `leave` heartbeat.
   */
  announce(worker: WorkerInfo, report: () => { running: number; load: number }): () => Promise<void>;
  /**
   * Calls `listener` for each message this process's batching producer got acknowledged, with
   * the topic's role (tasks, control, results, heartbeats, dead_letter) and the value's size;
   * returns a remover. For metrics.
   */
  onProduced(listener: (role: string, valueBytes: number) => void): () => void;
  /**
   * Lag of the workers' consumer group on the tasks topic, by partition: the high watermark
   * minus the group's committed offset (the whole watermark when nothing is committed yet).
   * Asks the brokers (two admin requests); for metrics at scrape time.
   */
  consumerLag(): Promise<Map<number, number>>;
}

function closedError(): SmartQueueError {
  return new SmartQueueError('UNAVAILABLE', 'the Kafka transport is closed');
}

class KafkaTransportImpl implements KafkaTransport {
  readonly name = 'kafka';
  readonly options: ResolvedKafkaTransportOptions;
  readonly stats: KafkaTransportStats;
  readonly #admin: Admin;
  readonly #producer: Producer;
  readonly #sender: BatchingSender;
  readonly #dispatcher: Dispatcher;
  readonly #workerSide: WorkerSide | undefined;
  readonly #membership: KafkaMembership | undefined;
  readonly #listeners = new Set<(r: TaskResult) => void>();
  readonly #announcers = new Set<() => Promise<void>>();
  #reader: ResultReader | undefined;
  #closing: Promise<void> | undefined;

  constructor(parts: {
    options: ResolvedKafkaTransportOptions;
    stats: KafkaTransportStats;
    admin: Admin;
    producer: Producer;
    sender: BatchingSender;
    dispatcher: Dispatcher;
    workerSide: WorkerSide | undefined;
  }) {
    this.options = parts.options;
    this.stats = parts.stats;
    this.#admin = parts.admin;
    this.#producer = parts.producer;
    this.#sender = parts.sender;
    this.#dispatcher = parts.dispatcher;
    this.#workerSide = parts.workerSide;
    const o = parts.options;
    if (o.balancer)
      this.#membership = new KafkaMembership(o.balancer, o.heartbeatIntervalMs, o.missedHeartbeats, o.log);
  }

  async consumerLag(): Promise<Map<number, number>> {
    const topic = this.options.topics.tasks;
    const [ends, committed] = await Promise.all([
      this.#admin.fetchTopicOffsets(topic),
      this.#admin.fetchOffsets({ groupId: this.options.groupId, topics: [topic] }),
    ]);
    const done = new Map<number, number>();
    for (const t of committed) for (const p of t.partitions) done.set(p.partition, Number(p.offset));
    const lag = new Map<number, number>();
    for (const p of ends) {
      const at = done.get(p.partition) ?? -1;
      const low = Number(p.low);
      // -1: nothing committed yet, so everything still in the log is waiting.
      lag.set(p.partition, Math.max(0, Number(p.high) - (at < 0 ? low : at)));
    }
    return lag;
  }

  onProduced(listener: (role: string, valueBytes: number) => void): () => void {
    const roles = new Map<string, string>(
      Object.entries(this.options.topics).map(([role, topic]) => [
        topic,
        role.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      ]),
    );
    return this.#sender.onProduced((topic, bytes) => listener(roles.get(topic) ?? 'other', bytes));
  }

  setReader(reader: ResultReader): void {
    this.#reader = reader;
  }

  get partitions(): number {
    return this.#dispatcher.partitions;
  }

  emit(result: TaskResult): void {
    for (const listener of this.#listeners) {
      try {
        listener(result);
      } catch (err) {
        this.options.log(`result listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  heartbeat(beat: HeartbeatMessage): void {
    this.#membership?.handle(beat);
  }

  async dispatch(assignment: TaskAssignment, options?: CallOptions): Promise<void> {
    if (this.#closing) throw closedError();
    if (options?.signal?.aborted) throw options.signal.reason;
    await this.#dispatcher.dispatch(assignment);
  }

  async cancel(workerId: string, cancel: { runId: string; taskId: string; attempt: number }): Promise<void> {
    if (this.#closing) throw closedError();
    const body: CancelMessage = {
      runId: cancel.runId,
      taskId: cancel.taskId,
      attempt: cancel.attempt,
      workerId,
    };
    await this.#sender.send(this.options.topics.control, {
      key: cancel.runId,
      value: JSON.stringify(body),
      headers: {},
    });
  }

  onResult(listener: (result: TaskResult) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async subscribe(workerId: string, endpoint: WorkerEndpoint): Promise<() => Promise<void>> {
    if (this.#closing) throw closedError();
    if (!this.#workerSide) {
      throw new SmartQueueError(
        'FAILED_PRECONDITION',
        `worker ${workerId}: this Kafka transport has role 'scheduler'`,
      );
    }
    return this.#workerSide.subscribe(workerId, endpoint);
  }

  async publishResult(result: TaskResult, options?: CallOptions): Promise<void> {
    if (this.#closing) throw closedError();
    if (options?.signal?.aborted) throw options.signal.reason;
    if (this.#workerSide) return this.#workerSide.publish(result);
    await this.#sender.send(this.options.topics.results, {
      key: result.runId,
      value: JSON.stringify(result),
      headers: {},
    });
  }

  async ensureTopics(): Promise<void> {
    if (this.#closing) throw closedError();
    await ensureTopics(this.#admin, this.options);
    await this.#dispatcher.refresh();
  }

  async addPartitions(count: number): Promise<void> {
    if (this.#closing) throw closedError();
    if (!Number.isInteger(count) || count < 1) {
      throw new SmartQueueError(
        'INVALID_ARGUMENT',
        `partition count must be a positive integer, got ${count}`,
      );
    }
    await growPartitions(this.#admin, this.options.topics.tasks, count);
    await this.#dispatcher.refresh();
  }

  refreshPartitions(): Promise<number> {
    return this.#dispatcher.refresh();
  }

  attach(listener: KafkaWorkerLossListener): void {
    if (!this.#membership)
      throw new SmartQueueError('FAILED_PRECONDITION', 'attach needs the `balancer` option');
    this.#membership.attach(listener);
  }

  workers(): string[] {
    return this.#membership?.workers() ?? [];
  }

  heartbeatStats(): { received: number; missed: number; dead: number } {
    return this.#membership?.heartbeatStats() ?? { received: 0, missed: 0, dead: 0 };
  }

  announce(worker: WorkerInfo, report: () => { running: number; load: number }): () => Promise<void> {
    if (this.#closing) throw closedError();
    const send = (type: HeartbeatMessage['type']): Promise<void> => {
      const { running, load } = report();
      const beat: HeartbeatMessage = {
        type,
        workerId: worker.id,
        capacity: worker.capacity,
        ...(worker.handlers && { handlers: worker.handlers }),
        ...(worker.labels && { labels: worker.labels }),
        running,
        load,
        at: Date.now(),
      };
      return this.#sender.send(this.options.topics.heartbeats, {
        key: worker.id,
        value: JSON.stringify(beat),
        headers: {},
      });
    };
    const beat = () =>
      void send('beat').catch((err: unknown) => this.options.log(`heartbeat failed: ${String(err)}`));
    beat();
    const timer = setInterval(beat, this.options.heartbeatIntervalMs).unref();
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      this.#announcers.delete(stop);
      await send('leave').catch(() => {});
    };
    this.#announcers.add(stop);
    return stop;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await Promise.allSettled([...this.#announcers].map((stop) => stop()));
    this.#membership?.close();
    this.#dispatcher.close();
    this.#listeners.clear();
    await this.#workerSide?.close().catch(() => {});
    await this.#reader?.close().catch(() => {});
    await this.#producer.disconnect().catch(() => {});
    await this.#admin.disconnect().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Connects, ensures the topics (unless `ensureTopics: false`) and, for the scheduler role, joins
 * the results consumer group before resolving, so no result sent afterwards is missed.
 * @throws SmartQueueError INVALID_OPTIONS for bad options, UNAVAILABLE when Kafka cannot be reached.
 */
export async function createKafkaTransport(options: KafkaTransportOptions): Promise<KafkaTransport> {
  const o = resolveKafkaTransportOptions(options);
  const { kafka, lib } = await createKafkaClient(o);
  const admin = kafka.admin();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  try {
    await admin.connect();
    if (o.ensureTopics) await ensureTopics(admin, o);
    await producer.connect();
  } catch (err) {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    throw err instanceof SmartQueueError
      ? err
      : new SmartQueueError('UNAVAILABLE', `Kafka unavailable: ${String(err)}`, { cause: err });
  }
  const stats = emptyStats();
  const sender = new BatchingSender(producer);
  const dispatcher = await Dispatcher.create(o, admin, sender, stats);
  const workerSide = o.role === 'scheduler' ? undefined : new WorkerSide(o, kafka, lib, sender, stats);
  const transport = new KafkaTransportImpl({
    options: o,
    stats,
    admin,
    producer,
    sender,
    dispatcher,
    workerSide,
  });
  if (o.role !== 'worker') {
    try {
      transport.setReader(
        await ResultReader.start(
          kafka,
          admin,
          o,
          stats,
          (r) => transport.emit(r),
          (h) => transport.heartbeat(h),
        ),
      );
    } catch (err) {
      await transport.close();
      throw err instanceof SmartQueueError
        ? err
        : new SmartQueueError('UNAVAILABLE', `Kafka unavailable: ${String(err)}`, { cause: err });
    }
  }
  return transport;
}
