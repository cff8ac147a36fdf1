import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry, HardState, Index } from '../core/types';
import { InvariantViolation } from '../core/assert';
import { LogCorruptionError, type LogStore } from './log-store';

/** What a LogStore implementation provides to run the shared contract against itself. */
export interface LogStoreHarness {
  /** A new store over the same backing storage: a process restart (or crash, if not closed). */
  open(): LogStore;
  /** Damages only the last stored record, as a crash in the middle of appending it would. */
  tearLastRecord(): Promise<void>;
  /** Flips a byte inside the stored record of entry `index`. */
  corruptRecord(index: Index): Promise<void>;
  /** Warning lines logged by the stores this harness opened. */
  readonly warnings: string[];
  cleanup(): Promise<void>;
}

export function entry(index: Index, term: number, text = `entry ${index}`): Entry {
  return { index, term, kind: 'command', data: new TextEncoder().encode(text) };
}

export function entries(from: Index, through: Index, term: number, prefix = 'entry'): Entry[] {
  const result: Entry[] = [];
  for (let index = from; index <= through; index += 1) result.push(entry(index, term, `${prefix} ${index}`));
  return result;
}

/**
 * The behaviour every LogStore promises (see the table in log-store.ts), run against one
 * implementation. Both MemoryLogStore and SegmentedLogStore pass it.
 */
