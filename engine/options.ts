/**
 * Engine options, validated and defaulted in one place.
 */
import { IR_DEFAULTS } from '../dsl/ir.js';
import { SmartQueueError } from './errors.js';
import { resolvePredictionOptions } from './prediction.js';
import type { PredictionOptions, ResolvedPredictionOptions } from './prediction.js';
import { DEFAULT_AGING, LATE_POLICIES, ORDERING_POLICIES } from './priority.js';
import type { AgingHorizons, LatePolicy, OrderingPolicy } from './priority.js';
import type {
  AttemptTraceSource,
  Balancer,
  CheckpointStore,
  Coordinator,
  Predictor,
  ShardFence,
  Transport,
} from './stages.js';

export interface EngineOptions {
  store: CheckpointStore;
  transport: Transport;
  balancer: Balancer;
  coordinator: Coordinator;
  /** Estimates durations of tasks that declare none. */
  predictor?: Predictor;
  /** Number of shards (one heap each). @default 4 */
  shards?: number;
  /** Heap arity. @default 4 */
  heapArity?: number;
  /** Dispatches per tick before yielding. @default 512 */
  maxPerTick?: number;
  /** Aging horizons of tasks without deadlines. @default { high: 1 min, medium: 5 min, low: 15 min } */
  aging?: Partial<AgingHorizons>;
  /**
   * How ready tasks are ordered: `lst` (deadline-aware least laxity, DESIGN.md), `priority`
   * (priority class only, FIFO within it; can starve low priority) or `fifo` (arrival order).
   * The last two exist as baselines for benchmarks and for users who want strict classes.
   * @default 'lst'
   */
  ordering?: OrderingPolicy;
  /**
   * Under `lst` ordering, what happens to a ready task that can no longer meet its deadline:
   * `defer` (it waits behind every task that still can) or `keep` (pure least laxity). See
   * {@link LatePolicy}. @default 'defer'
   */
  lateTasks?: LatePolicy;
  /** Estimate of tasks that declare none and get no prediction. @default 1000 */
  defaultEstimateMs?: number;
  /** Random source for retry jitter (tests pass a seeded one). @default Math.random */
  random?: () => number;
  /**
   * Cluster mode: the fencing token of the shard owning a run, carried on its completions so a
   * scheduler that lost the shard cannot record them (see CheckpointStore.fenceShard). A
   * completion the store refuses as fenced detaches the run here. @default none (no fencing)
   */
  fenceOf?: (runId: string) => ShardFence | undefined;
  /**
   * Trace context of attempts (plugins/telemetry/tracing): carried to workers in the
   * assignment's headers, its trace id kept in the task record. @default none (no tracing)
   */
  tracing?: AttemptTraceSource;
  /**
   * The prediction loop: load-history step, and the rules of the recommended worker and shard
   * counts (engine/prediction.ts). @default { stepMs: 1000, targetUtilisation: 0.8, shardArrivalRate: 500, ... }
   */
  prediction?: PredictionOptions;
}

export interface ResolvedEngineOptions extends Required<
  Omit<EngineOptions, 'predictor' | 'aging' | 'fenceOf' | 'tracing' | 'prediction'>
> {
  prediction: ResolvedPredictionOptions;
  predictor?: Predictor;
  fenceOf?: (runId: string) => ShardFence | undefined;
  tracing?: AttemptTraceSource;
  aging: AgingHorizons;
}

function positiveInt(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new SmartQueueError('INVALID_OPTIONS', `${name} must be an integer from 1 to ${max}, got ${value}`);
  }
  return value;
}

export function resolveEngineOptions(raw: EngineOptions): ResolvedEngineOptions {
  for (const stage of ['store', 'transport', 'balancer', 'coordinator'] as const) {
    if (!raw[stage]) throw new SmartQueueError('INVALID_OPTIONS', `engine option "${stage}" is required`);
  }
  const aging = { ...DEFAULT_AGING, ...raw.aging };
  for (const [k, v] of Object.entries(aging)) {
    if (!(v >= 0))
      throw new SmartQueueError('INVALID_OPTIONS', `aging.${k} must be a non-negative number of ms`);
  }
  const ordering = raw.ordering ?? 'lst';
  if (!ORDERING_POLICIES.includes(ordering)) {
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `ordering must be one of ${ORDERING_POLICIES.join(', ')}, got ${String(ordering)}`,
    );
  }
  const lateTasks = raw.lateTasks ?? 'defer';
  if (!LATE_POLICIES.includes(lateTasks)) {
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `lateTasks must be one of ${LATE_POLICIES.join(', ')}, got ${String(lateTasks)}`,
    );
  }
  const resolved: ResolvedEngineOptions = {
    store: raw.store,
    transport: raw.transport,
    balancer: raw.balancer,
    coordinator: raw.coordinator,
    shards: positiveInt('shards', raw.shards, 4, 1024),
    heapArity: positiveInt('heapArity', raw.heapArity, 4, 16),
    maxPerTick: positiveInt('maxPerTick', raw.maxPerTick, 512, 1_000_000),
    aging,
    ordering,
    lateTasks,
    defaultEstimateMs: raw.defaultEstimateMs ?? IR_DEFAULTS.estimateMs,
    random: raw.random ?? Math.random,
    prediction: resolvePredictionOptions(raw.prediction),
  };
  if (raw.predictor) resolved.predictor = raw.predictor;
  if (raw.fenceOf) resolved.fenceOf = raw.fenceOf;
  if (raw.tracing) resolved.tracing = raw.tracing;
  return resolved;
}
