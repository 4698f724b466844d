import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { createKafkaTransport } from '../../plugins/transport/kafka/index.js';
import { probeService, serviceAddress, withService } from '../support/services.js';
import { transportConformance } from './transport.js';

const available = await probeService('kafka');
const brokers = [serviceAddress('kafka').replace(/^[a-z]+:\/\//, '')];

/** Removes every topic of one test (its random prefix). */
async function deleteTopics(prefix: string): Promise<void> {
  const admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    if (topics.length) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

withService('kafka', available, 'Kafka transport', () => {
  transportConformance(
    'kafka',
    async () => {
      const prefix = `sq-conf-${randomUUID().slice(0, 8)}`;
      // If start-up fails after the topics were created, they are removed all the same.
      const transport = await createKafkaTransport({
        brokers,
        prefix,
        partitions: 4,
        resultPartitions: 1,
        // Group joins are slow with the defaults; these keep each test to a few seconds.
        sessionTimeoutMs: 6000,
        consumerHeartbeatIntervalMs: 500,
        rebalanceTimeoutMs: 6000,
        maxWaitTimeInMs: 100,
      }).catch(async (err: unknown) => {
        await deleteTopics(prefix);
        throw err;
      });
      return { transport, cleanup: () => deleteTopics(prefix) };
    },
    { delivery: 'group', deliveryTimeoutMs: 20_000, quietPeriodMs: 500 },
  );
});
