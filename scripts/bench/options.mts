// `npm run bench` arguments: parsed and checked here, with a sentence naming what is wrong.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Variant } from './load.mjs';

export const PARTICIPANT_KINDS = ['noop', 'postgres'] as const;
export type ParticipantKind = (typeof PARTICIPANT_KINDS)[number];
/** How the failover's transactions are sent; the committed results use begin + enlist + commit. */
export const FAILOVER_VARIANTS = ['enlist', 'one-request'] as const satisfies readonly Variant[];
export type FailoverVariant = (typeof FAILOVER_VARIANTS)[number];

/** Committed with the repository: the report embeds the charts from here. */
export const RESULTS_DIRECTORY = fileURLToPath(new URL('../../bench/results', import.meta.url));
/** Concurrency levels above this only queue inside the coordinator on a 2-core machine. */
const CLIENTS_MAX = 1024;
const DURATION_SECONDS_MAX = 3_600;
/** Far above what the stack commits here: a paced level above its capacity only measures queues. */
const PACED_RATE_MAX = 100_000;
const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Names the report and the smoke test do not treat as runs of this benchmark. */
const RESERVED_NAMES = new Set(['raft', 'report']);

export interface BenchOptions {
  readonly participants: 1 | 2 | 3;
  readonly kind: ParticipantKind;
  /** Closed-loop clients at each level, in the order run. */
  readonly clients: readonly number[];
  /** Measured seconds per level and per variant (after its warm-up). */
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  /** Unmeasured load before the floors and the first level, so every JIT has compiled the path. */
  readonly stackWarmupSeconds: number;
  readonly failover: boolean;
  /** The failover's transactions, at half the best rate of the same variant. */
  readonly failoverVariant: FailoverVariant;
  /**
   * Transactions/s offered on a schedule after the closed-loop levels; null: half the best
   * one-request rate of this run. A fixed rate lets two runs of different code compare at one load.
   */
  readonly pacedRate: number | null;
  /** Coordinators run with --cpu-prof; their profiles land in the results folder (git-ignored). */
  readonly cpuProfile: boolean;
  /** DTM on the same PostgreSQL after each level, at its clients (scripts/bench/dtm.mts). */
  readonly dtm: boolean;
  /** bench/results/<name>.json and the charts' file names. */
  readonly name: string;
  readonly resultsDirectory: string;
}

export const USAGE = `usage: npm run bench -- [--participants 1|2|3] [--kind noop|postgres] [--clients LIST]
                        [--duration SECONDS] [--warmup SECONDS] [--stack-warmup SECONDS] [--failover]
                        [--failover-variant enlist|one-request] [--paced-rate TX_PER_S]
                        [--cpu-prof] [--dtm] [--name NAME] [--results DIR]

Starts Kafka and PostgreSQL (fsync on), three coordinator processes and the participants, measures
the floors (Kafka round trip, fsync, one Raft commit, PREPARE TRANSACTION), then runs closed-loop
clients at each level: begin + enlist + commit, then the same with participants named at begin.
Writes <results>/<name>.json and <results>/report.md with SVG charts.

  --participants N  participants per transaction, 1 to 3 (default 2)
  --kind KIND       noop: a participant that votes YES at once (default); postgres: the demo bank
  --clients LIST    comma-separated concurrency levels (default 1,4,16,64)
  --duration S      measured seconds per level and variant (default 15)
  --warmup S        unmeasured seconds before each level (default 2)
  --stack-warmup S  unmeasured seconds of load at 16 clients before the floors and the first level,
                    so that the JVM's and Node's compilers have done their work (default 10)
  --failover        afterwards, half the best rate for 20 s with the leader killed (SIGKILL) at 5 s
                    and restarted at 10 s: tx/s and p99 per 100 ms
  --failover-variant V
                    enlist: begin + enlist + commit (default); one-request: begin with commit,
                    at half the best one-request rate
  --paced-rate R    offer the paced level at R tx/s instead of half the best one-request rate,
                    so that runs of two builds compare at the same load
  --cpu-prof        run the coordinators with --cpu-prof: one .cpuprofile per node in the results
                    folder, and their hottest functions printed
  --dtm             after each level, DTM (built from source with Go, once) at the same clients on
                    the same PostgreSQL: a saga of as many no-op HTTP branches, with durable branch
                    updates and with DTM's default; needs --kind noop
  --name NAME       result name (default <kind>-<participants>p)
  --results DIR     where to write (default bench/results)`;

