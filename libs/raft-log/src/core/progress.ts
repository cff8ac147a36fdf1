import { assert } from './assert';
import type { Index } from './types';

/**
 * How the leader replicates to one follower (etcd's tracker.Progress):
 * - probe: one appendEntries at a time until the follower's matchIndex is known;
 * - replicate: optimistic pipelining, up to the inflight window;
 * - snapshot: the follower needs compacted entries; chunks of the snapshot go one at a time.
 */
export type ReplicationState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  /** Invariant: matchIndex < nextIndex. */
  matchIndex: Index = 0;
  nextIndex: Index;
  state: ReplicationState = 'probe';
  /** In probe and snapshot state: a message is out and we wait for its answer or the next heartbeat. */
  paused = false;
  /** Last index of each appendEntries in flight, ascending; only used in replicate state. */
  inflight: Index[] = [];
  /** Snapshot being sent: its index and the byte offset of the chunk in flight. */
  snapshotIndex: Index = 0;
  snapshotOffset = 0;
  /** snapshotOffset at the previous heartbeat; unchanged means the chunk in flight was lost. */
  snapshotOffsetAtHeartbeat = -1;
  /** matchIndex at the previous heartbeat; unchanged with appends in flight means they were lost. */
  matchIndexAtHeartbeat: Index = -1;
  /** Heard from within the current check-quorum period. */
  recentActive = false;
  /** Highest ReadIndex round this follower acknowledged in the current term. */
  readRoundAcked = 0;

  constructor(nextIndex: Index) {
    this.nextIndex = nextIndex;
  }

  becomeProbe(): void {
    // Leaving snapshot state, matchIndex already counts the snapshot the follower confirmed.
    this.nextIndex = this.matchIndex + 1;
    this.state = 'probe';
    this.paused = false;
    this.inflight = [];
    this.snapshotIndex = 0;
    this.snapshotOffset = 0;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.nextIndex = this.matchIndex + 1;
    this.matchIndexAtHeartbeat = -1;
    this.paused = false;
    this.inflight = [];
  }

  becomeSnapshot(snapshotIndex: Index): void {
    this.state = 'snapshot';
    this.snapshotIndex = snapshotIndex;
    this.snapshotOffset = 0;
    this.snapshotOffsetAtHeartbeat = -1;
    this.paused = false;
    this.inflight = [];
  }

  /** A successful appendEntriesResponse; returns whether matchIndex moved. */
  maybeUpdate(matchIndex: Index): boolean {
    const updated = matchIndex > this.matchIndex;
    if (updated) this.matchIndex = matchIndex;
    this.nextIndex = Math.max(this.nextIndex, matchIndex + 1);
    this.paused = false;
    while (this.inflight.length > 0 && (this.inflight[0] ?? 0) <= matchIndex) this.inflight.shift();
    assert(
      this.matchIndex < this.nextIndex,
      `progress matchIndex ${this.matchIndex} >= nextIndex ${this.nextIndex}`,
    );
    return updated;
  }

  /**
   * A rejection of the appendEntries whose prevLogIndex was `rejectedIndex`; `probeFrom` is the
   * leader's best guess at the last matching index. Returns false for a stale rejection.
   */
  maybeDecreaseTo(rejectedIndex: Index, probeFrom: Index): boolean {
    if (this.state === 'replicate') {
      // Anything at or below matchIndex was already acknowledged: the rejection is old news.
      if (rejectedIndex <= this.matchIndex) return false;
      this.nextIndex = this.matchIndex + 1;
      return true;
    }
    // In probe state only the rejection of the latest probe counts.
    if (rejectedIndex !== this.nextIndex - 1) return false;
    this.nextIndex = Math.max(Math.min(rejectedIndex, probeFrom + 1), this.matchIndex + 1);
    this.paused = false;
    return true;
  }

  /** Whether the leader may send another appendEntries now. */
  canSend(inflightMessagesMax: number): boolean {
    switch (this.state) {
      case 'probe':
        return !this.paused;
      case 'replicate':
        return this.inflight.length < inflightMessagesMax;
      case 'snapshot':
        return false;
    }
  }

  /** Records an appendEntries sent with entries up to `lastIndex`. */
  sent(lastIndex: Index, entryCount: number): void {
    if (this.state === 'replicate') {
      if (entryCount > 0) {
        this.nextIndex = lastIndex + 1;
        this.inflight.push(lastIndex);
      }
    } else {
      this.paused = true;
    }
  }
}
