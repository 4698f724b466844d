/**
 * Metric names referenced by a PromQL expression (as written in the alert rules and the Grafana
 * dashboard), found with a small tokenizer rather than a regex over the text, so that function
 * names, aggregation keywords, label names in `by (...)`, label matchers and their quoted values,
 * durations, numbers and Grafana variables (`$instance`, `${datasource}`, `$__rate_interval`)
 * are never mistaken for metric names.
 */

/** Aggregation operators: followed by `(` or by `by`/`without`, never metric names. */
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);
/** Keywords followed by a parenthesised list of label names (skipped whole). */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
/** Other words that are never metric names. */
const KEYWORDS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'atan2', 'inf', 'nan']);

const IDENT_START = /[A-Za-z_:]/;
const IDENT_PART = /[A-Za-z0-9_:]/;

/** Index just past the bracket that closes the one at `start`, skipping quoted strings. */
function skipBracketed(expr: string, start: number, open: string, close: string): number {
  let depth = 0;
  for (let i = start; i < expr.length; i++) {
    const c = expr.charAt(i);
    if (c === '"' || c === "'" || c === '`') i = skipString(expr, i) - 1;
    else if (c === open) depth++;
    else if (c === close && --depth === 0) return i + 1;
  }
  throw new Error(`unbalanced ${open} in PromQL: ${expr}`);
}

/** Index just past the string literal starting at `start` (backslash escapes, except in `...`). */
function skipString(expr: string, start: number): number {
  const quote = expr.charAt(start);
  for (let i = start + 1; i < expr.length; i++) {
    if (expr.charAt(i) === '\\' && quote !== '`') i++;
    else if (expr.charAt(i) === quote) return i + 1;
  }
  throw new Error(`unterminated string in PromQL: ${expr}`);
}

function skipSpaces(expr: string, i: number): number {
  while (i < expr.length && /\s/.test(expr.charAt(i))) i++;
  return i;
}

/** Metric names an expression selects, in order of first appearance. */
export function promqlMetricNames(expr: string): string[] {
  const names: string[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr.charAt(i);
    if (/\s/.test(c)) i++;
    else if (c === '#') {
      while (i < expr.length && expr.charAt(i) !== '\n') i++;
    } else if (c === '"' || c === "'" || c === '`') i = skipString(expr, i);
    else if (c === '{') i = skipBracketed(expr, i, '{', '}');
    else if (c === '[') i = skipBracketed(expr, i, '[', ']');
    else if (c === '$') {
      // Grafana variable: ${name[:format]} or $name.
      i++;
      if (expr.charAt(i) === '{') i = skipBracketed(expr, i, '{', '}');
      else while (i < expr.length && IDENT_PART.test(expr.charAt(i))) i++;
    } else if (/[0-9.]/.test(c)) {
      // Numbers (1e-7, 0x1f, .5) and durations (5m, 1h30m).
      i++;
      while (
        i < expr.length &&
        (/[0-9A-Za-z_.]/.test(expr.charAt(i)) ||
          (/[+-]/.test(expr.charAt(i)) && /e/i.test(expr.charAt(i - 1))))
      )
        i++;
    } else if (IDENT_START.test(c)) {
      const start = i;
      while (i < expr.length && IDENT_PART.test(expr.charAt(i))) i++;
      const word = expr.slice(start, i);
      const lower = word.toLowerCase();
      const next = skipSpaces(expr, i);
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        if (expr.charAt(next) === '(') i = skipBracketed(expr, next, '(', ')');
      } else if (expr.charAt(next) === '(' || AGGREGATIONS.has(lower) || KEYWORDS.has(lower)) {
        // a function call, an aggregation or an operator keyword
      } else if (!names.includes(word)) names.push(word);
    } else i++;
  }
  return names;
}

/**
 * Metric names of a Grafana query variable: `label_values(selector, label)` names the selector's
 * metric (the label is not a metric); `metrics(...)`/`label_names()` name none; anything else is
 * taken as PromQL (`query_result(...)`).
 */
export function grafanaVariableMetricNames(query: string): string[] {
  const labelValues = /^\s*label_values\s*\(([\s\S]*)\)\s*$/.exec(query);
  if (labelValues) {
    const args = labelValues[1] ?? '';
    // The label is the last argument; with one argument it is a label name alone.
    const comma = lastTopLevelComma(args);
    return comma < 0 ? [] : promqlMetricNames(args.slice(0, comma));
  }
  if (/^\s*(metrics|label_names)\s*\(/.test(query)) return [];
  const result = /^\s*query_result\s*\(([\s\S]*)\)\s*$/.exec(query);
  return promqlMetricNames(result?.[1] ?? query);
}

function lastTopLevelComma(args: string): number {
  let last = -1;
  for (let i = 0; i < args.length; i++) {
    const c = args.charAt(i);
    if (c === '"' || c === "'" || c === '`') i = skipString(args, i) - 1;
    else if (c === '{') i = skipBracketed(args, i, '{', '}') - 1;
    else if (c === '(') i = skipBracketed(args, i, '(', ')') - 1;
    else if (c === ',') last = i;
  }
  return last;
}
