/** The SQLite checkpoint store, the embedded default (better-sqlite3 v12, loaded lazily). */
export { createSqliteCheckpointStore, resolveSqliteCheckpointStoreOptions } from './sqlite-store.js';
export type {
  ResolvedSqliteCheckpointStoreOptions,
  SqliteCheckpointStore,
  SqliteCheckpointStoreOptions,
  SqliteCheckpointStoreStats,
} from './sqlite-store.js';
