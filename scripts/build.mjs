// `npm run build`: compile apps/ and libs/ with SWC into dist/, mirroring the source tree, so a
// service runs as `node dist/apps/<app>/src/main.js`; then build the operator console with Vite
// into dist/console, which every coordinator node serves at /console. Type checking is a separate
// step (`npm run typecheck`): SWC and Vite only strip types, which keeps the build a few seconds long.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// VERDICT_DIST_DIR builds elsewhere than dist/ (relative to the clone, and inside it, so that
// node_modules is found), for tests that must not replace the code other processes run from dist/.
const dist = resolve(root, process.env.VERDICT_DIST_DIR || 'dist');

// dist/ is overwritten in place, never deleted first: tests of other apps may be running processes
// from it at the same moment. A file left over from a deleted source is imported by nothing.

const run = spawnSync(
  'npx',
  [
    'swc',
    'apps',
    'libs',
    '-d',
    dist,
    '--config-file',
    '.swcrc',
    '--ignore',
    '**/*.spec.ts,**/*.test.ts,apps/console/**',
  ],
  { cwd: root, stdio: 'inherit' },
);
if (run.error) {
  console.error(`build: could not start swc: ${run.error.message}`);
  process.exit(1);
}
if (run.status !== 0) process.exit(run.status ?? 1);

await buildConsole();

/**
 * The console is rebuilt only when a file under apps/console (or the lock file) is newer than the
 * last build, so the integration tests, which build before they start coordinators, stay fast.
 * Vite writes into a fresh folder that then replaces dist/console by rename: a coordinator
 * serving the console meanwhile never sees a half-written folder.
 */
async function buildConsole() {
  const source = join(root, 'apps', 'console');
  const target = join(dist, 'console');
  const builtAtMs = existsSync(join(target, 'index.html')) ? statSync(join(target, 'index.html')).mtimeMs : 0;
  const changedAtMs = Math.max(newestMtimeMs(source), statSync(join(root, 'package-lock.json')).mtimeMs);
  if (changedAtMs < builtAtMs) return;

  const { build } = await import('vite');
  const fresh = join(dist, `.console-${process.pid}`);
  const stale = join(dist, `.console-old-${process.pid}`);
  try {
    await build({
      configFile: join(source, 'vite.config.mts'),
      build: { outDir: fresh, emptyOutDir: true },
    });
  } catch (error) {
    rmSync(fresh, { recursive: true, force: true });
    console.error(
      `build: the console did not build: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  }
  if (existsSync(target)) renameSync(target, stale);
  renameSync(fresh, target);
  rmSync(stale, { recursive: true, force: true });
  console.log(`build: console written to ${target}`);
}

function newestMtimeMs(directory) {
  let newest = statSync(directory).mtimeMs;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}
