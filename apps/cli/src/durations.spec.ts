import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './durations';

describe('parseDuration (--older-than, --timeout)', () => {
  it.each([
    ['250ms', 250],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1.5s', 1_500],
    [' 10s ', 10_000],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['5', '', 'm', '5 m', '5w', '-5s', '1h junk'])('refuses %j, naming the accepted form', (text) => {
    expect(() => parseDuration(text)).toThrow(/is not a duration; write it like 90s, 5m, 1h30m or 2d/);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [12_400, '12s'],
    [130_000, '2m 10s'],
    [3_600_000, '1h'],
    [11_100_000, '3h 5m'],
    [187_200_000, '2d 4h'],
    [-5, '0ms'],
  ])('%i ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
