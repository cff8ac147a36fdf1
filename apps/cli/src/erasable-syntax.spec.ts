// bin/verdict.mjs runs these sources with Node's type stripping, which refuses TypeScript that
// needs code generation (parameter properties, enums, namespaces). tsc and SWC accept those, so
// only this check keeps the no-build path of `npx verdict` working.
import { readdirSync, readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const sources = readdirSync(__dirname).filter((name) => name.endsWith('.ts') && !name.endsWith('.spec.ts'));

describe('apps/cli sources run with type stripping alone', () => {
  it('finds the sources', () => {
    expect(sources).toContain('main.ts');
  });

  it.each(sources)('%s uses erasable syntax only', (name) => {
    const code = readFileSync(join(__dirname, name), 'utf8');
    expect(() => stripTypeScriptTypes(code, { mode: 'strip' })).not.toThrow();
  });
});
