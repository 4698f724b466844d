/**
 * Options of the Kafka transport: validated in one place ({@link resolveKafkaTransportOptions}),
 * defaults applied there only. {@link kafkaTransportOptionsFromUrl} reads a `kafka://` URL.
 *
 * Defaults suit the single-node test broker (replication factor 1, min ISR 1). In production use
 * `replicationFactor: 3, minInsyncReplicas: 2` so an acknowledged task survives one broker loss.
 */
import { randomUUID } from 'node:crypto';
import { SmartQueueError } from '../../../engine/errors.js';
import type { Balancer } from '../../../engine/stages.js';

/** Which half of the transport a process runs. */
export type KafkaTransportRole = 'scheduler' | 'worker' | 'both';

/** kafkajs log levels, by name. */
export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/** SASL settings, passed to kafkajs as given. */
export interface KafkaSaslOptions {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  username: string;
  password: string;
}

/** Options of `createKafkaTransport`. */
export interface KafkaTransportOptions {
  /** Broker addresses, `host:port`. Required. */
  brokers: string[];
  /** kafkajs client id. @default 'smartqueue' */
  clientId?: string;
  /** Prefix of every topic and consumer group name. @default 'smartqueue' */
  prefix?: string;
  /** Topic names. @default `<prefix>.tasks`, `.results`, `.heartbeats`, `.control`, `.dead-letter` */
  topics?: Partial<KafkaTopicNames>;
  /** Partitions of the tasks topic (one per shard, modulo). @default 16 */
  partitions?: number;
  /** Partitions of the results topic. @default 4 */
  resultPartitions?: number;
  /** Replication factor of created topics (3 in production). @default 1 */
  replicationFactor?: number;
  /** `min.insync.replicas` of created topics (2 in production). @default 1 */
  minInsyncReplicas?: number;
  /** Worker side: result and offset commit in one Kafka transaction. @default true */
  transactions?: boolean;
  /** Scheduler side, worker side, or both. @default 'both' */
  role?: KafkaTransportRole;
  /**
   * This process's id: names its results consumer group, its control consumer group and its
   * transactional id. Keep it stable across restarts of a worker so a zombie is fenced.
   * @default a random UUID
   */
  instanceId?: string;
  /** The workers' consumer group on the tasks topic. @default `<prefix>.workers` */
  groupId?: string;
  /** Scheduler side: the balancer that heartbeats join workers to. @default none (no membership) */
  balancer?: Balancer;
  /** Heartbeat interval of workers (announce) and the scheduler's expectation. @default 5000 */
  heartbeatIntervalMs?: number;
  /** Heartbeats missed in a row before a worker is declared lost. @default 3 */
  missedHeartbeats?: number;
  /** Consumer session timeout. @default 30000 */
  sessionTimeoutMs?: number;
  /** Consumer rebalance timeout. @default 60000 */
  rebalanceTimeoutMs?: number;
  /** Consumer group heartbeat interval (not worker heartbeats). @default 3000 */
  consumerHeartbeatIntervalMs?: number;
  /** Longest a fetch waits for data. @default 500 */
  maxWaitTimeInMs?: number;
  /**
   * Worker side: attempts one subscription holds at once before it pauses fetching (Kafka, not
   * the balancer, decides what a group member gets, so this is its back-pressure). Set it to the
   * worker's capacity, or a little above. @default 256
   */
  maxInFlight?: number;
  /** Results finished within this many ms share one transaction. @default 5 */
  flushIntervalMs?: number;
  /** A transaction is sent at once when this many results wait. @default 200 */
  maxBatchResults?: number;
  /** How often the dispatcher re-reads the tasks topic's partition count. @default 30000 */
  metadataRefreshMs?: number;
  /** How old cluster metadata may get; new partitions are noticed (and rebalanced) within it. @default 300000 */
  metadataMaxAgeMs?: number;
  /** Create missing topics (and add partitions) when the transport starts. @default true */
  ensureTopics?: boolean;
  /** How long start-up waits for a consumer group join. @default 30000 */
  joinTimeoutMs?: number;
  /** TLS: true or tls.connect options. @default false */
  ssl?: boolean | Record<string, unknown>;
  sasl?: KafkaSaslOptions;
  /** kafkajs logging. @default 'nothing' */
  logLevel?: KafkaLogLevel;
  /** Log line sink (worker joins and losses, dead letters). @default none */
  log?: (line: string) => void;
}

export interface KafkaTopicNames {
  tasks: string;
  results: string;
  heartbeats: string;
  control: string;
  deadLetter: string;
}

