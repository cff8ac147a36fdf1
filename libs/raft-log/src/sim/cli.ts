// `npm run sim -- --seeds <N> --first-seed <S> [--nodes 3|5] [--steps <K>]`
// Runs seeds S .. S+N-1 through the simulator. A failing seed prints its options, the broken
// invariant and the recent event trace; `--seeds 1 --first-seed <S>` replays it exactly.
import { formatOptions, runSeed } from './simulator';

interface CliArguments {
  readonly seeds: number;
  readonly firstSeed: number;
  readonly nodeCount: number;
  readonly steps: number;
}

function parseArguments(argv: readonly string[]): CliArguments {
  const values = new Map<string, number>();
  for (let index = 0; index < argv.length; index += 2) {
    const flag = argv[index] ?? '';
    const raw = argv[index + 1];
    const value = Number(raw);
    if (
      !['--seeds', '--first-seed', '--nodes', '--steps'].includes(flag) ||
      raw === undefined ||
      !Number.isInteger(value) ||
      value < 0
    ) {
      throw new Error(
        `bad argument ${flag} ${raw ?? ''}: usage --seeds <N> --first-seed <S> [--nodes 3|5] [--steps <K>]`,
      );
    }
    values.set(flag, value);
  }
  const nodeCount = values.get('--nodes') ?? 3;
  if (nodeCount !== 3 && nodeCount !== 5) throw new Error(`--nodes ${nodeCount}: must be 3 or 5`);
  return {
    seeds: values.get('--seeds') ?? 30,
    firstSeed: values.get('--first-seed') ?? Math.floor(Date.now() % 1_000_000),
    nodeCount,
    steps: values.get('--steps') ?? 1500,
  };
}

function main(): number {
  const cli = parseArguments(process.argv.slice(2));
  const started = performance.now();
  let violations = 0;
  for (let seed = cli.firstSeed; seed < cli.firstSeed + cli.seeds; seed += 1) {
    const result = runSeed({ seed, nodeCount: cli.nodeCount, steps: cli.steps });
    const { stats } = result;
    const summary = `acknowledged=${stats.acknowledged} applied=${stats.applied} maxTerm=${stats.maxTerm} crashes=${stats.crashes}`;
    if (result.violation === null) {
      console.log(`${formatOptions(result.options)} ok ${summary}`);
      continue;
    }
    violations += 1;
    console.log(formatOptions(result.options));
    console.log(
      `VIOLATION seed=${seed} tick=${result.violation.tick} invariant=${result.violation.invariant}: ${result.violation.detail}`,
    );
    console.log(
      `recent events (replay: npm run sim -- --seeds 1 --first-seed ${seed} --nodes ${cli.nodeCount} --steps ${cli.steps}):`,
    );
    for (const line of result.trace.slice(-80)) console.log(`  ${line}`);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`sim: ${seconds} s for ${cli.seeds} seeds of ${cli.steps} steps on ${cli.nodeCount} nodes`);
  console.log(`sim: ${cli.seeds} seeds, ${violations} violations`);
  return violations > 0 ? 1 : 0;
}

process.exitCode = main();
