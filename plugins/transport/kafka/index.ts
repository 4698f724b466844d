/** The Kafka transport: tasks, results, heartbeats and cancels over Kafka topics. */
export { createKafkaTransport } from './kafka-transport.js';
export type { KafkaTransport } from './kafka-transport.js';
export { kafkaTransportOptionsFromUrl, resolveKafkaTransportOptions } from './options.js';
export type {
  KafkaLogLevel,
  KafkaSaslOptions,
  KafkaTopicNames,
  KafkaTransportOptions,
  KafkaTransportRole,
  ResolvedKafkaTransportOptions,
} from './options.js';
export type { KafkaWorkerLossListener } from './membership.js';
export type { KafkaTransportStats } from './scheduler-side.js';
export { HEADER as KAFKA_HEADERS } from './codec.js';
