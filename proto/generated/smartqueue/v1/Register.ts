// Original file: proto/smartqueue/v1/workers.proto


/**
 * Registers a worker.
 */
export interface Register {
  /**
   * Unique id of the worker (stable across reconnects of the same process). Required:
   * letters, digits, `.`, `_`, `:` and `-`, at most 128 characters.
   */
  'workerId'?: (string);
  /**
   * Attempts the worker runs at once. Required, at least 1.
   */
  'capacity'?: (number);
  /**
   * Names of the handlers it can run (`noop`, `sleep`, `http`, registered ones; `run` for argv
   * tasks). It is sent only tasks whose handler is listed. Required, not empty.
   */
  'handlers'?: (string)[];
  /**
   * Free-form labels (zone, host, version).
   */
  'labels'?: ({[key: string]: string});
}

/**
 * Registers a worker.
 */
export interface Register__Output {
  /**
   * Unique id of the worker (stable across reconnects of the same process). Required:
   * letters, digits, `.`, `_`, `:` and `-`, at most 128 characters.
   */
  'workerId': (string);
  /**
   * Attempts the worker runs at once. Required, at least 1.
   */
  'capacity': (number);
  /**
   * Names of the handlers it can run (`noop`, `sleep`, `http`, registered ones; `run` for argv
   * tasks). It is sent only tasks whose handler is listed. Required, not empty.
   */
  'handlers': (string)[];
  /**
   * Free-form labels (zone, host, version).
   */
  'labels': ({[key: string]: string});
}
