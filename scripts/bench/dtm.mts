// The DTM baseline (`npm run bench -- --dtm`): the issue compares Verdict with DTM measured on
// "this kind of machine", but these machines differ from hour to hour by 2-3x. So the run measures
// DTM itself, on the same PostgreSQL, at each client level right after Verdict's: the ratio of the
// two is what the run can vouch for.
//
// After Verdict's half-load level DTM is offered the same rate, paced, by as many clients: its p99
// at one offered load beside Verdict's.
//
// DTM runs as its own benchmark does (helper/bench in its repository): a saga of one no-op HTTP
// branch per participant, submitted with wait_result, so the answer comes once every branch has
// run. Closed-loop clients, keep-alive HTTP, PostgreSQL with fsync as the store. Two modes:
// `durable` (UpdateBranchSync: 1) writes each branch's status before it goes on, as Verdict's log
// is written before it answers; `default` is DTM's own setting for PostgreSQL, which writes branch
// statuses in batches every 200 ms (a crash loses them and the branches run again).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDatabase } from '../stack/databases.mjs';
import { freePorts } from '../stack/ports.mjs';
import type { StackConnection } from '../stack/stack.mjs';
import { sleep } from '../stack/support.mjs';
import { ownCpuSeconds, pidListeningOn, treeCpuSeconds } from './cpu.mjs';
import { RestClient, runFor, type TransactionRecord } from './load.mjs';
import type { BenchOptions } from './options.mjs';
import { FAILURE_REASONS_MAX, machineBusySeconds, spawnReady, stopChild, type ProcessCpu } from './run.mjs';
import { countReasons, summarize, type LatencySummary } from './stats.mjs';

/** Pinned in scripts/bench/dtm/go.mod (a `tool` line), built once into .cache/dtm. */
export const DTM_VERSION = 'v1.19.0';
const DTM_MODULE = 'github.com/dtm-labs/dtm';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GO_MODULE_DIRECTORY = fileURLToPath(new URL('./dtm', import.meta.url));
const BINARY = join(ROOT, '.cache', 'dtm', `dtm-${DTM_VERSION}`);
const READY_TIMEOUT_MS = 60_000;
/**
 * Each DTM server's pool of store connections. DTM's default (500) is above what PostgreSQL allows
 * by default (100): at 256 clients DTM failed sagas with "sorry, too many clients already". Both
 * servers stay up for the whole run beside Verdict's coordinators (4 each), so 2 x 32 + 12 fit.
 */
const DTM_CONNECTIONS_MAX = 32;
/** Unmeasured load at 16 clients after each start: Go and PostgreSQL warm up as Verdict's stack did. */
const DTM_WARMUP_SECONDS_MAX = 5;

export const DTM_MODES = ['durable', 'default'] as const;
export type DtmMode = (typeof DTM_MODES)[number];

export interface DtmLevel {
  readonly mode: DtmMode;
  readonly clients: number;
  readonly seconds: number;
  readonly committed: number;
  readonly failed: number;
  readonly committedPerSecond: number;
  /** The submit call, which answers once every branch has run. */
  readonly latency: LatencySummary | null;
  readonly cpu: readonly ProcessCpu[];
  readonly machineCpuSecondsPerTransaction: number | null;
  readonly failures: readonly string[];
}

export interface DtmBaseline {
  readonly version: string;
  readonly setup: string;
  readonly levels: readonly DtmLevel[];
  /**
   * Each mode offered the rate of Verdict's half-load level, paced, by as many clients: the p99 at
   * one offered load. Null when Verdict had no half-load level; absent in runs before it existed.
   */
  readonly halfLoad?: DtmHalfLoad | null;
}

export interface DtmHalfLoad {
  readonly ratePerSecond: number;
  readonly levels: readonly DtmLevel[];
}

/** The saga DTM is given: one action and one compensation per branch, each a no-op. */
export function sagaRequest(gid: string, branchUrls: readonly string[]): Record<string, unknown> {
  return {
    gid,
    trans_type: 'saga',
    protocol: 'http',
    wait_result: true,
    steps: branchUrls.map((url) => ({ action: `${url}/action`, compensate: `${url}/compensate` })),
    payloads: branchUrls.map(() => '{}'),
  };
}

