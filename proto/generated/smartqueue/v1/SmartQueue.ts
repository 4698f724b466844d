// Original file: proto/smartqueue/v1/smartqueue.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CancelRunRequest as _smartqueue_v1_CancelRunRequest, CancelRunRequest__Output as _smartqueue_v1_CancelRunRequest__Output } from '../../smartqueue/v1/CancelRunRequest.js';
import type { CancelRunResponse as _smartqueue_v1_CancelRunResponse, CancelRunResponse__Output as _smartqueue_v1_CancelRunResponse__Output } from '../../smartqueue/v1/CancelRunResponse.js';
import type { CancelTaskRequest as _smartqueue_v1_CancelTaskRequest, CancelTaskRequest__Output as _smartqueue_v1_CancelTaskRequest__Output } from '../../smartqueue/v1/CancelTaskRequest.js';
import type { CancelTaskResponse as _smartqueue_v1_CancelTaskResponse, CancelTaskResponse__Output as _smartqueue_v1_CancelTaskResponse__Output } from '../../smartqueue/v1/CancelTaskResponse.js';
import type { GetRunRequest as _smartqueue_v1_GetRunRequest, GetRunRequest__Output as _smartqueue_v1_GetRunRequest__Output } from '../../smartqueue/v1/GetRunRequest.js';
import type { GetTaskRequest as _smartqueue_v1_GetTaskRequest, GetTaskRequest__Output as _smartqueue_v1_GetTaskRequest__Output } from '../../smartqueue/v1/GetTaskRequest.js';
import type { ListRunsRequest as _smartqueue_v1_ListRunsRequest, ListRunsRequest__Output as _smartqueue_v1_ListRunsRequest__Output } from '../../smartqueue/v1/ListRunsRequest.js';
import type { ListRunsResponse as _smartqueue_v1_ListRunsResponse, ListRunsResponse__Output as _smartqueue_v1_ListRunsResponse__Output } from '../../smartqueue/v1/ListRunsResponse.js';
import type { Run as _smartqueue_v1_Run, Run__Output as _smartqueue_v1_Run__Output } from '../../smartqueue/v1/Run.js';
import type { RunEvent as _smartqueue_v1_RunEvent, RunEvent__Output as _smartqueue_v1_RunEvent__Output } from '../../smartqueue/v1/RunEvent.js';
import type { SubmitTaskRequest as _smartqueue_v1_SubmitTaskRequest, SubmitTaskRequest__Output as _smartqueue_v1_SubmitTaskRequest__Output } from '../../smartqueue/v1/SubmitTaskRequest.js';
import type { SubmitTaskResponse as _smartqueue_v1_SubmitTaskResponse, SubmitTaskResponse__Output as _smartqueue_v1_SubmitTaskResponse__Output } from '../../smartqueue/v1/SubmitTaskResponse.js';
import type { SubmitTasksRequest as _smartqueue_v1_SubmitTasksRequest, SubmitTasksRequest__Output as _smartqueue_v1_SubmitTasksRequest__Output } from '../../smartqueue/v1/SubmitTasksRequest.js';
import type { SubmitTasksResponse as _smartqueue_v1_SubmitTasksResponse, SubmitTasksResponse__Output as _smartqueue_v1_SubmitTasksResponse__Output } from '../../smartqueue/v1/SubmitTasksResponse.js';
import type { SubmitWorkflowRequest as _smartqueue_v1_SubmitWorkflowRequest, SubmitWorkflowRequest__Output as _smartqueue_v1_SubmitWorkflowRequest__Output } from '../../smartqueue/v1/SubmitWorkflowRequest.js';
import type { SubmitWorkflowResponse as _smartqueue_v1_SubmitWorkflowResponse, SubmitWorkflowResponse__Output as _smartqueue_v1_SubmitWorkflowResponse__Output } from '../../smartqueue/v1/SubmitWorkflowResponse.js';
import type { Task as _smartqueue_v1_Task, Task__Output as _smartqueue_v1_Task__Output } from '../../smartqueue/v1/Task.js';
import type { TaskUpdate as _smartqueue_v1_TaskUpdate, TaskUpdate__Output as _smartqueue_v1_TaskUpdate__Output } from '../../smartqueue/v1/TaskUpdate.js';
import type { WatchRunRequest as _smartqueue_v1_WatchRunRequest, WatchRunRequest__Output as _smartqueue_v1_WatchRunRequest__Output } from '../../smartqueue/v1/WatchRunRequest.js';
import type { WatchTasksRequest as _smartqueue_v1_WatchTasksRequest, WatchTasksRequest__Output as _smartqueue_v1_WatchTasksRequest__Output } from '../../smartqueue/v1/WatchTasksRequest.js';

