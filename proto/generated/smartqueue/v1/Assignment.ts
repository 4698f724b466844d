// Original file: proto/smartqueue/v1/workers.proto

import type { UsesHandler as _smartqueue_v1_UsesHandler, UsesHandler__Output as _smartqueue_v1_UsesHandler__Output } from '../../smartqueue/v1/UsesHandler.js';
import type { RunHandler as _smartqueue_v1_RunHandler, RunHandler__Output as _smartqueue_v1_RunHandler__Output } from '../../smartqueue/v1/RunHandler.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';
import type { Long } from '@grpc/proto-loader';

/**
 * One attempt of one task.
 */
export interface Assignment {
  /**
   * Run, task and 1-based attempt number: echo them in the result.
   */
  'runId'?: (string);
  'taskId'?: (string);
  'attempt'?: (number);
  /**
   * Shard the task was scheduled on.
   */
  'shard'?: (number);
  /**
   * Stable across attempts of the task: key side effects with it.
   */
  'idempotencyKey'?: (string);
  'uses'?: (_smartqueue_v1_UsesHandler | null);
  'run'?: (_smartqueue_v1_RunHandler | null);
  /**
   * Outputs of the tasks this one needs, by task id.
   */
  'inputs'?: (_google_protobuf_Struct | null);
  /**
   * Param values of the run.
   */
  'params'?: (_google_protobuf_Struct | null);
  /**
   * Attempt timeout in milliseconds; 0 means none.
   */
  'timeoutMs'?: (number | string | Long);
  /**
   * Latest finish time of the task (epoch milliseconds); 0 means none.
   */
  'deadlineAtMs'?: (number | string | Long);
  /**
   * Extra metadata (trace context, labels).
   */
  'headers'?: ({[key: string]: string});
  /**
   * The task is CPU-bound (`thread: true`): run it in a worker thread if the worker has a pool
   * and the handler comes from a module; else on the main thread.
   */
  'thread'?: (boolean);
  /**
   * The scheduler's estimate of the attempt's run time (ms; 0: none): a worker's thread pool
   * places tasks by it.
   */
  'estimateMs'?: (number | string | Long);
  /**
   * What to run: a named handler with arguments, or an argv (`run`).
   */
  'handler'?: "uses"|"run";
}

/**
 * One attempt of one task.
 */
export interface Assignment__Output {
  /**
   * Run, task and 1-based attempt number: echo them in the result.
   */
  'runId': (string);
  'taskId': (string);
  'attempt': (number);
  /**
   * Shard the task was scheduled on.
   */
  'shard': (number);
  /**
   * Stable across attempts of the task: key side effects with it.
   */
  'idempotencyKey': (string);
  'uses'?: (_smartqueue_v1_UsesHandler__Output | null);
  'run'?: (_smartqueue_v1_RunHandler__Output | null);
  /**
   * Outputs of the tasks this one needs, by task id.
   */
  'inputs': (_google_protobuf_Struct__Output | null);
  /**
   * Param values of the run.
   */
  'params': (_google_protobuf_Struct__Output | null);
  /**
   * Attempt timeout in milliseconds; 0 means none.
   */
  'timeoutMs': (number);
  /**
   * Latest finish time of the task (epoch milliseconds); 0 means none.
   */
  'deadlineAtMs': (number);
  /**
   * Extra metadata (trace context, labels).
   */
  'headers': ({[key: string]: string});
  /**
   * The task is CPU-bound (`thread: true`): run it in a worker thread if the worker has a pool
   * and the handler comes from a module; else on the main thread.
   */
  'thread': (boolean);
  /**
   * The scheduler's estimate of the attempt's run time (ms; 0: none): a worker's thread pool
   * places tasks by it.
   */
  'estimateMs': (number);
  /**
   * What to run: a named handler with arguments, or an argv (`run`).
   */
  'handler'?: "uses"|"run";
}
