import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { HistoryUnavailableError } from './history-store';
import { HISTORY_ENTITIES } from './history.entities';
import { CreateHistory1764064800000 } from './migrations/1764064800000-create-history';
import { AddTimeline1764072000000 } from './migrations/1764072000000-add-timeline';

export interface HistoryDatabaseOptions {
  /** `postgres://user:password@127.0.0.1:5432/verdict` */
  readonly url: string;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  /** Server-side limit per statement, so a stuck query cannot hold the archiver forever. */
  readonly statementTimeoutMs: number;
  /** Delay before the first reconnect attempt; doubles up to `reconnectDelayMsMax`. */
  readonly reconnectDelayMs: number;
  readonly reconnectDelayMsMax: number;
  readonly applicationName: string;
}

export const HISTORY_MIGRATIONS = [CreateHistory1764064800000, AddTimeline1764072000000];

/**
 * Owns the TypeORM `DataSource` of the history. It connects in the background and keeps trying
 * while PostgreSQL is down, instead of failing the coordinator's start: the history is an
 * archive, and a coordinator must decide transactions without it. Migrations run on connect.
 */
export class HistoryDatabase implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(HistoryDatabase.name);
  private connected: DataSource | null = null;
  private connecting: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private failedAttempts = 0;
  private lastError: string | null = null;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly options: HistoryDatabaseOptions) {
    validateHistoryDatabaseOptions(options);
  }

  onModuleInit(): void {
    this.start();
  }

  // After every module's onModuleDestroy, so the Archiver has finished its last write.
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  /** Starts connecting; returns at once. */
  start(): void {
    if (this.closed || this.connected !== null || this.connecting !== null) return;
    this.connecting = this.attempt().finally(() => {
      this.connecting = null;
    });
  }

  /** The connected data source, or a {@link HistoryUnavailableError} saying why not. */
  dataSource(): DataSource {
    if (this.connected !== null) return this.connected;
    this.start();
    throw new HistoryUnavailableError(
      this.lastError === null
        ? 'history database is still connecting; retry shortly'
        : `history database is unreachable (${this.failedAttempts} failed attempts, last: ${this.lastError}); retry later`,
    );
  }

  /** Resolves once connected and migrated (for start-up ordering in tests and health checks). */
  whenConnected(): Promise<void> {
    if (this.connected !== null) return Promise.resolve();
    this.start();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  isConnected(): boolean {
    return this.connected !== null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    await this.connecting;
    const dataSource = this.connected;
    this.connected = null;
    if (dataSource !== null) await dataSource.destroy();
  }

  private async attempt(): Promise<void> {
    // A fresh DataSource per attempt: one whose initialize() failed is not reusable.
    const dataSource = new DataSource({
      type: 'postgres',
      url: this.options.url,
      poolSize: this.options.poolSize,
      connectTimeoutMS: this.options.connectTimeoutMs,
      applicationName: this.options.applicationName,
      extra: { statement_timeout: this.options.statementTimeoutMs },
      entities: HISTORY_ENTITIES,
      migrations: HISTORY_MIGRATIONS,
      migrationsRun: true,
      migrationsTransactionMode: 'each',
      // The schema belongs to the migrations, never to the entity classes.
      synchronize: false,
      logging: ['error', 'migration'],
    });
    try {
      await dataSource.initialize();
    } catch (error) {
      this.failedAttempts += 1;
      this.lastError = error instanceof Error ? error.message : String(error);
      const delayMs = Math.min(
        this.options.reconnectDelayMsMax,
        this.options.reconnectDelayMs * 2 ** Math.min(this.failedAttempts - 1, 30),
      );
      this.logger.warn(
        `history database unreachable (attempt ${this.failedAttempts}): ${this.lastError}; retrying in ${delayMs} ms`,
      );
      if (dataSource.isInitialized) await dataSource.destroy();
      if (!this.closed) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.start();
        }, delayMs);
      }
      return;
    }
    if (this.closed) {
      await dataSource.destroy();
      return;
    }
    if (this.failedAttempts > 0) {
      this.logger.log(`history database reachable again after ${this.failedAttempts} failed attempts`);
    }
    this.connected = dataSource;
    this.failedAttempts = 0;
    this.lastError = null;
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}

export function validateHistoryDatabaseOptions(options: HistoryDatabaseOptions): void {
  let protocol: string;
  try {
    protocol = new URL(options.url).protocol;
  } catch {
    throw new RangeError(
      'history database option url is not a URL; use postgres://user:password@host:port/database',
    );
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new RangeError(`history database option url has scheme ${protocol}; use postgres://`);
  }
  const integer = (name: keyof HistoryDatabaseOptions, value: number, min: number, max: number): void => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(
        `history database option ${name} is ${value}; use an integer from ${min} to ${max}`,
      );
    }
  };
  integer('poolSize', options.poolSize, 1, 1_000);
  integer('connectTimeoutMs', options.connectTimeoutMs, 1, 600_000);
  integer('statementTimeoutMs', options.statementTimeoutMs, 1, 3_600_000);
  integer('reconnectDelayMs', options.reconnectDelayMs, 1, 3_600_000);
  integer('reconnectDelayMsMax', options.reconnectDelayMsMax, options.reconnectDelayMs, 3_600_000);
}
