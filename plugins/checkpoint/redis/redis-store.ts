/**
 * The Redis CheckpointStore: runs and tasks in hashes, each run's event log in a stream, listings
 * through sorted-set indexes (key layout in scripts.ts), group commit through one Lua call.
 *
 * Every write joins one queue in call order. At most one batch is in flight: the queue is sent
 * as ONE Lua script call on the next tick (or after `flushIntervalMs`, or at once when
 * `maxBatch` writes wait), and whatever is written while a batch is in flight becomes the next
 * batch as soon as it returns. So an idle store answers in one round trip and batches grow with
 * load. The promise of a queued write settles only once its batch ran, so a `true` from
 * `completeTask` is in Redis (as durable as the server's AOF/RDB settings make it). Reads wait
 * for the writes queued before them, so they see every earlier write of this store.
 */
import type { BatchReport } from '../batch-listeners.js';
import { createHash } from 'node:crypto';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { SmartQueueError, errorMessage } from '../../../engine/errors.js';
import type {
  AddedTask,
  CheckpointEvent,
  CheckpointStore,
  CompletionRecord,
  ListRunsQuery,
  RunPage,
  RunRecord,
  ShardFence,
  TaskRecord,
} from '../../../engine/stages.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { checkFence, fencedError } from '../fence.js';
import {
  completionWrite,
  eventFromEntry,
  eventJson,
  runFields,
  runFromHash,
  runPatchFields,
  taskFromHash,
  taskPatchFields,
  toJson,
} from './codec.js';
import {
  resolveRedisCheckpointStoreOptions,
  type RedisCheckpointStoreOptions,
  type ResolvedRedisCheckpointStoreOptions,
} from './options.js';
import { GroupCommit, type QueuedWrite, type RedisCheckpointStoreStats } from './group-commit.js';
import { BATCH_SCRIPT, LIST_SCRIPT, indexKey, runKey } from './scripts.js';
import { assertIds, assertRunScalars, failure, resolveListLimit, toStoreError } from './validate.js';

export type { RedisCheckpointStoreStats } from './group-commit.js';

/** A {@link CheckpointStore} on Redis; `await using` closes it. */
export interface RedisCheckpointStore extends CheckpointStore, AsyncDisposable {
  /** Live counters (not a snapshot). */
  readonly stats: Readonly<RedisCheckpointStoreStats>;
  readonly options: Readonly<ResolvedRedisCheckpointStoreOptions>;
  /**
   * Calls `listener` after each batch write (transaction) with its duration in seconds, its
   * number of writes and whether it committed; returns a remover. For metrics.
   */
  onBatch(listener: (batch: BatchReport) => void): () => void;
}

/**
 * Connects to Redis and returns a checkpoint store. ioredis is loaded here, on first use, so an
 * engine that never checkpoints to Redis never loads it.
 * @throws SmartQueueError `INVALID_OPTIONS`; `UNAVAILABLE` when ioredis is missing or the server
 *   cannot be reached within `connectTimeoutMs`.
 */