function integerIn(flag: string, text: string | undefined, low: number, high: number): number {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isInteger(value) || value < low || value > high) {
    throw new Error(`${flag} needs an integer from ${low} to ${high}, got ${JSON.stringify(text ?? null)}`);
  }
  return value;
}

export function parseBenchArguments(argv: readonly string[]): BenchOptions | 'help' {
  let participants: 1 | 2 | 3 = 2;
  let kind: ParticipantKind = 'noop';
  let clients: number[] = [1, 4, 16, 64];
  let durationSeconds = 15;
  let warmupSeconds = 2;
  let stackWarmupSeconds = 10;
  let failover = false;
  let failoverVariant: FailoverVariant = 'enlist';
  let pacedRate: number | null = null;
  let cpuProfile = false;
  let dtm = false;
  let name: string | undefined;
  let resultsDirectory = RESULTS_DIRECTORY;
  for (let index = 0; index < argv.length; index += 1) {
    const flag = argv[index];
    if (flag === '--help' || flag === '-h') return 'help';
    if (flag === '--failover') {
      failover = true;
      continue;
    }
    if (flag === '--cpu-prof') {
      cpuProfile = true;
      continue;
    }
    if (flag === '--dtm') {
      dtm = true;
      continue;
    }
    const value = argv[index + 1];
    index += 1;
    switch (flag) {
      case '--participants':
        participants = integerIn(flag, value, 1, 3) as 1 | 2 | 3;
        break;
      case '--kind': {
        const found = PARTICIPANT_KINDS.find((candidate) => candidate === value);
        if (found === undefined) {
          throw new Error(
            `--kind must be one of ${PARTICIPANT_KINDS.join(', ')}, got ${JSON.stringify(value ?? null)}`,
          );
        }
        kind = found;
        break;
      }
      case '--clients': {
        const parts = (value ?? '').split(',');
        clients = parts.map((part) => integerIn('--clients', part, 1, CLIENTS_MAX));
        if (new Set(clients).size !== clients.length)
          throw new Error(`--clients lists a level twice: ${value}`);
        break;
      }
      case '--duration':
        durationSeconds = integerIn(flag, value, 1, DURATION_SECONDS_MAX);
        break;
      case '--warmup':
        warmupSeconds = integerIn(flag, value, 0, DURATION_SECONDS_MAX);
        break;
      case '--stack-warmup':
        stackWarmupSeconds = integerIn(flag, value, 0, DURATION_SECONDS_MAX);
        break;
      case '--failover-variant': {
        const found = FAILOVER_VARIANTS.find((candidate) => candidate === value);
        if (found === undefined) {
          throw new Error(
            `--failover-variant must be one of ${FAILOVER_VARIANTS.join(', ')}, got ${JSON.stringify(value ?? null)}`,
          );
        }
        failoverVariant = found;
        break;
      }
      case '--paced-rate':
        pacedRate = integerIn(flag, value, 1, PACED_RATE_MAX);
        break;
      case '--name':
        if (value === undefined || !NAME_PATTERN.test(value) || RESERVED_NAMES.has(value)) {
          throw new Error(
            `--name must be lowercase letters, digits and dashes (not ${[...RESERVED_NAMES].join(' or ')}), got ${JSON.stringify(value ?? null)}`,
          );
        }
        name = value;
        break;
      case '--results':
        if (value === undefined || value === '') throw new Error('--results needs a directory');
        resultsDirectory = resolve(value);
        break;
      default:
        throw new Error(`unknown argument ${JSON.stringify(flag)}`);
    }
  }
  if (dtm && kind !== 'noop') {
    throw new Error('--dtm compares no-op participants with no-op DTM branches: use it with --kind noop');
  }
  return {
    participants,
    kind,
    clients,
    durationSeconds,
    warmupSeconds,
    stackWarmupSeconds,
    failover,
    failoverVariant,
    pacedRate,
    cpuProfile,
    dtm,
    name: name ?? `${kind}-${participants}p`,
    resultsDirectory,
  };
}
