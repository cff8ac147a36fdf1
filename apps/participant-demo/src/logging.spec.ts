import { describe, expect, it } from 'vitest';
import { nestLogLevels } from './logging';

describe('nestLogLevels', () => {
  it.each([
    ['fatal', ['fatal']],
    ['warn', ['fatal', 'error', 'warn']],
    ['info', ['fatal', 'error', 'warn', 'log']],
    ['trace', ['fatal', 'error', 'warn', 'log', 'debug', 'verbose']],
  ] as const)('LOG_LEVEL=%s enables %j', (level, expected) => {
    expect(nestLogLevels(level)).toEqual(expected);
  });
});
