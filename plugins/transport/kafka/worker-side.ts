/**
 * The worker half. Each `subscribe` is one member of the workers' consumer group on the tasks
 * topic; cancels come from the control topic (this process's own group, every cancel seen).
 *
 * Handlers run concurrently, so a partition's committed offset is only ever the contiguous
 * watermark of finished offsets (the first one still running). Results finished close together
 * are written in one transaction with those offsets (`sendOffsets`), so a result and the fact
 * that its task was consumed become visible together; with `transactions: false` the results
 * are acknowledged first and the offsets committed after. Either way a crash or rebalance
 * redelivers what was not committed, and it simply runs again (the checkpoint store's
 * once-only completion keeps effects exactly once).
 */
import type { Consumer, Kafka, Producer } from 'kafkajs';
import type * as KafkaJs from 'kafkajs';
import { SmartQueueError } from '../../../engine/errors.js';
import type { TaskResult, WorkerEndpoint } from '../../../engine/stages.js';
import { groupJoined, unavailable } from './client.js';
import { HEADER, attemptKey, decodeAssignment, decodeCancel, encodeResult, headerText } from './codec.js';
import type { ResolvedKafkaTransportOptions } from './options.js';
import type { BatchingSender, KafkaTransportStats } from './scheduler-side.js';
import { stickyAssigner } from './sticky-assigner.js';

type Offsets = Map<number, Map<number, boolean>>; // partition → offset → done

interface Subscription {
  workerId: string;
  endpoint: WorkerEndpoint;
  consumer: Consumer;
  offsets: Offsets;
  committed: Map<number, number>;
  /** Attempts handed to the endpoint and not yet reported: key → their messages. */
  inflight: Map<string, { partition: number; offset: number }[]>;
  active: boolean;
  /** Fetching stopped: `maxInFlight` attempts are running. */
  paused: boolean;
}

