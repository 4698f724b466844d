/**
 * The observability files under deploy/ against the code and the tools that load them:
 *   - every metric named by an alert or recording rule, a Grafana panel or a dashboard variable
 *     is one the metrics module exports (or a recording rule, or Prometheus' own `up`);
 *   - every alert has a severity, summary, description and a one-line runbook, and unit tests
 *     (deploy/prometheus/tests) where it fires and where it does not;
 *   - promtool accepts the rules, the scrape config and the rule tests (and the tests fail when
 *     an alert is removed), amtool accepts the Alertmanager config and routes by severity.
 * The tool tests need promtool/amtool (`bash scripts/services install prometheus`): they fail
 * with CI=true when missing and are skipped elsewhere.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseDocument, stringify } from 'yaml';
import { withTool } from '../../support/services.js';
import { exportedSeriesNames } from './exported-metrics.js';
import { grafanaVariableMetricNames, promqlMetricNames } from './promql-names.js';

const DEPLOY = join(import.meta.dirname, '../../../deploy');
const RULES_DIR = join(DEPLOY, 'prometheus/rules');
const TESTS_DIR = join(DEPLOY, 'prometheus/tests');
const DASHBOARD = join(DEPLOY, 'grafana/dashboards/smartqueue.json');
const ALERTMANAGER = join(DEPLOY, 'alertmanager/alertmanager.yml');
/** Series Prometheus makes itself for every target (scrape health), not exported by the code. */
const PROMETHEUS_SERIES = new Set(['up']);

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: { expr?: string }[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
}

const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .map((f) => join(dir, f));
const ruleFiles = yamlFiles(RULES_DIR);
const testFiles = yamlFiles(TESTS_DIR);
const rules: Rule[] = ruleFiles.flatMap((f) =>
  (parse(readFileSync(f, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules),
);
const alerts = rules.filter((r) => r.alert);
const alertNames = [...new Set(alerts.map((r) => r.alert!))];
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const allPanels = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
const panels = allPanels(dashboard.panels);

describe('PromQL metric-name tokenizer', () => {
  it('keeps metric names and drops functions, keywords, labels, strings, durations and variables', () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.95, sum by (job, le) (rate(a_bucket{instance=~"$instance", x="b_total"}[$__rate_interval])))' +
          ' / on (job) group_left (version) max without (pod) (b_total offset 5m) > bool 1e-7 and c:recorded' +
          ' unless ignoring(shard) d_total[5m:30s] or ${datasource} * sum(e) by (k) - atan2(f, 2)',
      ),
    ).toEqual(['a_bucket', 'b_total', 'c:recorded', 'd_total', 'e', 'f']);
  });
  it('reads the selector of label_values() in Grafana variables, not the label', () => {
    expect(
      grafanaVariableMetricNames('label_values(smartqueue_tasks_ready{instance=~"$instance"}, shard)'),
    ).toEqual(['smartqueue_tasks_ready']);
    expect(grafanaVariableMetricNames('label_values(instance)')).toEqual([]);
    expect(grafanaVariableMetricNames('query_result(max by (x) (y))')).toEqual(['y']);
  });
});

describe('metric names in the rules and the dashboard are exported by the code', () => {
  const exported = exportedSeriesNames();
  const recorded = new Set(rules.filter((r) => r.record).map((r) => r.record!));
  const unknown = (expr: string, names = promqlMetricNames(expr)) =>
    names.filter((n) => !exported.has(n) && !recorded.has(n) && !PROMETHEUS_SERIES.has(n));

  it('the metrics module exports the catalog and the default process metrics', () => {
    for (const name of [
      'smartqueue_task_queue_wait_seconds_bucket',
      'smartqueue_task_attempts_finished_total',
      'smartqueue_tasks_ready',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
      'smartqueue_build_info',
    ])
      expect(exported, name).toContain(name);
  });

  it.each(rules.map((r) => [r.alert ?? r.record!, r] as const))('rule %s', (_name, rule) => {
    expect(promqlMetricNames(rule.expr).length).toBeGreaterThan(0);
    expect(unknown(rule.expr)).toEqual([]);
  });

  it.each(panels.filter((p) => p.type !== 'row').map((p) => [p.title, p] as const))(
    'panel "%s"',
    (_t, panel) => {
      const exprs = (panel.targets ?? []).map((t) => t.expr ?? '');
      expect(exprs.length).toBeGreaterThan(0);
      for (const expr of exprs) {
        expect(promqlMetricNames(expr).length, expr).toBeGreaterThan(0);
        expect(unknown(expr), expr).toEqual([]);
      }
    },
  );

  it('dashboard variables', () => {
    const queries = dashboard.templating.list
      .filter((v) => v.type === 'query')
      .map((v) => (typeof v.query === 'string' ? v.query : v.query!.query));
    expect(queries.length).toBeGreaterThan(0);
    for (const q of queries) expect(unknown(q, grafanaVariableMetricNames(q)), q).toEqual([]);
  });
});