export async function createRedisCheckpointStore(
  options: RedisCheckpointStoreOptions,
): Promise<RedisCheckpointStore> {
  const resolved = resolveRedisCheckpointStoreOptions(options);
  let Redis: typeof RedisClient;
  try {
    const mod = await import('ioredis');
    Redis = mod.Redis ?? mod.default;
  } catch (err) {
    throw new SmartQueueError(
      'UNAVAILABLE',
      `the Redis checkpoint store needs ioredis (npm install ioredis): ${errorMessage(err)}`,
      { cause: err },
    );
  }
  const clientOptions: RedisOptions = {
    host: resolved.host,
    port: resolved.port,
    db: resolved.db,
    connectTimeout: resolved.connectTimeoutMs,
    lazyConnect: true,
    // CLIENT SETNAME takes no spaces or control characters.
    connectionName: `smartqueue-checkpoint:${resolved.keyPrefix.replace(/[^\x21-\x7e]/g, '_')}`,
    // A batch whose connection drops fails at once with UNAVAILABLE (it may or may not have been
    // applied, as with any network store) instead of being sent again after the reconnect, which
    // could apply it twice; the connection itself keeps reconnecting in the background.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  };
  if (resolved.username !== undefined) clientOptions.username = resolved.username;
  if (resolved.password !== undefined) clientOptions.password = resolved.password;
  if (resolved.tls !== false) clientOptions.tls = resolved.tls === true ? {} : resolved.tls;
  const client = new Redis(clientOptions);
  // Errors surface through the commands that fail; without a listener ioredis would log them.
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no connection within ${resolved.connectTimeoutMs} ms`)),
          resolved.connectTimeoutMs,
        );
      }),
    ]);
  } catch (err) {
    client.disconnect();
    throw new SmartQueueError(
      'UNAVAILABLE',
      `cannot connect to Redis at ${resolved.host}:${resolved.port}: ${errorMessage(err)}`,
      { cause: err, details: { host: resolved.host, port: resolved.port } },
    );
  } finally {
    clearTimeout(timer);
  }
  return new RedisStore(client, resolved);
}

interface Script {
  text: string;
  sha: string;
}

const script = (text: string): Script => ({ text, sha: createHash('sha1').update(text).digest('hex') });
const BATCH = script(BATCH_SCRIPT);
const LIST = script(LIST_SCRIPT);

type TaskPatch = Partial<TaskRecord> & { runId: string; taskId: string };

class RedisStore implements RedisCheckpointStore {
  readonly name = 'redis';
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #commits: GroupCommit;
  #closing: Promise<void> | undefined;

  constructor(
    client: RedisClient,
    readonly options: Readonly<ResolvedRedisCheckpointStoreOptions>,
  ) {
    this.#client = client;
    this.#prefix = options.keyPrefix;
    this.#commits = new GroupCommit(
      options,
      async (args) => (await this.#eval(BATCH, [this.#prefix].concat(args))) as string[],
      toStoreError,
    );
  }

  get stats(): Readonly<RedisCheckpointStoreStats> {
    return this.#commits.stats;
  }

  onBatch(listener: (batch: BatchReport) => void): () => void {
    return this.#commits.onBatch(listener);
  }

  createRun(run: RunRecord, taskIds: string[]): Promise<void> {
    return this.#enqueueAwaited<void>((resolve, reject) => {
      assertIds([run?.runId, ...taskIds]);
      assertRunScalars(run);
      const fields = runFields(run);
      return {
        args: ['C', run.runId, run.status, run.workflowName, toJson(run.createdAt, 'createdAt')].concat(
          String(fields.length / 2),
          fields,
          String(taskIds.length),
          taskIds,
        ),
        settle: (reply) =>
          reply === 'ok'
            ? resolve()
            : reject(failure('ALREADY_EXISTS', `run ${run.runId} already exists`, run.runId)),
      };
    });
  }

  addTasks(runId: string, tasks: readonly (string | AddedTask)[]): Promise<void> {
    return this.#enqueueAwaited<void>((resolve, reject) => {
      const pairs: string[] = [];
      for (const t of tasks) {
        const taskId = typeof t === 'string' ? t : t?.taskId;
        assertIds([taskId]);
        const spec = typeof t === 'string' || t.spec === undefined ? '' : toJson(t.spec, 'spec');
        pairs.push(taskId, spec);
      }
      assertIds([runId]);
      return {
        args: ['A', runId, String(pairs.length / 2)].concat(pairs),
        settle: (reply) =>
          reply === 'ok' ? resolve() : reject(failure('NOT_FOUND', `run ${runId} not found`, runId)),
      };
    });
  }

  record(event: CheckpointEvent, task?: TaskPatch): void {
    this.#assertOpen();
    const data = event.data === undefined ? undefined : toJson(event.data, 'event.data');
    const fields = task ? taskPatchFields(task) : [];
    assertIds([event.runId]);
    // The store owns seq: whatever the caller passed is ignored.
    const body = eventJson(event, data);
    this.#commits.enqueue({
      args: [
        'R',
        event.runId,
        body,
        task ? String(task.runId) : '',
        task ? String(task.taskId) : '',
        String(fields.length / 2),
      ].concat(fields),
    });
  }

  async fenceShard(fence: ShardFence): Promise<void> {
    checkFence(fence);
    return this.#enqueueAwaited<void>((resolve, reject) => ({
      args: ['F', String(fence.shard), String(fence.epoch)],
      settle: (reply) =>
        reply === 'ok' ? resolve() : reject(fencedError({ ...fence }, Number(reply.slice('fenced:'.length)))),
    }));
  }

  async completeTask(c: CompletionRecord): Promise<boolean> {
    if (c.fence) checkFence(c.fence);
    return this.#enqueueAwaited<boolean>((resolve, reject) => {
      const { fields, event } = completionWrite(c);
      const fence = c.fence && { ...c.fence };
      return {
        args: [
          'K',
          String(c.runId),
          String(c.taskId),
          toJson(c.attempt, 'attempt'),
          fence ? String(fence.shard) : '',
          fence ? String(fence.epoch) : '0',
          event,
          String(fields.length / 2),
        ].concat(fields),
        settle: (reply) => {
          if (reply.startsWith('fenced:') && fence) reject(fencedError(fence, Number(reply.slice(7))));
          else resolve(reply === 'won');
        },
      };
    });
  }

  updateRun(runId: string, patch: Partial<Omit<RunRecord, 'runId'>>): Promise<void> {
    return this.#enqueueAwaited<void>((resolve, reject) => {
      assertIds([runId]);
      assertRunScalars(patch);
      const fields = runPatchFields(patch);
      return {
        args: ['U', runId, String(fields.length / 2)].concat(fields),
        settle: (reply) =>
          reply === 'ok' ? resolve() : reject(failure('NOT_FOUND', `run ${runId} not found`, runId)),
      };
    });
  }

  resetTasks(runId: string, taskIds: string[]): Promise<void> {
    return this.#enqueueAwaited<void>((resolve, reject) => {
      assertIds([runId, ...taskIds]);
      return {
        args: ['Z', runId, String(taskIds.length)].concat(taskIds),
        settle: (reply) =>
          reply === 'ok' ? resolve() : reject(failure('NOT_FOUND', `run ${runId} not found`, runId)),
      };
    });
  }

  getRun(runId: string): Promise<RunRecord | undefined> {
    return this.#read(async () =>
      runFromHash(await this.#client.hgetall(runKey(this.#prefix, runId, 'run'))),
    );
  }

  listRuns(query: ListRunsQuery = {}): Promise<RunPage> {
    return this.#read(async () => {
      const limit = resolveListLimit(query.limit);
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const key = indexKey(this.#prefix, query.status, query.workflowName);
      const args = [key, String(limit + 1), after ? String(-after.createdAt) : '', after?.runId ?? ''];
      const ids = (await this.#eval(LIST, args)) as string[];
      const hashes = await this.#hashes(ids.slice(0, limit).map((id) => runKey(this.#prefix, id, 'run')));
      const runs = hashes.map(runFromHash).filter((r): r is RunRecord => r !== undefined);
      const last = runs[runs.length - 1];
      return ids.length > limit && last
        ? { runs, nextCursor: encodeCursor(last.createdAt, last.runId) }
        : { runs };
    });
  }

  getTasks(runId: string): Promise<TaskRecord[]> {
    return this.#read(async () => {
      const ids = await this.#client.lrange(runKey(this.#prefix, runId, 'tasks'), 0, -1);
      const hashes = await this.#hashes(ids.map((id) => runKey(this.#prefix, runId, `task:${id}`)));
      return ids.map((id, i) => taskFromHash(runId, id, hashes[i] ?? {}));
    });
  }

  getEvents(runId: string, fromSeq?: number): Promise<CheckpointEvent[]> {
    return this.#read(async () => {
      const from = fromSeq !== undefined && fromSeq > 1 ? `${Math.ceil(fromSeq)}-0` : '-';
      const entries = await this.#client.xrange(runKey(this.#prefix, runId, 'events'), from, '+');
      return entries.map(([id, fields]) => eventFromEntry(runId, id, fields));
    });
  }

  async flush(): Promise<void> {
    this.#assertOpen();
    await this.#commits.flush();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#commits.flush();
      } finally {
        if (this.#client.status === 'ready') await this.#client.quit().catch(() => undefined);
        this.#client.disconnect();
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #enqueueAwaited<T>(
    build: (resolve: (value: T) => void, reject: (error: SmartQueueError) => void) => QueuedWrite,
  ): Promise<T> {
    // Inside the executor, a throw from #assertOpen or build() becomes this call's rejection.
    return new Promise<T>((resolve, reject) => {
      this.#assertOpen();
      this.#commits.enqueue({ fail: reject, ...build(resolve, reject) });
    });
  }

  /** EVALSHA, falling back to EVAL once after a server restart or SCRIPT FLUSH. */
  async #eval(s: Script, args: string[]): Promise<unknown> {
    try {
      return await this.#client.call('EVALSHA', [s.sha, '0'].concat(args));
    } catch (err) {
      if (!errorMessage(err).startsWith('NOSCRIPT')) throw err;
      return await this.#client.call('EVAL', [s.text, '0'].concat(args));
    }
  }

  async #hashes(keys: string[]): Promise<Record<string, string>[]> {
    if (keys.length === 0) return [];
    const pipeline = this.#client.pipeline();
    for (const key of keys) pipeline.hgetall(key);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, value]) => {
      if (err) throw err;
      return value as Record<string, string>;
    });
  }

  async #read<T>(fn: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    // Read-your-writes. A failed batch is reported to the writes' own callers, not the reader.
    await this.#commits.settled();
    try {
      return await fn();
    } catch (err) {
      throw toStoreError(err, 'read');
    }
  }

  #assertOpen(): void {
    if (this.#closing) throw new SmartQueueError('UNAVAILABLE', 'checkpoint store is closed');
  }
}
