// `npm run build`: compile apps/ and libs/ with SWC into dist/, mirroring the source tree, so a
// service runs as `node dist/apps/<app>/src/main.js`. Type checking is a separate step
// (`npm run typecheck`): SWC only strips types, which keeps the build a few seconds long.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outDir = join(root, 'dist');

// A stale file from a deleted source would otherwise stay importable from dist/.
rmSync(outDir, { recursive: true, force: true });

const run = spawnSync(
  'npx',
  ['swc', 'apps', 'libs', '-d', 'dist', '--config-file', '.swcrc', '--ignore', '**/*.spec.ts,**/*.test.ts'],
  { cwd: root, stdio: 'inherit' },
);
if (run.error) {
  console.error(`build: could not start swc: ${run.error.message}`);
  process.exit(1);
}
process.exit(run.status ?? 1);
