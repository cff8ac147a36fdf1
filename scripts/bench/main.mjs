// `npm run bench`: the benchmark against real processes (scripts/bench/cli.mts).
import '../test-harness-hook.mjs';

const { runBenchCli } = await import('./cli.mjs');
process.exit(await runBenchCli(process.argv.slice(2)));
