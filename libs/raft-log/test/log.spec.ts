import { describe, expect, it } from 'vitest';
import { InvariantViolation } from '../src/core/assert';
import { RaftLog } from '../src/core/log';
import type { Entry } from '../src/core/types';

const membership = { voters: ['n1'], learners: [] };
const entry = (index: number, term: number): Entry => ({
  index,
  term,
  kind: 'command',
  data: new Uint8Array(0),
});
/** Log with terms [1, 1, 2, 2, 3] at indexes 1..5 (nothing committed). */
const makeLog = (): RaftLog =>
  new RaftLog(
    { index: 0, term: 0, membership },
    [1, 1, 2, 2, 3].map((term, position) => entry(position + 1, term)),
    0,
  );

describe('RaftLog', () => {
  it.each([
    // index, term -> the largest index <= index whose term <= term
    [5, 3, 5],
    [5, 2, 4],
    [4, 1, 2],
    [9, 2, 4],
    [3, 0, 0],
  ])('findConflictByTerm(%i, %i) = %i', (index, term, expected) => {
    expect(makeLog().findConflictByTerm(index, term)).toBe(expected);
  });

  it.each([
    [5, 3, true],
    [6, 3, true],
    [4, 3, false],
    [9, 2, false],
    [1, 4, true],
  ])('isUpToDate(lastIndex %i, lastTerm %i) = %s', (lastIndex, lastTerm, expected) => {
    expect(makeLog().isUpToDate(lastIndex, lastTerm)).toBe(expected);
  });

  it('refuses to truncate a committed entry, naming both indexes', () => {
    const log = makeLog();
    log.commitTo(3);
    expect(() => log.truncateFrom(3)).toThrow(InvariantViolation);
    expect(() => log.truncateFrom(3)).toThrow('truncate from 3 would drop committed entries (commitIndex 3)');
  });

  it('reports a truncation when an emitted entry is overwritten', () => {
    const log = makeLog();
    log.stableTo(entry(5, 3));
    log.truncateFrom(4);
    log.append(entry(4, 4));
    expect(log.unstable()).toEqual({ entries: [entry(4, 4)], truncateFromIndex: 4 });
  });

  it('compaction keeps the entries after the snapshot and answers their terms', () => {
    const log = makeLog();
    log.stableTo(entry(5, 3));
    log.commitTo(4);
    log.appliedTo(4);
    log.compact({ index: 3, term: 2, membership });
    expect(log.firstIndex()).toBe(4);
    expect(log.term(3)).toBe(2);
    expect(log.term(2)).toBeUndefined();
    expect(log.lastIndex()).toBe(5);
  });

  it('rejects a restored commitIndex beyond the restored log', () => {
    expect(() => new RaftLog({ index: 0, term: 0, membership }, [entry(1, 1)], 2)).toThrow(
      'restored commitIndex 2 beyond lastIndex 1',
    );
  });
});
