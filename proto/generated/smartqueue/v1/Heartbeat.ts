// Original file: proto/smartqueue/v1/workers.proto


/**
 * Liveness and load of a worker.
 */
export interface Heartbeat {
  /**
   * Attempts running now.
   */
  'running'?: (number);
  /**
   * Extra load the worker reports (cost units; 0 when it has nothing to add, e.g. CPU pressure).
   */
  'load'?: (number | string);
}

/**
 * Liveness and load of a worker.
 */
export interface Heartbeat__Output {
  /**
   * Attempts running now.
   */
  'running': (number);
  /**
   * Extra load the worker reports (cost units; 0 when it has nothing to add, e.g. CPU pressure).
   */
  'load': (number);
}
