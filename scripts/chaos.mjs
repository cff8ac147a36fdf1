// `npm run chaos`: a chaos run against the real processes (scripts/chaos/cli.mts).
import './test-harness-hook.mjs';

const { runChaosCli } = await import('./chaos/cli.mjs');
process.exit(await runChaosCli(process.argv.slice(2)));
