/**
 * The contract between the benchmark runner (bench/run.ts) and the scenarios
 * in bench/scenarios/. A scenario only computes numbers; the runner owns
 * progress output, RESULTS.md, the raw JSON files and the SVG charts, so every
 * scenario is reported the same way.
 */

/** What the runner hands to a scenario. */
export interface ScenarioContext {
  /** Small sizes for CI and smoke runs (the whole suite must stay under 2 minutes). */
  quick: boolean;
  /** How many repetitions each figure is the median of. */
  runs: number;
  /** Prints a progress line (prefixed with the scenario name) so long runs show they are alive. */
  progress(msg: string): void;
  /** Seeded pseudo-random generator in [0, 1); seeded per scenario so runs are reproducible. */
  rng: () => number;
}

/** One table of RESULTS.md. */
export interface ResultTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

/** One SVG chart, written to bench/results/<file>. */
export interface ResultChart {
  /** File name inside bench/results/, e.g. `heap-ops.svg`. */
  file: string;
  title: string;
  kind: 'line' | 'cdf' | 'bar';
  /** X axis label. */
  x: string;
  /** Y axis label. */
  y: string;
  series: { name: string; points: [number, number][] }[];
}

/** What a scenario returns. */
export interface ScenarioResult {
  tables: ResultTable[];
  charts?: ResultChart[];
  /** Free-text findings, one bullet each in RESULTS.md. */
  notes?: string[];
  /** Raw measurements, written verbatim to bench/results/<name>.json. */
  raw: unknown;
}

/** A benchmark scenario, registered in bench/scenarios/index.ts. */
export interface Scenario {
  /** Short identifier used by `--only` and for file names (kebab-case). */
  name: string;
  /** Heading in RESULTS.md. */
  title: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}
