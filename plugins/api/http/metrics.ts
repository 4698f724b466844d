/**
 * A first, small set of Prometheus metrics fed from engine events (a later issue expands them).
 * Each SmartQueue process gets its own registry, never prom-client's global one, so two servers
 * in one process (tests) do not share counters.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { EngineEventBus } from '../../../engine/events.js';

export interface EngineMetricsOptions {
  engineEvents: EngineEventBus;
  /** Current ready tasks (e.g. `() => engine.readyCount`); the gauge is left out without it. */
  readyTasks?: () => number;
  /** Registry to register in. @default a new Registry */
  registry?: Registry;
}

/** Metrics and their registry; `close()` stops listening to the engine. */
export interface EngineMetrics {
  readonly registry: Registry;
  /** The exposition text (Prometheus text format). */
  text(): Promise<string>;
  readonly contentType: string;
  close(): void;
}

export function createEngineMetrics(options: EngineMetricsOptions): EngineMetrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  const dispatched = new Counter({
    name: 'smartqueue_task_attempts_dispatched_total',
    help: 'Task attempts sent to a worker.',
    registers,
  });
  const succeeded = new Counter({
    name: 'smartqueue_task_attempts_succeeded_total',
    help: 'Task attempts that succeeded (each recorded once).',
    registers,
  });
  const failed = new Counter({
    name: 'smartqueue_task_attempts_failed_total',
    help: 'Task attempts that failed or timed out, by whether another attempt follows.',
    labelNames: ['will_retry'] as const,
    registers,
  });
  const runsFinished = new Counter({
    name: 'smartqueue_runs_finished_total',
    help: 'Runs that finished, by final status.',
    labelNames: ['status'] as const,
    registers,
  });
  const readyTasks = options.readyTasks;
  if (readyTasks) {
    new Gauge({
      name: 'smartqueue_tasks_ready',
      help: 'Tasks whose needs are done, waiting for a worker.',
      registers,
      collect() {
        this.set(readyTasks());
      },
    });
  }
  const bus = options.engineEvents;
  const stops = [
    bus.on('task:attempt:dispatched', () => dispatched.inc()),
    bus.on('task:attempt:succeeded', () => succeeded.inc()),
    bus.on('task:attempt:failed', (e) => failed.inc({ will_retry: String(e.willRetry) })),
    bus.on('run:state:finished', (e) => runsFinished.inc({ status: e.status })),
  ];
  return {
    registry,
    text: () => registry.metrics(),
    contentType: registry.contentType,
    close() {
      for (const stop of stops.splice(0)) stop();
    },
  };
}
