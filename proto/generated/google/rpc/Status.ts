// Original file: proto/google/rpc/status.proto

import type { Any as _google_protobuf_Any, Any__Output as _google_protobuf_Any__Output } from '../../google/protobuf/Any.js';

/**
 * The status of a call: code, developer-facing message and typed details.
 */
export interface Status {
  /**
   * The status code (a google.rpc.Code value, the same number as the gRPC status).
   */
  'code'?: (number);
  /**
   * A developer-facing error message, in English.
   */
  'message'?: (string);
  /**
   * Messages that carry the error details (SmartQueue sends a google.rpc.BadRequest).
   */
  'details'?: (_google_protobuf_Any)[];
}

/**
 * The status of a call: code, developer-facing message and typed details.
 */
export interface Status__Output {
  /**
   * The status code (a google.rpc.Code value, the same number as the gRPC status).
   */
  'code': (number);
  /**
   * A developer-facing error message, in English.
   */
  'message': (string);
  /**
   * Messages that carry the error details (SmartQueue sends a google.rpc.BadRequest).
   */
  'details': (_google_protobuf_Any__Output)[];
}
