/**
 * The ONNX protobuf messages, loaded with protobufjs from the vendored subset of the official
 * onnx.proto3 (onnx.proto next to this file), so models are written and read by a real
 * protobuf codec from the official field numbers, never by hand-placed bytes.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const PROTO_FILE = 'onnx.proto';

/** The folder holding onnx.proto: next to this file in the sources, or in the source tree above dist/. */
function protoPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [
    path.join(here, PROTO_FILE),
    // dist/plugins/predictor/onnx/export → the package root, which ships the .proto (package.json "files").
    path.resolve(here, '../../../../../plugins/predictor/onnx/export', PROTO_FILE),
  ];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found === undefined) throw new Error(`cannot find ${PROTO_FILE} (looked in ${candidates.join(', ')})`);
  return found;
}

/** The message types SmartQueue writes and reads. */
export interface OnnxTypes {
  model: protobuf.Type;
}

let cached: OnnxTypes | undefined;

/** The `onnx.ModelProto` type (parsed once). */
export function onnxTypes(): OnnxTypes {
  if (cached === undefined) {
    const root = protobuf.loadSync(protoPath());
    cached = { model: root.lookupType('onnx.ModelProto') };
  }
  return cached;
}

/** `TensorProto.DataType` values used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;

/** `AttributeProto.AttributeType` values used here. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;
