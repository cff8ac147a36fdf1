import { describe, expect, it } from 'vitest';
import { parseStartArguments } from './product.mjs';

describe('npm start arguments', () => {
  it('keeps the data of earlier starts unless --fresh is given', () => {
    expect(parseStartArguments([])).toEqual({ fresh: false, help: false });
    expect(parseStartArguments(['--fresh'])).toEqual({ fresh: true, help: false });
    expect(parseStartArguments(['-h'])).toEqual({ fresh: false, help: true });
  });

  it('refuses an unknown argument and shows the usage', () => {
    expect(() => parseStartArguments(['--fast'])).toThrow(/unknown argument "--fast"[\s\S]*usage: npm start/);
  });
});
