/**
 * Cluster mode: several `serve` instances share one checkpoint store (Cassandra, Redis, ...)
 * and one coordinator (etcd) that gives each shard one owner at a time.
 *
 * - A run belongs to shard `hash(runId) % shards`. An instance only runs the runs of its own
 *   shards: the run ids it makes for new runs are picked to fall on a shard it owns.
 * - Ownership comes from `Coordinator.onShardsChanged` with a fencing epoch per shard. On gaining
 *   a shard the instance fences it in the store (`fenceShard`), then resumes that shard's
 *   running runs from their checkpoints; on losing one it lets go of its runs (`detachRun`).
 * - Every completion carries the run's fence, so a paused old owner that wakes up after losing a
 *   shard cannot record a success: the store refuses it, and the engine detaches the run.
 * - Every instance hears every result (Kafka); successes for runs not live here are kept a
 *   while (`holdResult`), so when this instance takes over a dead owner's run it first records
 *   the attempts that finished in between instead of running them again.
 */
import type { Engine } from '../engine/engine.js';
import { SmartQueueError, errorMessage } from '../engine/errors.js';
import { hashString32 } from '../engine/router.js';
import type { CheckpointStore, Coordinator, MemberLease, ShardFence, TaskResult } from '../engine/stages.js';

/** The ownership shard of a run: stable in every process and version. */
export function shardOfRun(runId: string, shards: number): number {
  return hashString32(runId) % shards;
}

export interface ClusterOptions {
  coordinator: Coordinator;
  store: CheckpointStore;
  /** Ownership shards of the cluster (the same on every instance). */
  shards: number;
  /** This instance's id (its scheduler membership). */
  instanceId: string;
  /** TTL of the scheduler membership lease (ms). @default 10000 */
  memberTtlMs?: number;
  /** How often shards it owns are checked again for running runs not live here (ms). @default 5000 */
  rescanIntervalMs?: number;
  /**
   * On a takeover, how long the attempts the dead scheduler had in flight are awaited (their
   * workers may still run them, or Kafka hand them to another member) before they are
   * dispatched anew (ms). @default 60000
   */
  awaitInFlightMs?: number;
  /** How long successes of runs not live here are held for a takeover (ms). @default 120000 */
  holdResultsMs?: number;
  /** At most this many held results (the oldest go first). @default 100000 */
  maxHeldResults?: number;
  log?: (line: string) => void;
}

export interface ClusterStats {
  resumed: number;
  /** Successes of a taken-over run recorded from held results instead of running them again. */
  adopted: number;
  detached: number;
  fenced: number;
  resumeFailures: number;
}

/**
 * One instance's part in the cluster. Create it before the engine (the engine takes its
 * `fenceOf` and `coordinator`), then `start(engine)`.
 */
export class ClusterMember {
  readonly stats: ClusterStats = { resumed: 0, adopted: 0, detached: 0, fenced: 0, resumeFailures: 0 };
  /** Successes of runs not live here, by run, with when they came (insertion order = age). */
  #held = new Map<string, { at: number; results: TaskResult[] }>();
  #heldCount = 0;
  /** Shard → epoch, as last applied. */
  #owned = new Map<number, number>();
  #engine: Engine | undefined;
  #lease: MemberLease | undefined;
  #unsubscribe: (() => void) | undefined;
  #rescanTimer: NodeJS.Timeout | undefined;
  #applying: Promise<void> = Promise.resolve();
  #readyResolve!: () => void;
  readonly #ready = new Promise<void>((resolve) => (this.#readyResolve = resolve));
  #closed = false;
  readonly #log: (line: string) => void;

  constructor(readonly options: ClusterOptions) {
    if (!options.coordinator.onShardsChanged) {
      throw new SmartQueueError(
        'INVALID_OPTIONS',
        `coordinator ${options.coordinator.name} has no shard ownership: cluster mode needs one (etcd://...)`,
      );
    }
    this.#log = options.log ?? (() => {});
  }

