import { type Consumer, type Producer, Partitioners } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { createKafka, createTopics, uniqueGroupId, uniqueName } from '../support/stack.js';

interface Received {
  readonly partition: number;
  readonly key: string;
  readonly value: string;
  readonly traceparent: string;
}

describe('Kafka broker of the local stack', () => {
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;

  afterEach(async () => {
    await Promise.all([producer?.disconnect(), consumer?.disconnect()]);
    producer = undefined;
    consumer = undefined;
  });

  it('delivers produced messages, keys and headers to a consumer group, in order per key', async () => {
    const topic = uniqueName('verdict.test.roundtrip');
    await createTopics([topic], 2);
    const kafka = createKafka('kafka-roundtrip-test');
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    consumer = kafka.consumer({
      groupId: uniqueGroupId('roundtrip'),
      sessionTimeout: 6_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 100,
    });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const sent = Array.from({ length: 20 }, (_, index) => ({
      key: `tx-${index % 4}`,
      value: JSON.stringify({ sequence: index }),
    }));

    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      timeout: 10_000,
      messages: sent.map((message) => ({ ...message, headers: { traceparent } })),
    });

    const received: Received[] = [];
    const allReceived = new Promise<void>((resolve, reject) => {
      void consumer?.connect().then(async () => {
        await consumer?.subscribe({ topics: [topic], fromBeginning: true });
        await consumer?.run({
          eachMessage: ({ partition, message }) => {
            received.push({
              partition,
              key: message.key?.toString() ?? '',
              value: message.value?.toString() ?? '',
              traceparent: message.headers?.['traceparent']?.toString() ?? '',
            });
            if (received.length === sent.length) resolve();
            return Promise.resolve();
          },
        });
      }, reject);
    });
    await allReceived;

    expect(received.map(({ key, value }) => ({ key, value })).sort(byKeyThenValue)).toEqual(
      [...sent].sort(byKeyThenValue),
    );
    expect(new Set(received.map((message) => message.traceparent))).toEqual(new Set([traceparent]));
    for (const key of new Set(sent.map((message) => message.key))) {
      const ofKey = received.filter((message) => message.key === key);
      // One key, one partition: that is what keeps a transaction's commands in order.
      expect(new Set(ofKey.map((message) => message.partition)).size).toBe(1);
      expect(ofKey.map((message) => message.value)).toEqual(
        sent.filter((message) => message.key === key).map((message) => message.value),
      );
    }
  });

  it('refuses to create a topic that already exists, so tests cannot share one by accident', async () => {
    const topic = uniqueName('verdict.test.duplicate');
    await createTopics([topic]);
    await expect(createTopics([topic])).rejects.toThrow(/already exist/);
  });
});

const byKeyThenValue = (a: { key: string; value: string }, b: { key: string; value: string }): number =>
  a.key.localeCompare(b.key) || a.value.localeCompare(b.value);
