/** The etcd coordinator: membership, shard ownership with fencing epochs, locks and ids across instances. */
export { createEtcdCoordinator } from './etcd-coordinator.js';
export type { EtcdCoordinator } from './etcd-coordinator.js';
export { etcdCoordinatorOptionsFromUrl, resolveEtcdCoordinatorOptions } from './options.js';
export type {
  EtcdAuthOptions,
  EtcdCoordinatorOptions,
  EtcdTlsOptions,
  ResolvedEtcdCoordinatorOptions,
} from './options.js';
export type { ShardsListener } from './shard-ownership.js';