/** DTM's configuration (YAML, of which JSON is a part) for the store at `databaseUrl`. */
export function dtmConfig(
  databaseUrl: string,
  ports: { readonly http: number; readonly grpc: number; readonly jsonRpc: number },
  mode: DtmMode,
): string {
  const url = new URL(databaseUrl);
  return JSON.stringify(
    {
      Store: {
        Driver: 'postgres',
        Host: url.hostname,
        Port: Number(url.port || '5432'),
        User: decodeURIComponent(url.username),
        Password: decodeURIComponent(url.password),
        Db: url.pathname.slice(1),
        Schema: 'public',
        MaxOpenConns: DTM_CONNECTIONS_MAX,
        MaxIdleConns: DTM_CONNECTIONS_MAX,
      },
      HttpPort: ports.http,
      GrpcPort: ports.grpc,
      JsonRpcPort: ports.jsonRpc,
      LogLevel: 'warn',
      UpdateBranchSync: mode === 'durable' ? 1 : 0,
    },
    null,
    2,
  );
}

function go(args: readonly string[]): { ok: boolean; output: string } {
  const answer = spawnSync('go', args, { cwd: GO_MODULE_DIRECTORY, encoding: 'utf8' });
  return {
    ok: answer.status === 0,
    output: `${answer.stdout ?? ''}${answer.stderr ?? ''}${answer.error?.message ?? ''}`.trim(),
  };
}

export interface DtmBuild {
  readonly binary: string;
  /** DTM's own schema for a PostgreSQL store, from its module's sources. */
  readonly schema: string;
}

/**
 * Builds DTM with Go unless built before. Called before Verdict's levels, so that a machine
 * without Go fails the run at once rather than after them.
 */
export function buildDtm(say: (line: string) => void): DtmBuild {
  const version = go(['version']);
  if (!version.ok) {
    throw new Error(
      `--dtm builds DTM ${DTM_VERSION} from source and needs Go 1.24 or newer on PATH: ${version.output}`,
    );
  }
  if (!existsSync(BINARY)) {
    say(`building DTM ${DTM_VERSION} with ${version.output} (once; a few minutes)`);
    mkdirSync(join(ROOT, '.cache', 'dtm'), { recursive: true });
    const built = go(['build', '-o', BINARY, DTM_MODULE]);
    if (!built.ok) throw new Error(`building DTM ${DTM_VERSION} failed: ${built.output}`);
  }
  const listed = go(['list', '-m', '-f', '{{.Dir}}', DTM_MODULE]);
  if (!listed.ok) throw new Error(`finding DTM's sources failed: ${listed.output}`);
  return { binary: BINARY, schema: join(listed.output, 'sqls', 'dtmsvr.storage.postgres.sql') };
}

interface DtmServer {
  readonly mode: DtmMode;
  readonly child: ChildProcess;
  readonly transaction: () => Promise<TransactionRecord>;
}

/**
 * DTM beside Verdict: started before Verdict's levels and measured right after each of them at the
 * same clients, so that the machine's drift within a run (30% in minutes, seen) falls on both
 * alike. DTM's processes are stopped while Verdict is measured; Verdict's idle through DTM's
 * levels, its coordinators and participants at ~3% of a core.
 */
export class DtmBaselineRun {
  private readonly levels: DtmLevel[] = [];
  private halfLoad: { ratePerSecond: number; levels: DtmLevel[] } | null = null;
  private readonly started = performance.now();
  private readonly servers: DtmServer[] = [];
  /** The branch processes, continued for every mode's levels. */
  private readonly branches: ChildProcess[] = [];
  /** The processes measured beside each mode's DTM server: the branches and PostgreSQL. */
  private processes: [string, number | null][] = [];
  private readonly rest: RestClient;

  private constructor(
    private readonly options: BenchOptions,
    private readonly say: (line: string) => void,
    private readonly stopSignal: AbortSignal,
    private readonly directory: string,
    private readonly children: ChildProcess[],
    private readonly killAll: () => void,
  ) {
    this.rest = new RestClient('', Math.max(...options.clients) + 8);
  }

  /** Branches, then one DTM server per mode, each warmed up; everything stops with stop(). */
  static async start(
    { binary, schema }: DtmBuild,
    options: BenchOptions,
    stack: StackConnection,
    runId: string,
    say: (line: string) => void,
    stopSignal: AbortSignal,
  ): Promise<DtmBaselineRun> {
    const children: ChildProcess[] = [];
    const killAll = (): void => {
      for (const child of children) child.kill('SIGKILL');
    };
    process.on('exit', killAll);
    const run = new DtmBaselineRun(
      options,
      say,
      stopSignal,
      mkdtempSync(join(tmpdir(), 'verdict-bench-dtm-')),
      children,
      killAll,
    );
    try {
      await run.startServers(binary, schema, stack, runId);
    } catch (error) {
      await run.stop();
      throw error;
    }
    run.freeze(true);
    return run;
  }

