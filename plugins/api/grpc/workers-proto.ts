/**
 * Loads the worker contract (proto/smartqueue/v1/workers.proto) with the same loader options as
 * the client contract, so the generated types in proto/generated/ describe what grpc-js hands us.
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../../../proto/generated/workers.js';
import { LOADER_OPTIONS, protoDir } from './proto.js';

/** The fully-qualified name of the worker service. */
export const WORKERS_SERVICE_NAME = 'smartqueue.v1.Workers';

let cached: { definition: protoLoader.PackageDefinition; grpcType: ProtoGrpcType } | undefined;

/** The package definition and the typed grpc-js objects of the worker contract. */
export function loadWorkersContract(): {
  definition: protoLoader.PackageDefinition;
  grpcType: ProtoGrpcType;
} {
  if (!cached) {
    const definition = protoLoader.loadSync(path.join('smartqueue', 'v1', 'workers.proto'), {
      ...LOADER_OPTIONS,
      includeDirs: [protoDir()],
    });
    cached = { definition, grpcType: grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType };
  }
  return cached;
}
