// `npm run fuzz:rest`: schemathesis against a real coordinator cluster (scripts/fuzz-rest/cli.mts).
import './test-harness-hook.mjs';

const { runFuzzRestCli } = await import('./fuzz-rest/cli.mjs');
process.exit(await runFuzzRestCli(process.argv.slice(2)));