  /**
   * Idle, each DTM server still spends ~24 ms of CPU a second (its cron and batch timers): while
   * Verdict is measured DTM's processes are stopped (SIGSTOP), and each server is continued for
   * its own levels only.
   */
  private freeze(frozen: boolean, children: readonly ChildProcess[] = this.children): void {
    for (const child of children) child.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  private now(): number {
    return performance.now() - this.started;
  }

  private async startServers(
    binary: string,
    schema: string,
    stack: StackConnection,
    runId: string,
  ): Promise<void> {
    const { options, directory } = this;
    const branchPorts = await freePorts(options.participants);
    for (const [index, port] of branchPorts.entries()) {
      const branch = await spawnReady(
        'dtm-branch.mts',
        [String(port)],
        join(directory, `branch-${index + 1}.log`),
      );
      this.children.push(branch);
      this.branches.push(branch);
    }
    const branchUrls = branchPorts.map((port) => `http://127.0.0.1:${port}`);
    this.processes = [
      ...this.branches.map((child, index): [string, number | null] => [
        `branch ${index + 1}`,
        child.pid ?? null,
      ]),
      ['postgres', pidListeningOn(Number(new URL(stack.databaseUrl).port || '5432'))],
    ];
    for (const mode of DTM_MODES) {
      const databaseUrl = await createDatabase(stack.databaseUrl, `bench_dtm_${runId}_${mode}`);
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(readFileSync(schema, 'utf8'));
      } finally {
        await client.end();
      }
      const [http, grpc, jsonRpc] = await freePorts(3);
      const configFile = join(directory, `dtm-${mode}.yml`);
      writeFileSync(
        configFile,
        dtmConfig(databaseUrl, { http: http!, grpc: grpc!, jsonRpc: jsonRpc! }, mode),
      );
      const url = `http://127.0.0.1:${http}`;
      const child = await startDtm(binary, configFile, join(directory, `dtm-${mode}.log`), url);
      this.children.push(child);
      let sequence = 0;
      const transaction = async (): Promise<TransactionRecord> => {
        sequence += 1;
        const gid = `bench-${runId}-${mode}-${sequence}`;
        const startedMs = this.now();
        let detail: string | null = null;
        try {
          const answer = await this.rest.post(url, '/api/dtmsvr/submit', sagaRequest(gid, branchUrls));
          if (answer.status !== 200 || answer.body['dtm_result'] !== 'SUCCESS') {
            detail = `HTTP ${answer.status}: ${JSON.stringify(answer.body).slice(0, 200)}`;
          }
        } catch (error) {
          detail = error instanceof Error ? error.message : String(error);
        }
        const endedMs = this.now();
        return {
          startedMs,
          endedMs,
          latencyMs: endedMs - startedMs,
          commitMs: endedMs - startedMs,
          outcome: detail === null ? 'COMMIT' : 'FAILED',
          retries: 0,
          detail,
          txId: gid,
          commitCall: null,
        };
      };
      const warmupSeconds = Math.min(options.stackWarmupSeconds, DTM_WARMUP_SECONDS_MAX);
      if (warmupSeconds > 0) {
        await runFor(warmupSeconds, {
          clients: 16,
          now: () => this.now(),
          transaction,
          stop: this.stopSignal,
        });
      }
      this.servers.push({ mode, child, transaction });
      this.say(`dtm ${DTM_VERSION} (${mode}) ready; ${options.participants} no-op HTTP branches`);
    }
  }

  /**
   * One level of each mode at `clients`: a warm-up, then the measured window, closed loop or, for
   * Verdict's half-load level, paced to the same `ratePerSecond`.
   */
  async measure(clients: number, ratePerSecond?: number): Promise<void> {
    if (ratePerSecond !== undefined) this.halfLoad = { ratePerSecond, levels: [] };
    this.freeze(false, this.branches);
    try {
      for (const server of this.servers) {
        if (this.stopSignal.aborted) throw new Error('stopped');
        this.freeze(false, [server.child]);
        try {
          await this.measureMode(server, clients, ratePerSecond);
        } finally {
          this.freeze(true, [server.child]);
        }
      }
    } finally {
      this.freeze(true, this.branches);
    }
  }

