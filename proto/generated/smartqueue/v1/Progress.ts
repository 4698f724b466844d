// Original file: proto/smartqueue/v1/workers.proto


/**
 * How far one running attempt got, as its handler reported (`ctx.progress(...)`).
 */
export interface Progress {
  'runId'?: (string);
  'taskId'?: (string);
  'attempt'?: (number);
  /**
   * 0..1; unset when the handler gave only a message.
   */
  'fraction'?: (number | string);
  /**
   * Short human-readable status (at most 1 KiB is kept).
   */
  'message'?: (string);
  '_fraction'?: "fraction";
}

/**
 * How far one running attempt got, as its handler reported (`ctx.progress(...)`).
 */
export interface Progress__Output {
  'runId': (string);
  'taskId': (string);
  'attempt': (number);
  /**
   * 0..1; unset when the handler gave only a message.
   */
  'fraction'?: (number);
  /**
   * Short human-readable status (at most 1 KiB is kept).
   */
  'message': (string);
  '_fraction'?: "fraction";
}
