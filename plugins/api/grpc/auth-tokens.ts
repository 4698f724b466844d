/**
 * Bearer tokens: where they come from (a tokens file, YAML or JSON, or the SMARTQUEUE_TOKENS
 * environment variable holding the same document) and what each one may do.
 *
 * ```yaml
 * # token: grant
 * s3cr3t-ci-token: { name: ci, namespaces: [etl, reports] }
 * s3cr3t-worker-token: { name: worker-pool-a, namespaces: '*', role: worker }
 * ```
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { errorMessage, SmartQueueError } from '../../../engine/errors.js';

/** Environment variable holding a tokens document (YAML or JSON) when no tokens file is given. */
export const TOKENS_ENV = 'SMARTQUEUE_TOKENS';

/** Who a token belongs to and what it may reach. */
export interface TokenGrant {
  /** The principal's name (logs, metrics, rate limits). */
  name: string;
  /** Namespaces it may use, or `'*'` for all (and for calls not scoped to one namespace). */
  namespaces: readonly string[] | '*';
  /** `client` calls the SmartQueue service; `worker` calls the Workers service. @default 'client' */
  role: 'client' | 'worker';
}

/** Tokens by their secret value. */
export type TokenTable = ReadonlyMap<string, TokenGrant>;

const grantSchema = z.strictObject({
  name: z.string().min(1),
  namespaces: z.union([z.literal('*'), z.array(z.string().min(1))]),
  role: z.enum(['client', 'worker']).optional(),
});
const documentSchema = z.record(z.string().min(16, 'tokens must be at least 16 characters'), grantSchema);

/** Parses a tokens document (YAML or JSON text); `source` names it in error messages. */
export function parseTokens(text: string, source: string): TokenTable {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new SmartQueueError('INVALID_OPTIONS', `${source}: not valid YAML or JSON: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const parsed = documentSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    // Never echo the token itself (it is the key of the entry): name the entry by position.
    const keys = doc && typeof doc === 'object' ? Object.keys(doc) : [];
    const problems = parsed.error.issues.map((i) => {
      const [first, ...rest] = i.path;
      const at = typeof first === 'string' ? `token #${keys.indexOf(first) + 1}` : 'document';
      return `${[at, ...rest.map(String)].join('.')}: ${i.message}`;
    });
    throw new SmartQueueError('INVALID_OPTIONS', `${source}: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  const table = new Map<string, TokenGrant>();
  for (const [token, g] of Object.entries(parsed.data)) {
    table.set(token, { name: g.name, namespaces: g.namespaces, role: g.role ?? 'client' });
  }
  return table;
}

/** Reads a tokens file (YAML or JSON). */
export function loadTokensFile(file: string): TokenTable {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SmartQueueError('INVALID_OPTIONS', `cannot read tokens file ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return parseTokens(text, file);
}

/** The tokens of `SMARTQUEUE_TOKENS`, or undefined when it is unset or empty. */
export function loadTokensFromEnv(env: NodeJS.ProcessEnv = process.env): TokenTable | undefined {
  const text = env[TOKENS_ENV];
  return text?.trim() ? parseTokens(text, TOKENS_ENV) : undefined;
}
