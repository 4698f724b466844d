import { randomUUID } from 'node:crypto';
import { createEtcdCoordinator } from '../../plugins/coordinator/etcd/index.js';
import { probeService, serviceAddress, withService } from '../support/services.js';
import { coordinatorConformance } from './coordinator.js';

const available = await probeService('etcd');

withService('etcd', available, 'etcd coordinator', () => {
  coordinatorConformance(
    'etcd',
    async () => {
      const prefix = `sq-test-${randomUUID()}`;
      const coordinator = await createEtcdCoordinator({
        endpoints: serviceAddress('etcd'),
        prefix,
        leaseTtlMs: 2000,
      });
      return {
        coordinator,
        cleanup: async () => {
          const { Etcd3 } = await import('etcd3');
          const client = new Etcd3({ hosts: serviceAddress('etcd') });
          try {
            await client.delete().prefix(`${prefix}/`);
          } finally {
            client.close();
          }
        },
      };
    },
    // etcd leases are whole seconds and expire on the leader's next check (about 0.5 s late).
    { leaseTtlMs: 2000, expiryTimeoutMs: 8000 },
  );
});
