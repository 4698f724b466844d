/**
 * A worker process on the Kafka transport (`smartqueue worker --transport kafka://...`): it joins
 * the workers' consumer group on the tasks topic, runs what its partitions carry with a
 * LocalWorker, publishes results (in Kafka transactions, by default), and heartbeats its load on
 * the heartbeats topic so schedulers count it in their balancer and notice when it dies.
 */
import type { TaskHandler } from '../engine/handler.js';
import type { AttemptTracer } from '../engine/stages.js';
import type { ThreadRunner } from '../engine/threads/run-in-thread.js';
import { LocalWorker } from '../engine/worker.js';
import type { AttemptListener, TaskLogLine } from '../engine/worker.js';
import type { KafkaTransport } from '../plugins/transport/kafka/index.js';

export interface KafkaWorkerOptions {
  /** `kafka://host:9092[,host2:9092]?prefix=...&transactions=...` (see the Kafka transport). */
  url: string;
  id: string;
  /** Attempts run at once (told to schedulers in heartbeats). */
  capacity: number;
  handlers: Map<string, TaskHandler>;
  threads?: ThreadRunner;
  /** Heartbeat interval (ms). @default the transport's */
  heartbeatIntervalMs?: number;
  logger?: (line: TaskLogLine) => void;
  /** Transport log lines (results retried, dead letters). @default dropped */
  log?: (line: string) => void;
  /**
   * The tracer of attempts taken from `topic` (e.g. `Tracing.workerTracer`): their execute spans
   * follow the messaging conventions and continue the trace in the message headers.
   * @default untraced
   */
  tracerFor?: (route: { kind: 'kafka'; topic: string; consumerGroup: string }) => AttemptTracer;
  /** Told of every attempt this worker finished (worker metrics). @default none */
  onAttemptFinished?: AttemptListener;
}

export interface KafkaWorker {
  readonly id: string;
  readonly busy: number;
  /** The worker's Kafka transport (metrics read its stats, consumer lag and producer). */
  readonly transport: KafkaTransport;
  /** Stops heartbeats (schedulers drop it at once), gives running attempts `graceMs`, then leaves the group. */
  close(options?: { graceMs?: number }): Promise<void>;
}

export async function startKafkaWorker(o: KafkaWorkerOptions): Promise<KafkaWorker> {
  const kafka = await import('../plugins/transport/kafka/index.js');
  const transport = await kafka.createKafkaTransport({
    ...kafka.kafkaTransportOptionsFromUrl(o.url),
    role: 'worker',
    instanceId: o.id,
    maxInFlight: o.capacity,
    ...(o.log && { log: o.log }),
    ...(o.heartbeatIntervalMs !== undefined && { heartbeatIntervalMs: o.heartbeatIntervalMs }),
  });
  let worker: LocalWorker | undefined;
  let stopBeats: (() => Promise<void>) | undefined;
  try {
    await transport.ensureTopics();
    worker = new LocalWorker({
      id: o.id,
      capacity: o.capacity,
      transport,
      handlers: o.handlers,
      ...(o.threads && { threads: o.threads }),
      ...(o.logger && { logger: o.logger }),
      ...(o.tracerFor && {
        tracer: o.tracerFor({
          kind: 'kafka',
          topic: transport.options.topics.tasks,
          consumerGroup: transport.options.groupId,
        }),
      }),
      ...(o.onAttemptFinished && { onAttemptFinished: o.onAttemptFinished }),
    });
    await worker.start();
    const w = worker;
    stopBeats = transport.announce(
      { id: o.id, capacity: o.capacity, handlers: [...o.handlers.keys()] },
      () => ({
        running: w.busy,
        load: w.busy,
      }),
    );
  } catch (err) {
    await worker?.close().catch(() => {});
    await transport.close();
    throw err;
  }
  const started = worker;
  const beats = stopBeats;
  let closing: Promise<void> | undefined;
  return {
    id: o.id,
    transport,
    get busy() {
      return started.busy;
    },
    close(options = {}) {
      closing ??= (async () => {
        await beats().catch(() => {});
        const until = Date.now() + (options.graceMs ?? 0);
        while (started.busy > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        await started.close();
        await transport.close();
      })();
      return closing;
    },
  };
}
