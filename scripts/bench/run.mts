// One benchmark run on a given stack: three coordinator processes and the participants, the
// floors, the closed-loop levels and, with --failover, a leader kill under steady load. Shared by
// `npm run bench` (scripts/bench/cli.mts) and test/integration/bench-smoke.test.ts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import pg from 'pg';
import {
  buildOnce,
  CoordinatorCluster,
  SERVICE_KEY,
  type CoordinatorNode,
} from '../../test/support/coordinator-cluster.js';
import { DemoProcess } from '../../test/integration/participant/demo-process.js';
import { createDatabase } from '../stack/databases.mjs';
import type { StackConnection } from '../stack/stack.mjs';
import { sleep } from '../stack/support.mjs';
import { ownCpuSeconds, pidListeningOn, treeCpuSeconds } from './cpu.mjs';
import { measureKafkaFloors, type KafkaFloors } from './kafka-floor.mjs';
import {
  RestClient,
  runClients,
  runFor,
  runTransaction,
  type LeaderDirectory,
  type Participant,
  type TransactionRecord,
  type Variant,
} from './load.mjs';
import type * as ProtocolLibrary from '../../libs/protocol/src/index.js';
import type { DtmBaseline } from './dtm.mjs';
import type { BenchOptions, FailoverVariant } from './options.mjs';
import { metricValue, parsePrometheus } from './prometheus.mjs';
import {
  STAGES,
  summarizeStages,
  type CommitCall,
  type StageSummary,
  type TimelineEvent,
} from './stages.mjs';
import type { RaftFloors } from './raft-floor.js';
import {
  bucketTimeline,
  countReasons,
  failoverShape,
  summarize,
  type FailoverShape,
  type LatencySummary,
  type TimelineBucket,
} from './stats.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Built once per run (buildOnce); the coordinators and the participants run from it. */
const DIST = join(ROOT, 'dist');
const NODE = process.execPath;
/** How the .mts children run: the flags of `npm run bench` itself. */
const MTS_FLAGS = [
  '--experimental-transform-types',
  '--disable-warning=ExperimentalWarning',
  '--import',
  join(ROOT, 'scripts', 'mts-resolve-hook.mjs'),
];
const READY_TIMEOUT_MS = 120_000;
/** Per floor measurement; shorter only for very short runs (the smoke test). */
const FLOOR_DURATION_MS_MAX = 2_000;
/**
 * Unmeasured round trips before a floor is measured by new processes: in its first 4 s a new
 * Kafka requester and responder pair took about twice as long per round trip as 8 s later.
 */
const FLOOR_WARMUP_MS = 2_000;
/** The PostgreSQL floor's client is the benchmark process's own, new too, but the server is warm. */
const POSTGRES_FLOOR_WARMUP_MS = 500;
const KAFKA_FLOOR_OUTSTANDING = 128;
const VARIANTS: readonly Variant[] = ['enlist', 'at-begin', 'one-request'];
/** The failover run: steady load, the leader killed at KILL, restarted at RESTART, over TOTAL. */
const FAILOVER_KILL_MS = 5_000;
const FAILOVER_RESTART_MS = 10_000;
const FAILOVER_TOTAL_MS = 20_000;
const TIMELINE_BUCKET_MS = 100;
/** Full rate is back when a 1 s window reaches this share of the rate before the kill. */
const FULL_RATE_SHARE = 0.9;
/** Why transactions did not commit, per level: the most frequent reasons. */
export const FAILURE_REASONS_MAX = 5;
const OPENING_BALANCE = 1_000_000;

export interface ProcessCpu {
  readonly name: string;
  /** CPU seconds per committed transaction; null when the process could not be read. */
  readonly secondsPerTransaction: number | null;
  /** Share of one core over the level. */
  readonly cores: number | null;
}

export interface LevelResult {
  readonly clients: number;
  readonly variant: Variant;
  readonly seconds: number;
  readonly committed: number;
  readonly aborted: number;
  readonly failed: number;
  /** Requests sent again after a 503 or a broken connection. */
  readonly retriedRequests: number;
  readonly committedPerSecond: number;
  readonly commitLatency: LatencySummary | null;
  readonly transactionLatency: LatencySummary | null;
  readonly cpu: readonly ProcessCpu[];
  /** Busy CPU seconds of the whole machine per transaction, ours and everyone else's. */
  readonly machineCpuSecondsPerTransaction: number | null;
  readonly raftEntriesPerTransaction: number | null;
  readonly coordinatorFsyncsPerTransaction: number | null;
  readonly postgresWalFsyncsPerTransaction: number | null;
  readonly kafkaMessagesPerTransaction: number | null;
  /** Produce requests the coordinators sent (PREPARE, COMMIT, ABORT): below 1 when transactions share them. */
  readonly coordinatorProduceRequestsPerTransaction: number | null;
  /** Where the commit call's time went, from a sample of committed transactions' timelines. */
  readonly stages: StageSummary | null;
  readonly failures: readonly string[];
}

export interface Floors {
  readonly kafka: KafkaFloors;
  readonly fsync: RaftFloors['fsync'];
  readonly raftCommit: RaftFloors['raftCommit'];
  readonly postgres: {
    readonly prepare: LatencySummary;
    readonly commitPrepared: LatencySummary;
    readonly pairsPerSecond: number;
  };
  /**
   * What a commit call pays at the least: PREPARE → last VOTE over Kafka (one request to each of
   * as many responders as the transaction has participants, and for banks their PREPARE
   * TRANSACTION) or PREPARING's Raft commit, whichever is longer (PREPARE leaves with the
   * proposal, so they overlap), then the DECISION committed in Raft. Medians of each.
   */
  readonly commitFloorMs: number;
  readonly commitFloorParts: Readonly<Record<string, number>>;
  /** Kafka's batched round trips/s over the round trips a transaction needs (2 per participant). */
  readonly transportCeilingPerSecond: number;
}

