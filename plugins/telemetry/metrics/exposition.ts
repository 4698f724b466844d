/**
 * The two exposition formats of /metrics, chosen by the scraper's Accept header: the Prometheus
 * text format (the default, what `promtool check metrics` reads) and OpenMetrics, which alone
 * carries exemplars (the trace id of an observation in a latency bucket, so a slow bucket in
 * Grafana leads to its trace).
 *
 * prom-client renders one format per registry, and its OpenMetrics rendering renames counters in
 * place (it strips `_total` from the metric objects), which would corrupt a later text scrape of
 * the same registry. So both formats are rendered here from the registry's values
 * (`getMetricsAsJSON`, which mutates nothing); the registry itself is an OpenMetrics one only
 * because prom-client accepts exemplar-carrying histograms in no other.
 */
import type { AnyRegistry } from './registry.js';

/** Content type of the Prometheus text format (0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Content type of OpenMetrics 1.0 text. */
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** An exposition to send: its body and content type. */
export interface Exposition {
  contentType: string;
  body: string;
}

interface Sample {
  value: number;
  labels?: Record<string, string | number>;
  metricName?: string;
  exemplar?: { labelSet?: Record<string, string | number>; value?: number; timestamp?: number } | null;
}

interface Family {
  name: string;
  help: string;
  type: string;
  values?: Sample[];
}

/** Whether an Accept header asks for OpenMetrics (Prometheus sends it first when it wants exemplars). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return typeof accept === 'string' && /application\/openmetrics-text/i.test(accept);
}

/** The registry in the format `accept` asks for (Prometheus text unless it asks for OpenMetrics). */
export async function expose(registry: AnyRegistry, accept?: string): Promise<Exposition> {
  const families = (await registry.getMetricsAsJSON()) as unknown as Family[];
  return wantsOpenMetrics(accept)
    ? { contentType: OPENMETRICS_CONTENT_TYPE, body: renderOpenMetrics(families) }
    : { contentType: PROMETHEUS_CONTENT_TYPE, body: renderPrometheusText(families) };
}

/** The Prometheus text format (no exemplars: the format has none). */
export function renderPrometheusText(families: readonly Family[]): string {
  const blocks = families.map((f) => {
    const name = f.type === 'counter' && !f.name.endsWith('_total') ? `${f.name}_total` : f.name;
    const lines = [`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} ${f.type}`];
    for (const s of f.values ?? []) lines.push(`${s.metricName ?? name}${labels(s.labels)} ${num(s.value)}`);
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

/**
 * OpenMetrics text: counter families without `_total`, their samples with it, exemplars on
 * histogram buckets, `# EOF`. (HELP escapes quotes too in OpenMetrics.)
 */
export function renderOpenMetrics(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    const counter = f.type === 'counter';
    const family = counter ? f.name.replace(/_total$/, '') : f.name;
    lines.push(`# HELP ${family} ${escapeLabel(f.help)}`, `# TYPE ${family} ${f.type}`);
    for (const s of f.values ?? []) {
      const sample = counter ? `${family}_total` : (s.metricName ?? f.name);
      let line = `${sample}${labels(s.labels)} ${num(s.value)}`;
      const ex = s.exemplar;
      if (ex?.labelSet && Object.keys(ex.labelSet).length > 0 && typeof ex.value === 'number')
        line += ` # ${labels(ex.labelSet) || '{}'} ${num(ex.value)}${typeof ex.timestamp === 'number' ? ` ${ex.timestamp}` : ''}`;
      lines.push(line);
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

function labels(set: Record<string, string | number> | undefined): string {
  if (!set) return '';
  const parts = Object.entries(set).map(([k, v]) => `${k}="${escapeLabel(k === 'le' ? num(v) : String(v))}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
