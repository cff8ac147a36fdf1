import { InvariantViolation } from './assert';
import type { IdempotencyRecord } from './state';

interface KeyNode {
  readonly recorded: IdempotencyRecord;
  /** The key recorded right after this one; null for the newest. */
  newer: string | null;
}

/**
 * The replicated Idempotency-Key table: key → the BEGIN that recorded it, in log order, which is
 * the order keys are evicted in.
 *
 * A `Map` alone keeps that order, but finding its oldest entry walks past every entry deleted
 * since V8 last compacted the map, and a map whose size stays at `IDEMPOTENCY_KEYS_MAX` is only
 * compacted when its deleted entries fill half its capacity: up to ~160,000 skipped per eviction,
 * ~50 µs per BEGIN on average (up to ~100) on every node once the table is full. So each key
 * links to the next newer one, and the table remembers the oldest.
 */
export class IdempotencyTable implements Iterable<[string, IdempotencyRecord]> {
  private readonly nodes = new Map<string, KeyNode>();
  private oldest: string | null = null;
  private newest: string | null = null;

  get size(): number {
    return this.nodes.size;
  }

  get(key: string): IdempotencyRecord | undefined {
    return this.nodes.get(key)?.recorded;
  }

  has(key: string): boolean {
    return this.nodes.has(key);
  }

  /** Records `key`, which the table must not hold, as the newest. */
  add(key: string, recorded: IdempotencyRecord): void {
    if (this.nodes.has(key)) throw new InvariantViolation(`idempotency key ${key} is already recorded`);
    this.nodes.set(key, { recorded, newer: null });
    if (this.newest === null) this.oldest = key;
    else this.node(this.newest).newer = key;
    this.newest = key;
  }

  /** Drops the oldest keys while more than `keysMax` are held or the oldest is older than `horizonMs`. */
  evict(keysMax: number, horizonMs: number): void {
    while (this.oldest !== null) {
      const node = this.node(this.oldest);
      if (this.nodes.size <= keysMax && node.recorded.createdAtMs >= horizonMs) return;
      this.nodes.delete(this.oldest);
      this.oldest = node.newer;
    }
    this.newest = null;
  }

  /** Oldest first. */
  *[Symbol.iterator](): IterableIterator<[string, IdempotencyRecord]> {
    for (let key = this.oldest; key !== null;) {
      const node = this.node(key);
      yield [key, node.recorded];
      key = node.newer;
    }
  }

  *keys(): IterableIterator<string> {
    for (const [key] of this) yield key;
  }

  *values(): IterableIterator<IdempotencyRecord> {
    for (const [, recorded] of this) yield recorded;
  }

  private node(key: string): KeyNode {
    const node = this.nodes.get(key);
    // Not assert(): its message would be built on every BEGIN.
    if (node === undefined)
      throw new InvariantViolation(`idempotency table links to ${key}, which it does not hold`);
    return node;
  }
}
