/**
 * fetch with redirects followed by hand (`redirect: 'manual'`), so that every hop is checked
 * against `allowedHosts` before a request is made to it.
 */
import { NonRetryableError } from '../../../engine/errors.js';
import type { HttpRequestPlan } from './args.js';
import { isHostAllowed } from './host-policy.js';
import type { ResolvedHttpHandlerOptions } from './options.js';
import { safeUrl } from './response.js';

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Headers dropped when a redirect leaves the origin, as browsers and the fetch spec do. */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization']);
const BODY_HEADERS: ReadonlySet<string> = new Set(['content-type', 'content-length', 'content-encoding']);

/** The final response, and the URL and method that produced it. */
export interface FetchOutcome {
  response: Response;
  url: URL;
  method: string;
}

function withoutHeaders(headers: Record<string, string>, drop: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (!drop.has(name.toLowerCase())) out[name] = value;
  return out;
}

/** Requests `plan`, following up to `maxRedirects` redirects to allowed hosts. */
export async function fetchFollowingRedirects(
  plan: HttpRequestPlan,
  options: ResolvedHttpHandlerOptions,
  signal: AbortSignal,
): Promise<FetchOutcome> {
  let { url, method, headers, body } = plan;
  for (let hop = 0; ; hop++) {
    if (!isHostAllowed(url, options.allowedHosts)) {
      const via = hop === 0 ? '' : ` (reached by a redirect from ${safeUrl(plan.url)})`;
      throw new NonRetryableError(`http: host ${url.host} is not in allowedHosts${via}`);
    }
    const response = await options.fetch(url, { method, headers, body, signal, redirect: 'manual' });
    const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
    if (location === null) return { response, url, method };
    response.body?.cancel().catch(() => undefined);
    if (hop >= options.maxRedirects) {
      throw new NonRetryableError(
        `http: more than ${options.maxRedirects} redirects from ${safeUrl(plan.url)}`,
      );
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new NonRetryableError(
        `http: invalid redirect location ${JSON.stringify(location)} from ${safeUrl(url)}`,
      );
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new NonRetryableError(
        `http: redirect to unsupported protocol ${next.protocol} from ${safeUrl(url)}`,
      );
    }
    // 303 always, and 301/302 after a POST, turn into a GET without a body (fetch spec, 4.4).
    if (
      (response.status === 303 && method !== 'HEAD') ||
      ((response.status === 301 || response.status === 302) && method === 'POST')
    ) {
      method = 'GET';
      body = undefined;
      headers = withoutHeaders(headers, BODY_HEADERS);
    }
    if (next.origin !== url.origin) headers = withoutHeaders(headers, CREDENTIAL_HEADERS);
    url = next;
  }
}
