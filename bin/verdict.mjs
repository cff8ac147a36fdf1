#!/usr/bin/env node
// `npx verdict`: the operator CLI (apps/cli). Plain JavaScript so that any Node can start it.
//
// It runs the TypeScript source directly (Node 24 strips the types), so the CLI in a checkout is
// always the code in that checkout: no build to forget, no stale dist/ from another branch. Only
// where the source is absent (an image holding dist/ alone) does it load the SWC build.
// `npm ci` installs Node 24 into node_modules; a shell whose `node` is older (system Node 20)
// gets re-executed on that one, so `npx verdict` works whichever node is first on PATH.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDirectory = join(root, 'apps', 'cli', 'src');
const source = join(sourceDirectory, 'main.ts');
const built = join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
const bundledNode = join(root, 'node_modules', 'node', 'bin', 'node');

/** Type stripping without a flag and module.registerHooks: Node 22.18 / 23.6 and newer. */
function canRunTypeScript(version) {
  const [major, minor] = version.split('.').map(Number);
  return major >= 24 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
}

if (!canRunTypeScript(process.versions.node) && existsSync(bundledNode)) {
  const child = spawnSync(bundledNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  if (child.error !== undefined) {
    console.error(`verdict: could not start ${bundledNode}: ${child.error.message}`);
    process.exit(1);
  }
  if (child.signal !== null) process.kill(process.pid, child.signal);
  process.exit(child.status ?? 1);
} else if (canRunTypeScript(process.versions.node) && existsSync(source)) {
  const { registerHooks } = await import('node:module');
  const sourceUrl = pathToFileURL(sourceDirectory).href + '/';
  registerHooks({
    // The sources import each other without an extension, as tsc (CommonJS) and SWC want; in
    // ES modules that needs this mapping to the `.ts` file. The format is stated so that Node
    // neither guesses it from package.json (which names no "type") nor warns about guessing.
    resolve(specifier, context, nextResolve) {
      const parent = context.parentURL ?? '';
      const relative = specifier.startsWith('./') || specifier.startsWith('../');
      const url =
        relative && parent.startsWith(sourceUrl) ? new URL(`${specifier}.ts`, parent).href : specifier;
      if (url.startsWith(sourceUrl) && url.endsWith('.ts')) {
        return { url, format: 'module-typescript', shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
  });
  await import(pathToFileURL(source).href);
} else if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  console.error(
    `verdict: cannot start: run it with Node 22.18 or newer (this is ${process.version}), ` +
      'or run `npm ci` (installs Node 24) or `npm run build` (writes dist/) first',
  );
  process.exit(1);
}
