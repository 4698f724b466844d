// Original file: proto/smartqueue/v1/workers.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Session settings changed by the server.
 */
export interface Settings {
  /**
   * Send a Heartbeat at least this often (milliseconds) from now on.
   */
  'heartbeatIntervalMs'?: (number | string | Long);
}

/**
 * Session settings changed by the server.
 */
export interface Settings__Output {
  /**
   * Send a Heartbeat at least this often (milliseconds) from now on.
   */
  'heartbeatIntervalMs': (number);
}
