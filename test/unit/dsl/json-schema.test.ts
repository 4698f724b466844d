import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { workflowFileSchema, workflowJsonSchema } from '../../../dsl/schema.js';
import { renderWorkflowSchema, SCHEMA_FILE } from '../../../scripts/gen-schema.js';

type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  anyOf?: JsonSchema[];
  definitions?: Record<string, JsonSchema>;
};

const schema = workflowJsonSchema() as JsonSchema;

describe('dsl/workflow.schema.json', () => {
  it('is exactly what scripts/gen-schema.ts generates (run it after changing dsl/schema.ts)', async () => {
    const committed = await readFile(SCHEMA_FILE, 'utf8');
    // Compared as data first, for a readable diff when the definitions changed...
    expect(JSON.parse(committed)).toEqual(workflowJsonSchema());
    // ...then as text, so formatting drift is caught too.
    expect(committed).toBe(await renderWorkflowSchema());
    expect(committed.endsWith('}\n')).toBe(true);
  });

  it('is a draft-07 schema with a title', () => {
    expect(schema).toMatchObject({
      $schema: 'http://json-schema.org/draft-07/schema#',
      title: 'SmartQueue workflow',
      type: 'object',
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Structure: every zod object shows up with the same keys, required keys and strictness.
// ---------------------------------------------------------------------------------------------

interface ZodDef {
  type: string;
  shape?: Record<string, { def: ZodDef }>;
  catchall?: { def: ZodDef };
  innerType?: { def: ZodDef };
  element?: { def: ZodDef };
  valueType?: { def: ZodDef };
  options?: { def: ZodDef }[];
}

function resolve(s: JsonSchema): JsonSchema {
  if (!s.$ref) return s;
  const name = s.$ref.replace('#/definitions/', '');
  const target = schema.definitions?.[name];
  if (!target) throw new Error(`unresolved ${s.$ref}`);
  return target;
}

/** Walks a zod definition and its JSON Schema side by side; returns the object paths it checked. */
function compareShapes(def: ZodDef, json: JsonSchema, path: string, checked: string[]): void {
  json = resolve(json);
  if (def.type === 'optional') return compareShapes(def.innerType!.def, json, path, checked);
  switch (def.type) {
    case 'object': {
      checked.push(path || '(root)');
      expect(json.type, path).toBe('object');
      const keys = Object.keys(def.shape!);
      expect(Object.keys(json.properties ?? {}), `${path} keys`).toEqual(keys);
      const required = keys.filter((k) => def.shape![k]!.def.type !== 'optional');
      expect([...(json.required ?? [])].sort(), `${path} required`).toEqual(required.sort());
      if (def.catchall?.def.type === 'never') expect(json.additionalProperties, `${path} strict`).toBe(false);
      for (const k of keys) compareShapes(def.shape![k]!.def, json.properties![k]!, `${path}.${k}`, checked);
      return;
    }
    case 'array':
      expect(json.type, path).toBe('array');
      return compareShapes(def.element!.def, json.items!, `${path}[]`, checked);
    case 'record':
      expect(json.type, path).toBe('object');
      return compareShapes(def.valueType!.def, json.additionalProperties as JsonSchema, `${path}{}`, checked);
    case 'union':
      // A union of scalars is emitted as a type list (`type: [string, number]`).
      if (json.anyOf === undefined && Array.isArray(json.type)) {
        expect(
          def.options!.every((o) => !['object', 'array', 'record'].includes(o.def.type)),
          path,
        ).toBe(true);
        return;
      }
      expect(json.anyOf?.length, path).toBe(def.options!.length);
      def.options!.forEach((o, i) => compareShapes(o.def, json.anyOf![i]!, `${path}|${i}`, checked));
      return;
    default:
      return;
  }
}

describe('JSON Schema structure', () => {
  it('has the keys, required keys and additionalProperties: false of every strict zod object', () => {
    const checked: string[] = [];
    compareShapes((workflowFileSchema as unknown as { def: ZodDef }).def, schema, '', checked);
    // The walk must have reached every object of the format, or it proves nothing.
    expect(checked).toEqual(
      expect.arrayContaining([
        '(root)',
        '.metadata',
        '.spec',
        '.spec.schedule|1',
        '.spec.defaults',
        '.spec.defaults.retries|1',
        '.spec.params{}',
        '.spec.tasks[]',
        '.spec.tasks[].retries|1',
      ]),
    );
    expect(checked).toHaveLength(9);
  });

  it('spells out the task fields editors complete', () => {
    const task = resolve(schema.properties!.spec!.properties!.tasks!.items!);
    expect(task.required).toEqual(['id']);
    expect(task.additionalProperties).toBe(false);
    expect(task.properties!.id!.pattern).toBe('^[A-Za-z_][A-Za-z0-9_-]{0,127}$');
    expect(task.properties!.run).toMatchObject({ type: 'array', minItems: 1, items: { type: 'string' } });
    expect(task.properties!.priority!.anyOf).toEqual([
      { type: 'string', enum: ['high', 'medium', 'low'] },
      { type: 'integer', minimum: 0, maximum: 100 },
    ]);
    expect(schema.required).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(schema.properties!.apiVersion).toEqual({ type: 'string', const: 'smartqueue/v1' });
  });
});

// ---------------------------------------------------------------------------------------------
// Behaviour: a tiny validator for the keywords the schema uses agrees with zod on sample documents.
// ---------------------------------------------------------------------------------------------

const KNOWN_KEYWORDS = new Set([
  '$schema',
  '$ref',
  'title',
  'description',
  'definitions',
  'type',
  'const',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'items',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'anyOf',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Errors of `value` against `s` (draft-07 subset), as `path: problem` strings. */
function validate(value: unknown, s: JsonSchema, path = '$'): string[] {
  s = resolve(s);
  for (const k of Object.keys(s))
    if (!KNOWN_KEYWORDS.has(k)) throw new Error(`validator does not know "${k}"`);
  const errors: string[] = [];
  if (s.anyOf && !s.anyOf.some((o) => validate(value, o, path).length === 0))
    errors.push(`${path}: no anyOf branch`);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number')))
      return [...errors, `${path}: not ${types.join('|')}`];
  }
  if ('const' in s && value !== s.const) errors.push(`${path}: not ${JSON.stringify(s.const)}`);
  if (s.enum && !s.enum.includes(value)) errors.push(`${path}: not in enum`);
  if (typeof value === 'string') {
    const length = [...value].length;
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value)) errors.push(`${path}: pattern`);
    if (s.minLength !== undefined && length < s.minLength) errors.push(`${path}: too short`);
    if (s.maxLength !== undefined && length > s.maxLength) errors.push(`${path}: too long`);
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) errors.push(`${path}: below minimum`);
    if (s.maximum !== undefined && value > s.maximum) errors.push(`${path}: above maximum`);
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) errors.push(`${path}: too few items`);
    if (s.maxItems !== undefined && value.length > s.maxItems) errors.push(`${path}: too many items`);
    if (s.items) value.forEach((v, i) => errors.push(...validate(v, s.items!, `${path}[${i}]`)));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const k of s.required ?? []) if (!(k in obj)) errors.push(`${path}: missing ${k}`);
    for (const [k, v] of Object.entries(obj)) {
      if (s.propertyNames) errors.push(...validate(k, s.propertyNames, `${path}.${k} (name)`));
      const prop = s.properties?.[k];
      if (prop) errors.push(...validate(v, prop, `${path}.${k}`));
      else if (s.additionalProperties === false) errors.push(`${path}: unknown key ${k}`);
      else if (typeof s.additionalProperties === 'object')
        errors.push(...validate(v, s.additionalProperties, `${path}.${k}`));
    }
  }
  return errors;
}

const base = () => ({
  apiVersion: 'smartqueue/v1',
  kind: 'Workflow',
  metadata: { name: 'nightly' },
  spec: { tasks: [{ id: 'extract', uses: 'noop' }] as Record<string, unknown>[] } as Record<string, unknown>,
});

type Edit = (d: ReturnType<typeof base>) => void;
const task0 = (d: ReturnType<typeof base>) => (d.spec.tasks as Record<string, unknown>[])[0]!;

const SAMPLES: [string, Edit, boolean][] = [
  ['the minimal document', () => undefined, true],
  [
    'a rich document',
    (d) => {
      Object.assign(d.metadata, { name: 'nightly', description: 'x', labels: { team: 'data' } });
      Object.assign(d.spec, {
        deadline: '2026-12-01T06:00:00Z',
        priority: 'high',
        schedule: { cron: '0 2 * * *', timezone: 'Europe/Paris', catchUp: 'all' },
        failurePolicy: 'continue',
        defaults: { retries: { max: 2, backoff: 'fixed', initial: '1s', jitter: 0.5 }, timeout: 'PT5M' },
        params: { date: { type: 'string', default: '2026-12-01', enum: ['2026-12-01'] } },
      });
      d.spec.tasks = [
        { id: 'extract', run: ['python', 'x.py'], env: { A: 'b' }, estimate: '1h30m', outputs: ['rows'] },
        {
          id: 'load',
          needs: ['extract'],
          uses: 'http',
          with: { url: 'u', n: [1, { deep: null }] },
          retries: 3,
          priority: 7,
          thread: true,
        },
      ];
    },
    true,
  ],
  ['a missing metadata', (d) => void delete (d as Partial<typeof d>).metadata, false],
  ['an unknown top-level key', (d) => void ((d as Record<string, unknown>).extra = 1), false],
  ['an unknown spec key', (d) => void (d.spec.dependsOn = []), false],
  ['an unknown task key', (d) => void (task0(d).estimat = '5m'), false],
  ['an unknown retry key', (d) => void (task0(d).retries = { max: 1, tries: 2 }), false],
  ['an unknown metadata key', (d) => void ((d.metadata as Record<string, unknown>).owner = 'x'), false],
  ['a wrong apiVersion', (d) => void (d.apiVersion = 'smartqueue/v2'), false],
  ['a bad duration', (d) => void (task0(d).estimate = '5 minutes'), false],
  ['an ISO duration', (d) => void (task0(d).estimate = 'P1DT2H'), true],
  ['a deadline instant without offset', (d) => void (task0(d).deadline = '2026-12-01T06:00:00'), false],
  ['a priority above 100', (d) => void (task0(d).priority = 101), false],
  ['a fractional priority', (d) => void (task0(d).priority = 5.5), false],
  ['an unknown priority class', (d) => void (task0(d).priority = 'urgent'), false],
  ['an invalid task id', (d) => void (task0(d).id = '9lives'), false],
  ['a 129-character id', (d) => void (task0(d).id = 'x'.repeat(129)), false],
  ['a task without id', (d) => void delete task0(d).id, false],
  ['no tasks', (d) => void (d.spec.tasks = []), false],
  ['an empty run', (d) => void (task0(d).run = []), false],
  ['a schedule object without cron', (d) => void (d.spec.schedule = { timezone: 'UTC' }), false],
  ['a cron string', (d) => void (d.spec.schedule = '*/5 * * * *'), true],
  ['a bad param name', (d) => void (d.spec.params = { 'bad name': { type: 'string' } }), false],
  [
    'a param with an unknown key',
    (d) => void (d.spec.params = { p: { type: 'string', secret: true } }),
    false,
  ],
  ['a non-string env value', (d) => void (task0(d).env = { A: 1 }), false],
  ['jitter above 1', (d) => void (task0(d).retries = { jitter: 2 }), false],
  ['a name over 200 characters', (d) => void (task0(d).name = 'n'.repeat(201)), false],
];

describe('JSON Schema behaviour', () => {
  it.each(SAMPLES)('%s: the JSON Schema and zod agree', (_what, edit, valid) => {
    const doc = base();
    edit(doc);
    expect(workflowFileSchema.safeParse(doc).success).toBe(valid);
    const errors = validate(doc, schema);
    expect(errors.length === 0, errors.join('\n')).toBe(valid);
  });
});