/**
 * The client-facing SmartQueue service.
 */
export interface SmartQueueClient extends grpc.Client {
  /**
   * Cancels a running run: waiting tasks are dropped, running attempts are aborted.
   */
  CancelRun(argument: _smartqueue_v1_CancelRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  CancelRun(argument: _smartqueue_v1_CancelRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  CancelRun(argument: _smartqueue_v1_CancelRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  CancelRun(argument: _smartqueue_v1_CancelRunRequest, callback: grpc.requestCallback<_smartqueue_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Cancels a running run: waiting tasks are dropped, running attempts are aborted.
   */
  cancelRun(argument: _smartqueue_v1_CancelRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  cancelRun(argument: _smartqueue_v1_CancelRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  cancelRun(argument: _smartqueue_v1_CancelRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  cancelRun(argument: _smartqueue_v1_CancelRunRequest, callback: grpc.requestCallback<_smartqueue_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Cancels one task; the tasks that need it are skipped.
   */
  CancelTask(argument: _smartqueue_v1_CancelTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_CancelTaskResponse__Output>): grpc.ClientUnaryCall;
  CancelTask(argument: _smartqueue_v1_CancelTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_CancelTaskResponse__Output>): grpc.ClientUnaryCall;
  CancelTask(argument: _smartqueue_v1_CancelTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_CancelTaskResponse__Output>): grpc.ClientUnaryCall;
  CancelTask(argument: _smartqueue_v1_CancelTaskRequest, callback: grpc.requestCallback<_smartqueue_v1_CancelTaskResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Cancels one task; the tasks that need it are skipped.
   */
  cancelTask(argument: _smartqueue_v1_CancelTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_CancelTaskResponse__Output>): grpc.ClientUnaryCall;
  cancelTask(argument: _smartqueue_v1_CancelTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_CancelTaskResponse__Output>): grpc.ClientUnaryCall;
  cancelTask(argument: _smartqueue_v1_CancelTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_CancelTaskResponse__Output>): grpc.ClientUnaryCall;
  cancelTask(argument: _smartqueue_v1_CancelTaskRequest, callback: grpc.requestCallback<_smartqueue_v1_CancelTaskResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Reads a run and the state of each of its tasks.
   */
  GetRun(argument: _smartqueue_v1_GetRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_Run__Output>): grpc.ClientUnaryCall;
  GetRun(argument: _smartqueue_v1_GetRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_Run__Output>): grpc.ClientUnaryCall;
  GetRun(argument: _smartqueue_v1_GetRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_Run__Output>): grpc.ClientUnaryCall;
  GetRun(argument: _smartqueue_v1_GetRunRequest, callback: grpc.requestCallback<_smartqueue_v1_Run__Output>): grpc.ClientUnaryCall;
  /**
   * Reads a run and the state of each of its tasks.
   */
  getRun(argument: _smartqueue_v1_GetRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_Run__Output>): grpc.ClientUnaryCall;
  getRun(argument: _smartqueue_v1_GetRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_Run__Output>): grpc.ClientUnaryCall;
  getRun(argument: _smartqueue_v1_GetRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_Run__Output>): grpc.ClientUnaryCall;
  getRun(argument: _smartqueue_v1_GetRunRequest, callback: grpc.requestCallback<_smartqueue_v1_Run__Output>): grpc.ClientUnaryCall;
  
  /**
   * Reads one task of a run.
   */
  GetTask(argument: _smartqueue_v1_GetTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_Task__Output>): grpc.ClientUnaryCall;
  GetTask(argument: _smartqueue_v1_GetTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_Task__Output>): grpc.ClientUnaryCall;
  GetTask(argument: _smartqueue_v1_GetTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_Task__Output>): grpc.ClientUnaryCall;
  GetTask(argument: _smartqueue_v1_GetTaskRequest, callback: grpc.requestCallback<_smartqueue_v1_Task__Output>): grpc.ClientUnaryCall;
  /**
   * Reads one task of a run.
   */
  getTask(argument: _smartqueue_v1_GetTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_Task__Output>): grpc.ClientUnaryCall;
  getTask(argument: _smartqueue_v1_GetTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_Task__Output>): grpc.ClientUnaryCall;
  getTask(argument: _smartqueue_v1_GetTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_Task__Output>): grpc.ClientUnaryCall;
  getTask(argument: _smartqueue_v1_GetTaskRequest, callback: grpc.requestCallback<_smartqueue_v1_Task__Output>): grpc.ClientUnaryCall;
  
  /**
   * Lists runs, newest first, a page at a time.
   */
  ListRuns(argument: _smartqueue_v1_ListRunsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  ListRuns(argument: _smartqueue_v1_ListRunsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  ListRuns(argument: _smartqueue_v1_ListRunsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  ListRuns(argument: _smartqueue_v1_ListRunsRequest, callback: grpc.requestCallback<_smartqueue_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Lists runs, newest first, a page at a time.
   */
  listRuns(argument: _smartqueue_v1_ListRunsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  listRuns(argument: _smartqueue_v1_ListRunsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  listRuns(argument: _smartqueue_v1_ListRunsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  listRuns(argument: _smartqueue_v1_ListRunsRequest, callback: grpc.requestCallback<_smartqueue_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Adds one task to an open run: the namespace's (created on first use) or a given run.
   */
  SubmitTask(argument: _smartqueue_v1_SubmitTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_SubmitTaskResponse__Output>): grpc.ClientUnaryCall;
  SubmitTask(argument: _smartqueue_v1_SubmitTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_SubmitTaskResponse__Output>): grpc.ClientUnaryCall;
  SubmitTask(argument: _smartqueue_v1_SubmitTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_SubmitTaskResponse__Output>): grpc.ClientUnaryCall;
  SubmitTask(argument: _smartqueue_v1_SubmitTaskRequest, callback: grpc.requestCallback<_smartqueue_v1_SubmitTaskResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Adds one task to an open run: the namespace's (created on first use) or a given run.
   */
  submitTask(argument: _smartqueue_v1_SubmitTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_SubmitTaskResponse__Output>): grpc.ClientUnaryCall;
  submitTask(argument: _smartqueue_v1_SubmitTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_SubmitTaskResponse__Output>): grpc.ClientUnaryCall;
  submitTask(argument: _smartqueue_v1_SubmitTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_SubmitTaskResponse__Output>): grpc.ClientUnaryCall;
  submitTask(argument: _smartqueue_v1_SubmitTaskRequest, callback: grpc.requestCallback<_smartqueue_v1_SubmitTaskResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Adds several tasks to one open run at once, all or none: every task is checked first (a task
   * may need earlier tasks of the same batch), then all are recorded in one write. Cheaper than
   * as many SubmitTask calls; at most the server's tasks-per-submission limit per call.
   */
  SubmitTasks(argument: _smartqueue_v1_SubmitTasksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_SubmitTasksResponse__Output>): grpc.ClientUnaryCall;
  SubmitTasks(argument: _smartqueue_v1_SubmitTasksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_SubmitTasksResponse__Output>): grpc.ClientUnaryCall;
  SubmitTasks(argument: _smartqueue_v1_SubmitTasksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_SubmitTasksResponse__Output>): grpc.ClientUnaryCall;
  SubmitTasks(argument: _smartqueue_v1_SubmitTasksRequest, callback: grpc.requestCallback<_smartqueue_v1_SubmitTasksResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Adds several tasks to one open run at once, all or none: every task is checked first (a task
   * may need earlier tasks of the same batch), then all are recorded in one write. Cheaper than
   * as many SubmitTask calls; at most the server's tasks-per-submission limit per call.
   */
  submitTasks(argument: _smartqueue_v1_SubmitTasksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_SubmitTasksResponse__Output>): grpc.ClientUnaryCall;
  submitTasks(argument: _smartqueue_v1_SubmitTasksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_SubmitTasksResponse__Output>): grpc.ClientUnaryCall;
  submitTasks(argument: _smartqueue_v1_SubmitTasksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_SubmitTasksResponse__Output>): grpc.ClientUnaryCall;
  submitTasks(argument: _smartqueue_v1_SubmitTasksRequest, callback: grpc.requestCallback<_smartqueue_v1_SubmitTasksResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Compiles a workflow (YAML text or compiled IR) and starts a run of it.
   */
  SubmitWorkflow(argument: _smartqueue_v1_SubmitWorkflowRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_SubmitWorkflowResponse__Output>): grpc.ClientUnaryCall;
  SubmitWorkflow(argument: _smartqueue_v1_SubmitWorkflowRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_SubmitWorkflowResponse__Output>): grpc.ClientUnaryCall;
  SubmitWorkflow(argument: _smartqueue_v1_SubmitWorkflowRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_SubmitWorkflowResponse__Output>): grpc.ClientUnaryCall;
  SubmitWorkflow(argument: _smartqueue_v1_SubmitWorkflowRequest, callback: grpc.requestCallback<_smartqueue_v1_SubmitWorkflowResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Compiles a workflow (YAML text or compiled IR) and starts a run of it.
   */
  submitWorkflow(argument: _smartqueue_v1_SubmitWorkflowRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_SubmitWorkflowResponse__Output>): grpc.ClientUnaryCall;
  submitWorkflow(argument: _smartqueue_v1_SubmitWorkflowRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_SubmitWorkflowResponse__Output>): grpc.ClientUnaryCall;
  submitWorkflow(argument: _smartqueue_v1_SubmitWorkflowRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_SubmitWorkflowResponse__Output>): grpc.ClientUnaryCall;
  submitWorkflow(argument: _smartqueue_v1_SubmitWorkflowRequest, callback: grpc.requestCallback<_smartqueue_v1_SubmitWorkflowResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Streams the state changes of one run: the recorded ones from `from_seq`, then live ones
   * until the run finishes. Resume a broken stream with the last `seq` received plus one.
   */
  WatchRun(argument: _smartqueue_v1_WatchRunRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_smartqueue_v1_RunEvent__Output>;
  WatchRun(argument: _smartqueue_v1_WatchRunRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_smartqueue_v1_RunEvent__Output>;
  /**
   * Streams the state changes of one run: the recorded ones from `from_seq`, then live ones
   * until the run finishes. Resume a broken stream with the last `seq` received plus one.
   */
  watchRun(argument: _smartqueue_v1_WatchRunRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_smartqueue_v1_RunEvent__Output>;
  watchRun(argument: _smartqueue_v1_WatchRunRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_smartqueue_v1_RunEvent__Output>;
  
  /**
   * Streams the state of tasks of one run (all of them, or the listed ones) as they change: one
   * TaskUpdate per change, from `from_seq` (the recorded ones first, so a new watcher sees the
   * current state), then live. Ends when every listed task has finished, or with the run.
   */
  WatchTasks(argument: _smartqueue_v1_WatchTasksRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_smartqueue_v1_TaskUpdate__Output>;
  WatchTasks(argument: _smartqueue_v1_WatchTasksRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_smartqueue_v1_TaskUpdate__Output>;
  /**
   * Streams the state of tasks of one run (all of them, or the listed ones) as they change: one
   * TaskUpdate per change, from `from_seq` (the recorded ones first, so a new watcher sees the
   * current state), then live. Ends when every listed task has finished, or with the run.
   */
  watchTasks(argument: _smartqueue_v1_WatchTasksRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_smartqueue_v1_TaskUpdate__Output>;
  watchTasks(argument: _smartqueue_v1_WatchTasksRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_smartqueue_v1_TaskUpdate__Output>;
  
}

/**
 * The client-facing SmartQueue service.
 */
export interface SmartQueueHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Cancels a running run: waiting tasks are dropped, running attempts are aborted.
   */
  CancelRun: grpc.handleUnaryCall<_smartqueue_v1_CancelRunRequest__Output, _smartqueue_v1_CancelRunResponse>;
  
  /**
   * Cancels one task; the tasks that need it are skipped.
   */
  CancelTask: grpc.handleUnaryCall<_smartqueue_v1_CancelTaskRequest__Output, _smartqueue_v1_CancelTaskResponse>;
  
  /**
   * Reads a run and the state of each of its tasks.
   */
  GetRun: grpc.handleUnaryCall<_smartqueue_v1_GetRunRequest__Output, _smartqueue_v1_Run>;
  
  /**
   * Reads one task of a run.
   */
  GetTask: grpc.handleUnaryCall<_smartqueue_v1_GetTaskRequest__Output, _smartqueue_v1_Task>;
  
  /**
   * Lists runs, newest first, a page at a time.
   */
  ListRuns: grpc.handleUnaryCall<_smartqueue_v1_ListRunsRequest__Output, _smartqueue_v1_ListRunsResponse>;
  
  /**
   * Adds one task to an open run: the namespace's (created on first use) or a given run.
   */
  SubmitTask: grpc.handleUnaryCall<_smartqueue_v1_SubmitTaskRequest__Output, _smartqueue_v1_SubmitTaskResponse>;
  
  /**
   * Adds several tasks to one open run at once, all or none: every task is checked first (a task
   * may need earlier tasks of the same batch), then all are recorded in one write. Cheaper than
   * as many SubmitTask calls; at most the server's tasks-per-submission limit per call.
   */
  SubmitTasks: grpc.handleUnaryCall<_smartqueue_v1_SubmitTasksRequest__Output, _smartqueue_v1_SubmitTasksResponse>;
  
  /**
   * Compiles a workflow (YAML text or compiled IR) and starts a run of it.
   */
  SubmitWorkflow: grpc.handleUnaryCall<_smartqueue_v1_SubmitWorkflowRequest__Output, _smartqueue_v1_SubmitWorkflowResponse>;
  
  /**
   * Streams the state changes of one run: the recorded ones from `from_seq`, then live ones
   * until the run finishes. Resume a broken stream with the last `seq` received plus one.
   */
  WatchRun: grpc.handleServerStreamingCall<_smartqueue_v1_WatchRunRequest__Output, _smartqueue_v1_RunEvent>;
  
  /**
   * Streams the state of tasks of one run (all of them, or the listed ones) as they change: one
   * TaskUpdate per change, from `from_seq` (the recorded ones first, so a new watcher sees the
   * current state), then live. Ends when every listed task has finished, or with the run.
   */
  WatchTasks: grpc.handleServerStreamingCall<_smartqueue_v1_WatchTasksRequest__Output, _smartqueue_v1_TaskUpdate>;
  
}

export interface SmartQueueDefinition extends grpc.ServiceDefinition {
  CancelRun: MethodDefinition<_smartqueue_v1_CancelRunRequest, _smartqueue_v1_CancelRunResponse, _smartqueue_v1_CancelRunRequest__Output, _smartqueue_v1_CancelRunResponse__Output>
  CancelTask: MethodDefinition<_smartqueue_v1_CancelTaskRequest, _smartqueue_v1_CancelTaskResponse, _smartqueue_v1_CancelTaskRequest__Output, _smartqueue_v1_CancelTaskResponse__Output>
  GetRun: MethodDefinition<_smartqueue_v1_GetRunRequest, _smartqueue_v1_Run, _smartqueue_v1_GetRunRequest__Output, _smartqueue_v1_Run__Output>
  GetTask: MethodDefinition<_smartqueue_v1_GetTaskRequest, _smartqueue_v1_Task, _smartqueue_v1_GetTaskRequest__Output, _smartqueue_v1_Task__Output>
  ListRuns: MethodDefinition<_smartqueue_v1_ListRunsRequest, _smartqueue_v1_ListRunsResponse, _smartqueue_v1_ListRunsRequest__Output, _smartqueue_v1_ListRunsResponse__Output>
  SubmitTask: MethodDefinition<_smartqueue_v1_SubmitTaskRequest, _smartqueue_v1_SubmitTaskResponse, _smartqueue_v1_SubmitTaskRequest__Output, _smartqueue_v1_SubmitTaskResponse__Output>
  SubmitTasks: MethodDefinition<_smartqueue_v1_SubmitTasksRequest, _smartqueue_v1_SubmitTasksResponse, _smartqueue_v1_SubmitTasksRequest__Output, _smartqueue_v1_SubmitTasksResponse__Output>
  SubmitWorkflow: MethodDefinition<_smartqueue_v1_SubmitWorkflowRequest, _smartqueue_v1_SubmitWorkflowResponse, _smartqueue_v1_SubmitWorkflowRequest__Output, _smartqueue_v1_SubmitWorkflowResponse__Output>
  WatchRun: MethodDefinition<_smartqueue_v1_WatchRunRequest, _smartqueue_v1_RunEvent, _smartqueue_v1_WatchRunRequest__Output, _smartqueue_v1_RunEvent__Output>
  WatchTasks: MethodDefinition<_smartqueue_v1_WatchTasksRequest, _smartqueue_v1_TaskUpdate, _smartqueue_v1_WatchTasksRequest__Output, _smartqueue_v1_TaskUpdate__Output>
}
