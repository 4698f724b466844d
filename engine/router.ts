/**
 * Consistent hashing of shard keys (run shard keys, tenant ids) onto shards.
 *
 * Each shard owns `virtualNodes` points on a 32-bit ring; a key belongs to the shard owning the
 * first point at or after the key's hash (wrapping around). Adding a shard only takes keys from
 * the arcs its new points cut, and removing one only hands its own keys to its neighbours, so
 * about 1/N of the keys move instead of nearly all of them with `hash % N`.
 *
 * Points and keys use the same hash in every process and version, which is what lets several
 * schedulers agree on ownership without talking to each other: changing it re-shards every run.
 */
import { SmartQueueError } from './errors.js';

/** Options of {@link ShardRouter}. */
export interface ShardRouterOptions {
  /**
   * Ring points per shard. More points even out the shares (the spread shrinks like
   * 1/sqrt(virtualNodes)) at the cost of a larger ring to search and rebuild.
   * @default 128
   */
  virtualNodes?: number;
}

/** Shard ids are packed below the point in one float when sorting the ring, so they are bounded. */
const SHARD_SPACE = 2 ** 21;

/**
 * The murmur3 32-bit finalizer: a bijection on 32-bit integers in which every input bit affects
 * every output bit. Returns an unsigned 32-bit integer.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A fast non-cryptographic 32-bit string hash: FNV-1a over the UTF-16 code units, then
 * {@link fmix32}, because plain FNV-1a mixes the last characters poorly and keys such as
 * `tenant-1`, `tenant-2` differ only there. Stable across processes and versions.
 */
export function hashString32(input: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < input.length; i++) {
    h ^= input.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** Ring point `v` of `shard`. For a given shard it is a bijection of `v`, so a shard never collides with itself. */
function vnodePoint(shard: number, v: number): number {
  const salt = fmix32(Math.imul(shard + 1, 0x27d4eb2f));
  return fmix32(Math.imul(v + 1, 0x9e3779b1) ^ salt);
}

function invalid(message: string, details: Record<string, unknown>): SmartQueueError {
  return new SmartQueueError('INVALID_ARGUMENT', message, { details });
}

/**
 * Maps shard keys onto a changing set of shards with consistent hashing. Lookups are a hash plus
 * a binary search over the ring (O(log(N * virtualNodes))); adding or removing a shard rebuilds
 * the ring (O(N * virtualNodes * log)), which is rare.
 *
 * The mapping depends only on the set of live shard ids and `virtualNodes`, never on the order
 * of changes: removing a shard and adding it back restores every key's shard.
 */
export class ShardRouter {
  /** Ring points per shard. */
  readonly virtualNodes: number;

  #live: number[] = [];
  #liveView: readonly number[] = Object.freeze([]);
  /** Sorted ring positions, and the shard owning each. */
  #points = new Uint32Array(0);
  #owners = new Int32Array(0);

  /**
   * @param shardCount - initial shards, with ids `0..shardCount-1`.
   * @throws SmartQueueError `INVALID_ARGUMENT` for a non-integer or out-of-range count or option.
   */
  constructor(shardCount: number, options: ShardRouterOptions = {}) {
    const virtualNodes = options.virtualNodes ?? 128;
    if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > SHARD_SPACE) {
      throw invalid(`ShardRouter shardCount must be an integer in 1..${SHARD_SPACE}`, { shardCount });
    }
    if (!Number.isInteger(virtualNodes) || virtualNodes < 1 || virtualNodes > 65_536) {
      throw invalid('ShardRouter virtualNodes must be an integer in 1..65536', { virtualNodes });
    }
    this.virtualNodes = virtualNodes;
    for (let s = 0; s < shardCount; s++) this.#live.push(s);
    this.#rebuild();
  }

  /** Live shard ids, ascending. The array is frozen and replaced on every change. */
  get shards(): readonly number[] {
    return this.#liveView;
  }

  /** Number of live shards. */
  get shardCount(): number {
    return this.#live.length;
  }

  /** The shard that owns `key`. */
  shardFor(key: string): number {
    return this.shardForHash(hashString32(key));
  }

  /** The shard that owns a precomputed {@link hashString32} value (unsigned 32-bit). */
  shardForHash(hash: number): number {
    const points = this.#points;
    const n = points.length;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.#owners[lo === n ? 0 : lo]!;
  }

  /**
   * Adds a shard and returns its id: the smallest id not in use, so ids stay `0..N-1` when
   * shards come and go at the end. Only keys that now belong to the new shard move.
   * @throws SmartQueueError `RESOURCE_EXHAUSTED` when every id is in use.
   */
  addShard(): number {
    const live = this.#live;
    let id = 0;
    while (id < live.length && live[id] === id) id++;
    if (id >= SHARD_SPACE) {
      throw new SmartQueueError('RESOURCE_EXHAUSTED', `ShardRouter holds at most ${SHARD_SPACE} shards`);
    }
    live.splice(id, 0, id);
    this.#rebuild();
    return id;
  }

  /**
   * Removes a shard; only its keys move, each to the next shard clockwise on the ring.
   * @throws SmartQueueError `NOT_FOUND` for an unknown shard, `FAILED_PRECONDITION` for the
   *   last one (keys must always have a shard).
   */
  removeShard(shard: number): void {
    const index = this.#live.indexOf(shard);
    if (index < 0) throw new SmartQueueError('NOT_FOUND', `Unknown shard ${shard}`, { details: { shard } });
    if (this.#live.length === 1) {
      throw new SmartQueueError('FAILED_PRECONDITION', 'Cannot remove the last shard', {
        details: { shard },
      });
    }
    this.#live.splice(index, 1);
    this.#rebuild();
  }

  #rebuild(): void {
    const live = this.#live;
    const v = this.virtualNodes;
    // point * SHARD_SPACE + shard < 2^53: one native numeric sort orders by point, then by
    // shard id, so colliding points resolve the same way whatever order shards were added in.
    const packed = new Float64Array(live.length * v);
    let i = 0;
    for (const shard of live) {
      for (let j = 0; j < v; j++) packed[i++] = vnodePoint(shard, j) * SHARD_SPACE + shard;
    }
    packed.sort();
    const points = new Uint32Array(packed.length);
    const owners = new Int32Array(packed.length);
    for (let k = 0; k < packed.length; k++) {
      const p = packed[k]!;
      const shard = p % SHARD_SPACE;
      owners[k] = shard;
      points[k] = (p - shard) / SHARD_SPACE;
    }
    this.#points = points;
    this.#owners = owners;
    this.#liveView = Object.freeze(live.slice());
  }
}