export function describeLogStoreContract(name: string, makeHarness: () => Promise<LogStoreHarness>): void {
  describe(`LogStore contract: ${name}`, () => {
    let harness: LogStoreHarness;
    const opened: LogStore[] = [];

    async function openLoaded(): Promise<{ store: LogStore; loaded: Awaited<ReturnType<LogStore['load']>> }> {
      const store = harness.open();
      opened.push(store);
      return { store, loaded: await store.load() };
    }

    async function reopen(store: LogStore): Promise<Awaited<ReturnType<LogStore['load']>>> {
      await store.close();
      return (await openLoaded()).loaded;
    }

    beforeEach(async () => {
      harness = await makeHarness();
    });

    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
      await harness.cleanup();
    });

    it('a fresh store is empty: firstIndex 1, lastIndex 0, zero hard state', async () => {
      const { loaded } = await openLoaded();
      expect(loaded).toEqual({
        hardState: { term: 0, votedFor: null, commitIndex: 0 },
        entries: [],
        firstIndex: 1,
        lastIndex: 0,
      });
    });

    it('appended entries and hard state survive a reopen', async () => {
      const { store } = await openLoaded();
      const hardState: HardState = { term: 2, votedFor: 'n1', commitIndex: 3 };
      await store.write(entries(1, 3, 1), null, { sync: true });
      await store.write(entries(4, 5, 2), hardState, { sync: true });
      const loaded = await reopen(store);
      expect(loaded.entries).toEqual(entries(1, 3, 1).concat(entries(4, 5, 2)));
      expect(loaded).toMatchObject({ hardState, firstIndex: 1, lastIndex: 5 });
    });

    it('writes issued without awaiting each take effect in call order', async () => {
      const { store } = await openLoaded();
      const writes: Promise<void>[] = [];
      for (let index = 1; index <= 200; index += 1)
        writes.push(store.write([entry(index, 1)], null, { sync: true }));
      writes.push(store.write([entry(150, 2, 'replacement')], null, { sync: true }));
      await Promise.all(writes);
      const loaded = await reopen(store);
      expect(loaded.lastIndex).toBe(150);
      expect(loaded.entries.at(-1)).toEqual(entry(150, 2, 'replacement'));
      expect(loaded.entries.slice(0, 149)).toEqual(entries(1, 149, 1));
    });

    it('a write starting inside the log replaces [its first index, +inf)', async () => {
      const { store } = await openLoaded();
      await store.write(entries(1, 6, 1), null, { sync: true });
      await store.write(entries(4, 5, 3, 'new'), null, { sync: true });
      const loaded = await reopen(store);
      expect(loaded.entries).toEqual(entries(1, 3, 1).concat(entries(4, 5, 3, 'new')));
      expect(loaded.lastIndex).toBe(5);
    });

    it('truncateSuffix then append: the old suffix never comes back', async () => {
      const { store } = await openLoaded();
      await store.write(entries(1, 6, 1), null, { sync: true });
      await store.truncateSuffix(3);
      let loaded = await reopen(store);
      expect(loaded.entries).toEqual(entries(1, 2, 1));
      const second = opened.at(-1);
      expect(second).toBeDefined();
      await second?.write(entries(3, 4, 2, 'new'), null, { sync: true });
      await second?.truncateSuffix(5); // removing nothing is allowed: fromIndex = lastIndex + 1
      loaded = await reopen(second as LogStore);
      expect(loaded.entries).toEqual(entries(1, 2, 1).concat(entries(3, 4, 2, 'new')));
    });

    it('compactPrefix removes (-inf, throughIndex]; appends continue after it', async () => {
      const { store } = await openLoaded();
      await store.write(entries(1, 10, 1), { term: 1, votedFor: null, commitIndex: 10 }, { sync: true });
      await store.compactPrefix(4);
      let loaded = await reopen(store);
      expect(loaded).toMatchObject({ firstIndex: 5, lastIndex: 10 });
      expect(loaded.entries).toEqual(entries(5, 10, 1));
      const second = opened.at(-1) as LogStore;
      await second.write(entries(11, 12, 1), null, { sync: true });
      loaded = await reopen(second);
      expect(loaded.entries).toEqual(entries(5, 12, 1));
    });

    it('compactPrefix beyond the last index empties the log at that position (snapshot installed)', async () => {
      const { store } = await openLoaded();
      await store.write(entries(1, 3, 1), null, { sync: true });
      await store.write([], { term: 2, votedFor: null, commitIndex: 20 }, { sync: true });
      await store.compactPrefix(20);
      let loaded = await reopen(store);
      expect(loaded).toMatchObject({ entries: [], firstIndex: 21, lastIndex: 20 });
      const second = opened.at(-1) as LogStore;
      await second.write(entries(21, 22, 2), null, { sync: true });
      loaded = await reopen(second);
      expect(loaded).toMatchObject({ firstIndex: 21, lastIndex: 22, entries: entries(21, 22, 2) });
    });

    it('term and votedFor written with sync survive a crash (no close)', async () => {
      const { store } = await openLoaded();
      await store.write([entry(1, 3)], { term: 3, votedFor: 'n2', commitIndex: 0 }, { sync: true });
      const { loaded } = await openLoaded();
      expect(loaded.hardState).toMatchObject({ term: 3, votedFor: 'n2' });
      expect(loaded.entries).toEqual([entry(1, 3)]);
    });

    it('close persists the latest commitIndex', async () => {
      const { store } = await openLoaded();
      await store.write(entries(1, 5, 1), { term: 1, votedFor: 'n1', commitIndex: 2 }, { sync: true });
      await store.write([], { term: 1, votedFor: 'n1', commitIndex: 5 }, { sync: false });
      const loaded = await reopen(store);
      expect(loaded.hardState).toEqual({ term: 1, votedFor: 'n1', commitIndex: 5 });
    });

    it('a torn last record is cut with a warning, and the log stays appendable', async () => {
      const { store } = await openLoaded();
      await store.write(entries(1, 5, 1), null, { sync: true });
      await store.close();
      await harness.tearLastRecord();
      const { store: repaired, loaded } = await openLoaded();
      expect(loaded.entries).toEqual(entries(1, 4, 1));
      expect(loaded.lastIndex).toBe(4);
      expect(harness.warnings.join('\n')).toMatch(/torn tail/);
      await repaired.write(entries(5, 6, 2), null, { sync: true });
      const reloaded = await reopen(repaired);
      expect(reloaded.entries).toEqual(entries(1, 4, 1).concat(entries(5, 6, 2)));
    });

    it('a corrupt record in the middle is a startup error, never skipped', async () => {
      const { store } = await openLoaded();
      await store.write(entries(1, 5, 1), null, { sync: true });
      await store.close();
      await harness.corruptRecord(2);
      await expect(harness.open().load()).rejects.toThrow(LogCorruptionError);
    });

    it('calls outside the documented ranges are programmer errors', async () => {
      const { store } = await openLoaded();
      await store.write(entries(1, 3, 1), { term: 1, votedFor: null, commitIndex: 2 }, { sync: true });
      expect(() => store.write([entry(5, 1)], null, { sync: true })).toThrow(InvariantViolation);
      expect(() => store.write([entry(4, 1), entry(6, 1)], null, { sync: true })).toThrow(InvariantViolation);
      expect(() => store.truncateSuffix(5)).toThrow(InvariantViolation);
      await store.compactPrefix(2);
      expect(() => store.compactPrefix(1)).toThrow(/below the already compacted index 2/);
      expect(() => store.write([], { term: 0, votedFor: null, commitIndex: 2 }, { sync: true })).toThrow(
        /term moved backwards/,
      );
    });
  });
}