  private async measureMode(server: DtmServer, clients: number, ratePerSecond?: number): Promise<void> {
    const { options } = this;
    const load = {
      clients,
      now: () => this.now(),
      transaction: server.transaction,
      stop: this.stopSignal,
      ...(ratePerSecond === undefined ? {} : { ratePerSecond }),
    };
    if (options.warmupSeconds > 0) await runFor(options.warmupSeconds, load);
    const processes: [string, number | null][] = [['dtm', server.child.pid ?? null], ...this.processes];
    const cpuOf = (): (number | null)[] =>
      processes.map(([, pid]) => (pid === null ? null : treeCpuSeconds(pid)));
    const cpuBefore = cpuOf();
    const ownBefore = ownCpuSeconds();
    const machineBefore = machineBusySeconds();
    const { records, seconds } = await runFor(options.durationSeconds, load);
    const cpuAfter = cpuOf();
    const machineAfter = machineBusySeconds();
    const level = dtmLevel(
      server.mode,
      clients,
      seconds,
      records,
      [
        ...processes.map(([name], index): [string, number | null] => {
          const before = cpuBefore[index] ?? null;
          const after = cpuAfter[index] ?? null;
          return [name, before === null || after === null ? null : after - before];
        }),
        ['load generator', ownCpuSeconds() - ownBefore],
      ],
      machineBefore === null || machineAfter === null ? null : machineAfter - machineBefore,
    );
    if (ratePerSecond === undefined) {
      this.levels.push(level);
      this.say(formatDtmLevel(level));
    } else {
      this.halfLoad?.levels.push(level);
      this.say(`half load: ${formatDtmLevel(level)}`);
    }
  }

  result(): DtmBaseline {
    return {
      version: DTM_VERSION,
      setup:
        `DTM ${DTM_VERSION} (Go, built from its module), PostgreSQL store with fsync, saga of ${this.options.participants} ` +
        `no-op HTTP branches (Node processes) submitted with wait_result, closed-loop clients over keep-alive HTTP/1.1 ` +
        `from the benchmark process; each level right after Verdict's at the same clients (and, paced, at Verdict's half-load rate), Verdict's processes idle meanwhile ` +
        `(DTM's are stopped with SIGSTOP while Verdict is measured, each DTM server but during its own levels)`,
      levels: this.levels,
      halfLoad: this.halfLoad,
    };
  }

  async stop(): Promise<void> {
    // A stopped process takes SIGTERM only once continued.
    this.freeze(false);
    await this.rest.close();
    await Promise.all(this.children.map((child) => stopChild(child)));
    process.off('exit', this.killAll);
    rmSync(this.directory, { recursive: true, force: true });
  }
}

async function startDtm(
  binary: string,
  configFile: string,
  logFile: string,
  url: string,
): Promise<ChildProcess> {
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(binary, ['-c', configFile], { cwd: ROOT, stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
  const exited = once(child, 'exit');
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      const response = await fetch(`${url}/api/dtmsvr/version`, { signal: AbortSignal.timeout(500) });
      if (response.ok) return child;
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `DTM exited while starting; see ${logFile}: ${readFileSync(logFile, 'utf8').slice(-500)}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`DTM did not answer at ${url} within ${READY_TIMEOUT_MS / 1000} s; see ${logFile}`);
    }
    await sleep(100);
  }
}

function dtmLevel(
  mode: DtmMode,
  clients: number,
  seconds: number,
  records: readonly TransactionRecord[],
  cpuSeconds: readonly [string, number | null][],
  machineSeconds: number | null,
): DtmLevel {
  const committed = records.filter((record) => record.outcome === 'COMMIT');
  const count = committed.length;
  const per = (value: number | null): number | null => (value === null || count === 0 ? null : value / count);
  return {
    mode,
    clients,
    seconds,
    committed: count,
    failed: records.length - count,
    committedPerSecond: count / seconds,
    latency: summarize(committed.map((record) => record.latencyMs)),
    cpu: cpuSeconds.map(([name, used]) => ({
      name,
      secondsPerTransaction: per(used),
      cores: used === null ? null : used / seconds,
    })),
    machineCpuSecondsPerTransaction: per(machineSeconds),
    failures: countReasons(
      records.flatMap((record) => (record.detail === null ? [] : [record.detail])),
      FAILURE_REASONS_MAX,
    ),
  };
}

export function formatDtmLevel(level: DtmLevel): string {
  const ms = (value: number | undefined): string => (value === undefined ? '-' : value.toFixed(1));
  const cpu = level.cpu
    .map(
      (entry) =>
        `${entry.name} ${entry.secondsPerTransaction === null ? '-' : (entry.secondsPerTransaction * 1000).toFixed(2)}`,
    )
    .join(', ');
  return (
    `dtm ${level.mode.padEnd(7)} ${String(level.clients).padStart(4)} clients: ${Math.round(level.committedPerSecond)} tx/s, ` +
    `p50/p99/max ${ms(level.latency?.p50Ms)}/${ms(level.latency?.p99Ms)}/${ms(level.latency?.maxMs)} ms, failed ${level.failed}; ` +
    `CPU ms/tx: ${cpu}` +
    (level.failures.length === 0 ? '' : `; failures: ${level.failures.join('; ')}`)
  );
}
