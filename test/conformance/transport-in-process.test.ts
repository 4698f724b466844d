import { createInProcessTransport } from '../../plugins/transport/in-process/index.js';
import { transportConformance } from './transport.js';

transportConformance('in-process', () => ({ transport: createInProcessTransport() }), { quietPeriodMs: 20 });