describe('alert rules', () => {
  const cases = testFiles.flatMap((f) =>
    ((parse(readFileSync(f, 'utf8')) as { tests: RuleTest[] }).tests ?? []).flatMap(
      (t) => t.alert_rule_test ?? [],
    ),
  );

  it.each(alerts.map((a) => [`${a.alert} (${a.labels?.severity})`, a] as const))(
    '%s is documented',
    (_n, a) => {
      expect(['critical', 'warning']).toContain(a.labels?.severity);
      for (const key of ['summary', 'description', 'runbook']) expect(a.annotations?.[key], key).toBeTruthy();
      expect(a.annotations!.runbook).not.toContain('\n');
    },
  );

  it.each(alertNames)('%s has promtool tests where it fires and where it does not', (name) => {
    const mine = cases.filter((c) => c.alertname === name);
    expect(mine.some((c) => (c.exp_alerts ?? []).length > 0)).toBe(true);
    expect(mine.some((c) => (c.exp_alerts ?? []).length === 0)).toBe(true);
  });

  it.each(alertNames)('%s is in the runbook table of deploy/README.md', (name) => {
    expect(readFileSync(join(DEPLOY, 'README.md'), 'utf8')).toContain(`| ${name} `);
  });
});

describe('Grafana dashboard', () => {
  it('has a uid, a recent schema, unique panel ids, the rows and the variables', () => {
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual([
      'Overview',
      'Per shard',
      'Workers',
      'Kafka',
      'Deadlines',
    ]);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'instance', 'shard']);
  });

  it('every panel queries through the datasource variable', () => {
    for (const p of panels.filter((p) => p.type !== 'row'))
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
  });
});

const run = promisify(execFile);
/** Runs a tool; resolves with its output, or rejects with the output in the message. */
async function tool(command: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: DEPLOY });
    return stdout + stderr;
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} exited ${e.code}:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

withTool('promtool', 'bash scripts/services install prometheus', 'promtool', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'sq-rules-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('check rules', async () => {
    expect(await tool('promtool', ['check', 'rules', ...ruleFiles])).toContain(
      `SUCCESS: ${rules.length} rules found`,
    );
  });

  it('check config (the scrape config and the rule files it loads)', async () => {
    expect(await tool('promtool', ['check', 'config', 'prometheus/prometheus.yml'])).toContain('SUCCESS');
  });

  it('test rules: every test file passes', async () => {
    const out = await tool('promtool', ['test', 'rules', ...testFiles]);
    expect(out.match(/SUCCESS/g)?.length).toBe(testFiles.length);
  });

  // The rule tests are only worth their name if they notice a missing alert.
  it.each(alertNames)('test rules fail without %s', async (name) => {
    const dir = mkdtempSync(join(scratch, `${name}-`));
    cpSync(join(DEPLOY, 'prometheus'), dir, { recursive: true });
    for (const file of yamlFiles(join(dir, 'rules'))) {
      const doc = parseDocument(readFileSync(file, 'utf8'));
      const groups = (doc.toJS() as { groups: { name: string; rules: Rule[] }[] }).groups;
      for (const g of groups) g.rules = g.rules.filter((r) => r.alert !== name);
      writeFileSync(file, stringify({ groups }));
    }
    const files = yamlFiles(join(dir, 'tests'));
    const failure = await run('promtool', ['test', 'rules', ...files], { cwd: dir }).then(
      () => undefined,
      (error: { code?: number; stdout?: string; stderr?: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(`${failure?.stdout}${failure?.stderr}`).toContain(`alertname: ${name}`);
  });
});

withTool('amtool', 'bash scripts/services install prometheus', 'amtool', () => {
  it('check-config', async () => {
    expect(await tool('amtool', ['check-config', ALERTMANAGER])).toContain('SUCCESS');
  });

  it.each([
    ['severity=critical', 'smartqueue-pager'],
    ['severity=warning', 'smartqueue-tickets'],
    ['team=other', 'smartqueue-default'],
  ])('routes %s to %s', async (labels, receiver) => {
    const args = [
      'config',
      'routes',
      'test',
      `--config.file=${ALERTMANAGER}`,
      `--verify.receivers=${receiver}`,
    ];
    expect(await tool('amtool', [...args, 'alertname=SmartQueueTest', labels])).toContain(receiver);
  });
});
