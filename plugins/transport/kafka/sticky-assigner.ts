/**
 * A sticky partition assigner for the workers' consumer group.
 *
 * kafkajs ships only round-robin over the sorted member ids, and member ids are new after every
 * rejoin: a worker leaving, or a broker restart, reshuffles nearly every partition. A task message
 * a surviving worker had consumed, run and not yet committed (its commit waits on the broker)
 * then goes to another worker, which runs the same attempt again. With this assigner each member
 * reports the partitions it holds (in its join metadata, so it survives new member ids) and keeps
 * them; only the partitions of members that left, and new partitions, move, plus the fewest moves
 * that even out the counts. The redelivered message comes back to the worker that ran it, which
 * answers from its cache of finished attempts instead of running it again.
 */
import type { Assigner, AssignerProtocol, PartitionAssigner } from 'kafkajs';

/** Partitions per topic. */
export type TopicPartitions = Record<string, number[]>;

/** What one member brings to a rebalance. */
export interface StickyMember {
  memberId: string;
  /** The partitions it held before, per topic (from its join metadata). */
  owned: TopicPartitions;
}

/**
 * The assignment: members keep what they owned (up to an even share), the rest goes to the
 * members with the fewest, then partitions move from the fullest to the emptiest member until
 * counts differ by at most one. Deterministic for the same input.
 * @returns member id → topic → partitions (sorted)
 */
export function planStickyAssignment(
  members: readonly StickyMember[],
  partitions: TopicPartitions,
): Record<string, TopicPartitions> {
  const sorted = [...members].sort((a, b) =>
    a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0,
  );
  const plan: Record<string, TopicPartitions> = Object.fromEntries(sorted.map((m) => [m.memberId, {}]));
  if (sorted.length === 0) return plan;
  for (const [topic, all] of Object.entries(partitions)) {
    const share = Math.ceil(all.length / sorted.length);
    const valid = new Set(all);
    const taken = new Set<number>();
    const held = new Map<string, number[]>(sorted.map((m) => [m.memberId, []]));
    // Members that held more before go first, so a conflict (two claim one partition after a
    // split brain) keeps it with the bigger holder; within the share only.
    const byClaim = [...sorted].sort((a, b) => (b.owned[topic]?.length ?? 0) - (a.owned[topic]?.length ?? 0));
    for (const m of byClaim) {
      const mine = held.get(m.memberId)!;
      for (const p of [...new Set(m.owned[topic] ?? [])].sort((a, b) => a - b)) {
        if (mine.length >= share) break;
        if (!valid.has(p) || taken.has(p)) continue;
        taken.add(p);
        mine.push(p);
      }
    }
    const fewest = () =>
      sorted.reduce((best, m) => (held.get(m.memberId)!.length < held.get(best.memberId)!.length ? m : best));
    const most = () =>
      sorted.reduce((best, m) => (held.get(m.memberId)!.length > held.get(best.memberId)!.length ? m : best));
    for (const p of all) if (!taken.has(p)) held.get(fewest().memberId)!.push(p);
    for (;;) {
      const giver = most();
      const from = held.get(giver.memberId)!;
      const to = held.get(fewest().memberId)!;
      if (from.length - to.length <= 1) break;
      // Prefer moving a partition the giver has only just received.
      const before = new Set(giver.owned[topic] ?? []);
      const i = from.findIndex((p) => !before.has(p));
      to.push(from.splice(i >= 0 ? i : from.length - 1, 1)[0]!);
    }
    for (const [memberId, list] of held)
      if (list.length > 0) plan[memberId]![topic] = list.sort((a, b) => a - b);
  }
  return plan;
}

const NAME = 'SmartQueueSticky';
const VERSION = 0;

/**
 * The kafkajs assigner. `owned()` gives the member's current partitions at join time; `protocol`
 * is kafkajs's `AssignerProtocol` (passed in: kafkajs loads lazily).
 */
export function stickyAssigner(
  protocol: typeof AssignerProtocol,
  owned: () => TopicPartitions,
): PartitionAssigner {
  return ({ cluster }): Assigner => ({
    name: NAME,
    version: VERSION,
    async assign({ members, topics }) {
      const partitions: TopicPartitions = {};
      for (const topic of topics)
        partitions[topic] = cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId);
      const plan = planStickyAssignment(
        members.map((m) => ({ memberId: m.memberId, owned: decodeOwned(protocol, m.memberMetadata) })),
        partitions,
      );
      return Object.entries(plan).map(([memberId, assignment]) => ({
        memberId,
        memberAssignment: protocol.MemberAssignment.encode({
          version: VERSION,
          assignment,
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: NAME,
        metadata: protocol.MemberMetadata.encode({
          version: VERSION,
          topics,
          userData: Buffer.from(JSON.stringify({ owned: owned() })),
        }),
      };
    },
  });
}

/** A member's reported partitions; nothing (a fresh member, or garbage) when unreadable. */
function decodeOwned(protocol: typeof AssignerProtocol, metadata: Buffer): TopicPartitions {
  try {
    const { userData } = protocol.MemberMetadata.decode(metadata)!;
    const parsed = JSON.parse(userData.toString('utf8')) as { owned?: unknown };
    const out: TopicPartitions = {};
    if (parsed.owned && typeof parsed.owned === 'object') {
      for (const [topic, list] of Object.entries(parsed.owned as Record<string, unknown>))
        if (Array.isArray(list)) out[topic] = list.filter((p): p is number => Number.isSafeInteger(p));
    }
    return out;
  } catch {
    return {};
  }
}
