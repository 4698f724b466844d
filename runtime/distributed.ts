/**
 * The stages a server adds for distributed mode, from the URLs of its configuration: the Kafka
 * transport (`transport: kafka://...`) and, for a cluster of schedulers, the etcd coordinator
 * with this instance's ClusterMember (`coordinator: etcd://...`). Drivers load only when named.
 */
import { SmartQueueError } from '../engine/errors.js';
import type { Balancer, CheckpointStore, Coordinator } from '../engine/stages.js';
import { createInProcessCoordinator } from '../plugins/coordinator/in-process/index.js';
import type { KafkaTransport } from '../plugins/transport/kafka/index.js';
import { ClusterMember } from './cluster.js';
import { parseStoreSpec } from './open-store.js';

export interface DistributedConfig {
  transport?: string;
  coordinator?: string;
  clusterShards?: number;
  instanceId: string;
  /** The store spec (to refuse a cluster on a store other instances cannot reach). */
  storeSpec: string | false;
}

export interface DistributedStages {
  kafka?: KafkaTransport;
  coordinator: Coordinator;
  cluster?: ClusterMember;
}

export async function openDistributedStages(
  config: DistributedConfig,
  deps: { store: CheckpointStore; balancer: Balancer; log: (line: string) => void },
): Promise<DistributedStages> {
  if (config.transport !== undefined && !/^kafka:\/\//i.test(config.transport))
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `transport must be a kafka:// URL, got "${config.transport}"`,
    );
  if (config.coordinator !== undefined && !/^etcd(\+https)?:\/\//i.test(config.coordinator))
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `coordinator must be an etcd:// (or etcd+https://) URL, got "${config.coordinator}"`,
    );
  const shards = config.clusterShards ?? 16;
  if (!Number.isInteger(shards) || shards < 1 || shards > 4096)
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `clusterShards must be an integer from 1 to 4096, got ${shards}`,
    );
  if (config.coordinator !== undefined) {
    const kind = config.storeSpec === false ? 'memory' : parseStoreSpec(config.storeSpec).kind;
    if (kind === 'memory' || kind === 'sqlite')
      throw new SmartQueueError(
        'INVALID_OPTIONS',
        `a cluster (coordinator ${config.coordinator}) needs a store every instance reaches (cassandra:// or redis://), not ${kind}`,
      );
  }
  const stages: DistributedStages = { coordinator: createInProcessCoordinator() };
  try {
    if (config.coordinator !== undefined) {
      const etcd = await import('../plugins/coordinator/etcd/index.js');
      await stages.coordinator.close();
      stages.coordinator = await etcd.createEtcdCoordinator({
        ...etcd.etcdCoordinatorOptionsFromUrl(config.coordinator),
        instanceId: config.instanceId,
      });
      stages.cluster = new ClusterMember({
        coordinator: stages.coordinator,
        store: deps.store,
        shards,
        instanceId: config.instanceId,
        log: deps.log,
      });
    }
    if (config.transport !== undefined) {
      const kafka = await import('../plugins/transport/kafka/index.js');
      stages.kafka = await kafka.createKafkaTransport({
        ...kafka.kafkaTransportOptionsFromUrl(config.transport),
        role: 'scheduler',
        instanceId: config.instanceId,
        balancer: deps.balancer,
        log: deps.log,
      });
    }
  } catch (err) {
    await stages.kafka?.close().catch(() => {});
    await stages.coordinator.close().catch(() => {});
    throw err;
  }
  return stages;
}
