// `npm run chaos`: a chaos run against the real processes (scripts/chaos/cli.mts).
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import './mts-resolve-hook.mjs';

const testDirectory = new URL('../test/', import.meta.url).href;

// The run reuses the test harnesses (test/**/*.ts), written for Vitest: TypeScript imported as
// `.js`, and CommonJS's `__dirname`, which Node gives no ES module. Both are supplied here.
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

const { runChaosCli } = await import('./chaos/cli.mjs');
process.exit(await runChaosCli(process.argv.slice(2)));
