import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ListValue as _google_protobuf_ListValue, ListValue__Output as _google_protobuf_ListValue__Output } from './google/protobuf/ListValue.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from './google/protobuf/Struct.js';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp.js';
import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from './google/protobuf/Value.js';
import type { CancelRunRequest as _smartqueue_v1_CancelRunRequest, CancelRunRequest__Output as _smartqueue_v1_CancelRunRequest__Output } from './smartqueue/v1/CancelRunRequest.js';
import type { CancelRunResponse as _smartqueue_v1_CancelRunResponse, CancelRunResponse__Output as _smartqueue_v1_CancelRunResponse__Output } from './smartqueue/v1/CancelRunResponse.js';
import type { CancelTaskRequest as _smartqueue_v1_CancelTaskRequest, CancelTaskRequest__Output as _smartqueue_v1_CancelTaskRequest__Output } from './smartqueue/v1/CancelTaskRequest.js';
import type { CancelTaskResponse as _smartqueue_v1_CancelTaskResponse, CancelTaskResponse__Output as _smartqueue_v1_CancelTaskResponse__Output } from './smartqueue/v1/CancelTaskResponse.js';
import type { GetRunRequest as _smartqueue_v1_GetRunRequest, GetRunRequest__Output as _smartqueue_v1_GetRunRequest__Output } from './smartqueue/v1/GetRunRequest.js';
import type { GetTaskRequest as _smartqueue_v1_GetTaskRequest, GetTaskRequest__Output as _smartqueue_v1_GetTaskRequest__Output } from './smartqueue/v1/GetTaskRequest.js';
import type { ListRunsRequest as _smartqueue_v1_ListRunsRequest, ListRunsRequest__Output as _smartqueue_v1_ListRunsRequest__Output } from './smartqueue/v1/ListRunsRequest.js';
import type { ListRunsResponse as _smartqueue_v1_ListRunsResponse, ListRunsResponse__Output as _smartqueue_v1_ListRunsResponse__Output } from './smartqueue/v1/ListRunsResponse.js';
import type { Run as _smartqueue_v1_Run, Run__Output as _smartqueue_v1_Run__Output } from './smartqueue/v1/Run.js';
import type { RunEvent as _smartqueue_v1_RunEvent, RunEvent__Output as _smartqueue_v1_RunEvent__Output } from './smartqueue/v1/RunEvent.js';
import type { SmartQueueClient as _smartqueue_v1_SmartQueueClient, SmartQueueDefinition as _smartqueue_v1_SmartQueueDefinition } from './smartqueue/v1/SmartQueue.js';
import type { SubmitTaskRequest as _smartqueue_v1_SubmitTaskRequest, SubmitTaskRequest__Output as _smartqueue_v1_SubmitTaskRequest__Output } from './smartqueue/v1/SubmitTaskRequest.js';
import type { SubmitTaskResponse as _smartqueue_v1_SubmitTaskResponse, SubmitTaskResponse__Output as _smartqueue_v1_SubmitTaskResponse__Output } from './smartqueue/v1/SubmitTaskResponse.js';
import type { SubmitTasksRequest as _smartqueue_v1_SubmitTasksRequest, SubmitTasksRequest__Output as _smartqueue_v1_SubmitTasksRequest__Output } from './smartqueue/v1/SubmitTasksRequest.js';
import type { SubmitTasksResponse as _smartqueue_v1_SubmitTasksResponse, SubmitTasksResponse__Output as _smartqueue_v1_SubmitTasksResponse__Output } from './smartqueue/v1/SubmitTasksResponse.js';
import type { SubmitWorkflowRequest as _smartqueue_v1_SubmitWorkflowRequest, SubmitWorkflowRequest__Output as _smartqueue_v1_SubmitWorkflowRequest__Output } from './smartqueue/v1/SubmitWorkflowRequest.js';
import type { SubmitWorkflowResponse as _smartqueue_v1_SubmitWorkflowResponse, SubmitWorkflowResponse__Output as _smartqueue_v1_SubmitWorkflowResponse__Output } from './smartqueue/v1/SubmitWorkflowResponse.js';
import type { Task as _smartqueue_v1_Task, Task__Output as _smartqueue_v1_Task__Output } from './smartqueue/v1/Task.js';
import type { TaskUpdate as _smartqueue_v1_TaskUpdate, TaskUpdate__Output as _smartqueue_v1_TaskUpdate__Output } from './smartqueue/v1/TaskUpdate.js';
import type { WatchRunRequest as _smartqueue_v1_WatchRunRequest, WatchRunRequest__Output as _smartqueue_v1_WatchRunRequest__Output } from './smartqueue/v1/WatchRunRequest.js';
import type { WatchTasksRequest as _smartqueue_v1_WatchTasksRequest, WatchTasksRequest__Output as _smartqueue_v1_WatchTasksRequest__Output } from './smartqueue/v1/WatchTasksRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    protobuf: {
      ListValue: MessageTypeDefinition<_google_protobuf_ListValue, _google_protobuf_ListValue__Output>
      NullValue: EnumTypeDefinition
      Struct: MessageTypeDefinition<_google_protobuf_Struct, _google_protobuf_Struct__Output>
      Timestamp: MessageTypeDefinition<_google_protobuf_Timestamp, _google_protobuf_Timestamp__Output>
      Value: MessageTypeDefinition<_google_protobuf_Value, _google_protobuf_Value__Output>
    }
  }
  smartqueue: {
    v1: {
      CancelRunRequest: MessageTypeDefinition<_smartqueue_v1_CancelRunRequest, _smartqueue_v1_CancelRunRequest__Output>
      CancelRunResponse: MessageTypeDefinition<_smartqueue_v1_CancelRunResponse, _smartqueue_v1_CancelRunResponse__Output>
      CancelTaskRequest: MessageTypeDefinition<_smartqueue_v1_CancelTaskRequest, _smartqueue_v1_CancelTaskRequest__Output>
      CancelTaskResponse: MessageTypeDefinition<_smartqueue_v1_CancelTaskResponse, _smartqueue_v1_CancelTaskResponse__Output>
      GetRunRequest: MessageTypeDefinition<_smartqueue_v1_GetRunRequest, _smartqueue_v1_GetRunRequest__Output>
      GetTaskRequest: MessageTypeDefinition<_smartqueue_v1_GetTaskRequest, _smartqueue_v1_GetTaskRequest__Output>
      ListRunsRequest: MessageTypeDefinition<_smartqueue_v1_ListRunsRequest, _smartqueue_v1_ListRunsRequest__Output>
      ListRunsResponse: MessageTypeDefinition<_smartqueue_v1_ListRunsResponse, _smartqueue_v1_ListRunsResponse__Output>
      Run: MessageTypeDefinition<_smartqueue_v1_Run, _smartqueue_v1_Run__Output>
      RunEvent: MessageTypeDefinition<_smartqueue_v1_RunEvent, _smartqueue_v1_RunEvent__Output>
      RunStatus: EnumTypeDefinition
      /**
       * The client-facing SmartQueue service.
       */
      SmartQueue: SubtypeConstructor<typeof grpc.Client, _smartqueue_v1_SmartQueueClient> & { service: _smartqueue_v1_SmartQueueDefinition }
      SubmitTaskRequest: MessageTypeDefinition<_smartqueue_v1_SubmitTaskRequest, _smartqueue_v1_SubmitTaskRequest__Output>
      SubmitTaskResponse: MessageTypeDefinition<_smartqueue_v1_SubmitTaskResponse, _smartqueue_v1_SubmitTaskResponse__Output>
      SubmitTasksRequest: MessageTypeDefinition<_smartqueue_v1_SubmitTasksRequest, _smartqueue_v1_SubmitTasksRequest__Output>
      SubmitTasksResponse: MessageTypeDefinition<_smartqueue_v1_SubmitTasksResponse, _smartqueue_v1_SubmitTasksResponse__Output>
      SubmitWorkflowRequest: MessageTypeDefinition<_smartqueue_v1_SubmitWorkflowRequest, _smartqueue_v1_SubmitWorkflowRequest__Output>
      SubmitWorkflowResponse: MessageTypeDefinition<_smartqueue_v1_SubmitWorkflowResponse, _smartqueue_v1_SubmitWorkflowResponse__Output>
      Task: MessageTypeDefinition<_smartqueue_v1_Task, _smartqueue_v1_Task__Output>
      TaskStatus: EnumTypeDefinition
      TaskUpdate: MessageTypeDefinition<_smartqueue_v1_TaskUpdate, _smartqueue_v1_TaskUpdate__Output>
      WatchRunRequest: MessageTypeDefinition<_smartqueue_v1_WatchRunRequest, _smartqueue_v1_WatchRunRequest__Output>
      WatchTasksRequest: MessageTypeDefinition<_smartqueue_v1_WatchTasksRequest, _smartqueue_v1_WatchTasksRequest__Output>
    }
  }
}

