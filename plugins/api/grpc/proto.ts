/**
 * Loads the SmartQueue gRPC contract (proto/smartqueue/v1/smartqueue.proto) at run time. The
 * loader options here must match the ones of `npm run proto:gen`, so the generated types in
 * proto/generated/ describe exactly the objects grpc-js hands us.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../../../proto/generated/smartqueue.js';

/** The proto-loader options the generated types were made with (see the `proto:gen` script). */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

const CONTRACT = path.join('smartqueue', 'v1', 'smartqueue.proto');

/** The proto/ folder: next to the sources, or above dist/ in a built package. */
export function protoDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../../proto', '../../../../proto']) {
    const dir = path.resolve(here, up);
    if (existsSync(path.join(dir, CONTRACT))) return dir;
  }
  throw new Error(`cannot find ${CONTRACT} above ${here}`);
}

/** The fully-qualified name of the client service (health checks use it). */
export const SERVICE_NAME = 'smartqueue.v1.SmartQueue';

let cached: { definition: protoLoader.PackageDefinition; grpcType: ProtoGrpcType } | undefined;

/** The package definition (for reflection) and the typed grpc-js objects of the contract. */
export function loadContract(): { definition: protoLoader.PackageDefinition; grpcType: ProtoGrpcType } {
  if (!cached) {
    const definition = protoLoader.loadSync(CONTRACT, { ...LOADER_OPTIONS, includeDirs: [protoDir()] });
    cached = { definition, grpcType: grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType };
  }
  return cached;
}
