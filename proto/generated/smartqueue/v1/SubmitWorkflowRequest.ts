// Original file: proto/smartqueue/v1/smartqueue.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

/**
 * Starts a run of a workflow given as YAML text or as compiled IR.
 */
export interface SubmitWorkflowRequest {
  /**
   * The workflow document(s), as in a workflow file (apiVersion smartqueue/v1).
   */
  'yaml'?: (string);
  /**
   * Name shown in error positions (`file:line:column`). Default `<input>`.
   */
  'fileName'?: (string);
  /**
   * Which workflow to run when the text holds several documents; required then.
   */
  'workflow'?: (string);
  /**
   * Param values by name; strings are converted to each param's declared type.
   */
  'params'?: ({[key: string]: string});
  /**
   * Labels recorded with the run, added to the workflow's own.
   */
  'labels'?: ({[key: string]: string});
  /**
   * Makes the call safe to retry: the same key with the same request returns the original run
   * id; the same key with a different request is ALREADY_EXISTS. Empty: no deduplication.
   */
  'idempotencyKey'?: (string);
  /**
   * The workflow's compiled intermediate representation (what `smartqueue plan --ir` prints;
   * `smartqueue submit` sends TypeScript-DSL workflows this way): checked against the IR schema
   * and compiled on the server. Field violations name paths such as `ir.tasks[2].needs[0]`.
   */
  'ir'?: (_google_protobuf_Struct | null);
  /**
   * The workflow, one of the two forms. Required.
   */
  'source'?: "yaml"|"ir";
}

/**
 * Starts a run of a workflow given as YAML text or as compiled IR.
 */
export interface SubmitWorkflowRequest__Output {
  /**
   * The workflow document(s), as in a workflow file (apiVersion smartqueue/v1).
   */
  'yaml'?: (string);
  /**
   * Name shown in error positions (`file:line:column`). Default `<input>`.
   */
  'fileName': (string);
  /**
   * Which workflow to run when the text holds several documents; required then.
   */
  'workflow': (string);
  /**
   * Param values by name; strings are converted to each param's declared type.
   */
  'params': ({[key: string]: string});
  /**
   * Labels recorded with the run, added to the workflow's own.
   */
  'labels': ({[key: string]: string});
  /**
   * Makes the call safe to retry: the same key with the same request returns the original run
   * id; the same key with a different request is ALREADY_EXISTS. Empty: no deduplication.
   */
  'idempotencyKey': (string);
  /**
   * The workflow's compiled intermediate representation (what `smartqueue plan --ir` prints;
   * `smartqueue submit` sends TypeScript-DSL workflows this way): checked against the IR schema
   * and compiled on the server. Field violations name paths such as `ir.tasks[2].needs[0]`.
   */
  'ir'?: (_google_protobuf_Struct__Output | null);
  /**
   * The workflow, one of the two forms. Required.
   */
  'source'?: "yaml"|"ir";
}