  /** The fence of a run's shard as this instance holds it (epoch 0 when it does not own it). */
  fenceOf = (runId: string): ShardFence => {
    const shard = shardOfRun(runId, this.options.shards);
    return { shard, epoch: this.#owned.get(shard) ?? 0 };
  };

  /**
   * A result of a run not live here (another instance's, or one whose owner died): successes
   * are kept for a takeover. Call it for every result the transport delivers.
   */
  holdResult(r: TaskResult): void {
    if (!r.ok || this.#closed || this.#engine?.activeRuns().has(r.runId)) return;
    const now = Date.now();
    const ttl = this.options.holdResultsMs ?? 120_000;
    const max = this.options.maxHeldResults ?? 100_000;
    // Runs are kept in first-held order: drop from the front while too old or too many.
    for (const [runId, held] of this.#held) {
      if (now - held.at <= ttl && this.#heldCount < max) break;
      this.#held.delete(runId);
      this.#heldCount -= held.results.length;
    }
    const held = this.#held.get(r.runId);
    if (held) held.results.push(r);
    else this.#held.set(r.runId, { at: now, results: [r] });
    this.#heldCount++;
  }

  /** Records the held successes of a run about to be resumed here (the store keeps only the first). */
  async #adoptHeld(runId: string): Promise<void> {
    const held = this.#held.get(runId);
    if (!held) return;
    this.#held.delete(runId);
    this.#heldCount -= held.results.length;
    for (const r of held.results) {
      const won = await this.options.store
        .completeTask({
          runId: r.runId,
          taskId: r.taskId,
          attempt: r.attempt,
          workerId: r.workerId,
          outputs: r.outputs ?? {},
          startedAt: r.startedAt,
          finishedAt: r.finishedAt,
          fence: this.fenceOf(r.runId),
        })
        .catch(() => false);
      if (won) this.stats.adopted++;
    }
  }

  /** Whether this instance owns the run's shard now. */
  owns(runId: string): boolean {
    return this.#owned.has(shardOfRun(runId, this.options.shards));
  }

  ownedShards(): number[] {
    return [...this.#owned.keys()].sort((a, b) => a - b);
  }

  /**
   * The coordinator the engine gets: the cluster's, except that run ids are drawn until one falls
   * on a shard this instance owns (UNAVAILABLE while it owns none).
   */
  engineCoordinator(): Coordinator {
    const c = this.options.coordinator;
    return {
      name: c.name,
      register: (kind, id, ttlMs) => c.register(kind, id, ttlMs),
      members: (kind) => c.members(kind),
      ownedShards: (total) => c.ownedShards(total),
      withLock: (name, fn, options) => c.withLock(name, fn, options),
      reserve: (key, value) => c.reserve(key, value),
      nextId: (prefix) => (prefix === 'run' ? this.#ownedRunId(() => c.nextId(prefix)) : c.nextId(prefix)),
      close: () => c.close(),
    };
  }

  #ownedRunId(draw: () => string): string {
    if (this.#owned.size === 0) {
      throw new SmartQueueError(
        'UNAVAILABLE',
        `scheduler ${this.options.instanceId} owns no shard yet (cluster of ${this.options.shards} shards); retry shortly or use another instance`,
      );
    }
    // Each draw lands on an owned shard with probability owned/shards: 256 draws miss with
    // probability below 1e-10 even when owning 1 of 16 shards.
    for (let i = 0; i < 256; i++) {
      const id = draw();
      if (this.owns(id)) return id;
    }
    throw new SmartQueueError('UNAVAILABLE', 'could not draw a run id on an owned shard');
  }

  /** Joins the cluster: membership lease, shard ownership; resolves once it owns its first shards or `timeoutMs` passed. */
  async start(engine: Engine, timeoutMs = 15_000): Promise<void> {
    this.#engine = engine;
    const { coordinator, shards, instanceId } = this.options;
    this.#lease = await coordinator.register('scheduler', instanceId, this.options.memberTtlMs ?? 10_000);
    this.#unsubscribe = coordinator.onShardsChanged!(shards, (owned) => {
      this.#applying = this.#applying.then(() => this.#apply(new Map(owned)));
    });
    const interval = this.options.rescanIntervalMs ?? 5000;
    this.#rescanTimer = setInterval(() => {
      this.#applying = this.#applying.then(() => this.#resumeShards(new Set(this.#owned.keys())));
    }, interval);
    this.#rescanTimer.unref();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#ready,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (this.#owned.size === 0) this.#log(`cluster: ${instanceId} owns no shard yet; it serves once it does`);
  }

  async #apply(next: Map<number, number>): Promise<void> {
    if (this.#closed || !this.#engine) return;
    const engine = this.#engine;
    const lost = [...this.#owned.keys()].filter((s) => next.get(s) !== this.#owned.get(s));
    const gained = [...next.keys()].filter((s) => next.get(s) !== this.#owned.get(s));
    // Let go first: runs of a shard owned with an older epoch must not go on under the new one.
    const lostSet = new Set(lost);
    for (const runId of [...engine.activeRuns().keys()]) {
      if (lostSet.has(shardOfRun(runId, this.options.shards)) && engine.detachRun(runId))
        this.stats.detached++;
    }
    for (const s of lost) this.#owned.delete(s);
    const fenced: number[] = [];
    for (const shard of gained) {
      const epoch = next.get(shard)!;
      try {
        await this.options.store.fenceShard({ shard, epoch });
        this.#owned.set(shard, epoch);
        fenced.push(shard);
        this.stats.fenced++;
      } catch (err) {
        this.#log(`cluster: could not fence shard ${shard} at epoch ${epoch}: ${errorMessage(err)}`);
      }
    }
    if (lost.length || fenced.length)
      this.#log(
        `cluster: ${this.options.instanceId} owns shards [${this.ownedShards().join(', ')}]` +
          (fenced.length ? ` (+${fenced.join(', ')})` : '') +
          (lost.length ? ` (-${lost.join(', ')})` : ''),
      );
    if (this.#owned.size > 0) this.#readyResolve();
    await this.#resumeShards(new Set(fenced));
  }

  /** Resumes the running runs of `shards` that are not live here. */
  async #resumeShards(shards: ReadonlySet<number>): Promise<void> {
    const engine = this.#engine;
    if (!engine || shards.size === 0 || this.#closed) return;
    let cursor: string | undefined;
    do {
      let page;
      try {
        page = await this.options.store.listRuns({
          status: 'running',
          limit: 500,
          ...(cursor && { cursor }),
        });
      } catch (err) {
        this.#log(`cluster: listing running runs failed: ${errorMessage(err)}`);
        return;
      }
      for (const run of page.runs) {
        const shard = shardOfRun(run.runId, this.options.shards);
        if (!shards.has(shard) || !this.#owned.has(shard) || engine.activeRuns().has(run.runId)) continue;
        if (this.#closed) return;
        try {
          await this.#adoptHeld(run.runId);
          await engine.resumeRun(run.runId, { awaitInFlightMs: this.options.awaitInFlightMs ?? 60_000 });
          this.stats.resumed++;
          this.#log(`cluster: resumed run ${run.runId} (shard ${shard})`);
        } catch (err) {
          this.stats.resumeFailures++;
          this.#log(`cluster: resuming run ${run.runId} failed: ${errorMessage(err)}`);
        }
      }
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** Leaves the cluster: stops watching, revokes the membership (its shards go to the others). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#rescanTimer);
    this.#unsubscribe?.();
    await this.#applying.catch(() => {});
    await this.#lease?.revoke().catch(() => {});
  }
}
