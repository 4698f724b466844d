/**
 * Resolves a run's params: declared defaults overridden by `--param name=value` (strings from the
 * CLI, coerced to the declared type) or by typed values from the API.
 */
import { SmartQueueError } from '../engine/errors.js';
import type { ParamIR } from './ir.js';
import { paramValueProblem } from './normalize.js';
import { didYouMean } from './source.js';

function coerce(param: ParamIR, raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  switch (param.type) {
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'number':
    case 'integer':
      return raw.trim() !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
    default:
      return raw;
  }
}

/** Parses `name=value` strings into an object. */
export function parseParamArgs(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new SmartQueueError('INVALID_ARGUMENT', `--param "${a}": expected name=value`);
    out[a.slice(0, eq)] = a.slice(eq + 1);
  }
  return out;
}

/** Applies overrides to the declared params; throws INVALID_ARGUMENT listing every problem. */
export function resolveParams(
  declared: Record<string, ParamIR>,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const name of Object.keys(overrides)) {
    if (!Object.hasOwn(declared, name)) {
      const known = Object.keys(declared);
      problems.push(
        `unknown param "${name}"${didYouMean(name, known)}; declared: ${known.join(', ') || 'none'}`,
      );
    }
  }
  for (const [name, param] of Object.entries(declared)) {
    if (Object.hasOwn(overrides, name)) {
      const value = coerce(param, overrides[name]);
      const problem = paramValueProblem(param, value);
      if (problem) problems.push(`param "${name}": ${problem}`);
      values[name] = value;
    } else if (param.default !== undefined) values[name] = param.default;
    else if (param.required) problems.push(`param "${name}" is required (pass --param ${name}=...)`);
  }
  if (problems.length) {
    throw new SmartQueueError('INVALID_ARGUMENT', problems.join('; '), { details: { problems } });
  }
  return values;
}
