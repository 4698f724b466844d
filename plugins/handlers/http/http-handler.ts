/**
 * The `http` handler: one HTTP request with global fetch, bounded in time and size, whose
 * status decides between success, a retry and a final failure.
 */
import { NonRetryableError, errorMessage } from '../../../engine/errors.js';
import type { HandlerContext, TaskHandler } from '../../../engine/handler.js';
import { checkHttpArgs, type HttpArgs, type HttpRequestPlan } from './args.js';
import { fetchFollowingRedirects, type FetchOutcome } from './fetch-redirects.js';
import {
  resolveHttpHandlerOptions,
  type HttpHandlerOptions,
  type ResolvedHttpHandlerOptions,
} from './options.js';
import { isJsonContentType, readCappedBody, safeUrl, statusError, type CappedBody } from './response.js';

/** Outputs of a successful `http` task. */
export interface HttpOutputs extends Record<string, unknown> {
  status: number;
  /** The response headers listed in `exposeHeaders` that were present (lower-case names). */
  headers: Record<string, string>;
  /** The parsed JSON when the content-type is JSON, otherwise the text. */
  body: unknown;
}

/**
 * Creates the `http` handler. A status >= 400 fails the attempt (see `statusError` for which
 * failures are retried); a network error or timeout is retryable; a refused host, bad arguments
 * or a body over `maxBodyBytes` is not. `ctx.signal` aborts the request and rejects with the
 * signal's reason.
 * @throws SmartQueueError `INVALID_OPTIONS` at creation for bad options.
 */
export function createHttpHandler(options: HttpHandlerOptions = {}): TaskHandler<HttpArgs, HttpOutputs> {
  const resolved = resolveHttpHandlerOptions(options);
  return (ctx) => httpTask(ctx, resolved);
}

async function httpTask(
  ctx: HandlerContext<HttpArgs>,
  options: ResolvedHttpHandlerOptions,
): Promise<HttpOutputs> {
  const plan = checkHttpArgs(ctx.args, options.timeoutMs);
  ctx.signal.throwIfAborted();
  const { outcome, body } = await exchange(plan, options, ctx.signal);
  const { response } = outcome;
  const decoded = new TextDecoder().decode(body.bytes);
  if (response.status >= 400) throw statusError(outcome, response, decoded);
  if (body.overflow) {
    throw new NonRetryableError(
      `http: the response body of ${outcome.method} ${safeUrl(outcome.url)} is larger than maxBodyBytes (${options.maxBodyBytes})`,
    );
  }
  const headers: Record<string, string> = {};
  for (const name of options.exposeHeaders) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { status: response.status, headers, body: parseBody(ctx, response, decoded) };
}

/** Sends the request and reads the body, under one timeout that also covers the body. */
async function exchange(
  plan: HttpRequestPlan,
  options: ResolvedHttpHandlerOptions,
  taskSignal: AbortSignal,
): Promise<{ outcome: FetchOutcome; body: CappedBody }> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(taskSignal.reason);
  taskSignal.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('timeout'));
  }, plan.timeoutMs);
  try {
    const outcome = await fetchFollowingRedirects(plan, options, controller.signal);
    const body = await readCappedBody(outcome.response, options.maxBodyBytes);
    return { outcome, body };
  } catch (err) {
    if (taskSignal.aborted) throw taskSignal.reason;
    if (err instanceof NonRetryableError) throw err;
    const what = `http: ${plan.method} ${safeUrl(plan.url)}`;
    if (timedOut) throw new Error(`${what} timed out after ${plan.timeoutMs}ms`, { cause: err });
    throw new Error(`${what} failed: ${describeNetworkError(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
    taskSignal.removeEventListener('abort', onAbort);
  }
}

/** fetch reports "fetch failed"; the useful part (ECONNREFUSED, ENOTFOUND, ...) is its cause. */
function describeNetworkError(err: unknown): string {
  const cause =
    err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string')
    return `${cause.code}${typeof cause.message === 'string' ? ` (${cause.message})` : ''}`;
  return errorMessage(err);
}

function parseBody(ctx: HandlerContext<HttpArgs>, response: Response, text: string): unknown {
  if (text === '' || !isJsonContentType(response.headers.get('content-type'))) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    ctx.log.warn('http: the response says JSON but is not; returning it as text', {
      error: errorMessage(err),
    });
    return text;
  }
}
