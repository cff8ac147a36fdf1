// Regenerates docs/images/console-{transactions,transaction,cluster}.png from a real cluster:
// runs the console's browser test (test/integration/console.test.ts), which starts Kafka,
// PostgreSQL, three coordinator nodes and scripted participants, makes a few transactions and a
// stuck one, and screenshots each page at the moment it shows something worth seeing.
//
//   node scripts/console-screenshots.mjs
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const images = join(root, 'docs', 'images');

const run = spawnSync(
  'npx',
  ['vitest', 'run', '--project', 'integration', 'test/integration/console.test.ts'],
  { cwd: root, stdio: 'inherit', env: { ...process.env, VERDICT_CONSOLE_SCREENSHOTS: images } },
);
if (run.error !== undefined) {
  console.error(`console-screenshots: could not start vitest: ${run.error.message}`);
  process.exit(1);
}
if (run.status === 0) console.log(`console-screenshots: written to ${images}`);
process.exit(run.status ?? 1);
