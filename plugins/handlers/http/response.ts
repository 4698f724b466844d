/**
 * Reading a response: a size-capped body, and the error an HTTP status stands for.
 */
import { NonRetryableError, RetryAfterError } from '../../../engine/errors.js';

/** At most this much of an error response's body is quoted in the error message. */
const MAX_ERROR_SNIPPET_CHARS = 500;
const JSON_CONTENT_TYPE_RE = /^(?:application|text)\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

export interface CappedBody {
  /** At most `maxBytes` bytes. */
  bytes: Uint8Array;
  /** True when the body was longer than `maxBytes` (the rest was not read). */
  overflow: boolean;
}

/** Reads at most `maxBytes` of the body and stops the download beyond that. */
export async function readCappedBody(response: Response, maxBytes: number): Promise<CappedBody> {
  if (response.body === null) return { bytes: new Uint8Array(0), overflow: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: concat(chunks, size), overflow: false };
    chunks.push(value);
    size += value.byteLength;
    if (size > maxBytes) {
      // Stop the transfer; the connection is not worth reusing for a body we will not read.
      reader.cancel().catch(() => undefined);
      return { bytes: concat(chunks, size).subarray(0, maxBytes), overflow: true };
    }
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Whether a content-type names JSON (`application/json`, `application/problem+json`, ...). */
export function isJsonContentType(contentType: string | null): boolean {
  return contentType !== null && JSON_CONTENT_TYPE_RE.test(contentType);
}

/** A Retry-After header (seconds or an HTTP date) in ms from `now`, or undefined. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A URL fit for messages and logs: no credentials, no query string (it may hold API keys). */
export function safeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * The error for a status >= 400: 429 and 503 with Retry-After → RetryAfterError; 408 and 429
 * (without Retry-After) → retryable; other 4xx → NonRetryableError (the same request would fail
 * again); 5xx → retryable.
 */
export function statusError(
  request: { method: string; url: URL },
  response: Response,
  bodyText: string,
): Error {
  const snippet = bodyText.replace(/\s+/g, ' ').trim().slice(0, MAX_ERROR_SNIPPET_CHARS);
  const message =
    `http: ${request.method} ${safeUrl(request.url)} failed with ${response.status}` +
    `${response.statusText ? ` ${response.statusText}` : ''}${snippet ? `: ${snippet}` : ''}`;
  const { status } = response;
  if (status === 429 || status === 503) {
    const delayMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
    if (delayMs !== undefined) return new RetryAfterError(message, delayMs);
  }
  if (status >= 400 && status < 500 && status !== 408 && status !== 429)
    return new NonRetryableError(message);
  return new Error(message);
}
