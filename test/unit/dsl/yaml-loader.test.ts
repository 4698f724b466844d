import { describe, expect, it } from 'vitest';
import { loadYamlText } from '../../../dsl/load.js';
import { DEFAULT_LIMITS, parseYamlDocuments } from '../../../dsl/yaml-loader.js';
import type { LoaderLimits } from '../../../dsl/yaml-loader.js';

const limits = (overrides: Partial<LoaderLimits>): LoaderLimits => ({ ...DEFAULT_LIMITS, ...overrides });

const doc = (name: string, tasks = '    - id: a\n      uses: noop\n') => `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: ${name}
spec:
  tasks:
${tasks}`;

/** 1-based line of the nth line of `text` that contains `needle`. */
function lineOf(text: string, needle: string, nth = 1): number {
  const lines = text.split('\n');
  let seen = 0;
  for (let i = 0; i < lines.length; i++) if (lines[i]!.includes(needle) && ++seen === nth) return i + 1;
  throw new Error(`"${needle}" not found`);
}

describe('multi-document files', () => {
  it('loads every document, each with positions in the whole file', () => {
    const text = `# two workflows\n${doc('first')}---\n${doc('second', '    - id: b\n      uses: noop\n      estimate: soon\n')}`;
    const r = loadYamlText(text, 'multi.yaml');
    expect(r.workflows.map((w) => w.ir.name)).toEqual(['first', 'second']);
    expect(r.diagnostics).toEqual([
      {
        file: 'multi.yaml',
        line: lineOf(text, 'estimate: soon'),
        column: 17,
        path: 'tasks[0].estimate',
        message: expect.stringMatching(/^invalid duration/) as string,
        severity: 'error',
      },
    ]);
    // Each source locates fields inside its own document.
    const [first, second] = r.workflows;
    expect(first!.source.locate(['metadata', 'name'])).toEqual({
      line: lineOf(text, 'name: first'),
      column: 9,
    });
    expect(second!.source.locate(['metadata', 'name'])).toEqual({
      line: lineOf(text, 'name: second'),
      column: 9,
    });
    expect(second!.source.locate(['spec', 'tasks', 0, 'id'], 'key')).toEqual({
      line: lineOf(text, '- id: b'),
      column: 7,
    });
  });

  it('ignores empty documents between markers and keeps document indexes', () => {
    const text = `---\n${doc('one')}---\n---\n# only a comment\n---\n${doc('two')}`;
    const parsed = parseYamlDocuments(text, 'f.yaml');
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.documents.map((d) => d.index)).toEqual([0, 3]);
    expect(loadYamlText(text).workflows.map((w) => w.ir.name)).toEqual(['one', 'two']);
  });

  it('keeps a valid document when another one has a syntax error', () => {
    const text = `${doc('good')}---\nkey: [unclosed\n`;
    const r = loadYamlText(text, 'f.yaml');
    expect(r.workflows.map((w) => w.ir.name)).toEqual(['good']);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({
      file: 'f.yaml',
      severity: 'error',
      message: expect.stringMatching(/^YAML syntax:/),
    });
    expect(r.diagnostics[0]!.line).toBeGreaterThan(lineOf(text, '---'));
  });

  it('limits the number of documents', () => {
    const text = Array.from({ length: 4 }, (_, i) => doc(`w${i}`)).join('---\n');
    expect(loadYamlText(text, 'f.yaml', limits({ maxDocuments: 4 })).workflows).toHaveLength(4);
    const r = loadYamlText(text, 'f.yaml', limits({ maxDocuments: 3 }));
    expect(r.workflows).toEqual([]);
    expect(r.diagnostics.map((d) => d.message)).toEqual(['the file holds 4 documents; the limit is 3']);
  });
});

