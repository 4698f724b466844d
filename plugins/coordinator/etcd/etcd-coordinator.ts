/**
 * The etcd {@link Coordinator}: membership under etcd leases, shard ownership with fencing
 * epochs (see shard-ownership.ts), lease-backed locks, put-if-absent reservations and ids that
 * are unique across instances.
 *
 * Each instance keeps one session lease alive in the background; its candidacy, its shards and
 * the locks it holds hang off that lease, so a crashed instance lets go of all of them within
 * `leaseTtlMs`. If the session cannot be renewed in time, the instance owns nothing at once
 * (without waiting to hear from etcd) and starts a new session, which claims shards again with
 * new, larger epochs.
 */
import { randomUUID } from 'node:crypto';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import { SmartQueueError } from '../../../engine/errors.js';
import type { CallOptions, Coordinator, MemberLease } from '../../../engine/stages.js';
import { IdGenerator } from '../in-process/id-generator.js';
import { waitForTurn } from './etcd-lock.js';
import {
  leaseSeconds,
  resolveEtcdCoordinatorOptions,
  type EtcdCoordinatorOptions,
  type ResolvedEtcdCoordinatorOptions,
} from './options.js';
import { isLeaseNotFound, ShardOwnership, type ShardsListener } from './shard-ownership.js';
import { reservationTtlMs } from '../reservation-ttl.js';

type MemberKind = 'scheduler' | 'worker';

/** The etcd coordinator; `await using` closes it. */
export interface EtcdCoordinator extends Coordinator, AsyncDisposable {
  readonly instanceId: string;
  /** Shard → epoch (fencing token) of the shards of `total` this instance owns now. */
  shardOwnership(total: number): Promise<Map<number, number>>;
  /** Calls `listener` whenever the owned shards of `total` change; returns an unsubscribe. */
  onShardsChanged(total: number, listener: ShardsListener): () => void;
  /** Whether this instance still owns `shard` with `epoch`, as etcd says now (linearizable). */
  stillOwns(shard: number, epoch: number, total: number): Promise<boolean>;
  /** Shards of `total` no live instance owned at the last balancing pass (metrics). */
  unownedShards(total: number): number | undefined;
  /** Renewals of this instance's session lease so far (metrics). */
  readonly leaseRenewals: Readonly<{ ok: number; failed: number }>;
}

interface Session {
  readonly lease: Lease;
  readonly id: string;
  /** Until when the server surely keeps the lease (the earliest renewal sent + TTL). */
  validUntil: number;
}

function closedError(): SmartQueueError {
  return new SmartQueueError('UNAVAILABLE', 'the etcd coordinator is closed');
}

function unavailable(what: string, cause: unknown): SmartQueueError {
  if (cause instanceof SmartQueueError) return cause;
  return new SmartQueueError('UNAVAILABLE', `etcd coordinator: ${what} failed: ${String(cause)}`, { cause });
}

function checkKind(kind: MemberKind): void {
  if (kind !== 'scheduler' && kind !== 'worker') {
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      `member kind must be 'scheduler' or 'worker', got ${JSON.stringify(kind)}`,
    );
  }
}

function checkTotal(total: number): void {
  if (!Number.isInteger(total) || total < 0) {
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      `total shards must be an integer >= 0, got ${String(total)}`,
    );
  }
}

