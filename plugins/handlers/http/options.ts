/**
 * Options of the `http` handler, validated and defaulted in one place.
 */
import { SmartQueueError } from '../../../engine/errors.js';

/** Response headers copied into the outputs unless told otherwise. */
export const DEFAULT_EXPOSED_HEADERS: readonly string[] = Object.freeze([
  'content-type',
  'content-length',
  'etag',
  'last-modified',
  'location',
  'retry-after',
]);

/** Options of {@link createHttpHandler}. */
export interface HttpHandlerOptions {
  /**
   * Hosts a task may call. An entry is a host name (`api.example.com`, any port), a host and
   * port (`127.0.0.1:8080`), or a wildcard for subdomains (`*.example.com`, which does not match
   * `example.com` itself). Other hosts, redirects to them included, fail with NonRetryableError.
   * @default undefined (every host)
   */
  allowedHosts?: readonly string[];
  /**
   * Largest response body read, in bytes. A longer body fails the attempt (NonRetryableError):
   * outputs cut in the middle of a JSON document would be silently wrong.
   * @default 1048576 (1 MiB)
   */
  maxBodyBytes?: number;
  /**
   * Timeout of a request without `args.timeout`, in ms (headers and body, redirects included).
   * @default 30000
   */
  timeoutMs?: number;
  /**
   * Redirects followed before giving up (each one checked against `allowedHosts`).
   * @default 5
   */
  maxRedirects?: number;
  /**
   * Response headers (lower case) copied into the outputs.
   * @default ['content-type', 'content-length', 'etag', 'last-modified', 'location', 'retry-after']
   */
  exposeHeaders?: readonly string[];
  /**
   * The fetch function; a test or a proxy-aware setup can inject its own.
   * @default globalThis.fetch
   */
  fetch?: typeof globalThis.fetch;
}

/** {@link HttpHandlerOptions} with every default applied. */
export interface ResolvedHttpHandlerOptions {
  /** Lower-cased entries, or undefined for every host. */
  allowedHosts: readonly string[] | undefined;
  maxBodyBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  exposeHeaders: readonly string[];
  fetch: typeof globalThis.fetch;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string' && v !== '');
}

/** Validates options and applies defaults; throws one `INVALID_OPTIONS` error naming every problem. */
export function resolveHttpHandlerOptions(raw: HttpHandlerOptions = {}): ResolvedHttpHandlerOptions {
  const problems: string[] = [];
  const allowedHosts = raw.allowedHosts;
  if (allowedHosts !== undefined && !isStringArray(allowedHosts)) {
    problems.push('allowedHosts must be an array of non-empty strings');
  }
  const maxBodyBytes = raw.maxBodyBytes ?? 1024 * 1024;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 0) {
    problems.push(`maxBodyBytes must be an integer >= 0, got ${String(maxBodyBytes)}`);
  }
  const timeoutMs = raw.timeoutMs ?? 30_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    problems.push(`timeoutMs must be a number > 0, got ${String(timeoutMs)}`);
  const maxRedirects = raw.maxRedirects ?? 5;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) {
    problems.push(`maxRedirects must be an integer >= 0, got ${String(maxRedirects)}`);
  }
  const exposeHeaders = raw.exposeHeaders ?? DEFAULT_EXPOSED_HEADERS;
  if (!isStringArray(exposeHeaders)) problems.push('exposeHeaders must be an array of non-empty strings');
  const fetchFn = raw.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== 'function')
    problems.push('fetch must be a function (Node.js 20+ has a global fetch)');
  if (problems.length > 0) {
    throw new SmartQueueError('INVALID_OPTIONS', `invalid http handler options: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return {
    allowedHosts: allowedHosts && Object.freeze(allowedHosts.map((h) => h.toLowerCase())),
    maxBodyBytes,
    timeoutMs,
    maxRedirects,
    exposeHeaders: Object.freeze(exposeHeaders.map((h) => h.toLowerCase())),
    fetch: fetchFn,
  };
}
