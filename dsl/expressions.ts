/**
 * Our own small expression language for `${{ ... }}` in workflow files: literals, references
 * (`params.date`, `tasks.extract.outputs.rows`, `run.id`), comparison and boolean operators, and
 * parentheses. No `eval`, no function calls, no shell: a reference can only read the scope given.
 */

export type Expr =
  | { type: 'literal'; value: string | number | boolean | null }
  | { type: 'ref'; path: string[]; offset: number }
  | { type: 'not'; operand: Expr }
  | { type: 'binary'; op: BinaryOp; left: Expr; right: Expr };

type BinaryOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||';

/** A syntax error with the 0-based offset in the expression text. */
export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

type Token =
  | { kind: 'num'; value: number; at: number }
  | { kind: 'str'; value: string; at: number }
  | { kind: 'ident'; value: string; at: number }
  | { kind: 'op'; value: string; at: number }
  | { kind: 'end'; at: number };

const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '.', '[', ']'];
const MAX_EXPRESSION_LENGTH = 2000;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let value = '';
      while (j < src.length && src[j] !== c) {
        // A backslash escapes the next character (a quote, or a backslash).
        if (src[j] === '\\' && j + 1 < src.length) {
          value += src[j + 1];
          j += 2;
          continue;
        }
        value += src[j];
        j++;
      }
      if (j >= src.length) throw new ExpressionError('unterminated string', i);
      out.push({ kind: 'str', value, at: i });
      i = j + 1;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(src.slice(i));
    if (num && (c !== '-' || out.length === 0 || out[out.length - 1]!.kind === 'op')) {
      out.push({ kind: 'num', value: Number(num[0]), at: i });
      i += num[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i));
    if (ident) {
      out.push({ kind: 'ident', value: ident[0], at: i });
      i += ident[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExpressionError(`unexpected character "${c}"`, i);
    out.push({ kind: 'op', value: op, at: i });
    i += op.length;
  }
  out.push({ kind: 'end', at: src.length });
  return out;
}

const PRECEDENCE: Record<string, number> = {
  '||': 1,
  '&&': 2,
  '==': 3,
  '!=': 3,
  '<': 4,
  '<=': 4,
  '>': 4,
  '>=': 4,
};

/** Parses one expression (without the `${{ }}` delimiters). */
export function parseExpression(src: string): Expr {
  if (src.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionError(`expression longer than ${MAX_EXPRESSION_LENGTH} characters`, 0);
  }
  const tokens = tokenize(src);
  let pos = 0;
  let depth = 0;
  const peek = () => tokens[pos]!;
  const next = () => tokens[pos++]!;
  const isOp = (t: Token, v: string) => t.kind === 'op' && t.value === v;

  function primary(): Expr {
    const t = next();
    if (t.kind === 'num') return { type: 'literal', value: t.value };
    if (t.kind === 'str') return { type: 'literal', value: t.value };
    if (t.kind === 'op' && t.value === '!') return { type: 'not', operand: primary() };
    if (t.kind === 'op' && t.value === '(') {
      if (++depth > 50) throw new ExpressionError('expression nested too deeply', t.at);
      const inner = binary(0);
      depth--;
      const close = next();
      if (!isOp(close, ')')) throw new ExpressionError('expected ")"', close.at);
      return inner;
    }
    if (t.kind === 'ident') {
      if (t.value === 'true' || t.value === 'false') return { type: 'literal', value: t.value === 'true' };
      if (t.value === 'null') return { type: 'literal', value: null };
      const path = [t.value];
      for (;;) {
        const n = peek();
        if (isOp(n, '.')) {
          next();
          const seg = next();
          if (seg.kind !== 'ident' && seg.kind !== 'num')
            throw new ExpressionError('expected a name after "."', seg.at);
          path.push(String(seg.value));
        } else if (isOp(n, '[')) {
          next();
          const seg = next();
          if (seg.kind !== 'str' && seg.kind !== 'num')
            throw new ExpressionError('expected a string or number in [ ]', seg.at);
          const close = next();
          if (!isOp(close, ']')) throw new ExpressionError('expected "]"', close.at);
          path.push(String(seg.value));
        } else break;
      }
      return { type: 'ref', path, offset: t.at };
    }
    if (t.kind === 'end') throw new ExpressionError('unexpected end of expression', t.at);
    throw new ExpressionError(`unexpected "${t.value}"`, t.at);
  }

  function binary(minPrec: number): Expr {
    let left = primary();
    for (;;) {
      const t = peek();
      const prec = t.kind === 'op' ? PRECEDENCE[t.value] : undefined;
      if (prec === undefined || prec < minPrec) break;
      next();
      const right = binary(prec + 1);
      left = { type: 'binary', op: (t as { value: string }).value as BinaryOp, left, right };
    }
    return left;
  }

  const expr = binary(0);
  const rest = peek();
  if (rest.kind !== 'end')
    throw new ExpressionError(`unexpected "${'value' in rest ? rest.value : ''}"`, rest.at);
  return expr;
}

