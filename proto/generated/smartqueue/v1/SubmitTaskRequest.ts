// Original file: proto/smartqueue/v1/smartqueue.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

/**
 * One task to add to an open run.
 */
export interface SubmitTaskRequest {
  /**
   * The namespace whose open run the task joins (created on first use). Default `default`.
   * Ignored when `run_id` is set.
   */
  'namespace'?: (string);
  /**
   * A live run to add the task to instead of the namespace's run.
   */
  'runId'?: (string);
  /**
   * Task id, unique in its run: letters, digits, `_` and `-`, starting with a letter or `_`.
   * Empty: the server assigns one.
   */
  'taskId'?: (string);
  /**
   * Name of the handler that runs the task (`noop`, `sleep`, `http` or a registered one). Required.
   */
  'handler'?: (string);
  /**
   * Arguments given to the handler (its `with:`).
   */
  'args'?: (_google_protobuf_Struct | null);
  /**
   * 0..100, higher first. Unset: 50 (medium).
   */
  'priority'?: (number);
  /**
   * Latest finish: a duration from the start of the run (`30s`, `PT5M`) or an RFC 3339 instant.
   */
  'deadline'?: (string);
  /**
   * Expected duration (`250ms`, `2m`), used for deadline-aware ordering.
   */
  'estimate'?: (string);
  /**
   * Attempt timeout (`10s`); the attempt is aborted when it expires.
   */
  'timeout'?: (string);
  /**
   * Retries after the first attempt (exponential backoff). Unset: 0.
   */
  'retriesMax'?: (number);
  /**
   * Ids of earlier tasks of the same run that must finish first.
   */
  'needs'?: (string)[];
  /**
   * Tasks with the same shard key go to the same shard (ordering, locality).
   */
  'shardKey'?: (string);
  /**
   * Makes the call safe to retry: the same key with the same request returns the original task;
   * the same key with a different request is ALREADY_EXISTS. Also given to the handler as its
   * idempotency key. Empty: no deduplication.
   */
  'idempotencyKey'?: (string);
  /**
   * Free-form metadata, recorded in the run's event log and returned by GetTask.
   */
  'metadata'?: ({[key: string]: string});
  '_priority'?: "priority";
  '_retriesMax'?: "retriesMax";
}

/**
 * One task to add to an open run.
 */
export interface SubmitTaskRequest__Output {
  /**
   * The namespace whose open run the task joins (created on first use). Default `default`.
   * Ignored when `run_id` is set.
   */
  'namespace': (string);
  /**
   * A live run to add the task to instead of the namespace's run.
   */
  'runId': (string);
  /**
   * Task id, unique in its run: letters, digits, `_` and `-`, starting with a letter or `_`.
   * Empty: the server assigns one.
   */
  'taskId': (string);
  /**
   * Name of the handler that runs the task (`noop`, `sleep`, `http` or a registered one). Required.
   */
  'handler': (string);
  /**
   * Arguments given to the handler (its `with:`).
   */
  'args': (_google_protobuf_Struct__Output | null);
  /**
   * 0..100, higher first. Unset: 50 (medium).
   */
  'priority'?: (number);
  /**
   * Latest finish: a duration from the start of the run (`30s`, `PT5M`) or an RFC 3339 instant.
   */
  'deadline': (string);
  /**
   * Expected duration (`250ms`, `2m`), used for deadline-aware ordering.
   */
  'estimate': (string);
  /**
   * Attempt timeout (`10s`); the attempt is aborted when it expires.
   */
  'timeout': (string);
  /**
   * Retries after the first attempt (exponential backoff). Unset: 0.
   */
  'retriesMax'?: (number);
  /**
   * Ids of earlier tasks of the same run that must finish first.
   */
  'needs': (string)[];
  /**
   * Tasks with the same shard key go to the same shard (ordering, locality).
   */
  'shardKey': (string);
  /**
   * Makes the call safe to retry: the same key with the same request returns the original task;
   * the same key with a different request is ALREADY_EXISTS. Also given to the handler as its
   * idempotency key. Empty: no deduplication.
   */
  'idempotencyKey': (string);
  /**
   * Free-form metadata, recorded in the run's event log and returned by GetTask.
   */
  'metadata': ({[key: string]: string});
  '_priority'?: "priority";
  '_retriesMax'?: "retriesMax";
}
