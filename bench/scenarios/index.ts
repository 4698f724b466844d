/**
 * The registry of benchmark scenarios run by `npm run bench`. Each scenario
 * module adds one import and one entry here; order is the order of RESULTS.md.
 */
import type { Scenario } from '../harness/types.js';
import { balancerScenario } from './balancer.js';
import { grpcScenario } from './grpc.js';
import { heapScenario } from './heap.js';
import { memoryScenario } from './memory.js';
import { dagScenario } from './dag.js';
import { flatScenario } from './flat.js';
import { overloadScenario } from './overload.js';
import { wfcommonsScenario } from './wfcommons.js';

/** All scenarios, in report order. */
export const scenarios: Scenario[] = [
  flatScenario,
  dagScenario,
  overloadScenario,
  wfcommonsScenario,
  heapScenario,
  balancerScenario,
  memoryScenario,
  grpcScenario,
];
