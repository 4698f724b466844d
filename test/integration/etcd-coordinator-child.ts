/**
 * A coordinator in its own process, for the crash test in etcd-coordinator.test.ts: it claims
 * shards and prints every change of its ownership as a JSON line; the test kills it with
 * SIGKILL, so it never revokes its session lease.
 * Usage: node --import tsx etcd-coordinator-child.ts <endpoint> <prefix> <instanceId> <total> <leaseTtlMs> [lockName]
 */
import { createEtcdCoordinator } from '../../plugins/coordinator/etcd/index.js';

const [endpoint, prefix, instanceId, total, leaseTtlMs, lockName] = process.argv.slice(2);
const coordinator = await createEtcdCoordinator({
  endpoints: endpoint!,
  prefix: prefix!,
  instanceId: instanceId!,
  leaseTtlMs: Number(leaseTtlMs),
  rebalanceIntervalMs: 300,
});
const report = (owned: Map<number, number>): void => {
  process.stdout.write(`${JSON.stringify({ owned: [...owned] })}\n`);
};
coordinator.onShardsChanged(Number(total), report);
report(await coordinator.shardOwnership(Number(total)));
if (lockName !== undefined) {
  // Hold the lock until killed.
  void coordinator.withLock(lockName, async () => {
    process.stdout.write(`${JSON.stringify({ locked: true, owned: [] })}\n`);
    await new Promise(() => undefined);
  });
}
// Stay up until killed (the coordinator's own timers are unref'd).
setInterval(() => undefined, 60_000);
