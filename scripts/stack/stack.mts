import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type KafkaBroker, startKafka } from './kafka.mjs';
import { type PostgresServer, startPostgres, useExistingPostgres } from './postgres.mjs';
import { errorMessage, type Report } from './support.mjs';

/** Inside the clone and git-ignored, so a fresh clone really starts cold. */
export const KAFKA_CACHE_DIRECTORY = fileURLToPath(new URL('../../.cache/kafka', import.meta.url));

export interface StackOptions {
  /** false trades PostgreSQL's crash safety for speed; see PostgresOptions.durable. */
  readonly durable: boolean;
  /** See PostgresOptions.crashSafeCommits. */
  readonly crashSafeCommits?: boolean;
  /** An existing PostgreSQL server (DATABASE_URL) to use instead of starting one. */
  readonly databaseUrl: string | undefined;
  readonly report: Report;
  /**
   * A folder kept across runs (`npm start`): PostgreSQL's data stays in it after stop and the
   * next start uses it again; Kafka still starts empty. Without it, a fresh temporary folder
   * that stop() deletes.
   */
  readonly directory?: string;
}

/** What clients need to connect. Plain data, so Vitest can hand it from globalSetup to tests. */
export interface StackConnection {
  readonly kafkaBrokers: readonly string[];
  /** The maintenance database; each test file or app creates its own database from it. */
  readonly databaseUrl: string;
}

export interface Stack {
  readonly connection: StackConnection;
  readonly kafka: KafkaBroker;
  readonly postgres: PostgresServer;
  /** The run folder: configuration, data and logs. */
  readonly directory: string;
  readonly logFiles: readonly string[];
  /** Settles with a sentence when a server ends without stop() having been called. */
  readonly ended: Promise<string>;
  /** Stops both servers and deletes their data; the logs stay when `keepLogs`. */
  stop(options: { readonly keepLogs: boolean }): Promise<void>;
}

/**
 * Starts a Kafka broker and a PostgreSQL server (or uses an existing one) side by side in a fresh
 * run folder. When either fails, the other is stopped and the error names the kept logs.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const kept = options.directory !== undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'verdict-stack-')));
  await mkdir(directory, { recursive: true });
  // mkdtemp makes it private, but as root PostgreSQL runs as the `postgres` user and lives inside.
  await chmod(directory, 0o755);
  const [kafka, postgres] = await Promise.allSettled([
    startKafka({
      directory: join(directory, 'kafka'),
      cacheDirectory: KAFKA_CACHE_DIRECTORY,
      readyTimeoutMs: 30_000,
      startAttempts: 3,
      stopTimeoutMs: 10_000,
      report: options.report,
    }),
    options.databaseUrl === undefined
      ? startPostgres({
          directory: join(directory, 'postgres'),
          persistent: kept,
          durable: options.durable,
          crashSafeCommits: options.crashSafeCommits === true,
          // Every bank on this one server shares it: `npm run bench -- --kind postgres` at 64
          // clients holds up to 128 prepared at once with two banks, and 64 made them vote NO.
          maxPreparedTransactions: 256,
          startAttempts: 3,
          startTimeoutMs: 30_000,
          stopTimeoutMs: 10_000,
          report: options.report,
        })
      : useExistingPostgres(options.databaseUrl),
  ]);
  if (kafka.status === 'rejected' || postgres.status === 'rejected') {
    await Promise.all([
      kafka.status === 'fulfilled' ? kafka.value.stop() : undefined,
      postgres.status === 'fulfilled' ? postgres.value.stop() : undefined,
    ]);
    const reasons = [kafka, postgres].flatMap((result) =>
      result.status === 'rejected' ? [errorMessage(result.reason)] : [],
    );
    throw new Error(`the local stack did not start; logs are kept in ${directory}\n${reasons.join('\n')}`);
  }

  let stopping: Promise<void> | undefined;
  const ended = new Promise<string>((resolve) => {
    const watch = (name: string, exited: Promise<string>, logFile: string | undefined): void => {
      void exited.then((status) => {
        if (stopping === undefined)
          resolve(`${name} ended by itself (${status}); see ${logFile ?? 'its log'}`);
      });
    };
    watch('Kafka', kafka.value.exited, kafka.value.logFile);
    watch('PostgreSQL', postgres.value.exited, postgres.value.logFile);
  });
  return {
    connection: { kafkaBrokers: kafka.value.bootstrapServers, databaseUrl: postgres.value.url },
    kafka: kafka.value,
    postgres: postgres.value,
    directory,
    logFiles: [
      kafka.value.logFile,
      ...(postgres.value.logFile === undefined ? [] : [postgres.value.logFile]),
    ],
    ended,
    stop: ({ keepLogs }) => {
      stopping ??= (async () => {
        await Promise.all([kafka.value.stop(), postgres.value.stop()]);
        if (!keepLogs && !kept) await rm(directory, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
