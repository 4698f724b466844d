import { describe, expect, it } from 'vitest';
import {
  collectRefs,
  evaluate,
  ExpressionError,
  hasExpression,
  parseCondition,
  parseExpression,
  parseTemplate,
  renderTemplate,
  renderValue,
  truthy,
} from '../../../dsl/expressions.js';
import type { Expr, Scope } from '../../../dsl/expressions.js';

/** A compact, readable form of an AST: `(a || (b && c))`. */
function show(e: Expr): string {
  switch (e.type) {
    case 'literal':
      return JSON.stringify(e.value);
    case 'ref':
      return e.path.join('.');
    case 'not':
      return `!${show(e.operand)}`;
    case 'binary':
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
  }
}

/** The ExpressionError thrown by `fn`, or a failed assertion. */
function syntaxError(fn: () => unknown): ExpressionError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ExpressionError);
    return err as ExpressionError;
  }
  throw new Error('expected an ExpressionError');
}

const scope: Scope = {
  params: {
    date: '2026-12-01',
    n: 10,
    s: '10',
    flag: true,
    off: 'false',
    zero: 0,
    empty: '',
    nil: null,
    list: [1, 2],
  },
  tasks: { extract: { outputs: { rows: 42, table: 'raw', meta: { a: 1 } }, status: 'succeeded' } },
  run: { id: 'r-1', attempt: 2 },
};
const ev = (src: string) => evaluate(parseExpression(src), scope);

describe('parseExpression: literals and references', () => {
  it('parses literals', () => {
    expect(parseExpression('42')).toEqual({ type: 'literal', value: 42 });
    expect(parseExpression('-3.5')).toEqual({ type: 'literal', value: -3.5 });
    expect(parseExpression('"dq"')).toEqual({ type: 'literal', value: 'dq' });
    expect(parseExpression("'sq'")).toEqual({ type: 'literal', value: 'sq' });
    expect(parseExpression("'it\\'s'")).toEqual({ type: 'literal', value: "it's" });
    expect(parseExpression("'a\\\\b'")).toEqual({ type: 'literal', value: 'a\\b' });
    expect(parseExpression('true')).toEqual({ type: 'literal', value: true });
    expect(parseExpression('false')).toEqual({ type: 'literal', value: false });
    expect(parseExpression('null')).toEqual({ type: 'literal', value: null });
  });

  it('parses dotted and bracketed references with their offsets', () => {
    expect(parseExpression('  tasks.extract.outputs.rows')).toEqual({
      type: 'ref',
      path: ['tasks', 'extract', 'outputs', 'rows'],
      offset: 2,
    });
    expect(parseExpression("params['my key']")).toEqual({
      type: 'ref',
      path: ['params', 'my key'],
      offset: 0,
    });
    expect(parseExpression('params.list[1]')).toEqual({
      type: 'ref',
      path: ['params', 'list', '1'],
      offset: 0,
    });
    expect(parseExpression('tasks.load-data.status').type).toBe('ref');
    expect((parseExpression('tasks.load-data.status') as { path: string[] }).path).toEqual([
      'tasks',
      'load-data',
      'status',
    ]);
  });
});

describe('parseExpression: precedence and associativity', () => {
  it.each([
    ['a || b && c', '(a || (b && c))'],
    ['a && b || c', '((a && b) || c)'],
    ['a == 1 && b < 2', '((a == 1) && (b < 2))'],
    ['a < b == true', '((a < b) == true)'],
    ['a != b || c >= d', '((a != b) || (c >= d))'],
    ['(a || b) && c', '((a || b) && c)'],
    ['!a == b', '(!a == b)'],
    ['!(a == b)', '!(a == b)'],
    ['!!a', '!!a'],
    ['a || b || c', '((a || b) || c)'],
    ['a && b && c', '((a && b) && c)'],
    ['a == b == c', '((a == b) == c)'],
    ['a <= 1 != b > 2', '((a <= 1) != (b > 2))'],
    ['x == -1', '(x == -1)'],
  ])('%s parses as %s', (src, expected) => {
    expect(show(parseExpression(src))).toBe(expected);
  });
});

