import { createMemoryCheckpointStore } from '../../plugins/checkpoint/memory/index.js';
import { checkpointStoreConformance } from './checkpoint-store.js';

checkpointStoreConformance('memory', async () => ({ store: createMemoryCheckpointStore() }));
