/**
 * Idempotency keys: a repeated request with the same key gets the original answer; the same key
 * on a different request is ALREADY_EXISTS. This cache remembers them in this process (bounded,
 * oldest forgotten first); in a cluster, SubmitWorkflow's keys are also reserved in the
 * coordinator for every instance (see sharedSubmit in submit-workflow.ts).
 */
import { createHash } from 'node:crypto';
import { SmartQueueError } from '../../../engine/errors.js';

/** A stable digest of a request (object keys sorted), to tell a retry from a different request. */
export function fingerprint(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex');
}

export class IdempotencyCache<T> {
  private readonly entries = new Map<string, { fingerprint: string; result: Promise<T> }>();

  constructor(private readonly max: number) {}

  /**
   * The answer already given (or being given) for `key`, if any; ALREADY_EXISTS when the key was
   * used for a different request. With {@link claim}, for callers that must know before they act
   * (a batch that leaves out its repeated members).
   */
  peek(key: string, print: string): Promise<T> | undefined {
    const hit = this.entries.get(key);
    if (hit && hit.fingerprint !== print) {
      throw new SmartQueueError(
        'ALREADY_EXISTS',
        `idempotency key "${key.split('\u0000').pop()}" was already used for a different request`,
        { details: { idempotencyKey: key } },
      );
    }
    return hit?.result;
  }

  /** Records the answer to `key` (forgotten again if it fails, so the client may retry). */
  claim(key: string, print: string, result: Promise<T>): void {
    this.entries.set(key, { fingerprint: print, result });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    result.catch(() => {
      if (this.entries.get(key)?.result === result) this.entries.delete(key);
    });
  }

  /**
   * Runs `fn` once per key. Concurrent calls with the same key share one execution; a failed
   * execution is forgotten, so the client may retry it.
   */
  async run(key: string, print: string, fn: () => Promise<T>): Promise<{ value: T; deduplicated: boolean }> {
    const hit = this.peek(key, print);
    if (hit) return { value: await hit, deduplicated: true };
    const result = fn();
    this.claim(key, print, result);
    return { value: await result, deduplicated: false };
  }
}
