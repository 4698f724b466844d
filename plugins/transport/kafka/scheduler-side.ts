/**
 * The scheduler half: the dispatcher (tasks and cancels out, batched on one idempotent producer
 * so a burst keeps its order and costs few requests) and the reader of results and heartbeats
 * (its own consumer group per scheduler instance, so every instance sees every result).
 */
import type { Admin, Consumer, Kafka, Message, Producer } from 'kafkajs';
import type { TaskAssignment, TaskResult } from '../../../engine/stages.js';
import { partitionCount, groupJoined, unavailable } from './client.js';
import {
  decodeHeartbeat,
  decodeResult,
  encodeAssignment,
  type EncodedMessage,
  type HeartbeatMessage,
} from './codec.js';
import type { ResolvedKafkaTransportOptions } from './options.js';

/** Counters of one transport, for tests and metrics. */
export interface KafkaTransportStats {
  /** Assignments written to the tasks topic. */
  dispatched: number;
  /** Assignments handed to a local worker endpoint. */
  delivered: number;
  /** Results read from the results topic (scheduler side). */
  results: number;
  /** Poison task messages moved to the dead-letter topic. */
  deadLettered: number;
  /** Worker-side transactions committed. */
  transactions: number;
  /** Task messages seen again (after a rebalance or a crash elsewhere). */
  redelivered: number;
}

export function emptyStats(): KafkaTransportStats {
  return { dispatched: 0, delivered: 0, results: 0, deadLettered: 0, transactions: 0, redelivered: 0 };
}

interface Pending {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Writes messages in order, batching everything queued while the previous send was in flight. */
/** How long a failed send keeps being tried before its callers hear of the failure (ms). */
const RETRY_FOR_MS = 60_000;

export class BatchingSender {
  readonly #producer: Producer;
  #queue: Pending[] = [];
  #running = false;
  readonly #produced = new Set<(topic: string, valueBytes: number) => void>();

  constructor(producer: Producer) {
    this.#producer = producer;
  }

  /** Calls `listener` for every message acknowledged by the broker (metrics); returns a remover. */
  onProduced(listener: (topic: string, valueBytes: number) => void): () => void {
    this.#produced.add(listener);
    return () => this.#produced.delete(listener);
  }

  send(topic: string, m: EncodedMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ topic, message: m, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length) {
      const batch = this.#queue;
      this.#queue = [];
      const byTopic = new Map<string, Message[]>();
      for (const p of batch) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.message]);
      // A failed send is tried again (the broker may be restarting) for up to RETRY_FOR_MS: a
      // dispatch that fails is handed back to the engine as a new attempt, and when the failure
      // was only the acknowledgement, the first attempt runs too. Sending the same message again
      // is harmless (the worker runs an attempt once, the store records one completion).
      const started = Date.now();
      for (let attempt = 0; ; attempt++) {
        try {
          await this.#producer.sendBatch({
            acks: -1,
            topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
          });
          for (const p of batch) p.resolve();
          if (this.#produced.size) {
            for (const p of batch) {
              const v = p.message.value;
              const bytes = v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;
              for (const l of this.#produced) l(p.topic, bytes);
            }
          }
          break;
        } catch (err) {
          if (Date.now() - started >= RETRY_FOR_MS) {
            for (const p of batch) p.reject(unavailable('Kafka send failed', err));
            break;
          }
          await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
        }
      }
    }
    this.#running = false;
  }
}

/** Sends assignments to the shard's partition, following the tasks topic's partition count. */
export class Dispatcher {
  readonly #o: ResolvedKafkaTransportOptions;
  readonly #admin: Admin;
  readonly #sender: BatchingSender;
  readonly #stats: KafkaTransportStats;
  #partitions: number;
  #timer: NodeJS.Timeout | undefined;

  private constructor(
    o: ResolvedKafkaTransportOptions,
    admin: Admin,
    sender: BatchingSender,
    stats: KafkaTransportStats,
    n: number,
  ) {
    this.#o = o;
    this.#admin = admin;
    this.#sender = sender;
    this.#stats = stats;
    this.#partitions = n;
    this.#timer = setInterval(() => void this.refresh().catch(() => {}), o.metadataRefreshMs).unref();
  }

  static async create(
    o: ResolvedKafkaTransportOptions,
    admin: Admin,
    sender: BatchingSender,
    stats: KafkaTransportStats,
  ): Promise<Dispatcher> {
    return new Dispatcher(o, admin, sender, stats, await partitionCount(admin, o.topics.tasks));
  }

  get partitions(): number {
    return this.#partitions;
  }

  /** Re-reads the tasks topic's partition count (after `addPartitions`, here or elsewhere). */
  async refresh(): Promise<number> {
    const n = await partitionCount(this.#admin, this.#o.topics.tasks);
    if (n > 0) this.#partitions = n;
    return this.#partitions;
  }

  partitionOf(shard: number): number {
    return Math.abs(Math.trunc(shard)) % Math.max(1, this.#partitions);
  }

  async dispatch(a: TaskAssignment): Promise<void> {
    await this.#sender.send(this.#o.topics.tasks, encodeAssignment(a, this.partitionOf(a.shard)));
    this.#stats.dispatched++;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

/** Reads results and heartbeats with this scheduler instance's own consumer group. */
export class ResultReader {
  readonly #consumer: Consumer;

  private constructor(consumer: Consumer) {
    this.#consumer = consumer;
  }

  static async start(
    kafka: Kafka,
    admin: Admin,
    o: ResolvedKafkaTransportOptions,
    stats: KafkaTransportStats,
    onResult: (r: TaskResult) => void,
    onHeartbeat: (h: HeartbeatMessage) => void,
  ): Promise<ResultReader> {
    const groupId = `${o.prefix}.scheduler.${o.instanceId}`;
    const topics = [o.topics.results, o.topics.heartbeats];
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: o.sessionTimeoutMs,
      rebalanceTimeout: o.rebalanceTimeoutMs,
      heartbeatInterval: o.consumerHeartbeatIntervalMs,
      maxWaitTimeInMs: o.maxWaitTimeInMs,
      metadataMaxAge: o.metadataMaxAgeMs,
      allowAutoTopicCreation: false,
    });
    const joined = groupJoined(consumer, o.joinTimeoutMs, 'results consumer', true);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: false });
      await consumer.run({
        partitionsConsumedConcurrently: 2,
        eachMessage: async ({ topic, message }) => {
          if (topic === o.topics.heartbeats) {
            const beat = decodeHeartbeat(message.value);
            if (beat) onHeartbeat(beat);
            return;
          }
          const result = decodeResult(message.value);
          if (!result) {
            o.log(`ignored an undecodable result at offset ${message.offset}`);
            return;
          }
          stats.results++;
          onResult(result);
        },
      });
      await joined;
    } catch (err) {
      joined.catch(() => {});
      await consumer.disconnect().catch(() => {});
      throw err;
    }
    return new ResultReader(consumer);
  }

  async close(): Promise<void> {
    await this.#consumer.disconnect();
  }
}
