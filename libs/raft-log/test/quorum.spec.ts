import { describe, expect, it } from 'vitest';
import { electionResult, majority, majorityMatchIndex, quorumActive } from '../src/core/quorum';

describe('quorum arithmetic', () => {
  it.each([
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
  ])('majority of %i voters is %i', (voters, expected) => {
    expect(majority(voters)).toBe(expected);
  });

  it.each([
    { matches: [], expected: 0 },
    { matches: [7], expected: 7 },
    { matches: [5, 3, 9], expected: 5 },
    { matches: [1, 1, 9, 9], expected: 1 },
    { matches: [4, 8, 2, 6, 10], expected: 6 },
  ])('majorityMatchIndex($matches) = $expected', ({ matches, expected }) => {
    const voters = matches.map((_, position) => `n${position}`);
    expect(majorityMatchIndex(voters, (nodeId) => matches[Number(nodeId.slice(1))] ?? 0)).toBe(expected);
  });

  it.each([
    { granted: ['a'], rejected: [], expected: 'pending' },
    { granted: ['a', 'b'], rejected: [], expected: 'won' },
    { granted: ['a'], rejected: ['b', 'c'], expected: 'lost' },
    { granted: ['a'], rejected: ['b'], expected: 'pending' },
    // Answers from non-voters (a learner, a removed node) do not count.
    { granted: ['a', 'x', 'y'], rejected: [], expected: 'pending' },
  ])('election with granted=$granted rejected=$rejected is $expected', ({ granted, rejected, expected }) => {
    const answers = new Map<string, boolean>([
      ...granted.map((nodeId) => [nodeId, true] as const),
      ...rejected.map((nodeId) => [nodeId, false] as const),
    ]);
    expect(electionResult(['a', 'b', 'c'], answers)).toBe(expected);
  });

  it('quorumActive counts only voters', () => {
    expect(quorumActive(['a', 'b', 'c'], (nodeId) => nodeId === 'a' || nodeId === 'b')).toBe(true);
    expect(quorumActive(['a', 'b', 'c'], (nodeId) => nodeId === 'a')).toBe(false);
  });
});
