// What integration tests import to reach the stack that test/setup/global-stack.ts started once
// for the whole run: the broker addresses, a database of their own, topics, unique names.
import { randomBytes } from 'node:crypto';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { inject } from 'vitest';
import { createDatabase as createDatabaseOn, dropDatabase } from '../../scripts/stack/databases.mjs';
import type { StackConnection } from '../../scripts/stack/stack.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackConnection;
  }
}

/** A name no other test, file or run uses: `<prefix>-<time>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** A consumer group of its own, so no committed offset or rebalance leaks between tests. */
export const uniqueGroupId = (prefix = 'test'): string => uniqueName(`${prefix}-group`);

export function kafkaBrokers(): string[] {
  return [...inject('stack').kafkaBrokers];
}

/** A kafkajs client for the stack's broker; `overrides` win over the test defaults. */
export function createKafka(clientId: string, overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId,
    brokers: kafkaBrokers(),
    logLevel: logLevel.WARN,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    ...overrides,
  });
}

/** Creates topics and waits until each has a leader, so consumers can start right away. */
export async function createTopics(topics: readonly string[], partitions = 1): Promise<void> {
  // Failures are thrown; kafkajs would also log the expected "already exists" as an ERROR line.
  const admin = createKafka('test-admin', { logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
      waitForLeaders: true,
      timeout: 10_000,
    });
    if (!created) throw new Error(`topics already exist: ${topics.join(', ')}; use uniqueName()`);
  } finally {
    await admin.disconnect();
  }
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops the database, closing connections that are still open. */
  drop(): Promise<void>;
}

/** A database of its own on the stack's PostgreSQL server. */
export async function createDatabase(prefix = 'test'): Promise<TestDatabase> {
  const serverUrl = inject('stack').databaseUrl;
  const name = uniqueName(prefix).replaceAll('-', '_').toLowerCase();
  const url = await createDatabaseOn(serverUrl, name);
  return { name, url, drop: () => dropDatabase(serverUrl, name) };
}
