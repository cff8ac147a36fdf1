// `npm run bench`: the benchmark against real processes (scripts/bench/cli.mts).
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../mts-resolve-hook.mjs';

const testDirectory = new URL('../../test/', import.meta.url).href;

// The run reuses the test harnesses that start coordinator and bank processes (test/support,
// written for Vitest: TypeScript imported as `.js`, and CommonJS's `__dirname`), as
// `npm run chaos` does; both are supplied here the same way.
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL !== undefined) {
      const source = new URL(`${specifier.slice(0, -'.js'.length)}.ts`, context.parentURL);
      if (!existsSync(new URL(specifier, context.parentURL)) && existsSync(source)) {
        return nextResolve(source.href, context);
      }
    }
    return nextResolve(specifier, context);
  },
  load(url, context, nextLoad) {
    const loaded = nextLoad(url, context);
    if (!url.startsWith(testDirectory) || !url.endsWith('.ts')) return loaded;
    const directory = JSON.stringify(dirname(fileURLToPath(url)));
    return {
      ...loaded,
      format: 'module-typescript',
      source: `const __dirname = ${directory};\n${String(loaded.source)}`,
    };
  },
});

const { runBenchCli } = await import('./cli.mjs');
process.exit(await runBenchCli(process.argv.slice(2)));