/** {@link KafkaTransportOptions} with every default applied. */
export interface ResolvedKafkaTransportOptions {
  brokers: string[];
  clientId: string;
  prefix: string;
  topics: KafkaTopicNames;
  partitions: number;
  resultPartitions: number;
  replicationFactor: number;
  minInsyncReplicas: number;
  transactions: boolean;
  role: KafkaTransportRole;
  instanceId: string;
  groupId: string;
  balancer: Balancer | undefined;
  heartbeatIntervalMs: number;
  missedHeartbeats: number;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  consumerHeartbeatIntervalMs: number;
  maxWaitTimeInMs: number;
  maxInFlight: number;
  flushIntervalMs: number;
  maxBatchResults: number;
  metadataRefreshMs: number;
  metadataMaxAgeMs: number;
  ensureTopics: boolean;
  joinTimeoutMs: number;
  ssl: boolean | Record<string, unknown>;
  sasl: KafkaSaslOptions | undefined;
  logLevel: KafkaLogLevel;
  log: (line: string) => void;
}

const NAME = /^[A-Za-z0-9._-]{1,200}$/;
const ROLES: readonly KafkaTransportRole[] = ['scheduler', 'worker', 'both'];
const LOG_LEVELS: readonly KafkaLogLevel[] = ['nothing', 'error', 'warn', 'info', 'debug'];

/**
 * Validates options and applies defaults.
 * @throws SmartQueueError INVALID_OPTIONS naming every problem at once.
 */