export interface FailoverResult {
  /** Absent in results from before 2026-12-07, which all ran begin + enlist + commit. */
  readonly variant?: FailoverVariant;
  readonly ratePerSecond: number;
  readonly clients: number;
  readonly killedNode: string;
  readonly killAtMs: number;
  readonly restartAtMs: number;
  readonly totalMs: number;
  /** From the kill until another node called itself leader. */
  readonly newLeaderAfterMs: number | null;
  readonly newLeader: string | null;
  readonly shape: FailoverShape;
  readonly committed: number;
  readonly aborted: number;
  readonly failed: number;
  readonly retriedRequests: number;
  /** Transactions that overlapped the outage (began before a new leader served) and did not commit. */
  readonly lostToFailover: number;
  readonly failures: readonly string[];
  readonly timeline: readonly TimelineBucket[];
}

/**
 * One-request transactions offered at half the best one-request rate (or at `--paced-rate`),
 * paced rather than closed loop.
 */
export interface HalfLoadResult {
  readonly ratePerSecond: number;
  /** The rate came from `--paced-rate`, not from this run's best one-request level. */
  readonly chosen?: boolean;
  readonly level: LevelResult;
}

export interface BenchResult {
  readonly benchmark: string;
  readonly name: string;
  readonly measuredAt: string;
  readonly machine: {
    readonly cpus: number;
    readonly node: string;
    readonly loadAverageAtStart: readonly number[];
    readonly loadAverageAtEnd: readonly number[];
  };
  readonly options: Omit<BenchOptions, 'resultsDirectory'>;
  /** The commit measured, and the files of apps/ and libs/ that differed from it (dist/ is built from the working tree). */
  readonly source: { readonly commit: string; readonly uncommitted: readonly string[] };
  readonly setup: string;
  readonly floors: Floors;
  readonly levels: readonly LevelResult[];
  readonly best: {
    readonly clients: number;
    readonly variant: Variant;
    readonly committedPerSecond: number;
    readonly transactionP99Ms: number;
  };
  readonly lowLoad: { readonly clients: number; readonly commitP50Ms: number; readonly ratioToFloor: number };
  readonly ceilingRatio: number;
  /** Null when no one-request level committed; absent from results written before it was measured. */
  readonly halfLoad?: HalfLoadResult | null;
  readonly failover: FailoverResult | null;
  /** DTM in the same run (`--dtm`); absent from results written before it was measured. */
  readonly dtm?: DtmBaseline | null;
  /** Numbers the benchmark could not take, and why. */
  readonly notMeasured: readonly string[];
}

interface RunningParticipant {
  readonly name: string;
  readonly pid: () => number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts everything on `stack`, measures, stops it all. `afterLevel` runs after each closed-loop
 * level's variants and after the half-load level (with its rate), with the stack idle (`--dtm`
 * measures DTM there).
 */
