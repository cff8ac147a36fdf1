import { assert } from './assert';
import type { Entry, Index, SnapshotMetadata, Term } from './types';

/**
 * The core's in-memory view of its log: a snapshot boundary followed by the entries after it.
 * The host restores it at start from durable storage; afterwards every change leaves through
 * Ready and the view tracks which suffix is not yet durable.
 */
export class RaftLog {
  /** Entries with index snapshotIndex + 1 .. lastIndex(), in order, no gaps. */
  private entries: Entry[];
  private snapshot: SnapshotMetadata;
  /** Invariant: snapshot.index <= appliedIndex <= commitIndex <= lastIndex(). */
  commitIndex: Index;
  /** Last index the host has applied to its state machine (or restored from a snapshot). */
  appliedIndex: Index;
  /**
   * Last index known durable on this node; entries after it are handed out in the next Ready.
   * Invariant: snapshot.index <= stableIndex <= lastIndex().
   */
  stableIndex: Index;
  /** Highest index ever handed out for persistence; an entry at or below it being replaced needs a truncation. */
  private emittedIndex: Index;

  constructor(snapshot: SnapshotMetadata, entries: readonly Entry[], commitIndex: Index) {
    this.snapshot = snapshot;
    this.entries = [];
    for (const entry of entries) {
      if (entry.index <= snapshot.index) continue; // The store may keep a margin below the snapshot.
      assert(
        entry.index === snapshot.index + this.entries.length + 1,
        `restored log has a gap: expected index ${snapshot.index + this.entries.length + 1}, got ${entry.index}`,
      );
      this.entries.push(entry);
    }
    this.stableIndex = this.lastIndex();
    this.emittedIndex = this.lastIndex();
    // The store writes entries before the hard state that commits them, so a durable commitIndex
    // always has its entries; below the snapshot it only means the snapshot is newer.
    assert(
      commitIndex <= this.lastIndex(),
      `restored commitIndex ${commitIndex} beyond lastIndex ${this.lastIndex()}`,
    );
    this.commitIndex = Math.max(snapshot.index, commitIndex);
    this.appliedIndex = snapshot.index;
    this.checkInvariants();
  }

  snapshotMetadata(): SnapshotMetadata {
    return this.snapshot;
  }

  /** First index still held as an entry (snapshot.index + 1 even when there is none). */
  firstIndex(): Index {
    return this.snapshot.index + 1;
  }

  lastIndex(): Index {
    return this.snapshot.index + this.entries.length;
  }

  lastTerm(): Term {
    return this.term(this.lastIndex()) ?? this.snapshot.term;
  }

  /** The term at `index`, or undefined when it is compacted away or beyond the end. */
  term(index: Index): Term | undefined {
    if (index === this.snapshot.index) return this.snapshot.term;
    return this.entry(index)?.term;
  }

  entry(index: Index): Entry | undefined {
    if (index <= this.snapshot.index) return undefined;
    return this.entries[index - this.snapshot.index - 1];
  }

