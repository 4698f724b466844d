/**
 * The wait of a lease-backed etcd lock. Each contender puts a key under the lock's directory
 * (attached to its session lease); the holder is the key with the lowest create revision, so the
 * lock is FIFO across instances and a crashed holder's key vanishes with its lease.
 */
import type { Etcd3, Watcher } from 'etcd3';
import { SmartQueueError } from '../../../engine/errors.js';

/** What a lock wait needs of its coordinator. */
export interface LockWaitContext {
  client: Etcd3;
  /** Throws if the coordinator closed. */
  checkOpen(): void;
  /** Wake-up functions of every wait, which close() calls so waiters see the close. */
  wakers: Set<() => void>;
  /** Re-check at least this often, in case a watch event is lost while the watch reconnects. */
  pollMs: number;
  /** Wraps an etcd failure into the coordinator's error. */
  unavailable(what: string, cause: unknown): SmartQueueError;
}

/**
 * Resolves once `myKey` is the oldest key under `dir`; rejects with `signal.reason` on abort,
 * and with `UNAVAILABLE` if the coordinator closes or the key vanished (its lease expired).
 */
export async function waitForTurn(
  context: LockWaitContext,
  dir: string,
  myKey: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { client } = context;
  let watcher: Watcher;
  try {
    // Watch before reading, so a release between the read and the wait is not missed.
    watcher = await client.watch().prefix(dir).create();
  } catch (error) {
    throw context.unavailable('lock', error);
  }
  watcher.on('error', () => undefined);
  try {
    for (;;) {
      context.checkOpen();
      if (signal?.aborted) throw signal.reason;
      let keys: string[];
      try {
        const response = await client.getAll().prefix(dir).sort('Create', 'Ascend').exec();
        keys = response.kvs.map((kv) => kv.key.toString());
      } catch (error) {
        throw context.unavailable('lock', error);
      }
      if (keys[0] === myKey) return;
      if (!keys.includes(myKey)) {
        throw new SmartQueueError('UNAVAILABLE', 'etcd coordinator: lost the lock key (session expired)');
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          watcher.off('delete', done);
          signal?.removeEventListener('abort', done);
          context.wakers.delete(done);
          resolve();
        };
        const timer = setTimeout(done, context.pollMs);
        watcher.on('delete', done);
        signal?.addEventListener('abort', done, { once: true });
        context.wakers.add(done);
      });
    }
  } finally {
    await watcher.cancel().catch(() => undefined);
  }
}
