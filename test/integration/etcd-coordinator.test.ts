/**
 * The etcd coordinator across several instances on one key prefix, against a real etcd:
 * membership, shard ownership and fencing epochs, crash failover (a child process killed with
 * SIGKILL), newcomers taking their share, session loss, locks and reservations.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEtcdCoordinator, type EtcdCoordinator } from '../../plugins/coordinator/etcd/index.js';
import { probeService, serviceAddress, withService } from '../support/services.js';

const available = await probeService('etcd');
const TTL_MS = 2000;
const TOTAL = 12;
const CHILD = fileURLToPath(new URL('./etcd-coordinator-child.ts', import.meta.url));

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
async function eventually<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(100);
  }
}

withService('etcd', available, 'etcd coordinator across instances', () => {
  describe('etcd coordinator across instances', () => {
    let prefix: string;
    let coordinators: EtcdCoordinator[];
    let children: ChildProcess[];

    beforeEach(() => {
      prefix = `sq-test-${randomUUID()}`;
      coordinators = [];
      children = [];
    });

    afterEach(async () => {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.all(coordinators.map((coordinator) => coordinator.close()));
      const { Etcd3 } = await import('etcd3');
      const client = new Etcd3({ hosts: serviceAddress('etcd') });
      try {
        await client.delete().prefix(`${prefix}/`);
        // Every instance revoked its session: nothing of this test is left in etcd.
        expect(await client.getAll().prefix(`${prefix}/`).keys()).toEqual([]);
      } finally {
        client.close();
      }
    });

    async function start(instanceId?: string): Promise<EtcdCoordinator> {
      const coordinator = await createEtcdCoordinator({
        endpoints: serviceAddress('etcd'),
        prefix,
        leaseTtlMs: TTL_MS,
        rebalanceIntervalMs: 300,
        ...(instanceId !== undefined && { instanceId }),
      });
      coordinators.push(coordinator);
      return coordinator;
    }

    /** Every shard owned exactly once, with the given share sizes; returns each one's ownership. */
    async function balanced(members: EtcdCoordinator[], shares: number[]): Promise<Map<number, number>[]> {
      return eventually(`shares ${shares.join('/')}`, 10_000, async () => {
        const owned = await Promise.all(members.map((member) => member.shardOwnership(TOTAL)));
        const all = owned.flatMap((map) => [...map.keys()]).sort((a, b) => a - b);
        const sizes = owned.map((map) => map.size);
        const everyShardOnce = all.length === TOTAL && all.every((shard, i) => shard === i);
        return everyShardOnce && sizes.join('/') === shares.join('/') ? owned : undefined;
      });
    }

    it('shows members registered on one instance to all', async () => {
      const [a, b, c] = [await start(), await start(), await start()];
      const leases = await Promise.all(
        [a, b, c].map((coordinator, i) => coordinator.register('worker', `w${i}`, TTL_MS)),
      );
      for (const coordinator of [a, b, c])
        expect(await coordinator.members('worker')).toEqual(['w0', 'w1', 'w2']);
      await leases[1]!.revoke();
      for (const coordinator of [a, b, c]) expect(await coordinator.members('worker')).toEqual(['w0', 'w2']);
    });

    it('splits 12 shards 4/4/4 among 3 instances, each shard owned once, with valid epochs', async () => {
      const members = [await start('a'), await start('b'), await start('c')];
      const owned = await balanced(members, [4, 4, 4]);
      for (const [i, member] of members.entries()) {
        for (const [shard, epoch] of owned[i]!) {
          expect(await member.stillOwns(shard, epoch, TOTAL)).toBe(true);
          expect(await member.stillOwns(shard, epoch - 1, TOTAL)).toBe(false);
          for (const other of members)
            if (other !== member) expect(await other.stillOwns(shard, epoch, TOTAL)).toBe(false);
        }
      }
    });

    it('gives a newcomer its share, with larger epochs, and fences the previous owners', async () => {
      const members = [await start('a'), await start('b'), await start('c')];
      const before = await balanced(members, [4, 4, 4]);
      const changes: Map<number, number>[] = [];
      const unsubscribe = members[0]!.onShardsChanged(TOTAL, (owned) => changes.push(owned));
      const newcomer = await start('d');
      const after = await balanced([...members, newcomer], [3, 3, 3, 3]);
      unsubscribe();
      const previousOwner = new Map<number, { member: EtcdCoordinator; epoch: number }>();
      for (const [i, member] of members.entries())
        for (const [shard, epoch] of before[i]!) previousOwner.set(shard, { member, epoch });
      expect(after[3]!.size).toBe(3);
      for (const [shard, epoch] of after[3]!) {
        const previous = previousOwner.get(shard)!;
        expect(epoch).toBeGreaterThan(previous.epoch);
        expect(await previous.member.stillOwns(shard, previous.epoch, TOTAL)).toBe(false);
        expect(await newcomer.stillOwns(shard, previous.epoch, TOTAL)).toBe(false);
        expect(await newcomer.stillOwns(shard, epoch, TOTAL)).toBe(true);
      }
      // The listener saw instance a give one shard up.
      expect(changes.at(-1)!.size).toBe(3);
    });

    it('moves the shards of a SIGKILLed instance to the survivors within TTL + slack', async () => {
      const survivors = [await start('a'), await start('b')];
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CHILD, serviceAddress('etcd'), prefix, 'crashing', String(TOTAL), String(TTL_MS)],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(child);
      let childOwned = new Map<number, number>();
      createInterface({ input: child.stdout! }).on('line', (line) => {
        childOwned = new Map((JSON.parse(line) as { owned: [number, number][] }).owned);
      });
      const before = await eventually('the child to own 4 shards', 20_000, async () => {
        const owned = await Promise.all(survivors.map((member) => member.shardOwnership(TOTAL)));
        return childOwned.size === 4 && owned.every((map) => map.size === 4)
          ? new Map(childOwned)
          : undefined;
      });
      child.kill('SIGKILL');
      const killedAt = Date.now();
      const after = await balanced(survivors, [6, 6]);
      const elapsed = Date.now() - killedAt;
      // The lease expires after TTL (whole seconds) plus up to ~0.5 s on the leader; then a watch
      // event or the 300 ms rebalance tick reclaims.
      expect(elapsed).toBeLessThan(TTL_MS + 2500);
      for (const [shard, oldEpoch] of before) {
        const owner = after.findIndex((map) => map.has(shard));
        expect(owner).toBeGreaterThanOrEqual(0);
        const newEpoch = after[owner]!.get(shard)!;
        expect(newEpoch).toBeGreaterThan(oldEpoch);
        expect(await survivors[owner]!.stillOwns(shard, oldEpoch, TOTAL)).toBe(false);
      }
    });

    it('owns nothing once its session lease is lost, then reclaims with new epochs', async () => {
      const coordinator = await start('solo');
      const before = await balanced([coordinator], [12]);
      const changes: Map<number, number>[] = [];
      coordinator.onShardsChanged(TOTAL, (owned) => changes.push(owned));
      // Revoke the session lease behind the coordinator's back, as an expiry would.
      const { Etcd3 } = await import('etcd3');
      const client = new Etcd3({ hosts: serviceAddress('etcd') });
      try {
        const kv = (await client.get(`${prefix}/shards/${TOTAL}/0`).exec()).kvs[0]!;
        await client.leaseClient.leaseRevoke({ ID: kv.lease });
      } finally {
        client.close();
      }
      for (const [shard, epoch] of before[0]!)
        expect(await coordinator.stillOwns(shard, epoch, TOTAL)).toBe(false);
      const after = await eventually('shards reclaimed with new epochs', TTL_MS * 3, async () => {
        const owned = await coordinator.shardOwnership(TOTAL);
        return owned.size === TOTAL && [...owned].every(([shard, epoch]) => epoch > before[0]!.get(shard)!)
          ? owned
          : undefined;
      });
      expect(changes.some((owned) => owned.size === 0)).toBe(true);
      for (const [shard, epoch] of after) expect(await coordinator.stillOwns(shard, epoch, TOTAL)).toBe(true);
    });

    it('excludes lock holders across instances', async () => {
      const members = [await start(), await start(), await start()];
      const name = `lock-${randomUUID()}`;
      let active = 0;
      let maxActive = 0;
      let runs = 0;
      await Promise.all(
        Array.from({ length: 9 }, (_, i) =>
          members[i % 3]!.withLock(name, async () => {
            active++;
            maxActive = Math.max(maxActive, active);
            await sleep(20);
            runs++;
            active--;
          }),
        ),
      );
      expect(runs).toBe(9);
      expect(maxActive).toBe(1);
    });

    it('frees the lock of a SIGKILLed holder when its session expires', async () => {
      const name = `lock-${randomUUID()}`;
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CHILD, serviceAddress('etcd'), prefix, 'holder', '1', String(TTL_MS), name],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(child);
      let locked!: () => void;
      const childLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if ((JSON.parse(line) as { locked?: boolean }).locked === true) locked();
      });
      await childLocked;
      const survivor = await start('survivor');
      let ranAt = 0;
      const waiting = survivor.withLock(name, async () => {
        ranAt = Date.now();
      });
      await sleep(500);
      expect(ranAt).toBe(0);
      child.kill('SIGKILL');
      const killedAt = Date.now();
      await waiting;
      expect(ranAt - killedAt).toBeLessThan(TTL_MS + 2500);
    });

    it('agrees on one reservation across instances', async () => {
      const members = [await start(), await start(), await start()];
      const key = `key-${randomUUID()}`;
      const answers = await Promise.all(members.map((member, i) => member.reserve(key, `v${i}`)));
      expect(new Set(answers).size).toBe(1);
      expect(['v0', 'v1', 'v2']).toContain(answers[0]);
      expect(await members[2]!.reserve(key, 'late')).toBe(answers[0]);
    });

    it('makes ids unique across instances', async () => {
      const members = [await start(), await start()];
      const ids = members.flatMap((member) => Array.from({ length: 2000 }, () => member.nextId('run')));
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('rejects calls after close with UNAVAILABLE', async () => {
      const coordinator = await start();
      await coordinator.close();
      await expect(coordinator.ownedShards(4)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await expect(coordinator.reserve('k', 'v')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    });
  });
});
