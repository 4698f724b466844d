/**
 * Named async mutexes. A lock is handed over in FIFO order; waiters that abort leave the queue.
 * Entries exist only while a lock is held, so unused names cost nothing.
 */

interface Waiter {
  grant(): void;
  fail(reason: unknown): void;
}

/** A set of named, non-reentrant async mutexes. */
export class LockTable {
  /** The waiters of each held lock (empty when nobody waits). */
  readonly #locks = new Map<string, Waiter[]>();

  /** Number of locks held now. */
  get held(): number {
    return this.#locks.size;
  }

  /**
   * Resolves once `name` is held by the caller, to a release function (idempotent). Rejects
   * with `signal.reason` if the signal aborts first.
   */
  acquire(name: string, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const waiters = this.#locks.get(name);
    if (waiters === undefined) {
      this.#locks.set(name, []);
      return Promise.resolve(this.#releaser(name));
    }
    return new Promise<() => void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = waiters.indexOf(waiter);
        if (index >= 0) waiters.splice(index, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.#releaser(name));
        },
        fail: (reason) => {
          signal?.removeEventListener('abort', onAbort);
          reject(reason);
        },
      };
      waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Rejects every waiter with `reason()` (on close). Holders keep their locks until they release. */
  rejectWaiters(reason: () => unknown): void {
    for (const waiters of this.#locks.values()) {
      for (const waiter of waiters.splice(0)) waiter.fail(reason());
    }
  }

  #releaser(name: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const waiters = this.#locks.get(name)!;
      const next = waiters.shift();
      if (next === undefined) this.#locks.delete(name);
      else next.grant();
    };
  }
}