describe('parseExpression: syntax errors carry 0-based offsets', () => {
  it.each([
    ['a &&', 4, /unexpected end/],
    ['a $ b', 2, /unexpected character "\$"/],
    ['(a', 2, /expected "\)"/],
    ["x == 'abc", 5, /unterminated string/],
    ['a.', 2, /expected a name after "."/],
    ['a[b]', 2, /expected a string or number/],
    ["a['b'", 5, /expected "\]"/],
    ['a b', 2, /unexpected "b"/],
    ['a == ', 5, /unexpected end/],
    [')', 0, /unexpected "\)"/],
    ['', 0, /unexpected end/],
    ['a - 1', 2, /unexpected character "-"/],
    ['f(x)', 1, /unexpected "\("/],
  ])('%j fails at offset %d', (src, offset, message) => {
    const err = syntaxError(() => parseExpression(src));
    expect(err.offset).toBe(offset);
    expect(err.message).toMatch(message);
  });

  it('limits nesting depth and length instead of overflowing the stack', () => {
    const deep = '('.repeat(60) + 'a' + ')'.repeat(60);
    const err = syntaxError(() => parseExpression(deep));
    expect(err.message).toMatch(/nested too deeply/);
    expect(err.offset).toBe(50);
    expect(show(parseExpression('('.repeat(50) + 'a' + ')'.repeat(50)))).toBe('a');
    expect(syntaxError(() => parseExpression('a || '.repeat(500) + 'a')).message).toMatch(/longer than 2000/);
  });
});

describe('templates', () => {
  it('detects expressions', () => {
    expect(hasExpression('plain text')).toBe(false);
    expect(hasExpression('${ not one }')).toBe(false);
    expect(hasExpression('x ${{ params.date }}')).toBe(true);
  });

  it('splits text and expressions, with the offset of each "${{"', () => {
    const text = 'day=${{ params.date }}/n=${{params.n}}';
    const t = parseTemplate(text);
    expect(t.parts).toHaveLength(4);
    expect(t.parts[0]).toBe('day=');
    expect(t.parts[1]).toMatchObject({ offset: 4, expr: { type: 'ref', path: ['params', 'date'] } });
    expect(t.parts[2]).toBe('/n=');
    expect(t.parts[3]).toMatchObject({
      offset: text.lastIndexOf('${{'),
      expr: { type: 'ref', path: ['params', 'n'] },
    });
  });

  it('keeps the type of a value when the string is exactly one expression', () => {
    expect(renderTemplate(parseTemplate('${{ tasks.extract.outputs.rows }}'), scope)).toBe(42);
    expect(renderTemplate(parseTemplate('${{ params.flag }}'), scope)).toBe(true);
    expect(renderTemplate(parseTemplate('${{ params.nil }}'), scope)).toBeNull();
    expect(renderTemplate(parseTemplate('${{ tasks.extract.outputs.meta }}'), scope)).toEqual({ a: 1 });
    expect(renderTemplate(parseTemplate('${{ params.missing }}'), scope)).toBeUndefined();
  });

  it('joins parts as a string otherwise (objects as JSON, null and undefined as "")', () => {
    expect(renderTemplate(parseTemplate('rows=${{ tasks.extract.outputs.rows }}'), scope)).toBe('rows=42');
    expect(renderTemplate(parseTemplate(' ${{ params.n }}'), scope)).toBe(' 10');
    expect(renderTemplate(parseTemplate('${{ params.n }}${{ params.n }}'), scope)).toBe('1010');
    expect(renderTemplate(parseTemplate('m=${{ tasks.extract.outputs.meta }}'), scope)).toBe('m={"a":1}');
    expect(renderTemplate(parseTemplate('[${{ params.nil }}|${{ params.missing }}]'), scope)).toBe('[|]');
  });

  it('renders every string inside a JSON value', () => {
    const value = {
      table: '${{ tasks.extract.outputs.table }}',
      rows: '${{ tasks.extract.outputs.rows }}',
      list: ['a', '${{ run.id }}', 3, null],
      nested: { ok: '${{ params.n > 5 }}', plain: 'x' },
      n: 7,
    };
    expect(renderValue(value, scope)).toEqual({
      table: 'raw',
      rows: 42,
      list: ['a', 'r-1', 3, null],
      nested: { ok: true, plain: 'x' },
      n: 7,
    });
  });

  it('reports errors at offsets in the whole string', () => {
    const text = 'x ${{ a && }}';
    const err = syntaxError(() => parseTemplate(text));
    expect(err.offset).toBe(text.indexOf('}}'));
    const unclosed = 'a ${{ b }} c ${{ d';
    expect(syntaxError(() => parseTemplate(unclosed)).offset).toBe(unclosed.lastIndexOf('${{'));
    expect(syntaxError(() => parseTemplate(unclosed)).message).toMatch(/without a closing/);
  });

  it('parses conditions with or without the ${{ }} wrapper, offsets in the original text', () => {
    expect(show(parseCondition('params.n > 5'))).toBe('(params.n > 5)');
    expect(show(parseCondition('  ${{ params.n > 5 }}  '))).toBe('(params.n > 5)');
    const text = '  ${{ params.n > }}';
    expect(syntaxError(() => parseCondition(text)).offset).toBe(text.indexOf('}}'));
    expect(syntaxError(() => parseCondition('a $')).offset).toBe(2);
  });
});

