/**
 * Span attribute names. RPC ones come from the stable semantic conventions; the messaging ones
 * are still "incubating" upstream, and the OpenTelemetry docs ask users to copy those rather
 * than import the incubating entry point (whose names may change under a minor version).
 */
import {
  ATTR_RPC_METHOD,
  ATTR_RPC_SYSTEM_NAME,
  ATTR_SERVICE_NAME,
} from '@opentelemetry/semantic-conventions';

export { ATTR_RPC_METHOD, ATTR_RPC_SYSTEM_NAME, ATTR_SERVICE_NAME };

/** `rpc.service` (older RPC conventions, still what Zipkin and Jaeger UIs group by). */
export const ATTR_RPC_SERVICE = 'rpc.service';
/** `rpc.grpc.status_code`: the numeric gRPC status of the call. */
export const ATTR_RPC_GRPC_STATUS_CODE = 'rpc.grpc.status_code';

export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_DESTINATION_PARTITION_ID = 'messaging.destination.partition.id';
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';

/** SmartQueue's own attributes. */
export const ATTR_RUN_ID = 'smartqueue.run.id';
export const ATTR_WORKFLOW = 'smartqueue.workflow.name';
export const ATTR_RUN_TASKS = 'smartqueue.run.tasks';
export const ATTR_RUN_STATUS = 'smartqueue.run.status';
export const ATTR_RUN_RESUMED = 'smartqueue.run.resumed';
export const ATTR_RUN_PREVIOUS_TRACE = 'smartqueue.run.previous_trace_id';
export const ATTR_RUN_INTERRUPTED = 'smartqueue.run.interrupted';
export const ATTR_TASK_ID = 'smartqueue.task.id';
export const ATTR_ATTEMPT = 'smartqueue.task.attempt';
export const ATTR_WORKER_ID = 'smartqueue.worker.id';
export const ATTR_SHARD = 'smartqueue.shard';
export const ATTR_OUTCOME = 'smartqueue.task.outcome';
export const ATTR_WILL_RETRY = 'smartqueue.task.will_retry';
export const ATTR_STORE = 'smartqueue.checkpoint.store';

/** The gRPC services whose names appear in spans. */
export const CLIENT_SERVICE = 'smartqueue.v1.SmartQueue';
export const WORKERS_SERVICE = 'smartqueue.v1.Workers';