class EtcdCoordinatorImpl implements EtcdCoordinator {
  readonly name = 'etcd';
  readonly instanceId: string;
  readonly #options: ResolvedEtcdCoordinatorOptions;
  readonly #client: Etcd3;
  readonly #shards: ShardOwnership;
  readonly #ids = new IdGenerator();
  readonly #memberLeases = new Set<Lease>();
  /** Shared leases of reservations with a TTL, by TTL and time slot (see #reservationLease). */
  readonly #reservationLeases = new Map<string, { slot: number; leaseId: Promise<string> }>();
  /** Wakes lock waiters (on close, so they can reject). */
  readonly #wakers = new Set<() => void>();
  readonly #watchers: Watcher[] = [];
  #idSuffix = '';
  readonly leaseRenewals = { ok: 0, failed: 0 };
  #session: Session | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(client: Etcd3, options: ResolvedEtcdCoordinatorOptions) {
    this.#client = client;
    this.#options = options;
    this.instanceId = options.instanceId;
    this.#shards = new ShardOwnership(client, options.prefix, options.instanceId, {
      liveLeaseId: () => this.#liveSession()?.id,
      leaseLost: (leaseId) => {
        if (this.#session?.id === leaseId) this.#onSessionLost(this.#session.lease);
      },
    });
  }

  async start(): Promise<void> {
    const session = await this.#startSession();
    // Lease ids are unique in the cluster: a per-instance id component for nextId.
    this.#idSuffix = BigInt(session.id).toString(36);
    for (const prefix of [this.#shards.candidatesPrefix, this.#shards.shardsPrefix]) {
      const watcher = await this.#client.watch().prefix(prefix).create();
      watcher.on('error', () => undefined);
      watcher.on('data', () => this.#schedule());
      this.#watchers.push(watcher);
    }
    this.#timer = setInterval(() => this.#tick(), this.#options.rebalanceIntervalMs);
    this.#timer.unref();
    if (this.#options.shards !== undefined) this.#shards.track(this.#options.shards);
    this.#schedule();
  }

  async register(kind: MemberKind, id: string, ttlMs: number): Promise<MemberLease> {
    this.#checkOpen();
    checkKind(kind);
    if (typeof id !== 'string' || id === '')
      throw new SmartQueueError('INVALID_ARGUMENT', 'member id must be a non-empty string');
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new SmartQueueError('INVALID_ARGUMENT', `lease ttlMs must be a number > 0, got ${String(ttlMs)}`);
    }
    const lease = this.#client.lease(leaseSeconds(ttlMs), { autoKeepAlive: false });
    lease.on('lost', () => undefined);
    let leaseId: string;
    try {
      leaseId = await lease.grant();
      await this.#client.put(this.#memberKey(kind, id)).value(id).lease(leaseId);
    } catch (error) {
      lease.release();
      throw unavailable('register', error);
    }
    this.#memberLeases.add(lease);
    let revoked = false;
    const notFound = (cause?: unknown): SmartQueueError =>
      new SmartQueueError('NOT_FOUND', `lease ${leaseId} of ${kind} ${id} has expired or was revoked`, {
        details: { kind, id, leaseId },
        cause,
      });
    return {
      id: leaseId,
      keepAlive: async () => {
        this.#checkOpen();
        if (revoked) throw notFound();
        try {
          await lease.keepaliveOnce();
        } catch (error) {
          if (error instanceof Error && error.name === 'EtcdLeaseInvalidError') throw notFound(error);
          throw unavailable('keepAlive', error);
        }
      },
      revoke: async () => {
        revoked = true;
        this.#memberLeases.delete(lease);
        try {
          await lease.revoke();
        } catch (error) {
          throw unavailable('revoke', error);
        }
      },
    };
  }

  async members(kind: MemberKind): Promise<string[]> {
    this.#checkOpen();
    checkKind(kind);
    const dir = `${this.#options.prefix}/members/${kind}/`;
    try {
      const keys = await this.#client.getAll().prefix(dir).keys();
      return keys.map((key) => key.slice(dir.length)).sort();
    } catch (error) {
      throw unavailable('members', error);
    }
  }

  async ownedShards(total: number): Promise<number[]> {
    const owned = await this.shardOwnership(total);
    return [...owned.keys()].sort((a, b) => a - b);
  }

  unownedShards(total: number): number | undefined {
    return this.#shards.unowned(total);
  }

  async shardOwnership(total: number): Promise<Map<number, number>> {
    this.#checkOpen();
    checkTotal(total);
    try {
      return await this.#shards.balance(total);
    } catch (error) {
      throw unavailable('shard balancing', error);
    }
  }

  onShardsChanged(total: number, listener: ShardsListener): () => void {
    this.#checkOpen();
    checkTotal(total);
    const unsubscribe = this.#shards.subscribe(total, listener);
    this.#schedule();
    return unsubscribe;
  }

  async stillOwns(shard: number, epoch: number, total: number): Promise<boolean> {
    this.#checkOpen();
    checkTotal(total);
    try {
      return await this.#shards.stillOwns(shard, epoch, total);
    } catch (error) {
      throw unavailable('stillOwns', error);
    }
  }

  /**
   * Runs `fn` while holding the named lock: a key under `<prefix>/locks/<name>/` attached to the
   * session lease; the holder is the oldest key (lowest create revision), waiters watch for
   * deletions. FIFO across instances, not reentrant. `signal` only stops the wait (rejecting
   * with `signal.reason`); once `fn` runs, it runs to its end. If the instance dies, its lock
   * key goes with its session lease.
   */
  async withLock<T>(name: string, fn: () => Promise<T>, options?: CallOptions): Promise<T> {
    this.#checkOpen();
    const signal = options?.signal;
    if (signal?.aborted) throw signal.reason;
    const session = this.#liveSession();
    if (session === undefined) throw new SmartQueueError('UNAVAILABLE', 'etcd coordinator: no live session');
    const dir = `${this.#options.prefix}/locks/${encodeURIComponent(name)}/`;
    const myKey = `${dir}${randomUUID()}`;
    try {
      await this.#client.put(myKey).value(this.instanceId).lease(session.id);
    } catch (error) {
      if (isLeaseNotFound(error) && this.#session === session) this.#onSessionLost(session.lease);
      throw unavailable('lock', error);
    }
    try {
      await waitForTurn(
        {
          client: this.#client,
          checkOpen: () => this.#checkOpen(),
          wakers: this.#wakers,
          pollMs: Math.max(500, this.#options.leaseTtlMs / 2),
          unavailable,
        },
        dir,
        myKey,
        signal,
      );
      return await fn();
    } finally {
      await this.#client
        .delete()
        .key(myKey)
        .catch(() => undefined);
    }
  }

  async reserve(key: string, value: string, options: { ttlMs?: number } = {}): Promise<string> {
    this.#checkOpen();
    const ttl = reservationTtlMs(options.ttlMs);
    const fullKey = `${this.#options.prefix}/reservations/${key}`;
    try {
      const put = this.#client.put(fullKey).value(value);
      if (ttl !== undefined) put.lease(await this.#reservationLease(ttl));
      const result = await this.#client
        .if(fullKey, 'Create', '==', 0)
        .then(put)
        .else(this.#client.get(fullKey))
        .commit();
      if (result.succeeded) return value;
      const kv = result.responses[0]?.response_range?.kvs[0];
      if (kv === undefined) throw new Error(`reservation ${key} vanished`);
      return kv.value.toString();
    } catch (error) {
      throw unavailable('reserve', error);
    }
  }

  /**
   * A lease that outlives `ttlMs` by at most one time slot (a tenth of the TTL, 1 to 60 s):
   * reservations made in the same slot with the same TTL share it, so a busy API does not grant
   * a lease per request. Never revoked: it expires on its own.
   */
  #reservationLease(ttlMs: number): Promise<string> {
    const slotMs = Math.min(60_000, Math.max(1000, Math.ceil(ttlMs / 10)));
    const slot = Math.floor(Date.now() / slotMs);
    const id = `${ttlMs}:${slot}`;
    let lease = this.#reservationLeases.get(id);
    if (!lease) {
      for (const [k, v] of this.#reservationLeases) if (v.slot < slot) this.#reservationLeases.delete(k);
      const granting = this.#client.lease(leaseSeconds(ttlMs + slotMs), { autoKeepAlive: false });
      granting.on('lost', () => undefined);
      const leaseId = granting.grant().finally(() => granting.release());
      // A failed grant is not cached: the next reservation asks again.
      leaseId.catch(() => this.#reservationLeases.delete(id));
      lease = { slot, leaseId };
      this.#reservationLeases.set(id, lease);
    }
    return lease.leaseId;
  }

  /** `<prefix>_<time><counter><instance>`: the instance part is fixed, so ids sort by time. */
  nextId(prefix: string): string {
    return `${this.#ids.next(prefix)}${this.#idSuffix}`;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const wake of this.#wakers) wake();
    await Promise.allSettled(this.#watchers.map((watcher) => watcher.cancel()));
    this.#shards.dropAll();
    const session = this.#session;
    this.#session = undefined;
    // A clean shutdown hands shards, candidacy and locks over at once instead of after the TTL.
    const leases = [...this.#memberLeases, ...(session ? [session.lease] : [])];
    // Bounded: with etcd unreachable, the leases simply expire on their own.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#options.dialTimeoutMs);
    });
    await Promise.race([Promise.allSettled(leases.map((lease) => lease.revoke())), timeout]);
    clearTimeout(timer);
    this.#client.close();
  }

  async #startSession(): Promise<Session> {
    const { leaseTtlSeconds, leaseTtlMs } = this.#options;
    const lease = this.#client.lease(leaseTtlSeconds);
    let firstPending: number | undefined;
    lease.on('keepaliveFired', () => {
      firstPending ??= Date.now();
    });
    lease.on('keepaliveFailed', () => {
      this.leaseRenewals.failed++;
    });
    lease.on('keepaliveSucceeded', () => {
      this.leaseRenewals.ok++;
      if (session !== undefined && firstPending !== undefined) session.validUntil = firstPending + leaseTtlMs;
      firstPending = undefined;
    });
    lease.on('lost', () => this.#onSessionLost(lease));
    const askedAt = Date.now();
    let session: Session | undefined;
    try {
      const id = await lease.grant();
      session = { lease, id, validUntil: askedAt + leaseTtlMs };
      await this.#client
        .put(`${this.#shards.candidatesPrefix}${this.instanceId}`)
        .value(this.instanceId)
        .lease(id);
    } catch (error) {
      lease.release();
      throw unavailable('session lease grant', error);
    }
    if (this.#closed) {
      await lease.revoke().catch(() => undefined);
      throw closedError();
    }
    this.#session = session;
    return session;
  }

  #onSessionLost(lease: Lease): void {
    if (this.#session?.lease !== lease) return;
    this.#session = undefined;
    lease.release();
    this.#shards.dropAll();
    if (!this.#closed) void this.#renewSession();
  }

  async #renewSession(): Promise<void> {
    while (!this.#closed && this.#session === undefined) {
      try {
        await this.#startSession();
        this.#schedule();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  #liveSession(): Session | undefined {
    const session = this.#session;
    return session !== undefined && Date.now() < session.validUntil ? session : undefined;
  }

  #tick(): void {
    // Renewals stopped getting through for a whole TTL: the server has dropped the lease.
    if (this.#session !== undefined && this.#liveSession() === undefined)
      this.#onSessionLost(this.#session.lease);
    else this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#shards.schedule(() => undefined);
  }

  #memberKey(kind: MemberKind, id: string): string {
    return `${this.#options.prefix}/members/${kind}/${id}`;
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError();
  }
}

/**
 * Connects to etcd and starts an instance: grants its session lease and announces it as a
 * shard candidate. `etcd3` is loaded here, on first use. Members registered with `ttlMs`
 * disappear when not kept alive for `ttlMs` (rounded up to whole seconds): with a heartbeat
 * every `ttlMs / 3`, a member is dropped after 3 missed heartbeats. After `close()` every
 * async call rejects with `UNAVAILABLE`.
 * @throws SmartQueueError `INVALID_OPTIONS` for bad options, `UNAVAILABLE` if etcd is unreachable.
 */
export async function createEtcdCoordinator(options: EtcdCoordinatorOptions = {}): Promise<EtcdCoordinator> {
  const resolved = resolveEtcdCoordinatorOptions(options);
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3({
    hosts: resolved.endpoints,
    dialTimeout: resolved.dialTimeoutMs,
    ...(resolved.tls && {
      credentials: {
        rootCertificate: resolved.tls.ca,
        ...(resolved.tls.key && { privateKey: resolved.tls.key }),
        ...(resolved.tls.cert && { certChain: resolved.tls.cert }),
      },
    }),
    ...(resolved.auth && { auth: resolved.auth }),
  });
  const coordinator = new EtcdCoordinatorImpl(client, resolved);
  try {
    await coordinator.start();
  } catch (error) {
    await coordinator.close();
    throw unavailable(`connecting to ${resolved.endpoints.join(',')}`, error);
  }
  return coordinator;
}
