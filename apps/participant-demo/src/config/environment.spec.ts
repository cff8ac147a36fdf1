import { describe, expect, it } from 'vitest';
import { loadEnvironment } from './environment';

const valid = {
  VERDICT_PARTICIPANT_NAME: 'bank-a',
  VERDICT_HTTP_PORT: '8081',
  KAFKA_BROKERS: 'kafka:9092, kafka-2:9092',
  DATABASE_URL: 'postgresql://bank:s3cret@postgres:5432/bank_a',
  VERDICT_COORDINATOR_URL: 'http://coordinator-1:8080',
  VERDICT_API_KEY: 'service-key-0123456789',
  LOG_LEVEL: 'debug',
};

const errorOf = (env: NodeJS.ProcessEnv): string => {
  try {
    loadEnvironment(env);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('expected loadEnvironment to throw');
};

describe('participant-demo environment', () => {
  it('parses a complete environment into typed configuration', () => {
    expect(loadEnvironment(valid)).toEqual({
      participantName: 'bank-a',
      httpPort: 8081,
      kafkaBrokers: ['kafka:9092', 'kafka-2:9092'],
      databaseUrl: 'postgresql://bank:s3cret@postgres:5432/bank_a',
      coordinatorUrl: 'http://coordinator-1:8080',
      apiKey: 'service-key-0123456789',
      logLevel: 'debug',
    });
  });

  it('defaults LOG_LEVEL to info', () => {
    const { LOG_LEVEL: _logLevel, ...rest } = valid;
    expect(loadEnvironment(rest).logLevel).toBe('info');
  });

  it('lists every bad variable with its value and the allowed range', () => {
    const message = errorOf({
      ...valid,
      VERDICT_PARTICIPANT_NAME: 'Bank_A',
      VERDICT_HTTP_PORT: '0',
      KAFKA_BROKERS: 'kafka:9092,:9093',
      VERDICT_COORDINATOR_URL: 'coordinator-1:8080',
    });
    expect(message).toContain('the participant-demo environment is invalid');
    expect(message).toContain(
      'VERDICT_PARTICIPANT_NAME="Bank_A": must be lowercase letters, digits and dashes, starting with a letter or digit',
    );
    expect(message).toContain('VERDICT_HTTP_PORT="0": must be an integer from 1 to 65535');
    expect(message).toContain(
      'KAFKA_BROKERS="kafka:9092,:9093": must be a comma-separated list of host:port',
    );
    expect(message).toContain('VERDICT_COORDINATOR_URL="coordinator-1:8080": must be an http(s) URL');
  });

  it('names missing variables and never prints the API key or a database password', () => {
    const { VERDICT_COORDINATOR_URL: _coordinatorUrl, ...rest } = valid;
    const message = errorOf({
      ...rest,
      VERDICT_API_KEY: 'too-short',
      DATABASE_URL: 'http://bank:s3cret@postgres/bank',
    });
    expect(message).toMatch(/VERDICT_COORDINATOR_URL=\(not set\): is required: an http\(s\) URL/);
    expect(message).toContain('VERDICT_API_KEY=(hidden, 9 characters): must be a coordinator API key');
    expect(message).toContain('DATABASE_URL="http://bank:***@postgres/bank": must be a URL like postgres://');
    expect(message).not.toMatch(/too-short|s3cret/);
  });
});