export async function runBench(
  options: BenchOptions,
  stack: StackConnection,
  say: (line: string) => void,
  stop: AbortSignal,
  afterLevel: (clients: number, ratePerSecond?: number) => Promise<void> = () => Promise.resolve(),
): Promise<BenchResult> {
  const loadAverageAtStart = loadavg();
  const runId = Date.now().toString(36);
  // Before the first require of dist/: on a fresh clone nothing is built yet.
  buildOnce();
  const protocol = createRequire(import.meta.url)(
    join(DIST, 'libs/protocol/src/index.js'),
  ) as typeof ProtocolLibrary;
  const directory = mkdtempSync(join(tmpdir(), 'verdict-bench-'));
  const notMeasured: string[] = [];
  const historyUrl = await createDatabase(stack.databaseUrl, `bench_history_${runId}`);
  say('starting three coordinator processes');
  const cluster = await CoordinatorCluster.start({
    kafkaBrokers: stack.kafkaBrokers,
    databaseUrl: historyUrl,
    environment: {
      // Warnings only: an access-log line per request would be piped through this process.
      LOG_LEVEL: 'warn',
      ...(options.cpuProfile
        ? {
            NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${options.resultsDirectory} --cpu-prof-name=${options.name}-\${pid}.cpuprofile`,
          }
        : {}),
    },
  });
  const participants: RunningParticipant[] = [];
  // Children die with us even when we are ended before the `finally` below can stop them.
  const killAll = (): void => {
    for (const node of cluster.nodes) node.process?.kill('SIGKILL');
    for (const child of spawned) child.kill('SIGKILL');
    for (const participant of participants) {
      const pid = participant.pid();
      try {
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  process.on('exit', killAll);
  const maxClients = Math.max(...options.clients);
  const client = new RestClient(SERVICE_KEY, maxClients + 8);
  try {
    const names = Array.from({ length: options.participants }, (_, index) => `bench-${runId}-p${index + 1}`);
    say(`starting ${options.participants} ${options.kind} participants: ${names.join(', ')}`);
    if (options.kind === 'noop') {
      // Side by side: each start is mostly waiting for Kafka (connect, topics, group join).
      const starts = await Promise.allSettled(
        names.map((name) => startNoopParticipant(name, stack, directory)),
      );
      for (const outcome of starts) if (outcome.status === 'fulfilled') participants.push(outcome.value);
      const refused = starts.find((outcome) => outcome.status === 'rejected');
      if (refused !== undefined) throw refused.reason;
    } else {
      // One after another: a bank's start (Nest, TypeORM migrations) is CPU work, and two at once
      // on a loaded machine miss DemoProcess's 60 s limit.
      for (const [position, name] of names.entries()) {
        const coordinatorUrl = cluster.nodes[position % cluster.nodes.length]?.url ?? '';
        participants.push(await startBank(name, stack, runId, coordinatorUrl, maxClients));
      }
    }
    const leader = await cluster.waitForLeader(READY_TIMEOUT_MS);
    say(`leader ${leader.nodeId}`);
    const leaders = new LeaderTracker(cluster, leader);
    const loadParticipants: Participant[] = names.map((name) => ({
      name,
      payload: (client) =>
        options.kind === 'postgres' ? { credit: { account: accountOf(client), amount: 1 } } : undefined,
    }));
    const started = performance.now();
    const now = (): number => performance.now() - started;
    const transaction = (variant: Variant) => (clientIndex: number) =>
      runTransaction(client, leaders, loadParticipants, variant, clientIndex, now);

    say('first transaction (the participants join their consumer groups)');
    await firstCommit(transaction('enlist'), stop);
    if (options.stackWarmupSeconds > 0) {
      // The first level used to pay for compilation: Kafka spent 16 ms of CPU per transaction at
      // 1 client right after start, 5 ms a level later.
      say(`warming up: ${options.stackWarmupSeconds} s at 16 clients, not measured`);
      for (const variant of VARIANTS) {
        await runFor(options.stackWarmupSeconds / VARIANTS.length, {
          clients: 16,
          now,
          transaction: transaction(variant),
          stop,
        });
      }
    }

    say('floors: Kafka round trip, fsync, Raft commit of one entry, PREPARE TRANSACTION');
    const floors = await measureFloors(stack, directory, leader, runId, options);
    say(
      `floors: Kafka round trip p50 ${floors.kafka.oneAtATime.latency.p50Ms.toFixed(2)} ms ` +
        `(to ${floors.kafka.fanOut.responders} responders ${floors.kafka.fanOut.latency.p50Ms.toFixed(2)} ms), ` +
        `${Math.round(floors.kafka.batched.roundTripsPerSecond)} batched round trips/s ` +
        `(${Math.round(floors.kafka.single.roundTripsPerSecond)}/s one send per reply); ` +
        `fsync p50 ${floors.fsync.latencyMsP50.toFixed(2)} ms; Raft commit p50 ${floors.raftCommit.latencyMsP50.toFixed(2)} ms; ` +
        `PREPARE TRANSACTION p50 ${floors.postgres.prepare.p50Ms.toFixed(2)} ms + COMMIT PREPARED ${floors.postgres.commitPrepared.p50Ms.toFixed(2)} ms; ` +
        `commit floor ${floors.commitFloorMs.toFixed(2)} ms, transport ceiling ${Math.round(floors.transportCeilingPerSecond)} tx/s`,
    );

    const probes = new Probes(
      stack,
      cluster,
      participants,
      names.map(protocol.participantTopic),
      protocol.REPLIES_TOPIC,
    );
    await probes.start();
    notMeasured.push(...probes.notMeasured);
    // One level: a warm-up, then the measured window, closed loop or paced to `ratePerSecond`.
    const measureLevel = async (
      clients: number,
      variant: Variant,
      ratePerSecond?: number,
    ): Promise<LevelResult> => {
      if (stop.aborted) throw new Error('stopped');
      const load = {
        clients,
        now,
        transaction: transaction(variant),
        stop,
        ...(ratePerSecond === undefined ? {} : { ratePerSecond }),
      };
      if (options.warmupSeconds > 0) await runFor(options.warmupSeconds, load);
      const before = await probes.snapshot();
      const { records, seconds } = await runFor(options.durationSeconds, load);
      const after = await probes.snapshot();
      const stages = await sampleStages(client, leaders, records);
      return levelResult(
        clients,
        variant,
        seconds,
        records,
        probes.difference(before, after, seconds),
        stages,
      );
    };
    const levels: LevelResult[] = [];
    for (const clients of options.clients) {
      for (const variant of VARIANTS) {
        const level = await measureLevel(clients, variant);
        levels.push(level);
        say(formatLevel(level));
      }
      await afterLevel(clients);
    }
    // The issue's latency target is a p99 at half the load: offered at a steady rate, as a
    // service's callers would offer it, rather than read off the closed-loop level nearest it.
    const halfLoadRate =
      options.pacedRate ??
      fastestLevel(levels.filter((level) => level.variant === 'one-request')).committedPerSecond / 2;
    let halfLoad: HalfLoadResult | null = null;
    if (halfLoadRate > 0) {
      say(`half load: ${Math.round(halfLoadRate)} tx/s offered by ${maxClients} clients, one-request`);
      const level = await measureLevel(maxClients, 'one-request', halfLoadRate);
      say(`half load: ${formatLevel(level)}`);
      halfLoad = { ratePerSecond: halfLoadRate, chosen: options.pacedRate !== null, level };
      await afterLevel(maxClients, halfLoadRate);
    } else {
      notMeasured.push('half the best rate: no one-request level committed anything');
    }
    await probes.stop();

    const mainLevels = levels.filter((level) => level.variant === 'enlist');
    const best = fastestLevel(levels);
    const lowest = mainLevels.reduce((left, right) => (right.clients < left.clients ? right : left));
    const lowP50 = lowest.commitLatency?.p50Ms ?? Number.NaN;

    let failover: FailoverResult | null = null;
    if (options.failover) {
      const variant = options.failoverVariant;
      const bestOfVariant = fastestLevel(levels.filter((level) => level.variant === variant));
      failover = await runFailover(cluster, variant, transaction(variant), now, bestOfVariant, say, stop);
    }
    return {
      benchmark: 'verdict: begin + enlist + commit over REST, 3 coordinator processes, fsync on',
      name: options.name,
      measuredAt: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        node: process.version,
        loadAverageAtStart,
        loadAverageAtEnd: loadavg(),
      },
      options: {
        participants: options.participants,
        kind: options.kind,
        clients: options.clients,
        durationSeconds: options.durationSeconds,
        warmupSeconds: options.warmupSeconds,
        stackWarmupSeconds: options.stackWarmupSeconds,
        failover: options.failover,
        failoverVariant: options.failoverVariant,
        pacedRate: options.pacedRate,
        cpuProfile: options.cpuProfile,
        dtm: options.dtm,
        name: options.name,
      },
      source: sourceState(),
      setup:
        `Kafka 1 broker, PostgreSQL (${stack.databaseUrl.includes('127.0.0.1') ? 'local' : 'given'}), 3 coordinator processes ` +
        `(LOG_LEVEL=warn), ${options.participants} ${options.kind === 'noop' ? 'no-op participant processes (participant SDK, vote YES at once)' : 'demo bank processes (PostgreSQL PREPARE TRANSACTION)'}, ` +
        `load generator in the benchmark process, clients talk to the leader over keep-alive HTTP/1.1`,
      floors,
      levels,
      best: {
        clients: best.clients,
        variant: best.variant,
        committedPerSecond: best.committedPerSecond,
        transactionP99Ms: best.transactionLatency?.p99Ms ?? Number.NaN,
      },
      lowLoad: { clients: lowest.clients, commitP50Ms: lowP50, ratioToFloor: lowP50 / floors.commitFloorMs },
      ceilingRatio: best.committedPerSecond / floors.transportCeilingPerSecond,
      halfLoad,
      failover,
      dtm: null,
      notMeasured,
    };
  } finally {
    await client.close();
    await Promise.all(participants.map((participant) => participant.stop()));
    // A profile is written only when the process exits by itself: SIGTERM first.
    if (options.cpuProfile) await Promise.all(cluster.nodes.map((node) => stopGracefully(node)));
    await cluster.stop();
    process.off('exit', killAll);
    rmSync(directory, { recursive: true, force: true });
  }
}

const accountOf = (client: number): string => `client-${client}`;

/** Timelines read per level: enough for a p99, few enough not to lengthen the run. */
const STAGE_SAMPLES = 200;

/** Reads the timelines of committed transactions spread over the level, after it (not during). */
async function sampleStages(
  client: RestClient,
  leaders: LeaderTracker,
  records: readonly TransactionRecord[],
): Promise<StageSummary | null> {
  const committed = records.filter((record) => record.outcome === 'COMMIT' && record.commitCall !== null);
  if (committed.length === 0) return null;
  const step = Math.max(1, Math.floor(committed.length / STAGE_SAMPLES));
  const calls: CommitCall[] = [];
  for (let index = 0; index < committed.length; index += step) {
    const record = committed[index];
    if (record?.txId === null || record?.commitCall === null || record === undefined) continue;
    try {
      const answer = await client.get(leaders.current(), `/v1/transactions/${record.txId}`);
      const timeline = answer.body['timeline'];
      if (answer.status === 200 && Array.isArray(timeline)) {
        calls.push({ ...record.commitCall, timeline: timeline as TimelineEvent[] });
      }
    } catch {
      // A sample less: the stages are a diagnosis, not a measurement the run depends on.
    }
  }
  return summarizeStages(calls);
}

function sourceState(): BenchResult['source'] {
  // Not trimmed at the start: a porcelain line begins with its status columns, a space included.
  const git = (args: readonly string[]): string =>
    spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trimEnd() ?? '';
  return {
    commit: git(['rev-parse', 'HEAD']),
    uncommitted: git(['status', '--porcelain', '--', 'apps', 'libs'])
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.slice(3)),
  };
}

const BANK_START_ATTEMPTS = 3;

/** SIGKILL to every demo bank process started for participant `name`. */
function killBank(name: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environment = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environment.includes(`VERDICT_PARTICIPANT_NAME=${name}`)) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // Gone, or not ours to read.
    }
  }
}

/** Every child this module spawned and that still runs, from its first moment: see killAll. */
const spawned = new Set<ChildProcess>();

async function stopGracefully(node: CoordinatorNode): Promise<void> {
  const child = node.process;
  if (child === null || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** Retries one transaction until it commits: proves the whole path works before anything is measured. */
async function firstCommit(
  transaction: (clientIndex: number) => Promise<TransactionRecord>,
  stop: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline && !stop.aborted) {
    const record = await transaction(1);
    if (record.outcome === 'COMMIT') return;
    last = record.detail ?? record.outcome;
    await sleep(500);
  }
  throw new Error(`no transaction committed within ${READY_TIMEOUT_MS / 1000} s; last: ${last}`);
}

/** Spawns a .mts script of this folder with a log file; resolves once it printed `ready`. */
export async function spawnReady(
  script: string,
  args: readonly string[],
  logFile: string,
): Promise<ChildProcess> {
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(NODE, [...MTS_FLAGS, join(ROOT, 'scripts', 'bench', script), ...args], {
      cwd: ROOT,
      env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
      stdio: ['ignore', 'pipe', log],
    });
  } finally {
    closeSync(log);
  }
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ready = new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line === 'ready') resolve();
    });
    child.once('exit', (code, signal) =>
      reject(
        new Error(`${script} exited while starting (${signal ?? `code ${String(code)}`}); see ${logFile}`),
      ),
    );
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), READY_TIMEOUT_MS);
  try {
    await ready;
  } finally {
    clearTimeout(timer);
  }
  return child;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function startNoopParticipant(
  name: string,
  stack: StackConnection,
  directory: string,
): Promise<RunningParticipant> {
  const child = await spawnReady(
    'noop-participant.mts',
    [name, stack.kafkaBrokers.join(',')],
    join(directory, `${name}.log`),
  );
  return { name, pid: () => child.pid, stop: () => stopChild(child) };
}

async function startBank(
  name: string,
  stack: StackConnection,
  runId: string,
  coordinatorUrl: string,
  accounts: number,
): Promise<RunningParticipant> {
  const databaseUrl = await createDatabase(
    stack.databaseUrl,
    `bench_${name.replaceAll('-', '_')}`.slice(0, 63),
  );
  const environment = {
    VERDICT_PARTICIPANT_NAME: name,
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    DATABASE_URL: databaseUrl,
    VERDICT_COORDINATOR_URL: coordinatorUrl,
    VERDICT_API_KEY: SERVICE_KEY,
    LOG_LEVEL: 'warn',
  };
  let bank: DemoProcess | undefined;
  for (let attempt = 1; bank === undefined; attempt += 1) {
    try {
      bank = await DemoProcess.start(DIST, environment);
    } catch (error) {
      // DemoProcess gives a start 60 s, which a loaded machine can exceed; the process it started
      // is not handed back, so it is found by its participant name and ended before the next try.
      killBank(name);
      if (attempt >= BANK_START_ATTEMPTS) throw error;
    }
  }
  // One account per client: no two clients wait for each other's row lock.
  for (let client = 1; client <= accounts; client += 1) {
    const opened = await bank.post('/accounts', { id: accountOf(client), openingBalance: OPENING_BALANCE });
    if (opened.status !== 201)
      throw new Error(`opening ${name}/${accountOf(client)} (run ${runId}): HTTP ${opened.status}`);
  }
  return { name, pid: () => bank.child.pid, stop: () => bank.stop() };
}

/** Which node leads, for the load generator; found again by polling every node when lost. */
class LeaderTracker implements LeaderDirectory {
  private url: string;
  private search: Promise<void> | null = null;
  private readonly cluster: CoordinatorCluster;

  constructor(cluster: CoordinatorCluster, leader: CoordinatorNode) {
    this.cluster = cluster;
    this.url = leader.url;
  }

  current(): string {
    return this.url;
  }

  lost(url: string): Promise<void> {
    if (url !== this.url) return Promise.resolve();
    this.search ??= this.find().finally(() => {
      this.search = null;
    });
    return this.search;
  }

  /** Polls until a running node says it leads; gives up after a minute (the clients' deadlines end first). */
  private async find(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const leader = await leaderAmong(this.cluster.nodes.filter((node) => node.process !== null));
      if (leader !== null) {
        this.url = leader.url;
        return;
      }
      await sleep(25);
    }
  }
}

async function leaderAmong(nodes: readonly CoordinatorNode[]): Promise<CoordinatorNode | null> {
  const roles = await Promise.all(
    nodes.map(async (node) => {
      try {
        const response = await fetch(`${node.url}/v1/cluster`, {
          headers: { authorization: `Bearer ${SERVICE_KEY}` },
          signal: AbortSignal.timeout(500),
        });
        return response.ok ? ((await response.json()) as { role: string }).role : null;
      } catch {
        return null;
      }
    }),
  );
  return nodes.find((_, position) => roles[position] === 'LEADER') ?? null;
}

async function measureFloors(
  stack: StackConnection,
  directory: string,
  leader: CoordinatorNode,
  runId: string,
  options: BenchOptions,
): Promise<Floors> {
  const durationMs = Math.min(FLOOR_DURATION_MS_MAX, (options.durationSeconds * 1000) / 3);
  const kafka = await kafkaFloor(stack, directory, runId, durationMs, options.participants);
  const raft = raftFloors(leader.dataDirectory, durationMs);
  const postgres = await postgresFloor(stack, runId, durationMs);
  const voteMs = kafka.fanOut.latency.p50Ms + (options.kind === 'postgres' ? postgres.prepare.p50Ms : 0);
  const roundTrip =
    options.participants === 1
      ? 'Kafka round trip'
      : `Kafka round trip to ${options.participants} responders`;
  const vote =
    options.kind === 'postgres'
      ? `${roundTrip} + PREPARE TRANSACTION (PREPARE → last VOTE)`
      : `${roundTrip} (PREPARE → last VOTE)`;
  const raftMs = raft.raftCommit.latencyMsP50;
  const parts: Record<string, number> = {
    ...(voteMs >= raftMs
      ? { [`${vote}, PREPARING's Raft commit alongside`]: voteMs }
      : { [`Raft commit (PREPARING), ${vote} alongside`]: raftMs }),
    'Raft commit (DECISION)': raftMs,
  };
  return {
    kafka,
    fsync: raft.fsync,
    raftCommit: raft.raftCommit,
    postgres,
    commitFloorMs: Object.values(parts).reduce((sum, value) => sum + value, 0),
    commitFloorParts: parts,
    transportCeilingPerSecond: kafka.batched.roundTripsPerSecond / (2 * options.participants),
  };
}

async function kafkaFloor(
  stack: StackConnection,
  directory: string,
  runId: string,
  durationMs: number,
  responders: number,
): Promise<KafkaFloors> {
  const requestsTopic = (index: number): string => `bench-floor-${runId}-requests-${index}`;
  const requests: [string, ...string[]] = [
    requestsTopic(1),
    ...Array.from({ length: responders - 1 }, (_, index) => requestsTopic(index + 2)),
  ];
  const replies = `bench-floor-${runId}-replies`;
  const admin = new Kafka({
    clientId: 'bench-floor-admin',
    brokers: [...stack.kafkaBrokers],
    logLevel: logLevel.WARN,
  }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [...requests, replies].map((topic) => ({ topic, numPartitions: 1 })),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  const spawned = await Promise.allSettled(
    requests.map((topic) =>
      spawnReady(
        'kafka-floor.mts',
        [stack.kafkaBrokers.join(','), topic, replies],
        join(directory, 'kafka-floor.log'),
      ),
    ),
  );
  try {
    const failed = spawned.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return await measureKafkaFloors({
      brokers: stack.kafkaBrokers,
      requests,
      replies,
      durationMs,
      warmupMs: FLOOR_WARMUP_MS,
      outstanding: KAFKA_FLOOR_OUTSTANDING,
    });
  } finally {
    await Promise.all(
      spawned.flatMap((result) => (result.status === 'fulfilled' ? [stopChild(result.value)] : [])),
    );
  }
}

/** In a child process under the raft-log loader, exactly as `npm run bench:raft` runs. */
function raftFloors(dataDirectory: string, durationMs: number): RaftFloors {
  const run = spawnSync(
    NODE,
    [
      '--import',
      join(ROOT, 'libs', 'raft-log', 'sim-loader.mjs'),
      join(ROOT, 'scripts', 'bench', 'raft-floor.ts'),
      dataDirectory,
      String(Math.round(durationMs)),
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  if (run.status !== 0 || !line.startsWith('{')) {
    throw new Error(`the Raft floor failed (exit ${String(run.status)}):\n${run.stderr}`);
  }
  return JSON.parse(line) as RaftFloors;
}

/** PREPARE TRANSACTION and COMMIT PREPARED of a one-row insert, one at a time, on the stack's server. */
async function postgresFloor(
  stack: StackConnection,
  runId: string,
  durationMs: number,
): Promise<Floors['postgres']> {
  const url = await createDatabase(stack.databaseUrl, `bench_floor_${runId}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE TABLE floor (id bigint PRIMARY KEY)');
    let id = 0;
    const pairs = async (forMs: number) => {
      const prepare: number[] = [];
      const commitPrepared: number[] = [];
      const started = performance.now();
      while (performance.now() - started < forMs) {
        id += 1;
        await client.query('BEGIN');
        await client.query('INSERT INTO floor (id) VALUES ($1)', [id]);
        const beforePrepare = performance.now();
        await client.query(`PREPARE TRANSACTION 'bench-floor-${id}'`);
        const beforeCommit = performance.now();
        await client.query(`COMMIT PREPARED 'bench-floor-${id}'`);
        prepare.push(beforeCommit - beforePrepare);
        commitPrepared.push(performance.now() - beforeCommit);
      }
      return { prepare, commitPrepared, seconds: (performance.now() - started) / 1000 };
    };
    await pairs(POSTGRES_FLOOR_WARMUP_MS);
    const { prepare, commitPrepared, seconds } = await pairs(durationMs);
    return {
      prepare: summarize(prepare) as LatencySummary,
      commitPrepared: summarize(commitPrepared) as LatencySummary,
      pairsPerSecond: prepare.length / seconds,
    };
  } finally {
    await client.end();
  }
}

interface Snapshot {
  readonly cpuSeconds: ReadonlyMap<string, number | null>;
  readonly machineBusySeconds: number | null;
  readonly raftCommitIndex: number | null;
  readonly coordinatorProduceRequests: number | null;
  readonly walFsyncs: number | null;
  readonly kafkaMessages: number | null;
  readonly coordinatorFsyncs: number | null;
}

interface Differences {
  readonly cpuSeconds: ReadonlyMap<string, number | null>;
  readonly machineBusySeconds: number | null;
  readonly raftEntries: number | null;
  readonly coordinatorProduceRequests: number | null;
  readonly walFsyncs: number | null;
  readonly kafkaMessages: number | null;
  readonly coordinatorFsyncs: number | null;
}

/**
 * Everything read before and after a level: CPU per process, the coordinators' Raft commit index
 * and durable log writes (/metrics), PostgreSQL's WAL fsyncs (pg_stat_io) and messages on the
 * Verdict topics (offsets).
 */
class Probes {
  readonly notMeasured: string[] = [];
  private readonly processes: { name: string; pid: () => number | undefined }[] = [];
  private readonly pool: pg.Pool;
  private readonly admin: Admin;
  private readonly cluster: CoordinatorCluster;
  private readonly topics: readonly string[];

  constructor(
    stack: StackConnection,
    cluster: CoordinatorCluster,
    participants: readonly RunningParticipant[],
    participantTopics: readonly string[],
    repliesTopic: string,
  ) {
    this.cluster = cluster;
    this.topics = [...participantTopics, repliesTopic];
    this.pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 1 });
    this.pool.on('error', () => undefined);
    this.admin = new Kafka({
      clientId: 'bench-probes',
      brokers: [...stack.kafkaBrokers],
      logLevel: logLevel.WARN,
    }).admin();
    const kafkaPort = Number(stack.kafkaBrokers[0]?.split(':')[1]);
    const postgresPort = Number(new URL(stack.databaseUrl).port || '5432');
    const kafkaPid = pidListeningOn(kafkaPort);
    const postgresPid = pidListeningOn(postgresPort);
    if (kafkaPid === null)
      this.notMeasured.push(`CPU of Kafka: no process of ours listens on port ${kafkaPort}`);
    if (postgresPid === null)
      this.notMeasured.push(`CPU of PostgreSQL: no process of ours listens on port ${postgresPort}`);
    this.processes.push({ name: 'kafka', pid: () => kafkaPid ?? undefined });
    this.processes.push({ name: 'postgres', pid: () => postgresPid ?? undefined });
    for (const node of cluster.nodes)
      this.processes.push({ name: node.nodeId, pid: () => node.process?.pid });
    for (const [position, participant] of participants.entries()) {
      this.processes.push({ name: `p${position + 1}`, pid: participant.pid });
    }
  }

  async start(): Promise<void> {
    await this.admin.connect();
    if ((await this.walFsyncs()) === null)
      this.notMeasured.push('PostgreSQL WAL fsyncs: neither pg_stat_io nor pg_stat_wal answered');
    this.notMeasured.push(
      "Kafka produce requests of the participants: only the coordinators' are counted (verdict_kafka_produce_requests_total)",
    );
  }

  async snapshot(): Promise<Snapshot> {
    const cpuSeconds = new Map<string, number | null>();
    for (const process_ of this.processes) {
      const pid = process_.pid();
      cpuSeconds.set(process_.name, pid === undefined ? null : treeCpuSeconds(pid));
    }
    cpuSeconds.set('load generator', ownCpuSeconds());
    const coordinators = await this.coordinatorMetrics();
    const snapshot: Snapshot = {
      cpuSeconds,
      machineBusySeconds: machineBusySeconds(),
      raftCommitIndex: coordinators.raftCommitIndex,
      coordinatorProduceRequests: coordinators.produceRequests,
      walFsyncs: await this.walFsyncs(),
      kafkaMessages: await this.kafkaMessages(),
      coordinatorFsyncs: coordinators.logSyncs,
    };
    return snapshot;
  }

  difference(before: Snapshot, after: Snapshot, _seconds: number): Differences {
    const minus = (left: number | null | undefined, right: number | null | undefined): number | null =>
      left === null || left === undefined || right === null || right === undefined ? null : left - right;
    const cpuSeconds = new Map<string, number | null>();
    for (const [name, value] of after.cpuSeconds)
      cpuSeconds.set(name, minus(value, before.cpuSeconds.get(name)));
    return {
      cpuSeconds,
      machineBusySeconds: minus(after.machineBusySeconds, before.machineBusySeconds),
      raftEntries: minus(after.raftCommitIndex, before.raftCommitIndex),
      coordinatorProduceRequests: minus(after.coordinatorProduceRequests, before.coordinatorProduceRequests),
      walFsyncs: minus(after.walFsyncs, before.walFsyncs),
      kafkaMessages: minus(after.kafkaMessages, before.kafkaMessages),
      coordinatorFsyncs: minus(after.coordinatorFsyncs, before.coordinatorFsyncs),
    };
  }

  async stop(): Promise<void> {
    await this.admin.disconnect();
    await this.pool.end();
  }

  /** The highest commit index of any node; produce requests and durable log writes of all nodes together. */
  private async coordinatorMetrics(): Promise<{
    readonly raftCommitIndex: number | null;
    readonly produceRequests: number | null;
    readonly logSyncs: number | null;
  }> {
    const scraped = await Promise.all(
      this.cluster.nodes.map(async (node) => {
        if (node.process === null) return null;
        try {
          const response = await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(2_000) });
          return parsePrometheus(await response.text());
        } catch {
          return null;
        }
      }),
    );
    const values = (name: string): number[] =>
      scraped.flatMap((samples) => {
        const value = samples === null ? null : metricValue(samples, name);
        return value === null ? [] : [value];
      });
    const indexes = values('verdict_raft_commit_index');
    // A node that did not answer would make a sum fall short: no number rather than a wrong one.
    const sumOfAll = (name: string): number | null => {
      const counted = values(name);
      return counted.length === this.cluster.nodes.length
        ? counted.reduce((sum, value) => sum + value, 0)
        : null;
    };
    return {
      raftCommitIndex: indexes.length === 0 ? null : Math.max(...indexes),
      produceRequests: sumOfAll('verdict_kafka_produce_requests_total'),
      logSyncs: sumOfAll('verdict_raft_log_syncs_total'),
    };
  }

  private async walFsyncs(): Promise<number | null> {
    for (const query of [
      "SELECT coalesce(sum(fsyncs), 0)::float8 AS n FROM pg_stat_io WHERE object = 'wal'",
      'SELECT wal_sync::float8 AS n FROM pg_stat_wal',
    ]) {
      try {
        // Statistics reach the shared counters when backends flush them (about once a second).
        await this.pool.query('SELECT pg_stat_clear_snapshot()');
        const result = await this.pool.query<{ n: number }>(query);
        const value = result.rows[0]?.n;
        if (typeof value === 'number') return value;
      } catch {
        // The other query is for the other PostgreSQL versions.
      }
    }
    return null;
  }

  private async kafkaMessages(): Promise<number | null> {
    try {
      let total = 0;
      for (const topic of this.topics) {
        const offsets = await this.admin.fetchTopicOffsets(topic);
        for (const partition of offsets) total += Number(partition.high);
      }
      return total;
    } catch {
      return null;
    }
  }
}

/** Busy seconds of every core together, from /proc/stat: everything that ran on the machine. */
export function machineBusySeconds(): number | null {
  try {
    const first = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const ticks = first.trim().split(/\s+/).slice(1).map(Number);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
    return (total - idle) / 100;
  } catch {
    return null;
  }
}

function levelResult(
  clients: number,
  variant: Variant,
  seconds: number,
  records: readonly TransactionRecord[],
  differences: Differences,
  stages: StageSummary | null,
): LevelResult {
  const committed = records.filter((record) => record.outcome === 'COMMIT');
  const count = committed.length;
  const per = (value: number | null): number | null => (value === null || count === 0 ? null : value / count);
  return {
    clients,
    variant,
    seconds,
    committed: count,
    aborted: records.filter((record) => record.outcome === 'ABORT').length,
    failed: records.filter((record) => record.outcome === 'FAILED').length,
    retriedRequests: records.reduce((sum, record) => sum + record.retries, 0),
    committedPerSecond: count / seconds,
    commitLatency: summarize(
      committed.flatMap((record) => (record.commitMs === null ? [] : [record.commitMs])),
    ),
    transactionLatency: summarize(committed.map((record) => record.latencyMs)),
    cpu: [...differences.cpuSeconds].map(([name, cpuSeconds]) => ({
      name,
      secondsPerTransaction: per(cpuSeconds),
      cores: cpuSeconds === null ? null : cpuSeconds / seconds,
    })),
    machineCpuSecondsPerTransaction: per(differences.machineBusySeconds),
    raftEntriesPerTransaction: per(differences.raftEntries),
    coordinatorFsyncsPerTransaction: per(differences.coordinatorFsyncs),
    postgresWalFsyncsPerTransaction: per(differences.walFsyncs),
    kafkaMessagesPerTransaction: per(differences.kafkaMessages),
    coordinatorProduceRequestsPerTransaction: per(differences.coordinatorProduceRequests),
    stages,
    failures: countReasons(
      records.flatMap((record) =>
        record.outcome !== 'COMMIT' && record.detail !== null ? [record.detail] : [],
      ),
      FAILURE_REASONS_MAX,
    ),
  };
}

export function formatLevel(level: LevelResult): string {
  const ms = (value: number | undefined): string => (value === undefined ? '-' : value.toFixed(1));
  const cpuMs = (name: string): string => {
    const found = level.cpu.find((entry) => entry.name === name)?.secondsPerTransaction;
    return found === null || found === undefined ? '-' : (found * 1000).toFixed(2);
  };
  const coordinatorCpu = level.cpu
    .filter((entry) => /^n\d$/.test(entry.name))
    .map((entry) => `${entry.name} ${cpuMs(entry.name)}`)
    .join(' ');
  const number = (value: number | null): string => (value === null ? '-' : value.toFixed(2));
  return (
    `${String(level.clients).padStart(4)} clients ${level.variant.padEnd(11)}: ${Math.round(level.committedPerSecond)} tx/s, ` +
    `commit p50/p99 ${ms(level.commitLatency?.p50Ms)}/${ms(level.commitLatency?.p99Ms)} ms, ` +
    `tx p50/p99/max ${ms(level.transactionLatency?.p50Ms)}/${ms(level.transactionLatency?.p99Ms)}/${ms(level.transactionLatency?.maxMs)} ms, ` +
    `aborted ${level.aborted}, failed ${level.failed}; CPU ms/tx: ${coordinatorCpu}, kafka ${cpuMs('kafka')}, ` +
    `postgres ${cpuMs('postgres')}, load ${cpuMs('load generator')}; per tx: Raft entries ${number(level.raftEntriesPerTransaction)}, ` +
    `coordinator fsyncs ${number(level.coordinatorFsyncsPerTransaction)}, Kafka messages ${number(level.kafkaMessagesPerTransaction)}, ` +
    `coordinator produce requests ${number(level.coordinatorProduceRequestsPerTransaction)}` +
    (level.stages === null ? '' : `\n      commit call stages p50/p99 ms: ${formatStages(level.stages)}`)
  );
}

/** The level that committed the most transactions per second; `levels` is never empty. */
function fastestLevel(levels: readonly LevelResult[]): LevelResult {
  return levels.reduce((left, right) => (right.committedPerSecond > left.committedPerSecond ? right : left));
}

function formatStages(stages: StageSummary): string {
  return STAGES.map(
    (stage) => `${stage} ${stages[stage]?.p50Ms.toFixed(0) ?? '-'}/${stages[stage]?.p99Ms.toFixed(0) ?? '-'}`,
  ).join('; ');
}

async function runFailover(
  cluster: CoordinatorCluster,
  variant: FailoverVariant,
  transaction: (clientIndex: number) => Promise<TransactionRecord>,
  now: () => number,
  bestLevel: LevelResult,
  say: (line: string) => void,
  stop: AbortSignal,
): Promise<FailoverResult> {
  const ratePerSecond = bestLevel.committedPerSecond / 2;
  const clients = Math.max(bestLevel.clients, 4);
  const victim = await cluster.waitForLeader(30_000);
  say(
    `failover: ${Math.round(ratePerSecond)} tx/s ${variant} offered by ${clients} clients for ${FAILOVER_TOTAL_MS / 1000} s; ` +
      `SIGKILL of leader ${victim.nodeId} at ${FAILOVER_KILL_MS / 1000} s, restart at ${FAILOVER_RESTART_MS / 1000} s`,
  );
  const offsetMs = now();
  const runNow = (): number => now() - offsetMs;
  let newLeaderAfterMs: number | null = null;
  let newLeader: string | null = null;
  const nemesis = (async () => {
    await sleep(Math.max(0, FAILOVER_KILL_MS - runNow()));
    const killedAt = runNow();
    await cluster.kill(victim);
    const survivors = cluster.nodes.filter((node) => node !== victim);
    while (newLeader === null && runNow() < FAILOVER_TOTAL_MS) {
      const elected = await leaderAmong(survivors);
      if (elected !== null) {
        newLeader = elected.nodeId;
        newLeaderAfterMs = runNow() - killedAt;
      } else {
        await sleep(10);
      }
    }
    await sleep(Math.max(0, FAILOVER_RESTART_MS - runNow()));
    cluster.startNode(victim);
  })();
  const records = await runClients({
    clients,
    untilMs: offsetMs + FAILOVER_TOTAL_MS,
    now,
    transaction,
    ratePerSecond,
    stop,
  });
  await nemesis;
  const shifted = records.map((record) => ({
    ...record,
    startedMs: record.startedMs - offsetMs,
    endedMs: record.endedMs - offsetMs,
  }));
  const timeline = bucketTimeline(shifted, TIMELINE_BUCKET_MS, 0, FAILOVER_TOTAL_MS);
  const shape = failoverShape(timeline, {
    killMs: FAILOVER_KILL_MS,
    steadyFromMs: 1_000,
    windowMs: 1_000,
    fullShare: FULL_RATE_SHARE,
  });
  const servedAgainMs = FAILOVER_KILL_MS + (newLeaderAfterMs ?? FAILOVER_TOTAL_MS);
  const lost = shifted.filter(
    (record) =>
      record.outcome !== 'COMMIT' &&
      record.startedMs < servedAgainMs + 1_000 &&
      record.endedMs >= FAILOVER_KILL_MS,
  );
  const result: FailoverResult = {
    variant,
    ratePerSecond,
    clients,
    killedNode: victim.nodeId,
    killAtMs: FAILOVER_KILL_MS,
    restartAtMs: FAILOVER_RESTART_MS,
    totalMs: FAILOVER_TOTAL_MS,
    newLeaderAfterMs,
    newLeader,
    shape,
    committed: shifted.filter((record) => record.outcome === 'COMMIT').length,
    aborted: shifted.filter((record) => record.outcome === 'ABORT').length,
    failed: shifted.filter((record) => record.outcome === 'FAILED').length,
    retriedRequests: shifted.reduce((sum, record) => sum + record.retries, 0),
    lostToFailover: lost.length,
    failures: countReasons(
      shifted.flatMap((record) => (record.outcome === 'COMMIT' ? [] : [record.detail ?? record.outcome])),
    ),
    timeline,
  };
  say(formatFailover(result));
  return result;
}

export function formatFailover(result: FailoverResult): string {
  return (
    `failover: ${Math.round(result.shape.baselinePerSecond)} tx/s before the kill, dip to ${Math.round(result.shape.dipPerSecond)} tx/s (1 s window), ` +
    `new leader ${result.newLeader ?? 'none'} after ${result.newLeaderAfterMs === null ? '-' : Math.round(result.newLeaderAfterMs)} ms, ` +
    `full rate back after ${result.shape.backToFullRateMs === null ? 'never' : `${result.shape.backToFullRateMs} ms`}, ` +
    `longest stall ${result.shape.longestStallMs} ms; ${result.committed} committed, ${result.aborted} aborted, ${result.failed} failed ` +
    `(${result.lostToFailover} around the failover), ${result.retriedRequests} requests retried`
  );
}