describe('alias expansion', () => {
  const laughs = (levels: number) => {
    const lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (let i = 1; i <= levels; i++) {
      const prev = `*a${i - 1}`;
      lines.push(`a${i}: &a${i} [${Array(9).fill(prev).join(', ')}]`);
    }
    return lines.join('\n') + '\n';
  };

  it('fails fast on a billion-laughs document, naming the limit and the first alias', () => {
    // 9^10 strings (3.5 billion) if it were expanded: the test only returns because it is not.
    const text = laughs(10);
    const r = loadYamlText(text, 'bomb.yaml');
    expect(r.workflows).toEqual([]);
    expect(r.diagnostics).toEqual([
      {
        file: 'bomb.yaml',
        line: 2,
        column: 10,
        path: '',
        message: `YAML aliases expand beyond the limit of ${DEFAULT_LIMITS.maxAliasCount} (a resource-exhaustion "billion laughs" pattern)`,
        severity: 'error',
      },
    ]);
  });

  it('fails on a bomb hidden inside an otherwise valid workflow', () => {
    const bomb = `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: w
  labels: { x: y }
spec:
  tasks:
    - id: a
      uses: noop
      with:
        l0: &l0 [x, x, x, x, x, x, x, x, x, x]
        l1: &l1 [*l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0]
        l2: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]
        l3: &l3 [*l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2]
        l4: &l4 [*l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3]
        l5: &l5 [*l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4]
        l6: &l6 [*l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5]
        l7: &l7 [*l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6]
        l8: &l8 [*l7, *l7, *l7, *l7, *l7, *l7, *l7, *l7, *l7, *l7]
        l9: &l9 [*l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8]
`;
    const r = loadYamlText(bomb, 'bomb.yaml');
    expect(r.workflows).toEqual([]);
    expect(r.diagnostics.map((d) => [d.line, d.message])).toEqual([
      [lineOf(bomb, 'l1:'), expect.stringMatching(/aliases expand beyond the limit/)],
    ]);
  });

  it('allows modest reuse through anchors and aliases', () => {
    const text = `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: anchors
spec:
  tasks:
    - id: a
      uses: noop
      estimate: &est 5m
      retries: &retry { max: 3, backoff: fixed }
    - id: b
      uses: noop
      needs: [a]
      estimate: *est
      retries: *retry
`;
    const r = loadYamlText(text, 'anchors.yaml');
    expect(r.diagnostics).toEqual([]);
    const [a, b] = r.workflows[0]!.ir.tasks;
    expect(b!.estimateMs).toBe(5 * 60_000);
    expect(b!.retries).toEqual(a!.retries);
    expect(b!.retries.max).toBe(3);
  });

  it('honours a smaller alias limit', () => {
    const text = `x: &x [1]\ny: [${Array(5).fill('*x').join(', ')}]\n`;
    expect(parseYamlDocuments(text, 'f.yaml', limits({ maxAliasCount: 100 })).diagnostics).toEqual([]);
    const r = parseYamlDocuments(text, 'f.yaml', limits({ maxAliasCount: 2 }));
    expect(r.documents).toEqual([]);
    expect(r.diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/beyond the limit of 2/)]);
  });

  it('reports an alias to an unknown anchor', () => {
    const r = loadYamlText('a: *nowhere\n', 'f.yaml');
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ line: 1, column: 4, severity: 'error' });
  });
});

describe('tags', () => {
  it.each([
    ['a local tag', 'x: !secret value\n'],
    ['a JS function tag', 'x: !!js/function "() => 1"\n'],
    ['a binary value', 'x: !!binary aGVsbG8=\n'],
    ['a set', 'x: !!set { a, b }\n'],
    ['an ordered map', 'x: !!omap [ { a: 1 } ]\n'],
    ['a timestamp', 'x: !!timestamp 2026-12-01\n'],
    ['a verbatim tag', 'x: !<tag:example.com,2026:thing> v\n'],
    ['a tag on the document root', '--- !thing\na: 1\n'],
  ])('refuses %s', (_what, text) => {
    const r = parseYamlDocuments(text, 'tags.yaml');
    expect(r.documents).toEqual([]);
    expect(r.diagnostics.length).toBeGreaterThan(0);
    for (const d of r.diagnostics) {
      expect(d.message).toMatch(/custom YAML tags/);
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.column).toBeGreaterThanOrEqual(1);
    }
  });

  it('accepts the standard tags of the core schema', () => {
    const r = parseYamlDocuments(
      'a: !!str 123\nb: !!int "7"\nc: !!bool true\nd: !!null ~\ne: !!seq [1]\nf: !!map {k: v}\n',
      't.yaml',
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.documents[0]!.data).toEqual({ a: '123', b: 7, c: true, d: null, e: [1], f: { k: 'v' } });
  });
});