/** A string split into literal text and `${{ }}` expressions. */
export interface Template {
  parts: (string | { expr: Expr; offset: number })[];
}

const OPEN = '${{';
const CLOSE = '}}';

/** True when the text contains a `${{` expression. */
export function hasExpression(text: string): boolean {
  return text.includes(OPEN);
}

/** Parses text with `${{ expr }}` placeholders. Offsets in errors are relative to `text`. */
export function parseTemplate(text: string): Template {
  const parts: Template['parts'] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf(OPEN, i);
    if (open < 0) {
      parts.push(text.slice(i));
      break;
    }
    if (open > i) parts.push(text.slice(i, open));
    const close = text.indexOf(CLOSE, open + OPEN.length);
    if (close < 0) throw new ExpressionError('"${{" without a closing "}}"', open);
    const inner = text.slice(open + OPEN.length, close);
    try {
      parts.push({ expr: parseExpression(inner), offset: open });
    } catch (err) {
      if (err instanceof ExpressionError)
        throw new ExpressionError(err.message, open + OPEN.length + err.offset);
      throw err;
    }
    i = close + CLOSE.length;
  }
  return { parts };
}

/** Parses a condition: either `${{ expr }}` or a bare expression. */
export function parseCondition(text: string): Expr {
  const trimmed = text.trim();
  if (trimmed.startsWith(OPEN) && trimmed.endsWith(CLOSE) && trimmed.indexOf(OPEN, 1) < 0) {
    const start = text.indexOf(OPEN) + OPEN.length;
    try {
      return parseExpression(trimmed.slice(OPEN.length, -CLOSE.length));
    } catch (err) {
      if (err instanceof ExpressionError) throw new ExpressionError(err.message, start + err.offset);
      throw err;
    }
  }
  return parseExpression(text);
}

/** Every reference in an expression, in source order. */
export function collectRefs(expr: Expr, out: { path: string[]; offset: number }[] = []): typeof out {
  switch (expr.type) {
    case 'ref':
      out.push({ path: expr.path, offset: expr.offset });
      break;
    case 'not':
      collectRefs(expr.operand, out);
      break;
    case 'binary':
      collectRefs(expr.left, out);
      collectRefs(expr.right, out);
      break;
    case 'literal':
      break;
  }
  return out;
}

/** What references can read: `params`, `tasks.<id>.outputs`/`status`, `run`. */
export type Scope = Record<string, unknown>;

function lookup(scope: Scope, path: string[]): unknown {
  let cur: unknown = scope;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    // Own properties only: no prototype walking (`constructor`, `__proto__`).
    if (!Object.prototype.hasOwnProperty.call(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function compare(op: BinaryOp, a: unknown, b: unknown): boolean {
  switch (op) {
    case '==':
      return a === b || (typeof a !== typeof b && a != null && b != null && String(a) === String(b));
    case '!=':
      return !compare('==', a, b);
    default: {
      const x = typeof a === 'number' || typeof b === 'number' ? Number(a) : String(a);
      const y = typeof a === 'number' || typeof b === 'number' ? Number(b) : String(b);
      if (op === '<') return x < y;
      if (op === '<=') return x <= y;
      if (op === '>') return x > y;
      return x >= y;
    }
  }
}

/** Evaluates an expression against a scope. Unknown references evaluate to undefined. */
export function evaluate(expr: Expr, scope: Scope): unknown {
  switch (expr.type) {
    case 'literal':
      return expr.value;
    case 'ref':
      return lookup(scope, expr.path);
    case 'not':
      return !truthy(evaluate(expr.operand, scope));
    case 'binary': {
      if (expr.op === '&&') {
        const l = evaluate(expr.left, scope);
        return truthy(l) ? evaluate(expr.right, scope) : l;
      }
      if (expr.op === '||') {
        const l = evaluate(expr.left, scope);
        return truthy(l) ? l : evaluate(expr.right, scope);
      }
      return compare(expr.op, evaluate(expr.left, scope), evaluate(expr.right, scope));
    }
  }
}

/** Truthiness as users expect from YAML: false, null, 0, "", "false" and "0" are false. */
export function truthy(value: unknown): boolean {
  if (value === 'false' || value === '0') return false;
  return Boolean(value);
}

function stringify(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * Renders a template. A string that is exactly one `${{ expr }}` keeps the value's type
 * (a number stays a number); otherwise the parts are joined as a string.
 */
export function renderTemplate(template: Template, scope: Scope): unknown {
  const [only] = template.parts;
  if (template.parts.length === 1 && only !== undefined && typeof only !== 'string') {
    return evaluate(only.expr, scope);
  }
  return template.parts.map((p) => (typeof p === 'string' ? p : stringify(evaluate(p.expr, scope)))).join('');
}

/** Renders every string inside a JSON value (objects and arrays are walked). */
export function renderValue(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string')
    return hasExpression(value) ? renderTemplate(parseTemplate(value), scope) : value;
  if (Array.isArray(value)) return value.map((v) => renderValue(v, scope));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renderValue(v, scope);
    return out;
  }
  return value;
}
