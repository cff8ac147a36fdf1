// `npm run chaos`: starts its own throw-away Kafka and PostgreSQL, then one chaos run
// (scripts/chaos/run.mts); the exit code is 1 when the run found a violation.
import { startStack, type Stack } from '../stack/stack.mjs';
import { errorMessage } from '../stack/support.mjs';
import { FAULT_KINDS, runChaos, type ChaosOptions, type FaultKind } from './run.mjs';

/** With a fixed number of faults, the run lasts as long as they take; this only stops a hang. */
const SOAK_DURATION_SECONDS = 4 * 3600;

export const USAGE = `usage: npm run chaos -- [--transactions N] [--clients C] [--seed S] [--faults LIST] [--faults-per-kind K] [--duration SECONDS] [--fault-gap MIN-MAX]

Starts Kafka, PostgreSQL, three coordinator nodes and three demo banks, makes N random transfers
between banks from C concurrent clients while a nemesis seeded with S injects faults, heals
everything and checks atomicity, conservation of money and agreement with the coordinator.

  --transactions N   transfers to attempt (default 200)
  --clients C        concurrent clients (default 4)
  --seed S           seed of the fault schedule and the workload (default: from the clock)
  --faults LIST      comma-separated, from ${FAULT_KINDS.join(', ')} (default: all)
  --faults-per-kind K exactly K faults of each kind, in a seeded order; the transfers go on
                     until the last one has run (default: kinds at random while the workload runs)
  --duration SECONDS upper bound on the workload (default 300, or ${SOAK_DURATION_SECONDS} with --faults-per-kind)
  --fault-gap MIN-MAX quiet seconds between one fault's end and the next one's start (default 3-6)

Ctrl-C stops at once, without a check. \`kill -USR2 <pid>\` winds a long run down instead: no new
faults or transfers, then heal, wait for quiescence and check everything done so far.`;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function positiveInteger(name: string, value: string | undefined): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${name} needs a positive integer`);
  return parsed;
}

function faultGap(value: string | undefined): [number, number] {
  const match = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(value ?? '');
  const shortest = Number(match?.[1]);
  const longest = Number(match?.[2]);
  if (match === null || shortest > longest) {
    throw new Error('--fault-gap needs MIN-MAX seconds with MIN <= MAX, e.g. 1-3');
  }
  return [Math.round(shortest * 1000), Math.round(longest * 1000)];
}

export function parseChaosArguments(argv: readonly string[]): ChaosOptions | 'help' {
  let transactions = 200;
  let clients = 4;
  let seed = Date.now() % 2 ** 31;
  let faults: FaultKind[] = [...FAULT_KINDS];
  let faultsPerKind: number | undefined;
  let durationSeconds: number | undefined;
  let faultGapMs: [number, number] = [3_000, 6_000];
  for (let index = 0; index < argv.length; index += 1) {
    const flag = argv[index];
    const value = argv[index + 1];
    index += 1;
    if (flag === '--help' || flag === '-h') return 'help';
    else if (flag === '--transactions') transactions = positiveInteger(flag, value);
    else if (flag === '--clients') clients = positiveInteger(flag, value);
    else if (flag === '--seed') seed = positiveInteger(flag, value);
    else if (flag === '--duration') durationSeconds = positiveInteger(flag, value);
    else if (flag === '--faults-per-kind') faultsPerKind = positiveInteger(flag, value);
    else if (flag === '--fault-gap') faultGapMs = faultGap(value);
    else if (flag === '--faults') {
      const names = (value ?? '').split(',').filter((name) => name !== '');
      const unknown = names.filter((name) => !FAULT_KINDS.some((kind) => kind === name));
      if (unknown.length > 0) throw new Error(`unknown faults ${unknown.join(', ')}`);
      faults = FAULT_KINDS.filter((kind) => names.includes(kind));
    } else throw new Error(`unknown argument "${String(flag)}"`);
  }
  return {
    transactions,
    clients,
    seed,
    faults,
    faultsPerKind,
    durationSeconds: durationSeconds ?? (faultsPerKind === undefined ? 300 : SOAK_DURATION_SECONDS),
    faultGapMs,
    bankNames: ['bank-a', 'bank-b', 'bank-c'],
  };
}

/** `npm run chaos`; resolves with the process exit code. */
export async function runChaosCli(argv: readonly string[]): Promise<number> {
  let options: ChaosOptions | 'help';
  try {
    options = parseChaosArguments(argv);
  } catch (error) {
    console.error(`${errorMessage(error)}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  console.log(`SEED=${options.seed}`);
  console.log(
    `options: --transactions ${options.transactions} --clients ${options.clients} --faults ${options.faults.join(',')} ` +
      (options.faultsPerKind === undefined ? '' : `--faults-per-kind ${options.faultsPerKind} `) +
      `--duration ${options.durationSeconds} --fault-gap ${options.faultGapMs[0] / 1000}-${options.faultGapMs[1] / 1000}`,
  );
  const say = (line: string): void => console.log(`chaos: ${line}`);
  // Ctrl-C ends the run early; the run's own `finally` still stops every process it started.
  const stop = new AbortController();
  for (const name of SIGNALS) process.on(name, () => stop.abort(name));
  // SIGUSR2 ends a long soak early with its check: the run stops adding faults and transfers,
  // heals, and checks everything it did so far.
  const windDown = new AbortController();
  process.on('SIGUSR2', () => windDown.abort('SIGUSR2'));
  let stack: Stack | undefined;
  let exitCode = 1;
  try {
    const databaseUrl = process.env['DATABASE_URL'];
    stack = await startStack({
      durable: false,
      // postgres-restart crashes the server: it must not lose a commit it reported.
      crashSafeCommits: true,
      databaseUrl: databaseUrl === undefined || databaseUrl === '' ? undefined : databaseUrl,
      report: say,
    });
    const started = Date.now();
    const result = await runChaos(options, stack, say, stop.signal, windDown.signal);
    console.log(`run took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const line of result.summary) console.log(line);
    exitCode = result.violations.length > 0 || result.harnessFailure !== null ? 1 : 0;
  } catch (error) {
    console.error(`chaos: ${errorMessage(error)}`);
  } finally {
    await stack?.stop({ keepLogs: exitCode !== 0 });
  }
  return exitCode;
}
