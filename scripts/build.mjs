// `npm run build`: compile apps/ and libs/ with SWC into dist/, mirroring the source tree, so a
// service runs as `node dist/apps/<app>/src/main.js`. Type checking is a separate step
// (`npm run typecheck`): SWC only strips types, which keeps the build a few seconds long.
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;

// dist/ is overwritten in place, never deleted first: tests of other apps may be running processes
// from it at the same moment. A file left over from a deleted source is imported by nothing.

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
