// The benchmark's no-op participant: the real participant SDK (libs/participant, from the build in
// dist/) around a service that votes YES at once and holds nothing, so a run measures Verdict and
// Kafka, not a database. Not durable: a YES here promises nothing after a crash, which a benchmark
// that never crashes a participant does not need. Started by scripts/bench/run.mts as
//   node scripts/bench/noop-participant.mts <name> <kafka brokers, comma-separated>
// and prints one line, `ready`, once it consumes its topic; SIGTERM stops it.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as ParticipantSdk from '../../libs/participant/src/index.js';
import type { ParticipantLogger, ParticipantService } from '../../libs/participant/src/index.js';

const SDK = fileURLToPath(new URL('../../dist/libs/participant/src/index.js', import.meta.url));

/** Votes YES to every PREPARE and acknowledges every decision, holding nothing in between. */
export const noopService: ParticipantService = {
  prepare: () => Promise.resolve({ vote: 'YES' }),
  commit: () => Promise.resolve(),
  abort: () => Promise.resolve(),
  inDoubt: () => Promise.resolve([]),
};

const silent = (): void => undefined;

/** Warnings and errors only, on stderr: a line per command would be the benchmark's biggest cost. */
export const quietLogger: ParticipantLogger = {
  debug: silent,
  info: silent,
  warn: (message, fields) => console.error(JSON.stringify({ level: 'warn', message, ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ level: 'error', message, ...fields })),
};

async function main(argv: readonly string[]): Promise<void> {
  const [name, brokers] = argv;
  if (name === undefined || brokers === undefined) {
    console.error('usage: noop-participant.mts <name> <broker,broker,...>');
    process.exit(2);
  }
  const { startParticipant } = createRequire(import.meta.url)(SDK) as typeof ParticipantSdk;
  const participant = await startParticipant({
    name,
    kafka: { brokers: brokers.split(',') },
    service: noopService,
    logger: quietLogger,
  });
  console.log('ready');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void participant.stop().finally(() => process.exit(0));
    });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
