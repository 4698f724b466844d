/**
 * Shard ownership across instances. Every instance that shares a key prefix is a candidate
 * (`<prefix>/candidates/<instanceId>`, under its session lease). Shard `n` of `total` is owned
 * by whoever holds `<prefix>/shards/<total>/<n>`: the key is created only if absent (a txn on
 * its create revision) and lives under the owner's session lease, so there is at most one owner
 * and a dead owner's shards free themselves when its lease expires.
 *
 * Fair share: an instance holds up to ceil(total / live candidates) shards. It claims free ones
 * up to that and releases its highest-numbered ones above it (so a newcomer gets its share),
 * re-evaluating on watch events and periodically. The epoch of an owned shard is the key's
 * create revision: etcd revisions only grow, so every change of owner gives a larger epoch, a
 * fencing token that {@link ShardOwnership.stillOwns} checks against etcd.
 */
import type { Etcd3 } from 'etcd3';

/** What the shard logic needs of the coordinator's session. */
export interface ShardSession {
  /** The etcd lease id of the live session, or undefined while there is none. */
  liveLeaseId(): string | undefined;
  /** etcd refused `leaseId` as unknown: the session is gone (revoked, or expired unnoticed). */
  leaseLost(leaseId: string): void;
}

/** Whether etcd answered that a lease does not exist (expired or revoked). */
export function isLeaseNotFound(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === 'EtcdLeaseInvalidError' || /requested lease not found/i.test(error.message))
  );
}

/** Called with shard → epoch whenever the owned set of a shard count changes. */
export type ShardsListener = (owned: Map<number, number>) => void;

interface ShardTable {
  owned: Map<number, number>;
  listeners: Set<ShardsListener>;
  /** Shards without an owner after the last balancing pass, as this instance saw them. */
  unowned?: number;
}

function sameOwnership(a: Map<number, number>, b: Map<number, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [shard, epoch] of a) if (b.get(shard) !== epoch) return false;
  return true;
}

/** Tracks and balances the shards of every shard count this instance was asked about. */
export class ShardOwnership {
  readonly #tables = new Map<number, ShardTable>();
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #instanceId: string;
  readonly #session: ShardSession;
  /** Serializes balancing, so two passes never race each other inside one instance. */
  #chain: Promise<unknown> = Promise.resolve();
  #queued = false;

  constructor(client: Etcd3, prefix: string, instanceId: string, session: ShardSession) {
    this.#client = client;
    this.#prefix = prefix;
    this.#instanceId = instanceId;
    this.#session = session;
  }

  get candidatesPrefix(): string {
    return `${this.#prefix}/candidates/`;
  }

  get shardsPrefix(): string {
    return `${this.#prefix}/shards/`;
  }

  shardKey(total: number, shard: number): string {
    return `${this.#prefix}/shards/${total}/${shard}`;
  }

  /** Starts tracking `total` (idempotent). */
  track(total: number): ShardTable {
    let table = this.#tables.get(total);
    if (table === undefined) {
      table = { owned: new Map(), listeners: new Set() };
      this.#tables.set(total, table);
    }
    return table;
  }

