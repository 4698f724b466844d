import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseWorkflowIr } from '../../../dsl/ir-schema.js';
import { compileFile } from '../../../dsl/load.js';

const EXAMPLES = path.resolve(import.meta.dirname, '../../../workflows/examples');

describe('the IR schema', () => {
  it('accepts the IR of every example workflow, YAML and TypeScript DSL, after a JSON round trip', async () => {
    let checked = 0;
    for (const f of readdirSync(EXAMPLES)) {
      const r = await compileFile(path.join(EXAMPLES, f), { allowInfeasible: true });
      for (const c of r.compiled) {
        const parsed = parseWorkflowIr(JSON.parse(JSON.stringify(c.plan.ir)));
        expect(parsed, `${f} ${c.plan.ir.name}`).toMatchObject({ ok: true });
        checked++;
      }
    }
    expect(checked).toBe(7);
  });

  it('names every wrong field by its path', () => {
    const r = parseWorkflowIr({
      apiVersion: 'smartqueue/v1',
      name: 'x y',
      labels: {},
      priority: 50,
      failurePolicy: 'sometimes',
      params: {},
      tasks: [
        {
          id: 'a',
          needs: [],
          handler: { kind: 'uses', name: 'noop', with: {} },
          priority: 50,
          retries: { max: 0, backoff: 'exponential', initialMs: 1000, maxDelayMs: 60000, jitter: 0.2 },
          surprise: true,
        },
        { id: 'b', needs: ['a'], handler: { kind: 'run', argv: [] }, priority: 101 },
      ],
    });
    expect(r.ok).toBe(false);
    const paths = r.ok ? [] : r.problems.map((p) => p.path);
    expect(paths).toEqual([
      'name',
      'failurePolicy',
      'tasks[0]',
      'tasks[1].handler.argv',
      'tasks[1].priority',
      'tasks[1].retries',
    ]);
  });
});
