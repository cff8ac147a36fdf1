// Lets a script run the test harnesses (test/**/*.ts), which are written for Vitest: TypeScript
// imported as `.js`, and CommonJS's `__dirname`, which Node gives no ES module. Both are supplied
// here. Import it (after mts-resolve-hook.mjs) before importing anything from test/.
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import './mts-resolve-hook.mjs';

const testDirectory = new URL('../test/', import.meta.url).href;

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
