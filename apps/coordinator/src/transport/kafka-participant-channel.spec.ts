import { describe, expect, it } from 'vitest';
import { uuidv7, type ParticipantCommand } from '@verdict/protocol';
import { KafkaParticipantChannel } from './kafka-participant-channel';
import { ParticipantBreakers } from './participant-breakers';
import { validateTransportOptions, type TransportOptions } from './transport-options';

const options: TransportOptions = {
  nodeId: 'n1',
  brokers: ['127.0.0.1:9092'],
  connectionTimeoutMs: 1_000,
  requestTimeoutMs: 5_000,
  produceTimeoutMs: 5_000,
  retries: 3,
  retryDelayMs: 100,
  retryDelayMsMax: 1_000,
  sendQueueMessagesMax: 2,
  sendBatchBytesMax: 1024 * 1024,
  decisionLingerMs: 0,
  consumer: {
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 1_000,
    rebalanceTimeoutMs: 10_000,
    maxWaitTimeMs: 5,
    followerReadIntervalMs: 1_000,
    fromBeginning: false,
  },
  topics: { numPartitions: 1, replicationFactor: 1 },
  breakers: { failuresToOpen: 5, resetTimeoutMs: 10_000, probeTimeoutMs: 3_000 },
};

const abort = (participant: string): ParticipantCommand => ({
  v: 1,
  type: 'ABORT',
  txId: uuidv7(),
  participant,
  term: 1,
  attempt: 1,
  sentAt: '2026-11-25T10:00:00.000Z',
  payload: {},
});

describe('KafkaParticipantChannel before any I/O', () => {
  // The constructor connects nothing, so these run without a broker.
  const channel = (): KafkaParticipantChannel =>
    new KafkaParticipantChannel(options, new ParticipantBreakers(options.breakers));

  it('refuses a command addressed to a participant other than the one it names', () => {
    expect(() => channel().send([{ participant: 'bank-b', message: abort('bank-a') }])).toThrow(
      /names participant bank-a but is addressed to bank-b/,
    );
  });

  it('refuses a participant name that cannot be a topic', () => {
    expect(() => channel().send([{ participant: 'Bank A', message: abort('Bank A') }])).toThrow(
      /participant name "Bank A" is invalid/,
    );
  });

  it('resolves an empty send without touching Kafka', async () => {
    await expect(channel().send([])).resolves.toBeUndefined();
  });

  it('rejects what does not fit the send queue instead of growing it', async () => {
    const commands = ['bank-a', 'bank-b', 'bank-c'].map((participant) => ({
      participant,
      message: abort(participant),
    }));
    await expect(channel().send(commands)).rejects.toThrow(
      '0 messages are already waiting for Kafka (limit 2); the broker is slow or unreachable',
    );
  });
});

describe('validateTransportOptions', () => {
  it.each([
    [{ nodeId: 'Node 1' }, /nodeId is "Node 1"/],
    [{ brokers: ['localhost'] }, /brokers is \["localhost"\]; use a non-empty list of host:port/],
    [{ retryDelayMsMax: 50 }, /retryDelayMsMax is 50; use an integer from 100 to 600000/],
    [
      { consumer: { ...options.consumer, heartbeatIntervalMs: 3_000 } },
      /consumer.heartbeatIntervalMs is 3000; use an integer from 1 to 2000/,
    ],
  ])('names the bad option in %o', (override, message) => {
    expect(() => validateTransportOptions({ ...options, ...override })).toThrow(message);
  });

  it('accepts the options above', () => {
    expect(() => validateTransportOptions(options)).not.toThrow();
  });
});