describe('size limits', () => {
  it('refuses a file over maxFileBytes, counting bytes rather than characters', () => {
    const text = doc('sized');
    const bytes = Buffer.byteLength(text);
    expect(loadYamlText(text, 'f.yaml', limits({ maxFileBytes: bytes })).workflows).toHaveLength(1);
    const r = loadYamlText(text, 'f.yaml', limits({ maxFileBytes: bytes - 1 }));
    expect(r.workflows).toEqual([]);
    expect(r.diagnostics).toEqual([
      {
        file: 'f.yaml',
        line: 1,
        column: 1,
        path: '',
        message: `file is ${bytes} bytes; the limit is ${bytes - 1} bytes`,
        severity: 'error',
      },
    ]);
    // 11 characters, 27 bytes.
    const wide = `# ${'€'.repeat(8)}\n`;
    expect(wide.length).toBe(11);
    expect(parseYamlDocuments(wide, 'f.yaml', limits({ maxFileBytes: 20 })).diagnostics[0]!.message).toBe(
      'file is 27 bytes; the limit is 20 bytes',
    );
  });

  it('refuses a workflow over maxTasks', () => {
    const tasks = (n: number) =>
      Array.from({ length: n }, (_, i) => `    - id: t${i}\n      uses: noop\n`).join('');
    expect(loadYamlText(doc('w', tasks(3)), 'f.yaml', limits({ maxTasks: 3 })).diagnostics).toEqual([]);
    const text = doc('w', tasks(4));
    const r = loadYamlText(text, 'f.yaml', limits({ maxTasks: 3 }));
    expect(r.workflows).toEqual([]);
    expect(r.diagnostics).toEqual([
      {
        file: 'f.yaml',
        line: lineOf(text, '- id: t0'),
        column: 5,
        path: 'tasks',
        message: 'the workflow has 4 tasks; the limit is 3',
        severity: 'error',
      },
    ]);
  });
});

describe('syntax and shape errors', () => {
  it('names line and column of a syntax error', () => {
    const text = 'apiVersion: smartqueue/v1\nkind: a: b\n';
    const r = loadYamlText(text, 'f.yaml');
    expect(r.workflows).toEqual([]);
    expect(r.diagnostics).toEqual([
      {
        file: 'f.yaml',
        line: 2,
        column: 7,
        path: '',
        message: 'YAML syntax: nested mappings are not allowed in compact mappings',
        severity: 'error',
      },
    ]);
    const unclosed = loadYamlText('apiVersion: x\nkind: "Workflow\nmetadata: {}\n', 'f.yaml');
    expect(unclosed.diagnostics.map((d) => d.message)).toEqual(['YAML syntax: missing closing "quote']);
  });

  it('refuses duplicate keys', () => {
    const text = `${doc('dup')}metadata:\n  name: again\n`;
    const r = loadYamlText(text, 'f.yaml');
    expect(r.workflows).toEqual([]);
    expect(r.diagnostics.map((d) => [d.line, d.message])).toEqual([
      [lineOf(text, 'metadata:', 2), 'YAML syntax: map keys must be unique'],
    ]);
  });

  it('refuses a document that is not a mapping', () => {
    for (const text of ['- a\n- b\n', 'just a string\n', '42\n']) {
      expect(loadYamlText(text, 'f.yaml').diagnostics.map((d) => d.message)).toEqual([
        'a workflow document must be a mapping with apiVersion, kind, metadata and spec',
      ]);
    }
  });

  it('reports an empty file', () => {
    for (const text of ['', '\n\n', '# nothing here\n', '---\n']) {
      const r = loadYamlText(text, 'empty.yaml');
      expect(r.workflows, JSON.stringify(text)).toEqual([]);
      expect(r.diagnostics.length, JSON.stringify(text)).toBe(1);
      expect(r.diagnostics[0]).toMatchObject({ file: 'empty.yaml', line: 1, column: 1, severity: 'error' });
    }
  });

  it('names unknown keys with a hint and the allowed keys, at the key', () => {
    const text = doc('hints', '    - id: a\n      uses: noop\n      dependsOn: [b]\n      estimat: 5m\n');
    const r = loadYamlText(text, 'f.yaml');
    expect(r.diagnostics.map((d) => [d.line, d.column, d.path, d.message.split(';')[0]])).toEqual([
      [lineOf(text, 'dependsOn'), 7, 'tasks[0].dependsOn', 'unknown key "dependsOn"'],
      [lineOf(text, 'estimat:'), 7, 'tasks[0].estimat', 'unknown key "estimat" (did you mean "estimate"?)'],
    ]);
    expect(r.diagnostics[0]!.message).toContain('allowed keys: id, name, needs, run, uses');
  });
});