interface QueuedResult {
  result: TaskResult;
  marks: { sub: Subscription; partition: number; offset: number }[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The first offset still running per partition (or one past the last), when it moved on. */
function watermarks(sub: Subscription): Map<number, number> {
  const out = new Map<number, number>();
  for (const [partition, entries] of sub.offsets) {
    let firstOpen = Infinity;
    let last = -1;
    for (const [offset, done] of entries) {
      if (!done && offset < firstOpen) firstOpen = offset;
      if (offset > last) last = offset;
    }
    const mark = firstOpen === Infinity ? last + 1 : firstOpen;
    if (mark > (sub.committed.get(partition) ?? -1)) out.set(partition, mark);
  }
  return out;
}

export class WorkerSide {
  readonly #o: ResolvedKafkaTransportOptions;
  readonly #kafka: Kafka;
  readonly #lib: Pick<typeof KafkaJs, 'AssignerProtocol' | 'PartitionAssigners'>;
  readonly #sender: BatchingSender;
  readonly #stats: KafkaTransportStats;
  readonly #subs = new Set<Subscription>();
  readonly #seen = new Set<string>();
  readonly #earlyCancels = new Map<string, number>();
  #tx: Producer | undefined;
  #control: Promise<Consumer> | undefined;
  #queue: QueuedResult[] = [];
  #timer: NodeJS.Timeout | undefined;
  #chain: Promise<void> = Promise.resolve();
  /** Results of recent attempts by attempt key, oldest first (see #onMessage). */
  readonly #finished = new Map<string, TaskResult>();
  /** Failed flushes in a row (the retry backoff grows with it). */
  #failures = 0;
  #closing = false;

  constructor(
    o: ResolvedKafkaTransportOptions,
    kafka: Kafka,
    lib: Pick<typeof KafkaJs, 'AssignerProtocol' | 'PartitionAssigners'>,
    sender: BatchingSender,
    stats: KafkaTransportStats,
  ) {
    this.#o = o;
    this.#kafka = kafka;
    this.#lib = lib;
    this.#sender = sender;
    this.#stats = stats;
  }

  async #newTxProducer(): Promise<Producer> {
    const producer = this.#kafka.producer({
      transactionalId: `${this.#o.prefix}.tx.${this.#o.instanceId}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    return producer;
  }

  async subscribe(workerId: string, endpoint: WorkerEndpoint): Promise<() => Promise<void>> {
    const o = this.#o;
    if (o.transactions && !this.#tx) this.#tx = await this.#newTxProducer();
    this.#control ??= this.#startControl().catch((err: unknown) => {
      this.#control = undefined; // the next subscribe tries again
      throw err;
    });
    // The tasks partitions this member holds, reported at each join (sticky assignment).
    let assigned: number[] = [];
    const consumer = this.#kafka.consumer({
      groupId: o.groupId,
      // Round-robin stays listed so a group of older workers (round-robin only) still forms.
      partitionAssigners: [
        stickyAssigner(this.#lib.AssignerProtocol, () => ({ [o.topics.tasks]: assigned })),
        this.#lib.PartitionAssigners.roundRobin,
      ],
      sessionTimeout: o.sessionTimeoutMs,
      rebalanceTimeout: o.rebalanceTimeoutMs,
      heartbeatInterval: o.consumerHeartbeatIntervalMs,
      maxWaitTimeInMs: o.maxWaitTimeInMs,
      metadataMaxAge: o.metadataMaxAgeMs,
      allowAutoTopicCreation: false,
    });
    const sub: Subscription = {
      workerId,
      endpoint,
      consumer,
      offsets: new Map(),
      committed: new Map(),
      inflight: new Map(),
      active: true,
      paused: false,
    };
    this.#subs.add(sub);
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      assigned = [...(e.payload.memberAssignment[o.topics.tasks] ?? [])];
      const kept = new Set(assigned);
      for (const partition of [...sub.offsets.keys()]) {
        if (kept.has(partition)) continue;
        sub.offsets.delete(partition);
        sub.committed.delete(partition);
      }
    });
    const joined = groupJoined(consumer, o.joinTimeoutMs, `worker ${workerId}`);
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: o.topics.tasks, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: Math.max(1, o.partitions),
        eachMessage: async ({ partition, message }) => this.#onMessage(sub, partition, message),
      });
      await Promise.all([joined, this.#control]);
    } catch (err) {
      sub.active = false;
      this.#subs.delete(sub);
      joined.catch(() => {});
      await consumer.disconnect().catch(() => {});
      throw err;
    }
    return async () => {
      if (!sub.active) return;
      sub.active = false;
      this.#subs.delete(sub);
      await this.#chain;
      await consumer.disconnect();
    };
  }

  async #onMessage(
    sub: Subscription,
    partition: number,
    message: { offset: string; value: Buffer | null; headers?: Record<string, unknown> },
  ): Promise<void> {
    if (!sub.active) return; // left: not committed, so another member gets it
    const offset = Number(message.offset);
    const entries = sub.offsets.get(partition) ?? new Map<number, boolean>();
    sub.offsets.set(partition, entries);
    const headers = headerText(message.headers as Parameters<typeof headerText>[0]);
    const decoded = decodeAssignment(message.value, headers);
    if (!decoded.ok) {
      try {
        await this.#sender.send(this.#o.topics.deadLetter, {
          key: `${this.#o.topics.tasks}/${partition}/${offset}`,
          value: message.value?.toString() ?? '',
          headers: { ...headers, [HEADER.error]: decoded.reason },
        });
        this.#stats.deadLettered++;
        this.#o.log(`task message ${partition}/${offset} dead-lettered: ${decoded.reason}`);
        entries.set(offset, true);
        this.#schedule();
      } catch (err) {
        // Not committed: the message comes back after a rebalance or restart.
        entries.set(offset, false);
        this.#o.log(`dead-lettering ${partition}/${offset} failed: ${String(err)}`);
      }
      return;
    }
    const a = decoded.assignment;
    const key = attemptKey(a);
    if (this.#seen.has(key)) this.#stats.redelivered++;
    else {
      if (this.#seen.size > 100_000) this.#seen.clear();
      this.#seen.add(key);
    }
    if (!entries.has(offset)) entries.set(offset, false);
    const finished = this.#finished.get(key);
    if (finished && !sub.inflight.has(key)) {
      // This attempt already ran here and its result went out (or is going out) in a batch
      // that did not commit, e.g. across a broker restart: send that result again with this
      // message's offset instead of running the task a second time.
      sub.inflight.set(key, [{ partition, offset }]);
      this.publish(finished).catch(() => {});
      return;
    }
    const running = sub.inflight.get(key);
    if (running) {
      // Our own uncommitted message again (a rebalance kept the partition): it is running already.
      if (!running.some((m) => m.partition === partition && m.offset === offset))
        running.push({ partition, offset });
      return;
    }
    sub.inflight.set(key, [{ partition, offset }]);
    this.#stats.delivered++;
    if (sub.inflight.size >= this.#o.maxInFlight && !sub.paused) {
      sub.paused = true;
      sub.consumer.pause([{ topic: this.#o.topics.tasks }]);
    }
    try {
      sub.endpoint.onTask(a);
    } catch (err) {
      // Left in flight and uncommitted: it comes back after a rebalance or restart.
      this.#o.log(`worker ${sub.workerId} refused ${key}: ${String(err)}`);
      return;
    }
    if (this.#earlyCancels.delete(key))
      sub.endpoint.onCancel({ runId: a.runId, taskId: a.taskId, attempt: a.attempt });
  }

  async #startControl(): Promise<Consumer> {
    const o = this.#o;
    const groupId = `${o.prefix}.control.${o.instanceId}`;
    const consumer = this.#kafka.consumer({
      groupId,
      sessionTimeout: o.sessionTimeoutMs,
      rebalanceTimeout: o.rebalanceTimeoutMs,
      heartbeatInterval: o.consumerHeartbeatIntervalMs,
      maxWaitTimeInMs: o.maxWaitTimeInMs,
      metadataMaxAge: o.metadataMaxAgeMs,
      allowAutoTopicCreation: false,
    });
    const joined = groupJoined(consumer, o.joinTimeoutMs, 'control consumer', true);
    await consumer.connect();
    await consumer.subscribe({ topic: o.topics.control, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const cancel = decodeCancel(message.value);
        if (!cancel) return;
        const key = attemptKey(cancel);
        const c = { runId: cancel.runId, taskId: cancel.taskId, attempt: cancel.attempt };
        let held = false;
        for (const sub of this.#subs) {
          if (!sub.inflight.has(key)) continue;
          held = true;
          sub.endpoint.onCancel(c);
        }
        // The cancel overtook its task (another topic): keep it for a while.
        if (!held) {
          const now = Date.now();
          for (const [k, at] of this.#earlyCancels) if (at < now - 60_000) this.#earlyCancels.delete(k);
          if (this.#earlyCancels.size < 10_000) this.#earlyCancels.set(key, now);
        }
      },
    });
    await joined;
    return consumer;
  }

  /** Queues a result; resolves once it (and the offsets it finished) are committed. */
  publish(result: TaskResult): Promise<void> {
    const key = attemptKey(result);
    // Kept a while, so a redelivery of the same attempt gets this result rather than a re-run.
    this.#finished.delete(key);
    this.#finished.set(key, result);
    if (this.#finished.size > 10_000) this.#finished.delete(this.#finished.keys().next().value!);
    const marks: QueuedResult['marks'] = [];
    for (const sub of this.#subs) {
      const messages = sub.inflight.get(key);
      if (!messages) continue;
      sub.inflight.delete(key);
      if (sub.paused && sub.active && sub.inflight.size < this.#o.maxInFlight) {
        sub.paused = false;
        sub.consumer.resume([{ topic: this.#o.topics.tasks }]);
      }
      for (const m of messages) {
        sub.offsets.get(m.partition)?.set(m.offset, true);
        marks.push({ sub, ...m });
      }
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ result, marks, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#queue.length >= this.#o.maxBatchResults) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#flushSoon();
    } else {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#flushSoon();
      }, this.#o.flushIntervalMs);
    }
  }

  #flushSoon(): void {
    this.#chain = this.#chain.then(() => this.#flush());
  }

  async #flush(): Promise<void> {
    const batch = this.#queue;
    this.#queue = [];
    const marks = new Map<Subscription, Map<number, number>>();
    for (const sub of this.#subs) {
      const w = watermarks(sub);
      if (w.size) marks.set(sub, w);
    }
    if (batch.length === 0 && marks.size === 0) return;
    const messages = batch.map((q) => encodeResult(q.result));
    try {
      if (this.#o.transactions) {
        this.#tx ??= await this.#newTxProducer();
        const tx = await this.#tx.transaction();
        try {
          if (messages.length) await tx.send({ topic: this.#o.topics.results, messages, acks: -1 });
          const partitions = new Map<number, number>();
          for (const w of marks.values())
            for (const [p, o] of w) partitions.set(p, Math.max(o, partitions.get(p) ?? 0));
          if (partitions.size) {
            await tx.sendOffsets({
              consumerGroupId: this.#o.groupId,
              topics: [
                {
                  topic: this.#o.topics.tasks,
                  partitions: [...partitions].map(([partition, offset]) => ({
                    partition,
                    offset: String(offset),
                  })),
                },
              ],
            });
          }
          await tx.commit();
          this.#stats.transactions++;
        } catch (err) {
          await tx.abort().catch(() => {});
          throw err;
        }
      } else {
        await Promise.all(messages.map((m) => this.#sender.send(this.#o.topics.results, m)));
        for (const [sub, w] of [...marks]) {
          const offsets = [...w].map(([partition, offset]) => ({
            topic: this.#o.topics.tasks,
            partition,
            offset: String(offset),
          }));
          try {
            await sub.consumer.commitOffsets(offsets);
          } catch (err) {
            // The results are out; an uncommitted offset only means a redelivery later.
            marks.delete(sub);
            this.#o.log(`offset commit failed (tasks may run again): ${String(err)}`);
          }
        }
      }
    } catch (err) {
      if (!this.#closing) {
        // The broker is away (restart, leader change): keep the results and their finished
        // offsets and try again, so the partition's watermark does not stall on them. A result
        // sent twice is harmless: the store records one completion per attempt.
        this.#failures++;
        this.#queue = [...batch, ...this.#queue];
        // A transactional producer can be left unusable by a broker restart (its producer id
        // or epoch no longer valid): after a few failures in a row, start a new one (same
        // transactional id, so the broker aborts whatever the old one left open).
        if (this.#tx && this.#failures % 3 === 0) {
          const old = this.#tx;
          this.#tx = undefined;
          await old.disconnect().catch(() => {});
          this.#tx = await this.#newTxProducer().catch((e: unknown) => {
            this.#o.log(`recreating the transactional producer failed: ${String(e)}`);
            return undefined;
          });
          if (!this.#tx) this.#failures--; // try to recreate it on the next failure
        }
        const delay = Math.min(5000, 100 * 2 ** Math.min(this.#failures - 1, 6));
        this.#o.log(`publishing ${batch.length} result(s) failed, retrying in ${delay} ms: ${String(err)}`);
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#flushSoon();
        }, delay);
        return;
      }
      // Closing: their messages stay uncommitted, so they run again after a rebalance or restart.
      for (const q of batch) for (const m of q.marks) m.sub.offsets.get(m.partition)?.set(m.offset, false);
      const error = err instanceof SmartQueueError ? err : unavailable('publishing results failed', err);
      for (const q of batch) q.reject(error);
      return;
    }
    this.#failures = 0;
    for (const [sub, w] of marks) {
      for (const [partition, mark] of w) {
        sub.committed.set(partition, mark);
        const entries = sub.offsets.get(partition);
        if (entries) for (const offset of [...entries.keys()]) if (offset < mark) entries.delete(offset);
      }
    }
    for (const q of batch) q.resolve();
  }

  /** Flushes waiting results, then leaves the group and closes the consumers and producer. */
  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length) this.#flushSoon();
    await this.#chain;
    const subs = [...this.#subs];
    this.#subs.clear();
    for (const s of subs) s.active = false;
    await Promise.allSettled(subs.map((s) => s.consumer.disconnect()));
    const control = await this.#control?.catch(() => undefined);
    await control?.disconnect().catch(() => {});
    await this.#tx?.disconnect().catch(() => {});
  }
}
