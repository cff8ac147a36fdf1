import { startStack } from './stack.mjs';
import { errorMessage } from './support.mjs';

export const USAGE = `usage: npm run stack [-- --fast]

Starts a Kafka broker and a PostgreSQL server (or uses the one in DATABASE_URL), prints how to
connect, and runs until Ctrl-C, then stops both.

  --fast   PostgreSQL without fsync: quicker, and its data can be corrupted by a crash.
           Never for benchmarks or anything that claims durability.
  --help   this text`;

export interface StackArguments {
  readonly durable: boolean;
  readonly help: boolean;
}

export function parseStackArguments(argv: readonly string[]): StackArguments {
  let durable = true;
  let help = false;
  for (const argument of argv) {
    if (argument === '--fast') durable = false;
    else if (argument === '--help' || argument === '-h') help = true;
    else throw new Error(`unknown argument "${argument}"\n\n${USAGE}`);
  }
  return { durable, help };
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** `npm run stack`; resolves with the process exit code. */
export async function runStack(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let options: StackArguments;
  try {
    options = parseStackArguments(argv);
  } catch (error) {
    console.error(errorMessage(error));
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }

  // Listening from the start: a Ctrl-C during start-up must still stop what has started.
  let signalled: NodeJS.Signals | undefined;
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    for (const name of SIGNALS) {
      // Kept for the whole run: npm forwards the terminal's SIGINT, so it comes twice, and the
      // default action of the second would kill us before the servers have stopped.
      process.on(name, () => {
        signalled ??= name;
        resolve(name);
      });
    }
  });
  const report = (line: string): void => console.log(`stack: ${line}`);
  const databaseUrl = env['DATABASE_URL'];
  let stack;
  try {
    stack = await startStack({
      durable: options.durable,
      databaseUrl: databaseUrl === undefined || databaseUrl === '' ? undefined : databaseUrl,
      report,
    });
  } catch (error) {
    console.error(`stack: ${errorMessage(error)}`);
    return 1;
  }
  if (signalled !== undefined) {
    await stack.stop({ keepLogs: false });
    return 0;
  }

  console.log(`
Kafka ${stack.kafka.version}
  KAFKA_BROKERS=${stack.connection.kafkaBrokers.join(',')}
${stack.postgres.description}${options.durable ? '' : ', --fast: no fsync'}
  DATABASE_URL=${stack.connection.databaseUrl}
Logs
  ${stack.logFiles.join('\n  ')}

Running. Ctrl-C stops both.`);

  const outcome = await Promise.race([
    signal.then((name) => ({ failed: false, reason: `received ${name}` })),
    stack.ended.then((reason) => ({ failed: true, reason })),
  ]);
  report(`${outcome.reason}; stopping`);
  await stack.stop({ keepLogs: outcome.failed });
  report(outcome.failed ? `stopped; logs kept in ${stack.directory}` : 'stopped');
  return outcome.failed ? 1 : 0;
}
