/**
 * The Redis checkpoint store (ioredis, loaded lazily): runs and tasks in hashes, event logs in
 * streams, listings through sorted sets, once-only completion and shard fencing in Lua, group
 * commit in one Lua call per batch. Key layout and the Cluster note: see scripts.ts.
 */
export { createRedisCheckpointStore } from './redis-store.js';
export type { RedisCheckpointStore, RedisCheckpointStoreStats } from './redis-store.js';
export { redisCheckpointStoreOptionsFromUrl, resolveRedisCheckpointStoreOptions } from './options.js';
export type { RedisCheckpointStoreOptions, ResolvedRedisCheckpointStoreOptions } from './options.js';
