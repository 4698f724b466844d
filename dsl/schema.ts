/**
 * The workflow file format, defined once with zod. The validator and dsl/workflow.schema.json
 * (for editors, through yaml-language-server) are both generated from these definitions.
 */
import { z } from 'zod';
import { DURATION_PATTERN, INSTANT_PATTERN } from './duration.js';

export const API_VERSION = 'smartqueue/v1';

/** Task and param ids: what expressions can name (`tasks.<id>.outputs.x`). */
export const ID_PATTERN = '^[A-Za-z_][A-Za-z0-9_-]{0,127}$';

const id = (what: string) =>
  z.string({ error: `expected a ${what} (a string)` }).regex(new RegExp(ID_PATTERN), {
    error: `invalid ${what}: use letters, digits, "_" and "-", starting with a letter or "_" (at most 128)`,
  });

export const durationSchema = z
  .string({ error: 'expected a duration such as "500ms", "45m", "1h30m" or "PT45M"' })
  .regex(new RegExp(DURATION_PATTERN), {
    error: 'invalid duration: use forms such as "500ms", "30s", "45m", "1h30m", "2d" or ISO-8601 "PT45M"',
  })
  .describe('A duration: "500ms", "30s", "45m", "1h30m", "2d" or ISO-8601 "PT45M".');

export const deadlineSchema = z
  .string({ error: 'expected a deadline: a duration from run start ("45m") or an ISO-8601 instant' })
  .regex(new RegExp(`(${DURATION_PATTERN})|(${INSTANT_PATTERN})`), {
    error:
      'invalid deadline: use a duration from run start ("45m", "1h30m") or an ISO-8601 instant with offset ("2026-12-01T06:00:00Z")',
  })
  .describe('A duration from the start of the run ("45m") or an ISO-8601 instant ("2026-12-01T06:00:00Z").');

export const PRIORITY_CLASSES = ['high', 'medium', 'low'] as const;

export const prioritySchema = z
  .union([z.enum(PRIORITY_CLASSES), z.int().min(0).max(100)], {
    error: 'expected a priority: "high", "medium", "low" or an integer from 0 to 100',
  })
  .describe('"high", "medium", "low", or 0..100 (higher runs first when deadlines tie).');

export const retrySchema = z
  .strictObject({
    max: z.int().min(0).max(100).describe('Retries after the first attempt.').optional(),
    backoff: z.enum(['fixed', 'exponential']).optional(),
    initial: durationSchema.describe('Delay before the first retry.').optional(),
    maxDelay: durationSchema.describe('Upper bound of the delay between attempts.').optional(),
    jitter: z
      .union([z.boolean(), z.number().min(0).max(1)])
      .describe('true (full jitter) or a fraction 0..1 of the delay drawn at random.')
      .optional(),
  })
  .describe('How failed attempts are retried.');

const RETRIES_ERROR =
  'expected retries: a number from 0 to 100, or a mapping with max, backoff, initial, maxDelay, jitter';

export const paramSchema = z
  .strictObject({
    type: z.enum(['string', 'number', 'integer', 'boolean']).optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    description: z.string().optional(),
    enum: z
      .array(z.union([z.string(), z.number()]))
      .min(1)
      .optional(),
    required: z.boolean().optional(),
  })
  .describe('A typed input of the workflow, overridable with --param name=value.');

const jsonValue = z.json();

