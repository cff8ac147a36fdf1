import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { freePorts } from './ports.mjs';
import {
  errorMessage,
  type Report,
  runCommand,
  settlesWithin,
  sleep,
  tailOf,
  withTimeout,
} from './support.mjs';

/**
 * The one Kafka version the stack runs (README, "Kafka version"). Kafka 4 is what users run now;
 * kafkajs 2.2.4 was checked against 4.1.2 for createTopics, produce with acks=-1 and
 * consumer-group consume (classic group protocol). 3.9.1 is the fallback if that ever breaks,
 * and it needs the slf4j-reload4j binding instead of log4j2.
 */
export const KAFKA_VERSION = '4.1.2';

// Kafka 4.1 logs through slf4j-api 1.7 and ships no binding: without these the broker is silent.
const LOG4J_VERSION = '2.24.3';
const ARTIFACTS = [
  ['org.apache.kafka', 'kafka_2.13', KAFKA_VERSION],
  ['org.apache.logging.log4j', 'log4j-slf4j-impl', LOG4J_VERSION],
  ['org.apache.logging.log4j', 'log4j-core', LOG4J_VERSION],
] as const;

// The libs folder is renamed into place only once Maven has finished, so this jar being there
// means the whole set is.
const CORE_JAR = `org.apache.kafka.kafka_2.13-${KAFKA_VERSION}.jar`;
const READY_TOPIC = 'verdict.stack.ready';
const JAVA_MAJOR_MIN = 17;

export interface KafkaOptions {
  /** A fresh folder the broker owns: its configuration, data and log file. */
  readonly directory: string;
  /** Holds `<version>/libs`; filled from Maven Central the first time. */
  readonly cacheDirectory: string;
  /**
   * How long the first attempt may take from JVM start to a message round trip; attempt k gets
   * k times as long, because a machine that was too slow once is most likely still busy.
   */
  readonly readyTimeoutMs: number;
  /** A loaded 2-core machine sometimes fails to form the KRaft quorum in time; a retry fixes it. */
  readonly startAttempts: number;
  /** After SIGTERM, how long the broker gets before SIGKILL. */
  readonly stopTimeoutMs: number;
  readonly report: Report;
}

