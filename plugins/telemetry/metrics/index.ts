/**
 * Prometheus metrics of SmartQueue processes (prom-client, one Registry per process object):
 * the scheduler's (`serve`, served by plugins/api/http at /metrics) and the workers' (served by
 * a small endpoint at `smartqueue worker --metrics-address`). The names are listed in
 * docs/metrics.md; deploy/prometheus rules and deploy/grafana dashboards rely on them.
 */
export { createSchedulerMetrics, countWaitingOnNeeds } from './scheduler-metrics.js';
export type {
  CheckpointStatsSource,
  ClusterStatsSource,
  EngineMetrics,
  EngineStatsSource,
  SchedulerMetricsOptions,
  WorkerStatsSource,
} from './scheduler-metrics.js';
export { createWorkerMetrics, outcomeOf } from './worker-metrics.js';
export type { WorkerMetrics, WorkerMetricsOptions, WorkerPoolStats } from './worker-metrics.js';
export { registerTaskMetrics } from './task-metrics.js';
export { FORECAST_ERROR_BUCKETS, registerPredictionMetrics } from './prediction-metrics.js';
export type { PredictionStatsSource } from './prediction-metrics.js';
export type { AttemptOutcome } from './task-metrics.js';
export { createMetricsRegistry, newMetricsRegistry, smartQueueVersion } from './registry.js';
export type { AnyRegistry, MetricsRegistry, MetricsRegistryOptions } from './registry.js';
export {
  expose,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  renderOpenMetrics,
  renderPrometheusText,
  wantsOpenMetrics,
} from './exposition.js';
export type { Exposition } from './exposition.js';
export { parseMetricsAddress, startMetricsEndpoint } from './http-endpoint.js';
export type { MetricsEndpoint } from './http-endpoint.js';
export { createServerMetrics } from './server-metrics.js';
export type { ServerMetricsParts } from './server-metrics.js';