describe('collectRefs', () => {
  it('returns every reference in source order, with offsets', () => {
    const src = "!params.flag && (tasks.a.status == 'ok' || run.attempt > params.n)";
    expect(collectRefs(parseExpression(src))).toEqual([
      { path: ['params', 'flag'], offset: 1 },
      { path: ['tasks', 'a', 'status'], offset: src.indexOf('tasks') },
      { path: ['run', 'attempt'], offset: src.indexOf('run') },
      { path: ['params', 'n'], offset: src.lastIndexOf('params') },
    ]);
    expect(collectRefs(parseExpression("1 == 'x'"))).toEqual([]);
  });
});

describe('evaluate', () => {
  it('reads references and returns undefined for missing ones', () => {
    expect(ev('params.date')).toBe('2026-12-01');
    expect(ev('tasks.extract.outputs.rows')).toBe(42);
    expect(ev('tasks.extract.outputs.meta.a')).toBe(1);
    expect(ev('params.list[1]')).toBe(2);
    expect(ev('params.missing')).toBeUndefined();
    expect(ev('params.missing.deeper')).toBeUndefined();
    expect(ev('params.date.length')).toBeUndefined();
    expect(ev('nothing.here')).toBeUndefined();
  });

  it('compares numbers numerically and mixed types loosely', () => {
    expect(ev('params.n > 9')).toBe(true);
    expect(ev('params.n >= 10')).toBe(true);
    expect(ev('params.n < 10')).toBe(false);
    expect(ev('params.n <= 9.5')).toBe(false);
    expect(ev("params.s > '9'")).toBe(false); // both strings: lexicographic
    expect(ev('params.s > 9')).toBe(true); // one number: numeric
    expect(ev("params.n == '10'")).toBe(true);
    expect(ev('params.n == 10')).toBe(true);
    expect(ev("params.n != '10'")).toBe(false);
    expect(ev('params.nil == null')).toBe(true);
    expect(ev('params.missing == null')).toBe(false);
    expect(ev("params.nil == 'null'")).toBe(false);
    expect(ev("tasks.extract.status == 'succeeded'")).toBe(true);
  });

  it('short-circuits && and || and returns operand values', () => {
    expect(ev("params.missing || 'fallback'")).toBe('fallback');
    expect(ev("params.date || 'fallback'")).toBe('2026-12-01');
    expect(ev('params.flag && params.n')).toBe(10);
    expect(ev('params.zero && params.n')).toBe(0);
    expect(ev('params.off || params.n')).toBe(10);
    expect(ev('!params.flag')).toBe(false);
    expect(ev('!params.missing')).toBe(true);
    expect(ev('params.n > 5 && params.flag == true || false')).toBe(true);
    expect(ev('false || params.n > 5 && false')).toBe(false);
  });

  it('treats false, null, 0, "", "false" and "0" as false', () => {
    for (const v of [false, null, undefined, 0, '', 'false', '0', Number.NaN]) expect(truthy(v)).toBe(false);
    for (const v of [true, 1, -1, 'true', 'no', '00', ' ', [], {}]) expect(truthy(v)).toBe(true);
    expect(ev('!params.off')).toBe(true);
    expect(ev('!params.empty')).toBe(true);
  });

  it('gives no access to prototypes: constructor, __proto__ and friends evaluate to undefined', () => {
    for (const src of [
      'params.constructor',
      'params.__proto__',
      "params['__proto__']",
      'params.constructor.name',
      'params.toString',
      'params.hasOwnProperty',
      'constructor',
      '__proto__',
      'params.__proto__.polluted',
      'tasks.extract.outputs.constructor.constructor',
      'params.list.map',
      'params.list.push',
      'params.date.constructor',
    ]) {
      expect(ev(src), src).toBeUndefined();
    }
    expect(renderTemplate(parseTemplate('${{ params.constructor }}'), scope)).toBeUndefined();
    expect(renderTemplate(parseTemplate('x${{ params.__proto__ }}'), scope)).toBe('x');
  });

  it('still reads own properties that happen to have such names', () => {
    const own = JSON.parse('{"params": {"constructor": "mine", "__proto__": "own"}}') as Scope;
    expect(evaluate(parseExpression('params.constructor'), own)).toBe('mine');
    expect(evaluate(parseExpression('params.__proto__'), own)).toBe('own');
  });
});
