import type { Entry, HardState, Index } from '../core/types';
import { assert } from '../core/assert';
import { EMPTY_HARD_STATE } from './log-store';

/**
 * The log's range as it will be once every call made so far has taken effect. Both stores check
 * each call against it when the call is made (not when it reaches the disk), so a caller's
 * mistake fails at the caller's line.
 */
export class LogBounds {
  // Invariant: firstIndex >= 1.
  private firstIndex: Index = 1;
  // Invariant: lastIndex >= firstIndex - 1.
  private lastIndex: Index = 0;
  // Invariant: term never decreases; votedFor changes only with a new term.
  private hardState: HardState = EMPTY_HARD_STATE;

  reset(firstIndex: Index, lastIndex: Index, hardState: HardState): void {
    assert(Number.isSafeInteger(firstIndex) && firstIndex >= 1, `firstIndex ${firstIndex} must be >= 1`);
    assert(lastIndex >= firstIndex - 1, `lastIndex ${lastIndex} is below firstIndex ${firstIndex} - 1`);
    this.firstIndex = firstIndex;
    this.lastIndex = lastIndex;
    this.hardState = hardState;
  }

  /** Returns the index `write` removes from before appending, or null when it only appends. */
  checkWrite(entries: readonly Entry[], hardState: HardState | null): Index | null {
    if (hardState !== null) this.checkHardState(hardState);
    const first = entries[0];
    if (first === undefined) return null;
    assert(
      first.index >= this.firstIndex && first.index <= this.lastIndex + 1,
      `write starts at index ${first.index}, outside [${this.firstIndex}, ${this.lastIndex + 1}]`,
    );
    for (let position = 0; position < entries.length; position += 1) {
      const entry = entries[position];
      assert(entry !== undefined, 'entries array has a hole');
      assert(
        entry.index === first.index + position,
        `write entries are not contiguous: expected index ${first.index + position}, got ${entry.index}`,
      );
      assert(
        Number.isSafeInteger(entry.term) && entry.term >= 1,
        `entry ${entry.index} has term ${entry.term}`,
      );
    }
    const truncateFrom = first.index <= this.lastIndex ? first.index : null;
    this.lastIndex = first.index + entries.length - 1;
    return truncateFrom;
  }

  checkTruncateSuffix(fromIndex: Index): void {
    assert(
      fromIndex >= this.firstIndex && fromIndex <= this.lastIndex + 1,
      `truncateSuffix(${fromIndex}) outside [${this.firstIndex}, ${this.lastIndex + 1}]`,
    );
    this.lastIndex = fromIndex - 1;
  }

  checkCompactPrefix(throughIndex: Index): void {
    assert(
      throughIndex >= this.firstIndex - 1,
      `compactPrefix(${throughIndex}) is below the already compacted index ${this.firstIndex - 1}`,
    );
    this.firstIndex = throughIndex + 1;
    this.lastIndex = Math.max(this.lastIndex, throughIndex);
  }

  private checkHardState(next: HardState): void {
    const previous = this.hardState;
    assert(next.term >= previous.term, `hard state term moved backwards: ${previous.term} -> ${next.term}`);
    assert(
      next.term > previous.term || previous.votedFor === null || next.votedFor === previous.votedFor,
      `votedFor changed within term ${next.term}: ${previous.votedFor} -> ${String(next.votedFor)}`,
    );
    assert(
      next.commitIndex >= previous.commitIndex,
      `commitIndex moved backwards: ${previous.commitIndex} -> ${next.commitIndex} at term ${next.term}`,
    );
    this.hardState = next;
  }
}
