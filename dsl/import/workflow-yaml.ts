/**
 * Writes a workflow IR back as a workflow file (YAML, the format of workflows/examples), for
 * importers: the file is what a user keeps, edits and validates, so it must read like a
 * hand-written one (durations as text, defaults left out, short lists inline).
 */
import { Document, isMap, isSeq, visit } from 'yaml';
import type { DeadlineIR, TaskIR, WorkflowIR } from '../ir.js';
import { IR_DEFAULTS } from '../ir.js';
import { API_VERSION } from '../schema.js';

const ms = (n: number) => `${n}ms`;

function deadlineText(d: DeadlineIR): string {
  return d.kind === 'relative' ? ms(d.ms) : d.text;
}

function sameRetries(t: TaskIR): boolean {
  const a = t.retries;
  const b = IR_DEFAULTS.retries;
  return (
    a.max === b.max &&
    a.backoff === b.backoff &&
    a.initialMs === b.initialMs &&
    a.maxDelayMs === b.maxDelayMs &&
    a.jitter === b.jitter
  );
}

function taskDocument(t: TaskIR, runPriority: number): Record<string, unknown> {
  const out: Record<string, unknown> = { id: t.id };
  if (t.name !== undefined) out.name = t.name;
  if (t.needs.length > 0) out.needs = t.needs;
  if (t.handler.kind === 'run') {
    out.run = t.handler.argv;
    if (t.handler.cwd !== undefined) out.cwd = t.handler.cwd;
    if (t.handler.env !== undefined) out.env = t.handler.env;
  } else {
    out.uses = t.handler.name;
    if (Object.keys(t.handler.with).length > 0) out.with = t.handler.with;
  }
  if (t.priority !== runPriority) out.priority = t.priority;
  if (t.deadline) out.deadline = deadlineText(t.deadline);
  if (t.estimateMs !== undefined) out.estimate = ms(t.estimateMs);
  if (t.timeoutMs !== undefined) out.timeout = ms(t.timeoutMs);
  if (!sameRetries(t)) {
    out.retries = {
      max: t.retries.max,
      backoff: t.retries.backoff,
      initial: ms(t.retries.initialMs),
      maxDelay: ms(t.retries.maxDelayMs),
      jitter: t.retries.jitter,
    };
  }
  for (const key of ['idempotencyKey', 'shardKey', 'when', 'outputs', 'thread'] as const) {
    if (t[key] !== undefined) out[key] = t[key];
  }
  return out;
}

/**
 * The workflow file of `ir`, with `header` lines as a leading comment. Workflows with params or a
 * schedule are not what importers produce and are refused rather than written half.
 */
export function workflowToYaml(ir: WorkflowIR, header: string[] = []): string {
  if (Object.keys(ir.params).length > 0 || ir.schedule) {
    throw new Error('workflowToYaml writes workflows without params or schedule');
  }
  const spec: Record<string, unknown> = {};
  if (ir.deadline) spec.deadline = deadlineText(ir.deadline);
  if (ir.priority !== IR_DEFAULTS.priority) spec.priority = ir.priority;
  if (ir.shardKey !== undefined) spec.shardKey = ir.shardKey;
  if (ir.failurePolicy !== IR_DEFAULTS.failurePolicy) spec.failurePolicy = ir.failurePolicy;
  spec.tasks = ir.tasks.map((t) => taskDocument(t, ir.priority));
  const metadata: Record<string, unknown> = { name: ir.name };
  if (ir.description !== undefined) metadata.description = ir.description;
  if (Object.keys(ir.labels).length > 0) metadata.labels = ir.labels;
  const doc = new Document({ apiVersion: API_VERSION, kind: 'Workflow', metadata, spec });
  // Short lists and handler arguments read best inline: `needs: [a, b]`, `with: { duration: 5ms }`.
  visit(doc, {
    Pair(_key, pair) {
      const k = (pair.key as { value?: unknown } | null)?.value;
      if ((k === 'needs' || k === 'outputs') && isSeq(pair.value)) pair.value.flow = true;
      if (k === 'with' && isMap(pair.value)) pair.value.flow = true;
    },
  });
  if (header.length > 0) doc.commentBefore = header.map((l) => (l === '' ? l : ` ${l}`)).join('\n');
  return doc.toString({ lineWidth: 100, flowCollectionPadding: false });
}
