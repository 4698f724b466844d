/**
 * The in-process {@link Coordinator}: one instance that is the whole cluster. It owns every
 * shard, keeps members under leases that expire unless kept alive (checked lazily, when
 * members are listed or a lease is renewed: no timers), and serves locks, reservations and ids
 * from memory.
 */
import { SmartQueueError } from '../../../engine/errors.js';
import type { CallOptions, Coordinator, MemberLease } from '../../../engine/stages.js';
import { reservationTtlMs } from '../reservation-ttl.js';
import { IdGenerator } from './id-generator.js';
import { LockTable } from './lock-table.js';

type MemberKind = 'scheduler' | 'worker';

/** Options of {@link createInProcessCoordinator}. */
export interface InProcessCoordinatorOptions {
  /**
   * The clock of leases and ids, in epoch ms. Tests pass a fake one to expire leases at will.
   * @default Date.now
   */
  now?: () => number;
}

/** {@link InProcessCoordinatorOptions} with every default applied. */
export interface ResolvedInProcessCoordinatorOptions {
  now: () => number;
}

/** The in-process coordinator; `await using` closes it. */
export interface InProcessCoordinator extends Coordinator, AsyncDisposable {}

/** Validates options and applies defaults; throws `INVALID_OPTIONS` for bad options. */
export function resolveInProcessCoordinatorOptions(
  raw: InProcessCoordinatorOptions = {},
): ResolvedInProcessCoordinatorOptions {
  const now = raw.now ?? Date.now;
  if (typeof now !== 'function') {
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      'invalid in-process coordinator options: now must be a function',
    );
  }
  return { now };
}

interface LeaseState {
  readonly id: string;
  readonly ttlMs: number;
  expiresAt: number;
  revoked: boolean;
}

function closedError(): SmartQueueError {
  return new SmartQueueError('UNAVAILABLE', 'the in-process coordinator is closed');
}

class InProcessCoordinatorImpl implements InProcessCoordinator {
  readonly name = 'in-process';
  readonly #now: () => number;
  readonly #ids: IdGenerator;
  readonly #locks = new LockTable();
  readonly #members: Record<MemberKind, Map<string, LeaseState>> = {
    scheduler: new Map(),
    worker: new Map(),
  };
  readonly #reservations = new Map<string, { value: string; until: number }>();
  #closed = false;

  constructor(options: ResolvedInProcessCoordinatorOptions) {
    this.#now = options.now;
    this.#ids = new IdGenerator(options.now);
  }

  async register(kind: MemberKind, id: string, ttlMs: number): Promise<MemberLease> {
    this.#checkOpen();
    const members = this.#membersOf(kind);
    if (typeof id !== 'string' || id === '')
      throw new SmartQueueError('INVALID_ARGUMENT', 'member id must be a non-empty string');
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new SmartQueueError('INVALID_ARGUMENT', `lease ttlMs must be a number > 0, got ${String(ttlMs)}`);
    }
    // Registering again replaces the member's lease, as a re-put under a new lease does in etcd.
    const state: LeaseState = {
      id: this.#ids.next('lease'),
      ttlMs,
      expiresAt: this.#now() + ttlMs,
      revoked: false,
    };
    members.set(id, state);
    return {
      id: state.id,
      keepAlive: async () => {
        this.#checkOpen();
        if (!this.#isLive(state)) {
          throw new SmartQueueError(
            'NOT_FOUND',
            `lease ${state.id} of ${kind} ${id} has expired or was revoked`,
            {
              details: { kind, id, leaseId: state.id },
            },
          );
        }
        state.expiresAt = this.#now() + state.ttlMs;
      },
      revoke: async () => {
        state.revoked = true;
        if (members.get(id) === state) members.delete(id);
      },
    };
  }

  async members(kind: MemberKind): Promise<string[]> {
    this.#checkOpen();
    const members = this.#membersOf(kind);
    const live: string[] = [];
    for (const [id, state] of members) {
      if (this.#isLive(state)) live.push(id);
      else members.delete(id);
    }
    return live.sort();
  }

  async ownedShards(total: number): Promise<number[]> {
    this.#checkOpen();
    if (!Number.isInteger(total) || total < 0) {
      throw new SmartQueueError(
        'INVALID_ARGUMENT',
        `total shards must be an integer >= 0, got ${String(total)}`,
      );
    }
    return Array.from({ length: total }, (_, shard) => shard);
  }

  /**
   * Runs `fn` while holding the named lock (FIFO, not reentrant: calling withLock for the same
   * name from inside `fn` deadlocks). `signal` only stops the wait: once `fn` runs, it runs to
   * its end.
   */
  async withLock<T>(name: string, fn: () => Promise<T>, options?: CallOptions): Promise<T> {
    this.#checkOpen();
    const release = await this.#locks.acquire(name, options?.signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  async reserve(key: string, value: string, options: { ttlMs?: number } = {}): Promise<string> {
    this.#checkOpen();
    const now = Date.now();
    const existing = this.#reservations.get(key);
    if (existing !== undefined && existing.until > now) return existing.value;
    const ttl = reservationTtlMs(options.ttlMs);
    this.#reservations.set(key, { value, until: ttl === undefined ? Infinity : now + ttl });
    if (this.#reservations.size % 1024 === 0) {
      for (const [k, r] of this.#reservations) if (r.until <= now) this.#reservations.delete(k);
    }
    return value;
  }

  nextId(prefix: string): string {
    return this.#ids.next(prefix);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#locks.rejectWaiters(closedError);
    this.#members.scheduler.clear();
    this.#members.worker.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #isLive(state: LeaseState): boolean {
    return !state.revoked && this.#now() < state.expiresAt;
  }

  #membersOf(kind: MemberKind): Map<string, LeaseState> {
    if (kind !== 'scheduler' && kind !== 'worker') {
      throw new SmartQueueError(
        'INVALID_ARGUMENT',
        `member kind must be 'scheduler' or 'worker', got ${JSON.stringify(kind)}`,
      );
    }
    return this.#members[kind];
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError();
  }
}

/**
 * Creates the in-process coordinator: the only instance, owner of every shard. Ids from
 * `nextId` are unique and sortable within this instance (see id-generator.ts). After `close()`
 * every async call rejects with `UNAVAILABLE`, and lock waiters are rejected with it.
 */
export function createInProcessCoordinator(options: InProcessCoordinatorOptions = {}): InProcessCoordinator {
  return new InProcessCoordinatorImpl(resolveInProcessCoordinatorOptions(options));
}
