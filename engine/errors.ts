/**
 * One error type for the whole project. Every failure a user can see carries a `code` from
 * {@link ErrorCode}; {@link GRPC_STATUS_BY_CODE} maps codes to gRPC status codes in one place.
 */

/** Every error code SmartQueue raises. */
export type ErrorCode =
  | 'INVALID_WORKFLOW'
  | 'INVALID_ARGUMENT'
  | 'INVALID_OPTIONS'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'CANCELLED'
  | 'DEADLINE_EXCEEDED'
  | 'TIMEOUT'
  | 'HANDLER_FAILED'
  | 'NON_RETRYABLE'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'INTERNAL';

/** gRPC status codes (numeric values from grpc/status.proto), without depending on a gRPC library. */
export const GRPC_STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  INVALID_WORKFLOW: 3, // INVALID_ARGUMENT
  INVALID_ARGUMENT: 3,
  INVALID_OPTIONS: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  CANCELLED: 1,
  DEADLINE_EXCEEDED: 4,
  TIMEOUT: 4,
  HANDLER_FAILED: 13,
  NON_RETRYABLE: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
};

/** A problem located in a source file (YAML or a DSL module). */
export interface SourceDiagnostic {
  /** File the problem is in (as given by the user), or `<input>` for text without a file. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
  /** Field path such as `tasks[2].needs[0]`, or `''` for the document itself. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

/** Formats a diagnostic the way every CLI verb and API prints it: `file:line:col path: message`. */
export function formatDiagnostic(d: SourceDiagnostic): string {
  const where = `${d.file}:${d.line}:${d.column}`;
  const prefix = d.severity === 'warning' ? 'warning: ' : '';
  return d.path ? `${where} ${prefix}${d.path}: ${d.message}` : `${where} ${prefix}${d.message}`;
}

export interface SmartQueueErrorOptions {
  details?: Record<string, unknown>;
  cause?: unknown;
  diagnostics?: SourceDiagnostic[];
}

/** The error type for everything SmartQueue raises on purpose. */
export class SmartQueueError extends Error {
  override readonly name = 'SmartQueueError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  /** Located problems (workflow errors); empty for other errors. */
  readonly diagnostics: SourceDiagnostic[];

  constructor(code: ErrorCode, message: string, options: SmartQueueErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    this.diagnostics = options.diagnostics ?? [];
  }
}

/** Thrown by a handler to fail its task without further retries. */
export class NonRetryableError extends Error {
  override readonly name = 'NonRetryableError';
}

/** Thrown by a handler to ask for a retry after a given delay (counts as an attempt). */
export class RetryAfterError extends Error {
  override readonly name = 'RetryAfterError';
  constructor(
    message: string,
    /** Delay before the next attempt, in milliseconds. */
    readonly delayMs: number,
  ) {
    super(message);
  }
}

/** Returns a readable one-line message for any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