export interface KafkaBroker {
  readonly version: string;
  /** `host:port` for clients, always 127.0.0.1 (Node may resolve `localhost` to ::1). */
  readonly bootstrapServers: readonly string[];
  readonly logFile: string;
  /**
   * Settles with how the JVM ended, whether stop() asked it to or not; a JVM that restart()
   * ends does not settle it.
   */
  readonly exited: Promise<string>;
  /**
   * Ends the broker (SIGKILL when `hard`, else SIGTERM) and starts it again on the same ports and
   * the same data, then waits until a message round-trips: a broker restart as clients see it.
   */
  restart(options: {
    readonly hard: boolean;
    /** How long the broker stays down before it starts again. */
    readonly downMs: number;
    readonly readyTimeoutMs: number;
  }): Promise<void>;
  /** SIGTERM, SIGKILL after `stopTimeoutMs`, then deletes the data. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts one combined KRaft broker and controller and waits until a message round-trips. */
export async function startKafka(options: KafkaOptions): Promise<KafkaBroker> {
  const java = await findJava();
  const libs = await ensureKafkaLibs(options.cacheDirectory, options.report);
  await mkdir(options.directory, { recursive: true });
  const failures: string[] = [];
  for (let attempt = 1; attempt <= options.startAttempts; attempt += 1) {
    const startedAt = Date.now();
    let broker: LaunchedBroker | undefined;
    try {
      broker = await launch(java, libs, options);
      await waitUntilReady(broker, options.readyTimeoutMs * attempt);
      const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
      options.report(`Kafka ${KAFKA_VERSION} ready at ${broker.bootstrapServers.join(',')} in ${seconds} s`);
      return broker;
    } catch (error) {
      failures.push(`attempt ${attempt}: ${errorMessage(error)}`);
      options.report(
        `Kafka start attempt ${attempt} of ${options.startAttempts} failed: ${errorMessage(error)}`,
      );
      await broker?.stop();
    }
  }
  const logFile = join(options.directory, 'kafka.log');
  throw new Error(
    `Kafka ${KAFKA_VERSION} did not become ready (${failures.join('; ')}). ` +
      `Broker log: ${logFile}\n${await tailOf(logFile, 20)}`,
  );
}

/** Where the jars of KAFKA_VERSION are, fetching them with Maven only when they are missing. */
async function ensureKafkaLibs(cacheDirectory: string, report: Report): Promise<string> {
  const versionDirectory = join(cacheDirectory, KAFKA_VERSION);
  const libs = join(versionDirectory, 'libs');
  if (existsSync(join(libs, CORE_JAR))) return libs;

  await mkdir(versionDirectory, { recursive: true });
  const work = await mkdtemp(join(versionDirectory, 'fetch-'));
  try {
    const startedAt = Date.now();
    report(`fetching Kafka ${KAFKA_VERSION} from Maven Central into ${libs} (first run only)`);
    await writeFile(join(work, 'pom.xml'), fetchPom());
    const maven = await runCommand(
      'mvn',
      [
        '-B',
        '-q',
        '-Dstyle.color=never',
        '-f',
        join(work, 'pom.xml'),
        // A repository inside the fetch folder: a fresh clone is really cold, and ~/.m2 is untouched.
        `-Dmaven.repo.local=${join(work, 'repository')}`,
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        '-Dmdep.prependGroupId=true',
        `-DoutputDirectory=${join(work, 'libs')}`,
      ],
      {
        timeoutMs: 600_000,
        notFound:
          `Kafka ${KAFKA_VERSION} is not in ${libs} and Maven (mvn) is not on the PATH to fetch it: ` +
          'install Maven 3.6 or newer (Debian: apt-get install maven).',
      },
    );
    if (maven.code !== 0 || !existsSync(join(work, 'libs', CORE_JAR))) {
      throw new Error(
        `Maven could not fetch Kafka ${KAFKA_VERSION} (exit code ${String(maven.code)}). ` +
          `Check access to https://repo.maven.apache.org (or a mirror in ~/.m2/settings.xml).\n` +
          maven.output.trim().split('\n').slice(-20).join('\n'),
      );
    }
    await rename(join(work, 'libs'), libs).catch((error: unknown) => {
      // Another run fetched the same version at the same time and got there first.
      if (existsSync(join(libs, CORE_JAR))) return;
      throw new Error(
        `could not move the fetched jars into ${libs} (${errorMessage(error)}): delete that folder and run again`,
      );
    });
    report(`fetched Kafka ${KAFKA_VERSION} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    return libs;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function fetchPom(): string {
  const dependencies = ARTIFACTS.map(
    ([groupId, artifactId, version]) =>
      `    <dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId>` +
      `<version>${version}</version></dependency>`,
  ).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.verdict.stack</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
${dependencies}
  </dependencies>
</project>
`;
}

async function findJava(): Promise<string> {
  const javaHome = process.env['JAVA_HOME'];
  const java = javaHome === undefined || javaHome === '' ? 'java' : join(javaHome, 'bin', 'java');
  const install = `install Java ${JAVA_MAJOR_MIN} or newer (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME`;
  const result = await runCommand(java, ['-version'], {
    timeoutMs: 30_000,
    notFound: `Kafka needs Java, and ${java} was not found: ${install}.`,
  });
  // `java -version` prints `openjdk version "17.0.15"`, or `"1.8.0_402"` for Java 8.
  const match = /version "(\d+)(?:\.(\d+))?/.exec(result.output);
  const major = match?.[1] === '1' ? Number(match[2]) : Number(match?.[1]);
  if (result.code !== 0 || !(major >= JAVA_MAJOR_MIN)) {
    throw new Error(
      `Kafka ${KAFKA_VERSION} needs Java ${JAVA_MAJOR_MIN} or newer; \`${java} -version\` said: ` +
        `${result.output.trim().split('\n')[0] ?? '(nothing)'}. Please ${install}.`,
    );
  }
  return java;
}

interface LaunchedBroker extends KafkaBroker {
  /** How the JVM ended, or undefined while it runs. */
  readonly exitStatus: () => string | undefined;
}

async function launch(java: string, libs: string, options: KafkaOptions): Promise<LaunchedBroker> {
  const [port, controllerPort] = await freePorts(2);
  if (port === undefined || controllerPort === undefined) throw new Error('expected two free ports');
  const { directory } = options;
  const dataDirectory = join(directory, 'data');
  const propertiesFile = join(directory, 'server.properties');
  const log4jFile = join(directory, 'log4j2.properties');
  const logFile = join(directory, 'kafka.log');
  await rm(dataDirectory, { recursive: true, force: true });
  await writeFile(propertiesFile, serverProperties(port, controllerPort, dataDirectory));
  await writeFile(log4jFile, LOG4J2_PROPERTIES);

  const classpath = join(libs, '*'); // expanded by the JVM, not a shell
  const logging = `-Dlog4j2.configurationFile=${log4jFile}`;
  const format = await runCommand(
    java,
    [
      '-Xmx256m',
      logging,
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      `--cluster-id=${clusterId()}`,
      '--config',
      propertiesFile,
      '--ignore-formatted',
    ],
    { timeoutMs: 60_000, notFound: `${java} disappeared while starting Kafka` },
  );
  await appendFile(logFile, format.output);
  if (format.code !== 0) {
    throw new Error(`formatting KRaft storage failed (exit code ${String(format.code)}), see ${logFile}`);
  }

  const spawnJvm = async (): Promise<ChildProcess> => {
    const log = await open(logFile, 'a');
    try {
      // Its own process group, so a Ctrl-C in the terminal reaches us and not the broker, and the
      // stack stops in its own order.
      return spawn(
        java,
        [
          '-Xms256m',
          '-Xmx512m',
          '-XX:+UseG1GC',
          '-Djava.awt.headless=true',
          `-Dkafka.logs.dir=${directory}`,
          logging,
          '-cp',
          classpath,
          'kafka.Kafka',
          propertiesFile,
        ],
        { detached: true, stdio: ['ignore', log.fd, log.fd] },
      );
    } finally {
      // The child holds its own copy of the descriptor by now.
      await log.close();
    }
  };

  let jvm = watchJvm(await spawnJvm());
  // Invariant: true while restart() replaces the JVM; its end is then no news for `exited`.
  let restarting = false;
  let reportExit: (status: string) => void = () => undefined;
  const exited = new Promise<string>((resolve) => {
    reportExit = resolve;
  });
  const follow = (watched: WatchedJvm): void => {
    void watched.exited.then((status) => {
      if (watched === jvm && !restarting) reportExit(status);
    });
  };
  follow(jvm);
  const signal = (name: NodeJS.Signals): void => jvm.signal(name);
  // Last resort when our process exits without stop() (an uncaught error, process.exit in a
  // test runner): never leave a broker running.
  const killOnExit = (): void => signal('SIGKILL');
  process.on('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  let restartDone: Promise<void> = Promise.resolve();
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await restartDone.catch(() => undefined);
      signal('SIGTERM');
      if (!(await settlesWithin(jvm.exited, options.stopTimeoutMs))) {
        options.report(`Kafka did not stop within ${options.stopTimeoutMs} ms of SIGTERM; sending SIGKILL`);
        signal('SIGKILL');
      }
      const status = await jvm.exited;
      // The JVM answers SIGTERM by running its shutdown hooks and exiting with 128 + 15.
      if (status !== 'exit code 143' && status !== 'exit code 0') {
        options.report(`Kafka ended with ${status}; see ${logFile}`);
      }
      process.off('exit', killOnExit);
      await rm(dataDirectory, { recursive: true, force: true });
    })();
    return stopping;
  };

  const broker: LaunchedBroker = {
    version: KAFKA_VERSION,
    bootstrapServers: [`127.0.0.1:${port}`],
    logFile,
    exited,
    exitStatus: () => jvm.status(),
    restart: ({ hard, downMs, readyTimeoutMs }) => {
      if (stopping !== undefined) return Promise.reject(new Error('the Kafka broker is stopping'));
      restartDone = (async () => {
        restarting = true;
        try {
          signal(hard ? 'SIGKILL' : 'SIGTERM');
          if (!(await settlesWithin(jvm.exited, options.stopTimeoutMs))) signal('SIGKILL');
          await jvm.exited;
          await sleep(downMs);
          // The same properties: same ports, same data folder (already formatted).
          jvm = watchJvm(await spawnJvm());
          follow(jvm);
        } finally {
          restarting = false;
        }
        await waitUntilReady(broker, readyTimeoutMs);
      })();
      return restartDone;
    },
    stop,
  };
  return broker;
}

interface WatchedJvm {
  readonly exited: Promise<string>;
  /** How the JVM ended, or undefined while it runs. */
  status(): string | undefined;
  /** To the JVM's whole process group; nothing once it has ended. */
  signal(name: NodeJS.Signals): void;
}

function watchJvm(child: ChildProcess): WatchedJvm {
  let exitStatus: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once('error', (error) => {
      exitStatus ??= `could not start: ${error.message}`;
      resolve(exitStatus);
    });
    child.once('exit', (code, signal) => {
      exitStatus ??= signal === null ? `exit code ${String(code)}` : `killed by ${signal}`;
      resolve(exitStatus);
    });
  });
  return {
    exited,
    status: () => exitStatus,
    signal: (name) => {
      if (exitStatus !== undefined || child.pid === undefined) return;
      try {
        process.kill(-child.pid, name);
      } catch {
        // The JVM exited between the check and the signal.
      }
    },
  };
}

