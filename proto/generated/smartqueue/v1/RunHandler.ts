// Original file: proto/smartqueue/v1/workers.proto


/**
 * An argv task (never a shell). Sent only to workers that registered `run`, by servers that allow
 * remote `run` tasks.
 */
export interface RunHandler {
  'argv'?: (string)[];
  /**
   * Working directory; empty: the worker's.
   */
  'cwd'?: (string);
  'env'?: ({[key: string]: string});
}

/**
 * An argv task (never a shell). Sent only to workers that registered `run`, by servers that allow
 * remote `run` tasks.
 */
export interface RunHandler__Output {
  'argv': (string)[];
  /**
   * Working directory; empty: the worker's.
   */
  'cwd': (string);
  'env': ({[key: string]: string});
}
