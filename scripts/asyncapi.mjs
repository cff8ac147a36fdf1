// `node scripts/asyncapi.mjs`: writes docs/asyncapi.json, the AsyncAPI 3 document of the Kafka side
// that libs/protocol generates from its zod schemas (the coordinator serves the same document at
// /asyncapi.json). `--check` only compares and exits 1 when the file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';
import '../libs/raft-log/sim-loader.mjs';

const { buildAsyncApiDocument } = await import('../libs/protocol/src/asyncapi.ts');
const target = new URL('../docs/asyncapi.json', import.meta.url);
// Formatted as `npm run format` would, so the committed file passes the format check.
const text = await format(JSON.stringify(buildAsyncApiDocument()), {
  ...(await resolveConfig(target)),
  filepath: target.pathname,
});
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // a missing file is stale
  }
  if (current !== text) {
    console.error('docs/asyncapi.json is stale: run node scripts/asyncapi.mjs');
    process.exit(1);
  }
  console.log('docs/asyncapi.json is up to date');
} else {
  writeFileSync(target, text);
  console.log(`wrote docs/asyncapi.json (${text.length} bytes)`);
}
