/**
 * The arguments of an `http` task, checked at run time (they come from a workflow file).
 */
import { NonRetryableError } from '../../../engine/errors.js';
import { parseDuration } from '../../../dsl/duration.js';

/** What the engine passes as `ctx.args` to the `http` handler (expressions already resolved). */
export interface HttpArgs {
  url: string;
  /** @default 'GET' */
  method?: string;
  headers?: Record<string, string>;
  /**
   * Request body. A string is sent as is; any other value is sent as JSON (with
   * `content-type: application/json` unless a content-type header is given).
   */
  body?: unknown;
  /** Request timeout: a duration (`"10s"`) or ms. Defaults to the handler's `timeoutMs`. */
  timeout?: string | number;
}

/** A checked request. */
export interface HttpRequestPlan {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  timeoutMs: number;
}

const METHOD_RE = /^[A-Za-z]+$/;

/** Checks `ctx.args`; bad arguments cannot succeed on a retry, so they fail for good. */
export function checkHttpArgs(args: unknown, defaultTimeoutMs: number): HttpRequestPlan {
  if (args === null || typeof args !== 'object') throw new NonRetryableError('http: args must be an object');
  const raw = args as Record<string, unknown>;
  if (typeof raw.url !== 'string' || raw.url === '')
    throw new NonRetryableError('http: args.url must be a non-empty string');
  let url: URL;
  try {
    url = new URL(raw.url);
  } catch {
    throw new NonRetryableError(`http: args.url is not a valid URL: ${JSON.stringify(raw.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new NonRetryableError(`http: only http and https URLs are supported, got ${url.protocol}`);
  }
  const method = raw.method ?? 'GET';
  if (typeof method !== 'string' || !METHOD_RE.test(method)) {
    throw new NonRetryableError(
      `http: args.method must be an HTTP method such as "POST", got ${JSON.stringify(method)}`,
    );
  }
  const headers = checkHeaders(raw.headers);
  const upper = method.toUpperCase();
  let body: string | undefined;
  if (raw.body !== undefined && raw.body !== null) {
    if (upper === 'GET' || upper === 'HEAD')
      throw new NonRetryableError(`http: a ${upper} request cannot have a body`);
    if (typeof raw.body === 'string') {
      body = raw.body;
    } else {
      body = JSON.stringify(raw.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
        headers['content-type'] = 'application/json';
    }
  }
  return { url, method: upper, headers, body, timeoutMs: checkTimeout(raw.timeout, defaultTimeoutMs) };
}

function checkHeaders(headers: unknown): Record<string, string> {
  if (headers === undefined || headers === null) return {};
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    throw new NonRetryableError('http: args.headers must be an object of strings');
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string') out[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[name] = String(value);
    else throw new NonRetryableError(`http: args.headers.${name} must be a string`);
  }
  return out;
}

function checkTimeout(timeout: unknown, defaultTimeoutMs: number): number {
  if (timeout === undefined) return defaultTimeoutMs;
  const ms =
    typeof timeout === 'number' ? timeout : typeof timeout === 'string' ? parseDuration(timeout) : undefined;
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) {
    throw new NonRetryableError(
      `http: args.timeout must be a duration such as "10s" or a number of ms > 0, got ${JSON.stringify(timeout)}`,
    );
  }
  return ms;
}