  /** Entries in [from, to], at most `countMax` of them and about `bytesMax` bytes (at least one). */
  slice(from: Index, to: Index, countMax: number, bytesMax: number): Entry[] {
    assert(
      from > this.snapshot.index,
      `slice from ${from} is compacted (snapshot index ${this.snapshot.index})`,
    );
    assert(to <= this.lastIndex(), `slice to ${to} is beyond lastIndex ${this.lastIndex()}`);
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = from; index <= to && result.length < countMax; index += 1) {
      const entry = this.entry(index);
      assert(entry !== undefined, `entry ${index} missing inside [${from}, ${to}]`);
      bytes += entry.data.byteLength;
      if (result.length > 0 && bytes > bytesMax) break;
      result.push(entry);
    }
    return result;
  }

  /** Whether a candidate's log (lastIndex, lastTerm) is at least as up to date as ours (Raft §5.4.1). */
  isUpToDate(lastIndex: Index, lastTerm: Term): boolean {
    return lastTerm > this.lastTerm() || (lastTerm === this.lastTerm() && lastIndex >= this.lastIndex());
  }

  /**
   * The largest index <= `index` whose term is <= `term`: where a leader and follower may agree.
   * Never goes below the snapshot, which is committed and so matches everyone.
   */
  findConflictByTerm(index: Index, term: Term): Index {
    let candidate = Math.min(index, this.lastIndex());
    while (candidate > this.snapshot.index) {
      const candidateTerm = this.term(candidate);
      if (candidateTerm !== undefined && candidateTerm <= term) break;
      candidate -= 1;
    }
    return candidate;
  }

  /** Appends after lastIndex; returns nothing because a leader's append cannot conflict. */
  append(entry: Entry): void {
    assert(
      entry.index === this.lastIndex() + 1,
      `append at ${entry.index} but lastIndex is ${this.lastIndex()}`,
    );
    assert(entry.term >= this.lastTerm(), `append term ${entry.term} below last term ${this.lastTerm()}`);
    this.entries.push(entry);
  }

  /**
   * Removes [fromIndex, ∞). Only uncommitted entries may go: truncating a committed entry would
   * break state machine safety.
   */
  truncateFrom(fromIndex: Index): void {
    assert(
      fromIndex > this.commitIndex,
      `truncate from ${fromIndex} would drop committed entries (commitIndex ${this.commitIndex})`,
    );
    assert(fromIndex <= this.lastIndex(), `truncate from ${fromIndex} beyond lastIndex ${this.lastIndex()}`);
    this.entries.length = fromIndex - this.snapshot.index - 1;
    this.stableIndex = Math.min(this.stableIndex, fromIndex - 1);
  }

  commitTo(index: Index): void {
    assert(index <= this.lastIndex(), `commitIndex ${index} beyond lastIndex ${this.lastIndex()}`);
    if (index > this.commitIndex) this.commitIndex = index;
  }

  /** Entries not yet handed out for persistence, and whether the store must first drop an overwritten suffix. */
  unstable(): { entries: Entry[]; truncateFromIndex: Index | null } {
    const entries = this.entries.slice(this.stableIndex - this.snapshot.index);
    const first = entries[0];
    const truncateFromIndex = first !== undefined && first.index <= this.emittedIndex ? first.index : null;
    return { entries, truncateFromIndex };
  }

  /** Records that the entries up to `last` were handed to the host (not yet durable). */
  emitted(last: Entry | undefined): void {
    if (last !== undefined) this.emittedIndex = last.index;
  }

  /** The host made entries up to `last` durable. Ignored when the entry was replaced meanwhile. */
  stableTo(last: Entry): void {
    if (this.term(last.index) === last.term && last.index > this.stableIndex) this.stableIndex = last.index;
  }

  /** Committed entries the host has not applied yet, in index order. */
  toApply(): Entry[] {
    if (this.commitIndex <= this.appliedIndex) return [];
    return this.entries.slice(
      this.appliedIndex - this.snapshot.index,
      this.commitIndex - this.snapshot.index,
    );
  }

  /** The host applied entries up to `index`; a snapshot restored meanwhile may already be past it. */
  appliedTo(index: Index): void {
    assert(index <= this.commitIndex, `applied ${index} beyond commitIndex ${this.commitIndex}`);
    if (index > this.appliedIndex) this.appliedIndex = index;
  }

  /** Drops entries up to the snapshot the host took; the snapshot must cover only applied entries. */
  compact(metadata: SnapshotMetadata): void {
    assert(
      metadata.index <= this.appliedIndex,
      `snapshot at ${metadata.index} beyond appliedIndex ${this.appliedIndex}`,
    );
    assert(
      metadata.term === this.term(metadata.index),
      `snapshot term ${metadata.term} != log term ${this.term(metadata.index)} at ${metadata.index}`,
    );
    if (metadata.index <= this.snapshot.index) return;
    this.entries = this.entries.slice(metadata.index - this.snapshot.index);
    this.snapshot = metadata;
    this.stableIndex = Math.max(this.stableIndex, metadata.index);
    this.checkInvariants();
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  restoreSnapshot(metadata: SnapshotMetadata): void {
    assert(
      metadata.index > this.commitIndex,
      `snapshot at ${metadata.index} not beyond commitIndex ${this.commitIndex}`,
    );
    this.entries = [];
    this.snapshot = metadata;
    this.commitIndex = metadata.index;
    this.appliedIndex = metadata.index;
    this.stableIndex = metadata.index;
    this.emittedIndex = metadata.index;
    this.checkInvariants();
  }

  checkInvariants(): void {
    assert(
      this.snapshot.index <= this.appliedIndex,
      `snapshot ${this.snapshot.index} > appliedIndex ${this.appliedIndex}`,
    );
    assert(
      this.appliedIndex <= this.commitIndex,
      `appliedIndex ${this.appliedIndex} > commitIndex ${this.commitIndex}`,
    );
    assert(
      this.commitIndex <= this.lastIndex(),
      `commitIndex ${this.commitIndex} > lastIndex ${this.lastIndex()}`,
    );
    assert(
      this.stableIndex <= this.lastIndex(),
      `stableIndex ${this.stableIndex} > lastIndex ${this.lastIndex()}`,
    );
  }
}
