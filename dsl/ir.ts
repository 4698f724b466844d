/**
 * The intermediate representation that the YAML loader and the TypeScript DSL both produce and
 * the compiler consumes. It is plain JSON (stored with every run, so a replay needs no source).
 */
import type { HandlerSpec } from '../engine/stages.js';

/** A deadline relative to the run start, or an absolute instant. */
export type DeadlineIR =
  { kind: 'relative'; ms: number } | { kind: 'absolute'; epochMs: number; text: string };

/** Resolved retry policy. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  max: number;
  backoff: 'fixed' | 'exponential';
  initialMs: number;
  maxDelayMs: number;
  /** Fraction 0..1 of each delay drawn at random (1 = full jitter). */
  jitter: number;
}

export interface ParamIR {
  type: 'string' | 'number' | 'integer' | 'boolean';
  default?: string | number | boolean;
  description?: string;
  enum?: (string | number)[];
  required: boolean;
}

export interface TaskIR {
  id: string;
  name?: string;
  needs: string[];
  /** What runs. Strings may hold `${{ }}` expressions, resolved at dispatch. */
  handler: HandlerSpec;
  /** 0..100, higher first. */
  priority: number;
  deadline?: DeadlineIR;
  /** Declared (or inferred) expected duration. */
  estimateMs?: number;
  timeoutMs?: number;
  retries: RetryPolicy;
  idempotencyKey?: string;
  shardKey?: string;
  when?: string;
  outputs?: string[];
  thread?: boolean;
}

export interface ScheduleIR {
  cron: string;
  timezone: string;
  catchUp: 'none' | 'latest' | 'all';
}

export interface WorkflowIR {
  apiVersion: 'smartqueue/v1';
  name: string;
  description?: string;
  labels: Record<string, string>;
  deadline?: DeadlineIR;
  priority: number;
  schedule?: ScheduleIR;
  shardKey?: string;
  failurePolicy: 'fail-fast' | 'continue';
  params: Record<string, ParamIR>;
  tasks: TaskIR[];
}

/** Numeric values of the priority classes. */
export const PRIORITY_VALUES = { high: 80, medium: 50, low: 20 } as const;

/** The class a numeric priority falls in (for metrics labels and aging). */
export function priorityClass(priority: number): 'high' | 'medium' | 'low' {
  if (priority >= 67) return 'high';
  if (priority >= 34) return 'medium';
  return 'low';
}

/** Defaults applied when a workflow says nothing. */
export const IR_DEFAULTS = {
  priority: PRIORITY_VALUES.medium,
  retries: {
    max: 0,
    backoff: 'exponential',
    initialMs: 1000,
    maxDelayMs: 60_000,
    jitter: 0.2,
  } as RetryPolicy,
  failurePolicy: 'fail-fast' as const,
  /** Estimate used for LFT/LST when a task declares none and nothing predicts one. */
  estimateMs: 1000,
};
