import { MemoryStore } from '../src/store/memory-store.js';
import { describeStoreConformance } from './store-conformance.js';

describeStoreConformance('memory', async () => ({ store: new MemoryStore(), close: async () => {} }));
