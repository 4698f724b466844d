/** The Cassandra checkpoint store (cassandra-driver 4, loaded lazily). */
export { createCassandraCheckpointStore } from './cassandra-store.js';
export type { CassandraCheckpointStore, CassandraCheckpointStoreStats } from './cassandra-store.js';
export { migrateCassandraSchema, SCHEMA_VERSION as CASSANDRA_SCHEMA_VERSION } from './schema.js';
export { cassandraCheckpointStoreOptionsFromUrl, resolveCassandraCheckpointStoreOptions } from './options.js';
export type {
  CassandraCheckpointStoreOptions,
  CassandraConsistency,
  CassandraReplication,
  ResolvedCassandraCheckpointStoreOptions,
} from './options.js';