export const taskSchema = z
  .strictObject({
    id: id('task id'),
    name: z.string().max(200).describe('Human-readable name.').optional(),
    needs: z.array(id('task id')).max(1000).describe('Ids of the tasks that must succeed first.').optional(),
    run: z
      .array(z.string(), { error: 'expected "run" to be an argv array such as ["python", "etl.py"]' })
      .min(1, { error: '"run" needs at least the program to run' })
      .describe('Program and arguments (argv). Never passed through a shell.')
      .optional(),
    uses: z
      .string()
      .min(1)
      .describe('A handler name: "sleep", "http", "noop", or one registered by your code.')
      .optional(),
    with: z.record(z.string(), jsonValue).describe('Arguments of the handler in "uses".').optional(),
    cwd: z.string().describe('Working directory of a "run" task.').optional(),
    env: z.record(z.string(), z.string()).describe('Environment variables of a "run" task.').optional(),
    priority: prioritySchema.optional(),
    deadline: deadlineSchema.optional(),
    estimate: durationSchema.describe('Expected duration, used for latest-start-time ordering.').optional(),
    timeout: durationSchema.describe('Attempt timeout; the handler is aborted when it expires.').optional(),
    retries: z.union([z.int().min(0).max(100), retrySchema], { error: RETRIES_ERROR }).optional(),
    idempotencyKey: z
      .string()
      .max(500)
      .describe('Stable key for side effects; may use expressions.')
      .optional(),
    shardKey: z.string().max(500).describe('Routes the task to a shard; may use expressions.').optional(),
    when: z
      .string()
      .max(2000)
      .describe('Condition: false skips this task and the tasks that need only skipped tasks.')
      .optional(),
    outputs: z
      .array(id('output name'))
      .max(100)
      .describe('Names of the outputs this task produces (checked in expressions).')
      .optional(),
    thread: z
      .boolean()
      .describe('Run a CPU-bound handler in a worker thread instead of the main thread.')
      .optional(),
  })
  .describe('One task of the workflow: exactly one of "run" or "uses".');

export const scheduleSchema = z.union(
  [
    z.string().describe('Cron expression (5 or 6 fields), in UTC.'),
    z.strictObject({
      cron: z.string().describe('Cron expression (5 or 6 fields).'),
      timezone: z.string().describe('IANA time zone such as "Europe/Paris".').optional(),
      catchUp: z
        .enum(['none', 'latest', 'all'])
        .describe('What to do with runs missed while the scheduler was down.')
        .optional(),
    }),
  ],
  { error: 'expected a cron expression or { cron, timezone, catchUp }' },
);

export const specSchema = z.strictObject({
  deadline: deadlineSchema.optional(),
  priority: prioritySchema.optional(),
  schedule: scheduleSchema.optional(),
  shardKey: z.string().max(500).optional(),
  failurePolicy: z
    .enum(['fail-fast', 'continue'])
    .describe('fail-fast cancels the run at the first failed task; continue runs what does not depend on it.')
    .optional(),
  defaults: z
    .strictObject({
      retries: z.union([z.int().min(0).max(100), retrySchema], { error: RETRIES_ERROR }).optional(),
      timeout: durationSchema.optional(),
      priority: prioritySchema.optional(),
      estimate: durationSchema.optional(),
    })
    .optional(),
  params: z.record(id('param name'), paramSchema).optional(),
  tasks: z.array(z.unknown()).min(1, { error: 'a workflow needs at least one task' }),
});

export const metadataSchema = z.strictObject({
  name: id('workflow name'),
  description: z.string().max(5000).optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

/** Top level of a document, with tasks validated one by one (so every task's errors show). */
export const documentSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `expected apiVersion: ${API_VERSION}` }),
  kind: z.literal('Workflow', { error: 'expected kind: Workflow' }),
  metadata: metadataSchema,
  spec: specSchema,
});

/** The whole document as one schema: used for the published JSON Schema. */
export const workflowFileSchema = documentSchema.extend({
  spec: specSchema.extend({ tasks: z.array(taskSchema).min(1) }),
});

export type TaskSpec = z.infer<typeof taskSchema>;
export type RetrySpec = z.infer<typeof retrySchema>;
export type ParamSpec = z.infer<typeof paramSchema>;
export type DocumentSpec = z.infer<typeof documentSchema>;
export type WorkflowFileSpec = z.infer<typeof workflowFileSchema>;

/** The JSON Schema of the file format, generated from the definitions above. */
export function workflowJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(workflowFileSchema, { target: 'draft-7', io: 'input' }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    title: 'SmartQueue workflow',
    description: 'A SmartQueue workflow (apiVersion smartqueue/v1, kind Workflow).',
  };
}
