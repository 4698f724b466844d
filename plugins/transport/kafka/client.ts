/**
 * kafkajs, loaded lazily, and the admin chores: topics, partitions, where a new group starts.
 */
import { SmartQueueError } from '../../../engine/errors.js';
import type { Admin, Consumer, Kafka, KafkaConfig } from 'kafkajs';
import type * as KafkaJsModule from 'kafkajs';
import type { ResolvedKafkaTransportOptions } from './options.js';

type KafkaJs = typeof KafkaJsModule;

const LEVELS = { nothing: 0, error: 1, warn: 2, info: 4, debug: 5 } as const;

/** Creates the kafkajs client (the module is imported here, not at start-up). */
export async function createKafkaClient(
  o: ResolvedKafkaTransportOptions,
): Promise<{ kafka: Kafka; lib: KafkaJs }> {
  const mod = (await import('kafkajs')) as KafkaJs & { default?: KafkaJs };
  const lib = mod.default ?? mod;
  const config: KafkaConfig = {
    clientId: o.clientId,
    brokers: o.brokers,
    logLevel: LEVELS[o.logLevel],
    ...(o.ssl !== false && { ssl: o.ssl as KafkaConfig['ssl'] }),
    ...(o.sasl && { sasl: o.sasl as KafkaConfig['sasl'] }),
  };
  return { kafka: new lib.Kafka(config), lib };
}

/**
 * Creates the topics that are missing and adds partitions to a tasks topic that has fewer than
 * configured. Safe to call any number of times, from any number of processes.
 */
export async function ensureTopics(admin: Admin, o: ResolvedKafkaTransportOptions): Promise<void> {
  const wanted = [
    { topic: o.topics.tasks, numPartitions: o.partitions },
    { topic: o.topics.results, numPartitions: o.resultPartitions },
    { topic: o.topics.heartbeats, numPartitions: 1 },
    { topic: o.topics.control, numPartitions: 1 },
    { topic: o.topics.deadLetter, numPartitions: 1 },
  ];
  const existing = new Set(await admin.listTopics());
  const missing = wanted.filter((t) => !existing.has(t.topic));
  if (missing.length) {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          ...t,
          replicationFactor: o.replicationFactor,
          configEntries: [{ name: 'min.insync.replicas', value: String(o.minInsyncReplicas) }],
        })),
      });
    } catch (err) {
      // Another process created them first: fine, as long as they exist now.
      const now = new Set(await admin.listTopics());
      if (!missing.every((t) => now.has(t.topic))) throw unavailable('cannot create topics', err);
    }
  }
  const count = await partitionCount(admin, o.topics.tasks);
  if (count < o.partitions) await growPartitions(admin, o.topics.tasks, o.partitions);
}

export async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  return meta.topics[0]?.partitions.length ?? 0;
}

/** Grows a topic to `count` partitions (never shrinks; a smaller count is a no-op). */
export async function growPartitions(admin: Admin, topic: string, count: number): Promise<void> {
  if ((await partitionCount(admin, topic)) >= count) return;
  try {
    await admin.createPartitions({ topicPartitions: [{ topic, count }] });
  } catch (err) {
    if ((await partitionCount(admin, topic)) < count)
      throw unavailable(`cannot add partitions to ${topic}`, err);
  }
}

/**
 * Resolves once the consumer joined its group (partitions assigned, possibly none) and, with
 * `fetched`, has finished a first fetch: a group that starts at "latest" has then resolved
 * where that is, so nothing sent after this resolves is missed.
 */
export function groupJoined(
  consumer: Consumer,
  timeoutMs: number,
  what: string,
  fetched = false,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let joined = false;
    const offs: (() => void)[] = [];
    const finish = (err?: Error) => {
      clearTimeout(timer);
      for (const off of offs) off();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () =>
        finish(new SmartQueueError('UNAVAILABLE', `${what}: no consumer group join within ${timeoutMs} ms`)),
      timeoutMs,
    );
    offs.push(
      consumer.on(consumer.events.GROUP_JOIN, () => {
        joined = true;
        if (!fetched) finish();
      }),
      consumer.on(consumer.events.FETCH, () => {
        if (joined) finish();
      }),
    );
  });
}

export function unavailable(message: string, cause?: unknown): SmartQueueError {
  const why = cause instanceof Error ? `: ${cause.message}` : '';
  return new SmartQueueError('UNAVAILABLE', `${message}${why}`, { cause });
}
