import { describe, expect, it } from 'vitest';
import { ParticipantLastSeen } from './participant-last-seen';

describe('ParticipantLastSeen', () => {
  it('keeps the latest reply time per name; null for a name never heard from', () => {
    const seen = new ParticipantLastSeen(4);
    seen.record('bank-a', 1_000);
    seen.record('bank-b', 2_000);
    seen.record('bank-a', 3_000);
    expect(seen.lastSeenAtMsOf('bank-a')).toBe(3_000);
    expect(seen.lastSeenAtMsOf('bank-b')).toBe(2_000);
    expect(seen.lastSeenAtMsOf('bank-c')).toBeNull();
  });

  it('past the limit it forgets the name heard from longest ago, not the first one recorded', () => {
    const seen = new ParticipantLastSeen(2);
    seen.record('bank-a', 1_000);
    seen.record('bank-b', 2_000);
    seen.record('bank-a', 3_000);
    seen.record('bank-c', 4_000);
    expect(seen.names().sort()).toEqual(['bank-a', 'bank-c']);
    expect(seen.lastSeenAtMsOf('bank-b')).toBeNull();
  });

  it('a flood of distinct names never holds more than the limit', () => {
    const seen = new ParticipantLastSeen(16);
    for (let index = 0; index < 10_000; index += 1) seen.record(`p-${index}`, index);
    expect(seen.names()).toHaveLength(16);
    expect(seen.lastSeenAtMsOf('p-9999')).toBe(9_999);
  });

  it('refuses a limit that is not a positive whole number', () => {
    expect(() => new ParticipantLastSeen(0)).toThrow('positive whole number');
    expect(() => new ParticipantLastSeen(1.5)).toThrow('positive whole number');
  });
});
