/**
 * The registry every SmartQueue process serves at /metrics: one prom-client Registry per process
 * object (never prom-client's global one, so two servers in one test process do not share
 * counters), prom-client's default process metrics under their standard names (no prefix, so
 * stock Node.js dashboards work), and `smartqueue_build_info`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { OpenMetricsContentType, PrometheusContentType } from 'prom-client';

/**
 * The registry type of every SmartQueue process: an OpenMetrics one, the only kind prom-client
 * lets hold exemplar-carrying histograms; exposition.ts renders it in either format.
 */
export type MetricsRegistry = Registry<OpenMetricsContentType>;

/** Any prom-client registry a caller may pass in; only an OpenMetrics one gets exemplars. */
export type AnyRegistry = MetricsRegistry | Registry<PrometheusContentType>;

/** Buckets (seconds) of task latencies: queue wait, run time, end to end. */
export const LATENCY_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
];
/** Buckets (seconds) of slack at dispatch: negative when the task is already late to start. */
export const SLACK_BUCKETS = [-3600, -600, -60, -10, -1, 0, 1, 10, 60, 300, 600, 1800, 3600, 21600, 86400];
/** Buckets (seconds) of how late a missed deadline was. */
export const LATENESS_BUCKETS = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600];
/** Buckets (seconds) of one heap push or pop: fine, from 100 ns. */
export const HEAP_BUCKETS = [1e-7, 2.5e-7, 5e-7, 1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 1e-3];
/** Buckets (seconds) of one checkpoint batch write. */
export const FLUSH_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Buckets (writes) of one checkpoint batch. */
export const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/** Options of {@link createMetricsRegistry}. */
export interface MetricsRegistryOptions {
  /** Register prom-client's default process and Node.js metrics. @default true */
  defaultMetrics?: boolean;
  /** The `version` label of smartqueue_build_info. @default the version in package.json */
  version?: string;
}

/** prom-client default gauges whose `_total` suffix breaks the Prometheus naming rules. */
const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

let cachedVersion: string | undefined;

/** SmartQueue's version, from the package.json above this file (in the sources and in dist/). */
export function smartQueueVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'smartqueue' && typeof pkg.version === 'string') return (cachedVersion = pkg.version);
    }
    dir = dirname(dir);
  }
  return (cachedVersion = 'unknown');
}

/** An empty registry of the kind SmartQueue uses (see {@link MetricsRegistry}). */
export function newMetricsRegistry(): MetricsRegistry {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

/** A new Registry with the default process metrics and `smartqueue_build_info{version} 1`. */
export function createMetricsRegistry(options: MetricsRegistryOptions = {}): MetricsRegistry {
  const registry = newMetricsRegistry();
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // Gauges named like counters fail `promtool check metrics`; nodejs_active_handles,
    // nodejs_active_requests and nodejs_active_resources carry the same figures by type.
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  }
  new Gauge({
    name: 'smartqueue_build_info',
    help: 'Always 1; the version label says which SmartQueue runs.',
    labelNames: ['version'] as const,
    registers: [registry],
  }).set({ version: options.version ?? smartQueueVersion() }, 1);
  return registry;
}

/**
 * A counter whose value is read from a live, monotonic figure at scrape time (e.g. a store's
 * `stats.failedTransactions`), so the hot path that produces the figure knows nothing of metrics.
 */
export function pulledCounter(
  registry: AnyRegistry,
  name: string,
  help: string,
  read: () => number,
  labels: Record<string, string> = {},
): Counter<string> {
  const labelNames = Object.keys(labels);
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      // reset + inc sets the absolute value (prom-client counters have no set()).
      this.reset();
      this.inc(labels, read());
    },
  });
}
