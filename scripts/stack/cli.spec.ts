import { describe, expect, it } from 'vitest';
import { parseStackArguments } from './cli.mjs';

describe('npm run stack arguments', () => {
  it('is durable unless --fast is given', () => {
    expect(parseStackArguments([])).toEqual({ durable: true, help: false });
    expect(parseStackArguments(['--fast'])).toEqual({ durable: false, help: false });
    expect(parseStackArguments(['--help'])).toEqual({ durable: true, help: true });
  });

  it('names an unknown argument and shows the usage', () => {
    expect(() => parseStackArguments(['--fsat'])).toThrow(
      /unknown argument "--fsat"[\s\S]*usage: npm run stack/,
    );
  });
});
