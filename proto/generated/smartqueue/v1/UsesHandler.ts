// Original file: proto/smartqueue/v1/workers.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

/**
 * A named handler with its arguments (`uses:` / `with:`).
 */
export interface UsesHandler {
  'name'?: (string);
  'args'?: (_google_protobuf_Struct | null);
}

/**
 * A named handler with its arguments (`uses:` / `with:`).
 */
export interface UsesHandler__Output {
  'name': (string);
  'args': (_google_protobuf_Struct__Output | null);
}
