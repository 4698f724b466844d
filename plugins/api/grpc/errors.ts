/**
 * Turns thrown errors into gRPC statuses: the code from GRPC_STATUS_BY_CODE (the one table),
 * a readable message, and for wrong fields a google.rpc.BadRequest in the
 * `grpc-status-details-bin` trailer (the rich error model that Google APIs and grpc-status
 * libraries read).
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { formatDiagnostic, GRPC_STATUS_BY_CODE, SmartQueueError } from '../../../engine/errors.js';
import { protoDir } from './proto.js';

/** One wrong field of a request. */
export interface FieldViolation {
  /** Path of the field (`deadline`, `spec.tasks[1].needs[0]`), `''` for the whole request. */
  field: string;
  description: string;
}

export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
const BAD_REQUEST_TYPE_URL = 'type.googleapis.com/google.rpc.BadRequest';

// google.protobuf.Any comes from protobufjs' built-in JSON, so its fields keep their proto names (type_url).
let types: { status: protobuf.Type; badRequest: protobuf.Type } | undefined;
function rpcTypes(): { status: protobuf.Type; badRequest: protobuf.Type } {
  if (!types) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) =>
      target.startsWith('google/protobuf/') ? target : path.join(protoDir(), target);
    root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
    types = {
      status: root.lookupType('google.rpc.Status'),
      badRequest: root.lookupType('google.rpc.BadRequest'),
    };
  }
  return types;
}

/** Encodes a google.rpc.Status holding one google.rpc.BadRequest. */
export function encodeBadRequest(code: number, message: string, violations: FieldViolation[]): Buffer {
  const { status, badRequest } = rpcTypes();
  const detail = badRequest.encode(badRequest.fromObject({ fieldViolations: violations })).finish();
  const bytes = status
    .encode(
      status.fromObject({ code, message, details: [{ type_url: BAD_REQUEST_TYPE_URL, value: detail }] }),
    )
    .finish();
  return Buffer.from(bytes);
}

/** The field violations of a status from a SmartQueue server, or undefined when it has none. */
export function decodeBadRequest(error: { metadata?: grpc.Metadata }): FieldViolation[] | undefined {
  const raw = error.metadata?.get(STATUS_DETAILS_KEY)[0];
  if (!Buffer.isBuffer(raw)) return undefined;
  const { status, badRequest } = rpcTypes();
  const decoded = status.toObject(status.decode(raw), { defaults: true }) as {
    details: { type_url: string; value: Uint8Array }[];
  };
  const detail = decoded.details.find((d) => d.type_url === BAD_REQUEST_TYPE_URL);
  if (!detail) return undefined;
  const br = badRequest.toObject(badRequest.decode(detail.value), { defaults: true }) as {
    fieldViolations: FieldViolation[];
  };
  return br.fieldViolations;
}

/** A SmartQueueError for wrong request fields (INVALID_ARGUMENT with a BadRequest). */
export function badRequest(violations: FieldViolation[]): SmartQueueError {
  const message = violations
    .map((v) => (v.field ? `${v.field}: ${v.description}` : v.description))
    .join('\n');
  return new SmartQueueError('INVALID_ARGUMENT', message, { details: { fieldViolations: violations } });
}

function violationsOf(err: SmartQueueError): FieldViolation[] | undefined {
  if (err.diagnostics.length) {
    const ordered = [
      ...err.diagnostics.filter((d) => d.severity === 'error'),
      ...err.diagnostics.filter((d) => d.severity !== 'error'),
    ];
    return ordered.map((d) => ({ field: d.path, description: formatDiagnostic(d) }));
  }
  const given = err.details.fieldViolations;
  if (Array.isArray(given)) return given as FieldViolation[];
  const problems = err.details.problems;
  if (err.code === 'INVALID_ARGUMENT' && Array.isArray(problems)) {
    return problems.map((p) => {
      const text = String(p);
      const colon = text.indexOf(': ');
      return colon > 0
        ? { field: text.slice(0, colon), description: text.slice(colon + 2) }
        : { field: '', description: text };
    });
  }
  return undefined;
}

/** The gRPC status for anything a handler threw. Unexpected errors become INTERNAL, without internals. */
export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  if (!(err instanceof SmartQueueError)) {
    return { code: grpc.status.INTERNAL, details: 'internal error', metadata: new grpc.Metadata() };
  }
  const code = GRPC_STATUS_BY_CODE[err.code] ?? grpc.status.UNKNOWN;
  const violations = violationsOf(err);
  const metadata = new grpc.Metadata();
  let details = err.message;
  if (violations) {
    // Workflow errors: the message is the same `file:line:column path: message` lines the CLI prints.
    if (err.diagnostics.length) details = violations.map((v) => v.description).join('\n');
    metadata.set(STATUS_DETAILS_KEY, encodeBadRequest(code, details, violations));
  }
  return { code, details, metadata };
}

/** An UNAVAILABLE status for calls that arrive while the server shuts down. */
export function shuttingDown(): Partial<grpc.StatusObject> {
  return toServiceError(new SmartQueueError('UNAVAILABLE', 'the server is shutting down'));
}
