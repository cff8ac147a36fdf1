// `npm run fuzz:rest`: starts its own throw-away Kafka and PostgreSQL and three coordinator
// processes, then fuzzes the REST API of one node with schemathesis (scripts/fuzz-rest/run.mts);
// the exit code is 1 when schemathesis found anything.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinatorCluster, OPERATOR_KEY, SERVICE_KEY } from '../../test/support/coordinator-cluster.js';
import { createDatabase } from '../stack/databases.mjs';
import { startStack, type Stack } from '../stack/stack.mjs';
import { errorMessage } from '../stack/support.mjs';
import { fuzzRest } from './run.mjs';

export const USAGE = `usage: npm run fuzz:rest -- [--max-examples N] [--seed S] [--workers W] [--target leader|follower]

Starts Kafka, PostgreSQL and three coordinator nodes, then runs schemathesis against one node's
/openapi.json with every check: the examples, coverage, fuzzing and stateful phases (begin →
enlist → commit/abort → read, following the document's links), first with an operator key over
every operation but the cluster-changing ones, then with a service key over those (403).

  --max-examples N  test cases per operation and phase (default 100)
  --seed S          schemathesis' seed (default: from the clock)
  --workers W       concurrent schemathesis workers (default 2)
  --target T        the leader, or a follower that forwards to it (default leader)
  --keep            keep the cluster's logs and schemathesis' reports even when nothing failed

Reports (JUnit XML, NDJSON events) are written to a temporary folder named at the end.`;

interface FuzzRestCliOptions {
  readonly maxExamples: number;
  readonly seed: number;
  readonly workers: number;
  readonly target: 'leader' | 'follower';
  readonly keep: boolean;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function positiveInteger(name: string, value: string | undefined): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${name} needs a positive integer`);
  return parsed;
}

export function parseFuzzRestArguments(argv: readonly string[]): FuzzRestCliOptions | 'help' {
  let maxExamples = 100;
  let seed = Date.now() % 2 ** 31;
  let workers = 2;
  let target: 'leader' | 'follower' = 'leader';
  let keep = false;
  for (let index = 0; index < argv.length; index += 1) {
    const flag = argv[index];
    if (flag === '--help' || flag === '-h') return 'help';
    if (flag === '--keep') {
      keep = true;
      continue;
    }
    const value = argv[index + 1];
    index += 1;
    if (flag === '--max-examples') maxExamples = positiveInteger(flag, value);
    else if (flag === '--seed') seed = positiveInteger(flag, value);
    else if (flag === '--workers') workers = positiveInteger(flag, value);
    else if (flag === '--target') {
      if (value !== 'leader' && value !== 'follower') throw new Error('--target is leader or follower');
      target = value;
    } else throw new Error(`unknown argument "${String(flag)}"`);
  }
  return { maxExamples, seed, workers, target, keep };
}

/** `npm run fuzz:rest`; resolves with the process exit code. */
export async function runFuzzRestCli(argv: readonly string[]): Promise<number> {
  let options: FuzzRestCliOptions | 'help';
  try {
    options = parseFuzzRestArguments(argv);
  } catch (error) {
    console.error(`${errorMessage(error)}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  console.log(
    `options: --max-examples ${options.maxExamples} --seed ${options.seed} --workers ${options.workers} --target ${options.target}`,
  );
  const say = (line: string): void => console.log(`fuzz:rest: ${line}`);
  const stop = new AbortController();
  for (const name of SIGNALS) process.on(name, () => stop.abort(name));
  let stack: Stack | undefined;
  let cluster: CoordinatorCluster | undefined;
  let exitCode = 1;
  const reportDirectory = mkdtempSync(join(tmpdir(), 'verdict-fuzz-rest-'));
  try {
    const databaseUrl = process.env['DATABASE_URL'];
    stack = await startStack({
      durable: false,
      databaseUrl: databaseUrl === undefined || databaseUrl === '' ? undefined : databaseUrl,
      report: say,
    });
    const history = await createDatabase(stack.connection.databaseUrl, `fuzz_rest_${process.pid}`);
    say('starting three coordinator nodes');
    cluster = await CoordinatorCluster.start({
      kafkaBrokers: stack.connection.kafkaBrokers,
      databaseUrl: history,
    });
    const leader = await cluster.waitForLeader(120_000);
    const node =
      options.target === 'leader' ? leader : (cluster.nodes.find((each) => each !== leader) ?? leader);
    say(`fuzzing ${node.nodeId} (${options.target}) at ${node.url}`);
    const started = Date.now();
    const result = await fuzzRest({
      baseUrl: node.url,
      operatorKey: OPERATOR_KEY,
      serviceKey: SERVICE_KEY,
      maxExamples: options.maxExamples,
      seed: options.seed,
      workers: options.workers,
      reportDirectory,
      signal: stop.signal,
      output: (line) => console.log(line),
    });
    console.log(`run took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const line of result.summary) console.log(line);
    exitCode = result.failed || stop.signal.aborted ? 1 : 0;
  } catch (error) {
    console.error(`fuzz:rest: ${errorMessage(error)}`);
  } finally {
    const keep = exitCode !== 0 || options.keep;
    // CoordinatorCluster.stop keeps the nodes' folders (logs, Raft data) with this set.
    if (keep) process.env['VERDICT_KEEP_TEST_DATA'] = '1';
    await cluster?.stop();
    await stack?.stop({ keepLogs: keep });
    console.log(`reports in ${reportDirectory}`);
  }
  return exitCode;
}
