import { createInProcessCoordinator } from '../../plugins/coordinator/in-process/index.js';
import { coordinatorConformance } from './coordinator.js';

coordinatorConformance('in-process', () => ({ coordinator: createInProcessCoordinator() }), {
  leaseTtlMs: 100,
  expiryTimeoutMs: 2000,
});
