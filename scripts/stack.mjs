// `npm run stack`: a Kafka broker and a PostgreSQL server for local development, until Ctrl-C.
import './mts-resolve-hook.mjs';

const { runStack } = await import('./stack/cli.mjs');
process.exit(await runStack(process.argv.slice(2), process.env));