// A 22-character base64url id; Kafka's own generator avoids a leading '-', which its CLI would
// read as an option.
function clusterId(): string {
  const id = randomBytes(16).toString('base64url');
  return id.startsWith('-') ? `A${id.slice(1)}` : id;
}

function serverProperties(port: number, controllerPort: number, dataDirectory: string): string {
  return `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${dataDirectory}
# One broker: internal topics must not ask for more replicas than exist, or consumer groups
# never find their coordinator.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
default.replication.factor=1
min.insync.replicas=1
num.partitions=1
# Without this every new consumer group waits 3 s before its first assignment.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
`;
}

// stdout is the log file. The shutdown hook is off because the JVM's own hook already flushes,
// and log4j's one only prints a warning when it races it.
const LOG4J2_PROPERTIES = `status = warn
shutdownHook = disable
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
`;

async function waitUntilReady(broker: LaunchedBroker, budgetMs: number): Promise<void> {
  const deadline = Date.now() + budgetMs;
  const budget = `${budgetMs / 1000} s`;
  const brokers = [...broker.bootstrapServers];
  // Polling client: no retries, or each failed poll would back off for seconds.
  const probe = new Kafka({
    clientId: 'verdict-stack-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
  });
  for (;;) {
    const exitStatus = broker.exitStatus();
    if (exitStatus !== undefined) throw new Error(`the broker ended (${exitStatus}) before it was ready`);
    const admin = probe.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      break;
    } catch (error) {
      if (Date.now() >= deadline) {
        throw new Error(`no answer to describeCluster within ${budget}: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    } finally {
      await admin.disconnect();
    }
    await sleep(100);
  }
  // One attempt can hang for good (seen once after a SIGKILL restart under load: its consumer never
  // joined while every other group did), so each gets a bounded share and a fresh client.
  let failure = 'no attempt finished';
  for (let attempt = 1; Date.now() < deadline; attempt += 1) {
    const attemptMs = Math.min(ROUND_TRIP_ATTEMPT_MS, deadline - Date.now());
    try {
      await roundTrip(brokers, attemptMs);
      return;
    } catch (error) {
      failure = `attempt ${attempt}: ${errorMessage(error)}`;
    }
    await sleep(500);
  }
  throw new Error(`no message round trip within ${budget} (${failure})`);
}

/** A produce → consume round trip on a ready broker takes well under a second; under load, seconds. */
const ROUND_TRIP_ATTEMPT_MS = 30_000;

// Creating a topic, producing and consuming in a group proves the controller, the partition
// leader and the group coordinator (which creates __consumer_offsets on first use) all work, so
// the first test does not pay for any of it.
async function roundTrip(brokers: string[], timeoutMs: number): Promise<void> {
  const kafka = new Kafka({
    clientId: 'verdict-stack-ready',
    brokers,
    logLevel: logLevel.NOTHING,
    // A fresh broker answers "group coordinator not available" once while it creates
    // __consumer_offsets; retries ride over that.
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const token = randomUUID();
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({
    groupId: `verdict-stack-ready-${token}`,
    sessionTimeout: 6_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 100,
  });
  const attempt = (async (): Promise<void> => {
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: READY_TOPIC, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
      timeout: 10_000,
    });
    await producer.connect();
    await producer.send({ topic: READY_TOPIC, acks: -1, timeout: 5_000, messages: [{ value: token }] });
    await consumer.connect();
    await consumer.subscribe({ topics: [READY_TOPIC], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: ({ message }) => {
            if (message.value?.toString() === token) resolve();
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  })();
  // Settled here when it loses the race: its clients are disconnected below, so it fails later.
  attempt.catch(() => undefined);
  try {
    await withTimeout(attempt, timeoutMs, `no round trip within ${timeoutMs / 1000} s`);
  } finally {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
  }
}
