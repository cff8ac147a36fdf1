// One bank of the participant demo, run in this process on its own database, as main.ts would.
import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { AppModule } from '../../../apps/participant-demo/src/app.module';
import { configureHttp } from '../../../apps/participant-demo/src/http/configure-http';
import { gidLiteral, gidPrefix } from '../../../apps/participant-demo/src/ledger/postgres';
import { createDatabase, kafkaBrokers, type TestDatabase } from '../../support/stack.js';

/** Short SDK timings so recovery shows within a test; the Kafka settings of local-stack.md. */
export const TEST_PARTICIPANT_SETTINGS = {
  prepareTimeoutMs: 5_000,
  recoveryIntervalMs: 1_000,
  outcomeQueryWaitMs: 500,
  inDoubtAfterMs: 1_000,
  kafka: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000, maxWaitTimeMs: 50 },
} as const;

export class Bank {
  private constructor(
    readonly name: string,
    readonly database: TestDatabase,
    readonly app: INestApplication,
    readonly url: string,
  ) {}

  static async start(
    name: string,
    coordinatorUrl: string,
    timings: { readonly recoveryIntervalMs?: number; readonly inDoubtAfterMs?: number } = {},
  ): Promise<Bank> {
    const database = await createDatabase(name);
    const app = await NestFactory.create<NestFastifyApplication>(
      AppModule.register({
        bank: name,
        databaseUrl: database.url,
        kafkaBrokers: kafkaBrokers(),
        coordinatorUrl,
        apiKey: 'test-service-key',
        participant: { ...TEST_PARTICIPANT_SETTINGS, ...timings },
      }),
      new FastifyAdapter(),
      { logger: ['error', 'warn'] },
    );
    configureHttp(app);
    app.enableShutdownHooks();
    await app.listen(0, '127.0.0.1');
    return new Bank(name, database, app, await app.getUrl());
  }

  async stop(): Promise<void> {
    // A prepared transaction left by a failed test would hold locks and block DROP DATABASE.
    for (const txId of await this.preparedTxIds()) {
      await this.dataSource.query(`ROLLBACK PREPARED ${gidLiteral(this.name, txId)}`);
    }
    await this.app.close();
    await this.database.drop();
  }

  async request(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{
    status: number;
    body: Record<string, unknown>;
    contentType: string;
    retryAfter: string | null;
  }> {
    const response = await fetch(this.url + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
      contentType: response.headers.get('content-type') ?? '',
      retryAfter: response.headers.get('retry-after'),
    };
  }

  async openAccount(id: string, openingBalance: number): Promise<void> {
    const opened = await this.request('POST', '/accounts', { id, openingBalance });
    if (opened.status !== 201)
      throw new Error(`opening ${id} in ${this.name}: ${JSON.stringify(opened.body)}`);
  }

  async balance(account: string): Promise<number> {
    const found = await this.request('GET', `/accounts/${account}`);
    return found.body['balance'] as number;
  }

  get dataSource(): DataSource {
    return this.app.get(DataSource);
  }

  async preparedTxIds(): Promise<string[]> {
    const rows = await this.dataSource.query<{ gid: string }[]>(
      `SELECT gid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY gid`,
    );
    return rows.map((row) => row.gid.replace(gidPrefix(this.name), ''));
  }

  async ledgerEntries(txId: string): Promise<{ account: string; amount: number }[]> {
    const rows = await this.dataSource.query<{ account_id: string; amount: string }[]>(
      'SELECT account_id, amount FROM ledger_entries WHERE tx_id = $1 ORDER BY id',
      [txId],
    );
    return rows.map((row) => ({ account: row.account_id, amount: Number(row.amount) }));
  }
}
