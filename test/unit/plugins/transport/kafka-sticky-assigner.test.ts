import fc from 'fast-check';
import { AssignerProtocol, type Cluster } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  planStickyAssignment,
  stickyAssigner,
  type StickyMember,
  type TopicPartitions,
} from '../../../../plugins/transport/kafka/sticky-assigner.js';

const T = 'tasks';
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function counts(plan: Record<string, TopicPartitions>): number[] {
  return Object.values(plan).map((a) => a[T]?.length ?? 0);
}

function everyPartitionOnce(plan: Record<string, TopicPartitions>, n: number): void {
  const all = Object.values(plan).flatMap((a) => a[T] ?? []);
  expect(all.sort((a, b) => a - b)).toEqual(range(n));
}

describe('planStickyAssignment', () => {
  it('spreads a fresh group evenly', () => {
    const plan = planStickyAssignment(
      ['a', 'b', 'c'].map((memberId) => ({ memberId, owned: {} })),
      { [T]: range(16) },
    );
    everyPartitionOnce(plan, 16);
    expect(counts(plan).sort()).toEqual([5, 5, 6]);
  });

  it('when a member leaves, the others keep every partition they had and share its partitions', () => {
    const before: StickyMember[] = [
      { memberId: 'm1', owned: { [T]: [0, 1, 2, 3] } },
      { memberId: 'm2', owned: { [T]: [4, 5, 6, 7] } },
      { memberId: 'm3', owned: { [T]: [8, 9, 10, 11] } },
      // m4 ([12..15]) was killed.
    ];
    // New member ids after the rejoin: ownership travels in the metadata, not the id.
    const plan = planStickyAssignment(
      before.map((m) => ({ ...m, memberId: `${m.memberId}-new` })),
      { [T]: range(16) },
    );
    everyPartitionOnce(plan, 16);
    for (const m of before)
      expect(plan[`${m.memberId}-new`]![T]).toEqual(expect.arrayContaining(m.owned[T]!));
    expect(counts(plan).sort()).toEqual([5, 5, 6]);
  });

  it('a joining member takes only what evens the counts out', () => {
    const plan = planStickyAssignment(
      [
        { memberId: 'a', owned: { [T]: [0, 1, 2, 3, 4, 5] } },
        { memberId: 'b', owned: { [T]: [6, 7, 8, 9, 10, 11] } },
        { memberId: 'c', owned: {} },
      ],
      { [T]: range(12) },
    );
    everyPartitionOnce(plan, 12);
    expect(counts(plan)).toEqual([4, 4, 4]);
    expect(plan.a![T]).toEqual([0, 1, 2, 3]);
    expect(plan.b![T]).toEqual([6, 7, 8, 9]);
  });

  it('drops partitions that no longer exist, and places new ones', () => {
    const plan = planStickyAssignment(
      [
        { memberId: 'a', owned: { [T]: [0, 1, 99] } },
        { memberId: 'b', owned: { [T]: [2, 3] } },
      ],
      { [T]: range(6) },
    );
    everyPartitionOnce(plan, 6);
    expect(plan.a![T]).toEqual(expect.arrayContaining([0, 1]));
    expect(plan.b![T]).toEqual(expect.arrayContaining([2, 3]));
  });

  it('always covers every partition once, balanced, keeping what an even share allows (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.array(fc.integer({ min: 0, max: 45 }), { maxLength: 20 }), {
          minLength: 1,
          maxLength: 8,
        }),
        (n, owned) => {
          const members = owned.map((list, i) => ({ memberId: `m${i}`, owned: { [T]: list } }));
          const plan = planStickyAssignment(members, { [T]: range(n) });
          everyPartitionOnce(plan, n);
          const c = counts(plan);
          expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
          // A member that claimed no more than the floor of the share, uncontested, keeps all.
          const floor = Math.floor(n / members.length);
          const claims = new Map<number, number>();
          for (const list of owned) for (const p of new Set(list)) claims.set(p, (claims.get(p) ?? 0) + 1);
          for (const [i, list] of owned.entries()) {
            const mine = [...new Set(list)].filter((p) => p < n);
            if (mine.length <= floor && mine.every((p) => claims.get(p) === 1))
              expect(plan[`m${i}`]![T] ?? []).toEqual(expect.arrayContaining(mine));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('stickyAssigner (kafkajs protocol)', () => {
  it('reports the owned partitions in its join metadata and assigns from the others reports', async () => {
    const cluster = {
      findTopicPartitionMetadata: () => range(8).map((partitionId) => ({ partitionId })),
    } as unknown as Cluster;
    const owned: Record<string, TopicPartitions> = {
      x: { [T]: [0, 1, 2, 3] },
      y: { [T]: [4, 5, 6, 7] },
      z: {},
    };
    const members = Object.entries(owned).map(([id, o]) => ({
      memberId: id,
      memberMetadata: stickyAssigner(
        AssignerProtocol,
        () => o,
      )({ cluster, groupId: 'g', logger: undefined as never }).protocol({
        topics: [T],
      }).metadata,
    }));
    const leader = stickyAssigner(AssignerProtocol, () => ({}))({
      cluster,
      groupId: 'g',
      logger: undefined as never,
    });
    const result = await leader.assign({ members, topics: [T] });
    const plan = Object.fromEntries(
      result.map((r) => [
        r.memberId,
        AssignerProtocol.MemberAssignment.decode(r.memberAssignment)!.assignment,
      ]),
    );
    expect(plan.x![T]).toEqual(expect.arrayContaining([0, 1]));
    expect(plan.y![T]).toEqual(expect.arrayContaining([4, 5]));
    expect(
      Object.values(plan)
        .flatMap((a) => a[T] ?? [])
        .sort(),
    ).toEqual(range(8));
    expect(
      Object.values(plan)
        .map((a) => a[T]?.length ?? 0)
        .sort(),
    ).toEqual([2, 3, 3]);
  });

  it('treats unreadable metadata as a member that owns nothing', async () => {
    const cluster = {
      findTopicPartitionMetadata: () => range(4).map((partitionId) => ({ partitionId })),
    } as unknown as Cluster;
    const leader = stickyAssigner(AssignerProtocol, () => ({}))({
      cluster,
      groupId: 'g',
      logger: undefined as never,
    });
    const result = await leader.assign({
      members: [
        { memberId: 'a', memberMetadata: Buffer.from('garbage') },
        {
          memberId: 'b',
          memberMetadata: AssignerProtocol.MemberMetadata.encode({
            version: 0,
            topics: [T],
            userData: Buffer.from('{not json'),
          }),
        },
      ],
      topics: [T],
    });
    const sizes = result.map(
      (r) => AssignerProtocol.MemberAssignment.decode(r.memberAssignment)!.assignment[T]?.length,
    );
    expect(sizes).toEqual([2, 2]);
  });
});