export function resolveKafkaTransportOptions(raw: KafkaTransportOptions): ResolvedKafkaTransportOptions {
  const problems: string[] = [];
  const int = (field: string, value: number | undefined, fallback: number, min: number): number => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < min)
      problems.push(`${field} must be an integer >= ${min}, got ${String(v)}`);
    return v;
  };
  const brokers = Array.isArray(raw?.brokers) ? raw.brokers : [];
  if (brokers.length === 0) problems.push('brokers must list at least one host:port');
  for (const b of brokers) {
    if (typeof b !== 'string' || !/^[^\s:]+:\d{1,5}$/.test(b))
      problems.push(`broker ${JSON.stringify(b)} is not host:port`);
  }
  const prefix = raw?.prefix ?? 'smartqueue';
  if (!NAME.test(prefix)) problems.push(`prefix must match ${NAME.source}, got ${JSON.stringify(prefix)}`);
  const topics: KafkaTopicNames = {
    tasks: raw?.topics?.tasks ?? `${prefix}.tasks`,
    results: raw?.topics?.results ?? `${prefix}.results`,
    heartbeats: raw?.topics?.heartbeats ?? `${prefix}.heartbeats`,
    control: raw?.topics?.control ?? `${prefix}.control`,
    deadLetter: raw?.topics?.deadLetter ?? `${prefix}.dead-letter`,
  };
  for (const [key, name] of Object.entries(topics)) {
    if (!NAME.test(name))
      problems.push(`topics.${key} must match ${NAME.source}, got ${JSON.stringify(name)}`);
  }
  if (new Set(Object.values(topics)).size !== 5) problems.push('topics must be five different names');
  const role = raw?.role ?? 'both';
  if (!ROLES.includes(role)) problems.push(`role must be one of ${ROLES.join(', ')}, got ${String(role)}`);
  const logLevel = raw?.logLevel ?? 'nothing';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`logLevel must be one of ${LOG_LEVELS.join(', ')}`);
  const instanceId = raw?.instanceId ?? randomUUID();
  if (!NAME.test(instanceId)) problems.push(`instanceId must match ${NAME.source}`);
  const groupId = raw?.groupId ?? `${prefix}.workers`;
  if (!NAME.test(groupId)) problems.push(`groupId must match ${NAME.source}`);
  const replicationFactor = int('replicationFactor', raw?.replicationFactor, 1, 1);
  const minInsyncReplicas = int('minInsyncReplicas', raw?.minInsyncReplicas, 1, 1);
  if (minInsyncReplicas > replicationFactor)
    problems.push('minInsyncReplicas must not exceed replicationFactor');
  const sessionTimeoutMs = int('sessionTimeoutMs', raw?.sessionTimeoutMs, 30_000, 1000);
  const consumerHeartbeatIntervalMs = int(
    'consumerHeartbeatIntervalMs',
    raw?.consumerHeartbeatIntervalMs,
    3000,
    10,
  );
  if (consumerHeartbeatIntervalMs >= sessionTimeoutMs)
    problems.push('consumerHeartbeatIntervalMs must be below sessionTimeoutMs');
  if (raw?.balancer !== undefined && typeof raw.balancer?.join !== 'function')
    problems.push('balancer must be a Balancer');
  if (raw?.sasl !== undefined && (!raw.sasl.mechanism || typeof raw.sasl.username !== 'string')) {
    problems.push('sasl needs mechanism, username and password');
  }
  const resolved: ResolvedKafkaTransportOptions = {
    brokers,
    clientId: raw?.clientId ?? 'smartqueue',
    prefix,
    topics,
    partitions: int('partitions', raw?.partitions, 16, 1),
    resultPartitions: int('resultPartitions', raw?.resultPartitions, 4, 1),
    replicationFactor,
    minInsyncReplicas,
    transactions: raw?.transactions ?? true,
    role,
    instanceId,
    groupId,
    balancer: raw?.balancer,
    heartbeatIntervalMs: int('heartbeatIntervalMs', raw?.heartbeatIntervalMs, 5000, 10),
    missedHeartbeats: int('missedHeartbeats', raw?.missedHeartbeats, 3, 1),
    sessionTimeoutMs,
    rebalanceTimeoutMs: int('rebalanceTimeoutMs', raw?.rebalanceTimeoutMs, 60_000, 1000),
    consumerHeartbeatIntervalMs,
    maxWaitTimeInMs: int('maxWaitTimeInMs', raw?.maxWaitTimeInMs, 500, 1),
    maxInFlight: int('maxInFlight', raw?.maxInFlight, 256, 1),
    flushIntervalMs: int('flushIntervalMs', raw?.flushIntervalMs, 5, 0),
    maxBatchResults: int('maxBatchResults', raw?.maxBatchResults, 200, 1),
    metadataRefreshMs: int('metadataRefreshMs', raw?.metadataRefreshMs, 30_000, 100),
    metadataMaxAgeMs: int('metadataMaxAgeMs', raw?.metadataMaxAgeMs, 300_000, 100),
    ensureTopics: raw?.ensureTopics ?? true,
    joinTimeoutMs: int('joinTimeoutMs', raw?.joinTimeoutMs, 30_000, 100),
    ssl: raw?.ssl ?? false,
    sasl: raw?.sasl,
    logLevel,
    log: raw?.log ?? (() => {}),
  };
  if (problems.length) {
    throw new SmartQueueError('INVALID_OPTIONS', `invalid Kafka transport options: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return resolved;
}

/**
 * Reads `kafka://host:9092[,host2:9092]?prefix=smartqueue&partitions=16&transactions=true&replicationFactor=1`
 * (also `kafkas://` for TLS). Unknown parameters are an error; the result still goes through
 * {@link resolveKafkaTransportOptions}.
 */
export function kafkaTransportOptionsFromUrl(url: string): KafkaTransportOptions {
  const match = /^(kafkas?):\/\/([^/?#]+)\/?(?:\?(.*))?$/.exec(url);
  if (!match) throw new SmartQueueError('INVALID_OPTIONS', `not a kafka:// URL: ${url}`);
  const options: KafkaTransportOptions = { brokers: match[2]!.split(',').filter(Boolean) };
  if (match[1] === 'kafkas') options.ssl = true;
  const problems: string[] = [];
  const numeric = [
    'partitions',
    'resultPartitions',
    'replicationFactor',
    'minInsyncReplicas',
    'heartbeatIntervalMs',
    'missedHeartbeats',
    'maxInFlight',
    'sessionTimeoutMs',
    'consumerHeartbeatIntervalMs',
    'rebalanceTimeoutMs',
    'flushIntervalMs',
    'maxBatchResults',
  ] as const;
  for (const [key, value] of new URLSearchParams(match[3] ?? '')) {
    if ((numeric as readonly string[]).includes(key)) {
      options[key as (typeof numeric)[number]] = Number(value);
    } else if (key === 'transactions' || key === 'ssl') {
      if (value !== 'true' && value !== 'false') problems.push(`${key} must be true or false`);
      options[key] = value === 'true';
    } else if (key === 'prefix' || key === 'clientId' || key === 'instanceId' || key === 'groupId') {
      options[key] = value;
    } else if (key === 'role') {
      options.role = value as KafkaTransportRole;
    } else if (key === 'logLevel') {
      options.logLevel = value as KafkaLogLevel;
    } else {
      problems.push(`unknown parameter ${key}`);
    }
  }
  if (problems.length) throw new SmartQueueError('INVALID_OPTIONS', `bad kafka URL: ${problems.join('; ')}`);
  return options;
}