  /** Balances `total` now (after any pass already running) and returns what is owned. */
  async balance(total: number): Promise<Map<number, number>> {
    this.track(total);
    return this.#serial(async () => {
      await this.#balanceOne(total);
      return new Map(this.#tables.get(total)!.owned);
    });
  }

  /** Queues one pass over every tracked count; passes asked for meanwhile are merged. */
  schedule(onError: (error: unknown) => void): void {
    if (this.#queued) return;
    this.#queued = true;
    this.#serial(async () => {
      this.#queued = false;
      for (const total of this.#tables.keys()) await this.#balanceOne(total);
    }).catch(onError);
  }

  /** Forgets every owned shard at once (the session is gone) and tells the listeners. */
  dropAll(): void {
    for (const total of this.#tables.keys()) this.#set(total, new Map());
  }

  /** Shards of `total` that had no owner after the last pass (undefined before the first). */
  unowned(total: number): number | undefined {
    return this.#tables.get(total)?.unowned;
  }

  subscribe(total: number, listener: ShardsListener): () => void {
    const table = this.track(total);
    table.listeners.add(listener);
    return () => {
      table.listeners.delete(listener);
    };
  }

  /** Linearizable: reads the shard key from etcd (a quorum read). */
  async stillOwns(shard: number, epoch: number, total: number): Promise<boolean> {
    const leaseId = this.#session.liveLeaseId();
    if (leaseId === undefined) return false;
    const response = await this.#client.get(this.shardKey(total, shard)).exec();
    const kv = response.kvs[0];
    return (
      kv !== undefined &&
      kv.value.toString() === this.#instanceId &&
      String(kv.lease) === leaseId &&
      Number(kv.create_revision) === epoch &&
      this.#session.liveLeaseId() === leaseId
    );
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #balanceOne(total: number): Promise<void> {
    const leaseId = this.#session.liveLeaseId();
    if (leaseId === undefined || total === 0) {
      this.#set(total, new Map());
      return;
    }
    try {
      await this.#balanceWith(total, leaseId);
    } catch (error) {
      if (!isLeaseNotFound(error)) throw error;
      // Owns nothing until a new session claims shards again (with new epochs).
      this.#set(total, new Map());
      this.#session.leaseLost(leaseId);
    }
  }

  async #balanceWith(total: number, leaseId: string): Promise<void> {
    const dir = `${this.#prefix}/shards/${total}/`;
    const [candidates, shards] = await Promise.all([
      this.#client.getAll().prefix(this.candidatesPrefix).keys(),
      this.#client.getAll().prefix(dir).exec(),
    ]);
    const candidateKey = `${this.candidatesPrefix}${this.#instanceId}`;
    if (!candidates.includes(candidateKey)) {
      // Our candidacy vanished (a new session not yet announced): announce it and count it.
      await this.#client.put(candidateKey).value(this.#instanceId).lease(leaseId);
      candidates.push(candidateKey);
    }
    const fair = Math.ceil(total / candidates.length);
    const mine = new Map<number, number>();
    const taken = new Set<number>();
    for (const kv of shards.kvs) {
      const shard = Number(kv.key.toString().slice(dir.length));
      if (!Number.isInteger(shard) || shard < 0 || shard >= total) continue;
      taken.add(shard);
      if (kv.value.toString() === this.#instanceId && String(kv.lease) === leaseId) {
        mine.set(shard, Number(kv.create_revision));
      }
    }
    // Above the fair share: hand the highest shards back, each only if it is still ours.
    const extras = [...mine.keys()].sort((a, b) => b - a).slice(0, Math.max(0, mine.size - fair));
    for (const shard of extras) {
      const key = this.shardKey(total, shard);
      const epoch = mine.get(shard)!;
      mine.delete(shard);
      // Stop acting as the owner before the key goes, so there is never a second owner.
      this.#set(total, new Map(mine));
      await this.#client.if(key, 'Create', '==', epoch).then(this.#client.delete().key(key)).commit();
    }
    for (let shard = 0; shard < total && mine.size < fair; shard++) {
      if (taken.has(shard)) continue;
      const key = this.shardKey(total, shard);
      const result = await this.#client
        .if(key, 'Create', '==', 0)
        .then(this.#client.put(key).value(this.#instanceId).lease(leaseId))
        .commit();
      if (result.succeeded) {
        mine.set(shard, Number(result.header.revision));
        taken.add(shard);
      }
    }
    this.track(total).unowned = total - taken.size;
    // The session may have died while we were claiming: then nothing is ours.
    this.#set(total, this.#session.liveLeaseId() === leaseId ? mine : new Map());
  }

  #set(total: number, owned: Map<number, number>): void {
    const table = this.track(total);
    if (sameOwnership(table.owned, owned)) return;
    table.owned = owned;
    for (const listener of table.listeners) listener(new Map(owned));
  }
}
