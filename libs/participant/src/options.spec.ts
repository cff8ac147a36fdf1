import { describe, expect, it } from 'vitest';
import { participantSettings, type ParticipantOptions } from './options';
import type { ParticipantService } from './service';

const service: ParticipantService = {
  prepare: () => Promise.resolve({ vote: 'READ_ONLY' }),
  commit: () => Promise.resolve(),
  abort: () => Promise.resolve(),
  inDoubt: () => Promise.resolve([]),
};
const valid: ParticipantOptions = { name: 'bank-a', service, kafka: { brokers: ['127.0.0.1:9092'] } };

describe('participant options', () => {
  it('fills every timeout explicitly', () => {
    expect(participantSettings(valid)).toMatchObject({
      prepareTimeoutMs: 5_000,
      kafka: {
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 1_000,
        maxWaitTimeMs: 500,
        sendTimeoutMs: 30_000,
      },
    });
  });

  it.each([
    ['a name that cannot be a topic', { ...valid, name: 'Bank A' }, /name: lowercase letters/],
    ['no brokers', { ...valid, kafka: { brokers: [] } }, /kafka\.brokers/],
    ['a broker without a port', { ...valid, kafka: { brokers: ['127.0.0.1'] } }, /host:port/],
    ['a zero prepare budget', { ...valid, prepareTimeoutMs: 0 }, /prepareTimeoutMs/],
    ['a coordinator URL that is not http', { ...valid, coordinatorUrl: 'ftp://x' }, /coordinatorUrl/],
    [
      'heartbeats too rare for the session',
      {
        ...valid,
        kafka: { brokers: ['127.0.0.1:9092'], sessionTimeoutMs: 6_000, heartbeatIntervalMs: 3_000 },
      },
      /heartbeatIntervalMs \(3000\) must be at most a third of kafka.sessionTimeoutMs \(6000\)/,
    ],
  ])('rejects %s, naming the field', (_name, options, message) => {
    expect(() => participantSettings(options)).toThrow(message);
  });
});
