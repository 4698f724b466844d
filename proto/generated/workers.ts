import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ListValue as _google_protobuf_ListValue, ListValue__Output as _google_protobuf_ListValue__Output } from './google/protobuf/ListValue.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from './google/protobuf/Struct.js';
import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from './google/protobuf/Value.js';
import type { Assignment as _smartqueue_v1_Assignment, Assignment__Output as _smartqueue_v1_Assignment__Output } from './smartqueue/v1/Assignment.js';
import type { AttemptError as _smartqueue_v1_AttemptError, AttemptError__Output as _smartqueue_v1_AttemptError__Output } from './smartqueue/v1/AttemptError.js';
import type { AttemptResult as _smartqueue_v1_AttemptResult, AttemptResult__Output as _smartqueue_v1_AttemptResult__Output } from './smartqueue/v1/AttemptResult.js';
import type { Cancel as _smartqueue_v1_Cancel, Cancel__Output as _smartqueue_v1_Cancel__Output } from './smartqueue/v1/Cancel.js';
import type { Drain as _smartqueue_v1_Drain, Drain__Output as _smartqueue_v1_Drain__Output } from './smartqueue/v1/Drain.js';
import type { Heartbeat as _smartqueue_v1_Heartbeat, Heartbeat__Output as _smartqueue_v1_Heartbeat__Output } from './smartqueue/v1/Heartbeat.js';
import type { Progress as _smartqueue_v1_Progress, Progress__Output as _smartqueue_v1_Progress__Output } from './smartqueue/v1/Progress.js';
import type { Register as _smartqueue_v1_Register, Register__Output as _smartqueue_v1_Register__Output } from './smartqueue/v1/Register.js';
import type { Registered as _smartqueue_v1_Registered, Registered__Output as _smartqueue_v1_Registered__Output } from './smartqueue/v1/Registered.js';
import type { ReportResultRequest as _smartqueue_v1_ReportResultRequest, ReportResultRequest__Output as _smartqueue_v1_ReportResultRequest__Output } from './smartqueue/v1/ReportResultRequest.js';
import type { ReportResultResponse as _smartqueue_v1_ReportResultResponse, ReportResultResponse__Output as _smartqueue_v1_ReportResultResponse__Output } from './smartqueue/v1/ReportResultResponse.js';
import type { RunHandler as _smartqueue_v1_RunHandler, RunHandler__Output as _smartqueue_v1_RunHandler__Output } from './smartqueue/v1/RunHandler.js';
import type { ServerMessage as _smartqueue_v1_ServerMessage, ServerMessage__Output as _smartqueue_v1_ServerMessage__Output } from './smartqueue/v1/ServerMessage.js';
import type { Settings as _smartqueue_v1_Settings, Settings__Output as _smartqueue_v1_Settings__Output } from './smartqueue/v1/Settings.js';
import type { UsesHandler as _smartqueue_v1_UsesHandler, UsesHandler__Output as _smartqueue_v1_UsesHandler__Output } from './smartqueue/v1/UsesHandler.js';
import type { WorkerMessage as _smartqueue_v1_WorkerMessage, WorkerMessage__Output as _smartqueue_v1_WorkerMessage__Output } from './smartqueue/v1/WorkerMessage.js';
import type { WorkersClient as _smartqueue_v1_WorkersClient, WorkersDefinition as _smartqueue_v1_WorkersDefinition } from './smartqueue/v1/Workers.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    protobuf: {
      ListValue: MessageTypeDefinition<_google_protobuf_ListValue, _google_protobuf_ListValue__Output>
      NullValue: EnumTypeDefinition
      Struct: MessageTypeDefinition<_google_protobuf_Struct, _google_protobuf_Struct__Output>
      Value: MessageTypeDefinition<_google_protobuf_Value, _google_protobuf_Value__Output>
    }
  }
  smartqueue: {
    v1: {
      Assignment: MessageTypeDefinition<_smartqueue_v1_Assignment, _smartqueue_v1_Assignment__Output>
      AttemptError: MessageTypeDefinition<_smartqueue_v1_AttemptError, _smartqueue_v1_AttemptError__Output>
      AttemptResult: MessageTypeDefinition<_smartqueue_v1_AttemptResult, _smartqueue_v1_AttemptResult__Output>
      Cancel: MessageTypeDefinition<_smartqueue_v1_Cancel, _smartqueue_v1_Cancel__Output>
      Drain: MessageTypeDefinition<_smartqueue_v1_Drain, _smartqueue_v1_Drain__Output>
      Heartbeat: MessageTypeDefinition<_smartqueue_v1_Heartbeat, _smartqueue_v1_Heartbeat__Output>
      Progress: MessageTypeDefinition<_smartqueue_v1_Progress, _smartqueue_v1_Progress__Output>
      Register: MessageTypeDefinition<_smartqueue_v1_Register, _smartqueue_v1_Register__Output>
      Registered: MessageTypeDefinition<_smartqueue_v1_Registered, _smartqueue_v1_Registered__Output>
      ReportResultRequest: MessageTypeDefinition<_smartqueue_v1_ReportResultRequest, _smartqueue_v1_ReportResultRequest__Output>
      ReportResultResponse: MessageTypeDefinition<_smartqueue_v1_ReportResultResponse, _smartqueue_v1_ReportResultResponse__Output>
      RunHandler: MessageTypeDefinition<_smartqueue_v1_RunHandler, _smartqueue_v1_RunHandler__Output>
      ServerMessage: MessageTypeDefinition<_smartqueue_v1_ServerMessage, _smartqueue_v1_ServerMessage__Output>
      Settings: MessageTypeDefinition<_smartqueue_v1_Settings, _smartqueue_v1_Settings__Output>
      UsesHandler: MessageTypeDefinition<_smartqueue_v1_UsesHandler, _smartqueue_v1_UsesHandler__Output>
      WorkerMessage: MessageTypeDefinition<_smartqueue_v1_WorkerMessage, _smartqueue_v1_WorkerMessage__Output>
      /**
       * The service worker processes connect to.
       */
      Workers: SubtypeConstructor<typeof grpc.Client, _smartqueue_v1_WorkersClient> & { service: _smartqueue_v1_WorkersDefinition }
    }
  }
}

