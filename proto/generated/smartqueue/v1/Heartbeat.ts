// Original file: proto/smartqueue/v1/workers.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Liveness and load of a worker. Fields 3-8 are what the worker measured since its previous
 * heartbeat (zero from workers that do not measure them); `load` is the one number the server's
 * balancer orders workers by.
 */
export interface Heartbeat {
  /**
   * Attempts running now.
   */
  'running'?: (number);
  /**
   * Extra load the worker reports (cost units, where 1 is one attempt of the default 1 s
   * estimate), on top of the attempts the server knows it assigned. The balancer orders workers by
   * (cost of their running attempts + load) / capacity and picks the least loaded, so a worker
   * that is backed up (tasks queued), short of CPU or lagging gets fewer new assignments. The
   * `smartqueue worker` computes it from the fields below (engine/load-sampler.ts `loadScore`);
   * 0 when it has nothing to add.
   */
  'load'?: (number | string);
  /**
   * Threads in the worker's thread pool (0 when it has none).
   */
  'threads'?: (number);
  /**
   * Pool threads running a task now.
   */
  'busyThreads'?: (number);
  /**
   * Tasks waiting in the worker (assigned, not started: queued for a pool thread).
   */
  'queued'?: (number);
  /**
   * Process CPU use since the previous heartbeat, in cores (1.5 = one and a half cores busy).
   */
  'cpu'?: (number | string);
  /**
   * Resident set size of the worker process (bytes).
   */
  'memoryBytes'?: (number | string | Long);
  /**
   * 99th percentile of the worker's event loop delay since the previous heartbeat (ms).
   */
  'eventLoopLagMs'?: (number | string);
}

/**
 * Liveness and load of a worker. Fields 3-8 are what the worker measured since its previous
 * heartbeat (zero from workers that do not measure them); `load` is the one number the server's
 * balancer orders workers by.
 */
export interface Heartbeat__Output {
  /**
   * Attempts running now.
   */
  'running': (number);
  /**
   * Extra load the worker reports (cost units, where 1 is one attempt of the default 1 s
   * estimate), on top of the attempts the server knows it assigned. The balancer orders workers by
   * (cost of their running attempts + load) / capacity and picks the least loaded, so a worker
   * that is backed up (tasks queued), short of CPU or lagging gets fewer new assignments. The
   * `smartqueue worker` computes it from the fields below (engine/load-sampler.ts `loadScore`);
   * 0 when it has nothing to add.
   */
  'load': (number);
  /**
   * Threads in the worker's thread pool (0 when it has none).
   */
  'threads': (number);
  /**
   * Pool threads running a task now.
   */
  'busyThreads': (number);
  /**
   * Tasks waiting in the worker (assigned, not started: queued for a pool thread).
   */
  'queued': (number);
  /**
   * Process CPU use since the previous heartbeat, in cores (1.5 = one and a half cores busy).
   */
  'cpu': (number);
  /**
   * Resident set size of the worker process (bytes).
   */
  'memoryBytes': (number);
  /**
   * 99th percentile of the worker's event loop delay since the previous heartbeat (ms).
   */
  'eventLoopLagMs': (number);
}
