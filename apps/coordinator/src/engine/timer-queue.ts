import { assert } from './assert';
import type { TxId } from './types';

/**
 * When the leader must next look at a transaction (its deadline or its next re-send), as a binary
 * min-heap: O(log n) to schedule, O(1) to see that nothing is due, so a tick costs nothing when
 * nothing is due however many transactions are live. Entries are never removed early: a
 * transaction reschedules by pushing again, and `pollDue` skips entries whose time is no longer
 * the transaction's `wakeAtMs` (lazy deletion).
 */
export class TimerQueue {
  private readonly atMs: number[] = [];
  private readonly txIds: TxId[] = [];

  get size(): number {
    return this.atMs.length;
  }

  push(atMs: number, txId: TxId): void {
    assert(Number.isFinite(atMs), `timer for ${txId} at ${atMs}`);
    this.atMs.push(atMs);
    this.txIds.push(txId);
    this.siftUp(this.atMs.length - 1);
  }

  /** Removes and returns the earliest timer if it is due at `nowMs`, else null. */
  pollDue(nowMs: number): { readonly atMs: number; readonly txId: TxId } | null {
    const top = this.atMs[0];
    if (top === undefined || top > nowMs) return null;
    const txId = this.txIds[0] as TxId;
    const lastAt = this.atMs.pop() as number;
    const lastTx = this.txIds.pop() as TxId;
    if (this.atMs.length > 0) {
      this.atMs[0] = lastAt;
      this.txIds[0] = lastTx;
      this.siftDown(0);
    }
    return { atMs: top, txId };
  }

  private siftUp(start: number): void {
    let child = start;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if ((this.atMs[parent] as number) <= (this.atMs[child] as number)) return;
      this.swap(parent, child);
      child = parent;
    }
  }

  private siftDown(start: number): void {
    const length = this.atMs.length;
    let parent = start;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < length && (this.atMs[left] as number) < (this.atMs[smallest] as number)) smallest = left;
      if (right < length && (this.atMs[right] as number) < (this.atMs[smallest] as number)) smallest = right;
      if (smallest === parent) return;
      this.swap(parent, smallest);
      parent = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const at = this.atMs[a] as number;
    this.atMs[a] = this.atMs[b] as number;
    this.atMs[b] = at;
    const tx = this.txIds[a] as TxId;
    this.txIds[a] = this.txIds[b] as TxId;
    this.txIds[b] = tx;
  }
}
