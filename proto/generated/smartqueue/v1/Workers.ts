// Original file: proto/smartqueue/v1/workers.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ReportResultRequest as _smartqueue_v1_ReportResultRequest, ReportResultRequest__Output as _smartqueue_v1_ReportResultRequest__Output } from '../../smartqueue/v1/ReportResultRequest.js';
import type { ReportResultResponse as _smartqueue_v1_ReportResultResponse, ReportResultResponse__Output as _smartqueue_v1_ReportResultResponse__Output } from '../../smartqueue/v1/ReportResultResponse.js';
import type { ServerMessage as _smartqueue_v1_ServerMessage, ServerMessage__Output as _smartqueue_v1_ServerMessage__Output } from '../../smartqueue/v1/ServerMessage.js';
import type { WorkerMessage as _smartqueue_v1_WorkerMessage, WorkerMessage__Output as _smartqueue_v1_WorkerMessage__Output } from '../../smartqueue/v1/WorkerMessage.js';

/**
 * The service worker processes connect to.
 */
export interface WorkersClient extends grpc.Client {
  /**
   * The worker's session: registration, then assignments and cancels from the server, and
   * heartbeats and results from the worker. See the file comment for the protocol.
   */
  Connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_smartqueue_v1_WorkerMessage, _smartqueue_v1_ServerMessage__Output>;
  Connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_smartqueue_v1_WorkerMessage, _smartqueue_v1_ServerMessage__Output>;
  /**
   * The worker's session: registration, then assignments and cancels from the server, and
   * heartbeats and results from the worker. See the file comment for the protocol.
   */
  connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_smartqueue_v1_WorkerMessage, _smartqueue_v1_ServerMessage__Output>;
  connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_smartqueue_v1_WorkerMessage, _smartqueue_v1_ServerMessage__Output>;
  
  /**
   * Reports the outcome of an attempt outside the stream (fallback after a reconnect).
   */
  ReportResult(argument: _smartqueue_v1_ReportResultRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_ReportResultResponse__Output>): grpc.ClientUnaryCall;
  ReportResult(argument: _smartqueue_v1_ReportResultRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_ReportResultResponse__Output>): grpc.ClientUnaryCall;
  ReportResult(argument: _smartqueue_v1_ReportResultRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_ReportResultResponse__Output>): grpc.ClientUnaryCall;
  ReportResult(argument: _smartqueue_v1_ReportResultRequest, callback: grpc.requestCallback<_smartqueue_v1_ReportResultResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Reports the outcome of an attempt outside the stream (fallback after a reconnect).
   */
  reportResult(argument: _smartqueue_v1_ReportResultRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_ReportResultResponse__Output>): grpc.ClientUnaryCall;
  reportResult(argument: _smartqueue_v1_ReportResultRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_smartqueue_v1_ReportResultResponse__Output>): grpc.ClientUnaryCall;
  reportResult(argument: _smartqueue_v1_ReportResultRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_smartqueue_v1_ReportResultResponse__Output>): grpc.ClientUnaryCall;
  reportResult(argument: _smartqueue_v1_ReportResultRequest, callback: grpc.requestCallback<_smartqueue_v1_ReportResultResponse__Output>): grpc.ClientUnaryCall;
  
}

/**
 * The service worker processes connect to.
 */
export interface WorkersHandlers extends grpc.UntypedServiceImplementation {
  /**
   * The worker's session: registration, then assignments and cancels from the server, and
   * heartbeats and results from the worker. See the file comment for the protocol.
   */
  Connect: grpc.handleBidiStreamingCall<_smartqueue_v1_WorkerMessage__Output, _smartqueue_v1_ServerMessage>;
  
  /**
   * Reports the outcome of an attempt outside the stream (fallback after a reconnect).
   */
  ReportResult: grpc.handleUnaryCall<_smartqueue_v1_ReportResultRequest__Output, _smartqueue_v1_ReportResultResponse>;
  
}

export interface WorkersDefinition extends grpc.ServiceDefinition {
  Connect: MethodDefinition<_smartqueue_v1_WorkerMessage, _smartqueue_v1_ServerMessage, _smartqueue_v1_WorkerMessage__Output, _smartqueue_v1_ServerMessage__Output>
  ReportResult: MethodDefinition<_smartqueue_v1_ReportResultRequest, _smartqueue_v1_ReportResultResponse, _smartqueue_v1_ReportResultRequest__Output, _smartqueue_v1_ReportResultResponse__Output>
}
