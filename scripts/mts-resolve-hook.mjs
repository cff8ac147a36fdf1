// The local-stack and product scripts are TypeScript (scripts/**/*.mts), which Node 24 runs by
// stripping the types. Their imports name the `.mjs` files TypeScript would emit, so that tsc and
// Vitest resolve them; this hook maps such an import to the `.mts` source when no `.mjs` file
// exists. Import it before the first `.mts` module.
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith('.') && specifier.endsWith('.mjs') && context.parentURL !== undefined) {
      const source = new URL(`${specifier.slice(0, -'.mjs'.length)}.mts`, context.parentURL);
      if (!existsSync(new URL(specifier, context.parentURL)) && existsSync(source)) {
        return nextResolve(source.href, context);
      }
    }
    return nextResolve(specifier, context);
  },
});
