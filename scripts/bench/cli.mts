// `npm run bench`: starts its own Kafka and PostgreSQL (fsync on), runs the benchmark
// (scripts/bench/run.mts), writes <results>/<name>.json and report.md, and ends with the
// `bench: …` line.
import { startStack, type Stack } from '../stack/stack.mjs';
import { errorMessage } from '../stack/support.mjs';
import { parseBenchArguments, USAGE, type BenchOptions } from './options.mjs';

export { USAGE };
import { benchOnStack } from './write.mjs';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** `npm run bench`; resolves with the process exit code. */
export async function runBenchCli(argv: readonly string[]): Promise<number> {
  let options: BenchOptions | 'help';
  try {
    options = parseBenchArguments(argv);
  } catch (error) {
    console.error(`${errorMessage(error)}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  const say = (line: string): void => console.log(`bench: ${line}`);
  // Ctrl-C ends the run early; the run's own `finally` still stops every process it started.
  const stop = new AbortController();
  for (const name of SIGNALS) process.on(name, () => stop.abort(name));
  let stack: Stack | undefined;
  let exitCode = 1;
  try {
    const databaseUrl = process.env['DATABASE_URL'];
    // Durable: PostgreSQL with fsync, as the coordinator's Raft log always is.
    stack = await startStack({
      durable: true,
      databaseUrl: databaseUrl === undefined || databaseUrl === '' ? undefined : databaseUrl,
      report: say,
    });
    const last = await benchOnStack(options, stack.connection, say, stop.signal);
    console.log(last);
    exitCode = 0;
  } catch (error) {
    console.error(`bench: ${errorMessage(error)}`);
  } finally {
    await stack?.stop({ keepLogs: exitCode !== 0 });
  }
  return exitCode;
}
