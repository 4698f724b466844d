/**
 * Per-client rate limiting: one token bucket per client (the authenticated principal, else the
 * peer address). A call that finds its bucket empty gets RESOURCE_EXHAUSTED with the wait in the
 * message; idle buckets are forgotten so the table stays bounded.
 */
import { SmartQueueError } from '../../../engine/errors.js';
import { principalOf, rejectCall } from './auth.js';
import type { AnyServerCall } from './auth.js';

export interface RateLimitOptions {
  /** Sustained calls per second per client. @default 1000 */
  ratePerSecond?: number;
  /** Calls a client may make at once above the sustained rate (bucket size). @default 2000 */
  burst?: number;
  /** Most clients tracked; the least recently seen are forgotten first. @default 10000 */
  maxClients?: number;
  /** Clock (ms), for tests. @default Date.now */
  now?: () => number;
}

export interface ResolvedRateLimitOptions {
  ratePerSecond: number;
  burst: number;
  maxClients: number;
  now: () => number;
}

function positive(name: string, v: number | undefined, fallback: number, integer = false): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new SmartQueueError('INVALID_OPTIONS', `rateLimit.${name} must be a positive number, got ${v}`);
  }
  return v;
}

export function resolveRateLimitOptions(raw: RateLimitOptions = {}): ResolvedRateLimitOptions {
  return {
    ratePerSecond: positive('ratePerSecond', raw.ratePerSecond, 1000),
    burst: positive('burst', raw.burst, 2000),
    maxClients: positive('maxClients', raw.maxClients, 10_000, true),
    now: raw.now ?? Date.now,
  };
}

/** A set of token buckets keyed by client. */
export interface RateLimiter {
  /** Takes one token for `client`; throws RESOURCE_EXHAUSTED when its bucket is empty. */
  take(client: string): void;
  /** Tokens left for `client` (a full bucket for an unknown client). */
  available(client: string): number;
  readonly size: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export function createRateLimiter(raw: RateLimitOptions = {}): RateLimiter {
  const { ratePerSecond, burst, maxClients, now } = resolveRateLimitOptions(raw);
  // Map keeps insertion order: re-inserting on use makes the first key the least recently seen.
  const buckets = new Map<string, Bucket>();

  const refill = (client: string): Bucket => {
    const t = now();
    const b = buckets.get(client);
    if (!b) return { tokens: burst, at: t };
    b.tokens = Math.min(burst, b.tokens + (Math.max(0, t - b.at) * ratePerSecond) / 1000);
    b.at = t;
    return b;
  };

  return {
    take(client) {
      const b = refill(client);
      buckets.delete(client);
      buckets.set(client, b);
      if (buckets.size > maxClients) buckets.delete(buckets.keys().next().value!);
      if (b.tokens < 1) {
        const waitMs = Math.ceil(((1 - b.tokens) * 1000) / ratePerSecond);
        throw new SmartQueueError(
          'RESOURCE_EXHAUSTED',
          `rate limit exceeded for ${client}: ${ratePerSecond}/s (burst ${burst}); retry in ${waitMs} ms`,
          { details: { retryAfterMs: waitMs } },
        );
      }
      b.tokens -= 1;
    },
    available(client) {
      const b = buckets.get(client);
      return b ? refill(client).tokens : burst;
    },
    get size() {
      return buckets.size;
    },
  };
}

/** The rate-limit key of a call: its principal's name when authorized, else its peer's host. */
export function clientKeyOf(call: AnyServerCall): string {
  const p = principalOf(call);
  if (p && !p.anonymous) return `principal:${p.name}`;
  return peerKey(call.getPeer?.() ?? 'unknown');
}

/** The rate-limit key of a peer address: its host (`ipv4:1.2.3.4:5678` → `peer:ipv4:1.2.3.4`). */
export function peerKey(peer: string): string {
  // Drop the port: each connection gets a new one.
  return `peer:${peer.replace(/:\d+$/, '')}`;
}

/**
 * Wraps every handler so each call first takes a token from its client's bucket. Wrap it inside
 * {@link withAuthorization} (`withAuthorization(withRateLimit(h, l), a)`) so calls are keyed by
 * principal.
 */
export function withRateLimit<H extends object>(
  handlers: H,
  limiter: RateLimiter,
  keyOf: (call: AnyServerCall) => string = clientKeyOf,
): H {
  const wrapped: Record<string, unknown> = {};
  for (const [method, handler] of Object.entries(handlers)) {
    if (typeof handler !== 'function') {
      wrapped[method] = handler;
      continue;
    }
    wrapped[method] = (call: AnyServerCall, callback?: unknown) => {
      try {
        limiter.take(keyOf(call));
      } catch (err) {
        rejectCall(call, callback, err);
        return;
      }
      (handler as (c: unknown, cb?: unknown) => void)(call, callback);
    };
  }
  return wrapped as H;
}
