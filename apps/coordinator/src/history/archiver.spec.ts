import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Outcome } from '@verdict/protocol';
import { Archiver, type ArchiverOptions } from './archiver';
import type { FinishedTransaction } from './finished-transaction';
import { finishedTransaction } from './finished-transaction.fixture';
import type { HistoryPage, HistoryStore } from './history-store';

/** A store whose writes the test settles one by one. */
class ScriptedStore implements HistoryStore {
  readonly writes: Array<{
    records: readonly FinishedTransaction[];
    succeed: () => void;
    fail: (error: Error) => void;
  }> = [];
  readonly committed = new Set<string>();

  archive(records: readonly FinishedTransaction[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.writes.push({
        records,
        succeed: () => {
          for (const record of records) this.committed.add(record.txId);
          resolve();
        },
        fail: reject,
      });
    });
  }
  find(): Promise<FinishedTransaction | null> {
    return Promise.reject(new Error('not used'));
  }
  list(): Promise<HistoryPage> {
    return Promise.reject(new Error('not used'));
  }
  outcomeOf(): Promise<Outcome | null> {
    return Promise.reject(new Error('not used'));
  }
  last(): (typeof this.writes)[number] {
    const write = this.writes.at(-1);
    if (write === undefined) throw new Error('no write was attempted');
    return write;
  }
}

const options: ArchiverOptions = {
  capacity: 3,
  batchSizeMax: 2,
  lingerMs: 0,
  retryDelayMs: 100,
  retryDelayMsMax: 400,
};

describe('Archiver', () => {
  let store: ScriptedStore;
  let archiver: Archiver;
  let archived: string[];

  beforeEach(() => {
    vi.useFakeTimers();
    store = new ScriptedStore();
    archiver = new Archiver(store, options);
    archived = [];
    archiver.onArchived((txId) => {
      // The invariant the engine relies on: reported only once the row is committed.
      expect(store.committed.has(txId)).toBe(true);
      archived.push(txId);
    });
  });

  afterEach(async () => {
    // close() waits for the write under way, as it must at shutdown: settle what a test left.
    for (const write of store.writes) write.fail(new Error('test finished'));
    await archiver.close();
    vi.useRealTimers();
  });

  it('reports a transaction archived only after its write resolves', async () => {
    const record = finishedTransaction();
    expect(archiver.offer(record)).toBe('queued');
    await vi.advanceTimersByTimeAsync(0);
    expect(store.writes).toHaveLength(1);
    expect(archived).toEqual([]);
    expect(archiver.backlog()).toMatchObject({ queued: 1, writing: 1 });

    store.last().succeed();
    await vi.advanceTimersByTimeAsync(0);
    expect(archived).toEqual([record.txId]);
    expect(archiver.backlog()).toMatchObject({ queued: 0, writing: 0, consecutiveFailures: 0 });
  });

  it('retries with doubling backoff while the database is down, then catches up in offer order', async () => {
    const first = finishedTransaction({ createdAtMs: 1_000 });
    const second = finishedTransaction({ createdAtMs: 2_000 });
    const third = finishedTransaction({ createdAtMs: 3_000 });
    const idsOf = (write: { records: readonly FinishedTransaction[] }): string[] =>
      write.records.map((record) => record.txId);
    archiver.offer(first); // written at once
    archiver.offer(second); // these wait for the write under way, then go together
    archiver.offer(third);
    await vi.advanceTimersByTimeAsync(0);
    expect(store.writes.map(idsOf)).toEqual([[first.txId]]);

    store.last().fail(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    await vi.advanceTimersByTimeAsync(99);
    expect(store.writes).toHaveLength(1);
    expect(archiver.backlog()).toMatchObject({
      queued: 3,
      consecutiveFailures: 1,
      lastError: 'connect ECONNREFUSED 127.0.0.1:5432',
    });
    await vi.advanceTimersByTimeAsync(1);
    expect(store.writes).toHaveLength(2);
    expect(idsOf(store.last())).toEqual([first.txId, second.txId]);

    store.last().fail(new Error('still down'));
    await vi.advanceTimersByTimeAsync(199);
    expect(store.writes).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(store.writes).toHaveLength(3);

    store.last().fail(new Error('still down'));
    await vi.advanceTimersByTimeAsync(399); // 400, not 800: capped at retryDelayMsMax
    expect(store.writes).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(store.writes).toHaveLength(4);
    expect(archived).toEqual([]);

    store.last().succeed();
    await vi.advanceTimersByTimeAsync(0);
    expect(archived).toEqual([first.txId, second.txId]);
    expect(idsOf(store.last())).toEqual([third.txId]);
    store.last().succeed();
    await vi.advanceTimersByTimeAsync(0);
    expect(archived).toEqual([first.txId, second.txId, third.txId]);
    expect(archiver.backlog()).toMatchObject({ queued: 0, consecutiveFailures: 0, lastError: null });
  });

  it('refuses, never drops, when full, and reports a re-offered transaction once', async () => {
    const records = [1, 2, 3, 4].map((second) => finishedTransaction({ createdAtMs: second * 1_000 }));
    const [a, b, c, d] = records as [
      FinishedTransaction,
      FinishedTransaction,
      FinishedTransaction,
      FinishedTransaction,
    ];
    expect([a, b, c].map((record) => archiver.offer(record))).toEqual(['queued', 'queued', 'queued']);
    expect(archiver.offer(d)).toBe('full');
    expect(archiver.offer(a)).toBe('already-queued'); // while its write is under way

    await vi.advanceTimersByTimeAsync(0);
    store.last().succeed(); // [a]
    await vi.advanceTimersByTimeAsync(0);
    expect(archiver.offer(d)).toBe('queued');
    store.last().succeed(); // [b, c]
    await vi.advanceTimersByTimeAsync(0);
    store.last().succeed(); // [d]
    await vi.advanceTimersByTimeAsync(0);
    expect(archived).toEqual([a.txId, b.txId, c.txId, d.txId]);
    expect(store.writes).toHaveLength(3);
  });

  it('with a linger, writes once a full batch waits or the oldest has waited lingerMs', async () => {
    const lingering = new Archiver(store, { ...options, capacity: 10, batchSizeMax: 3, lingerMs: 50 });
    lingering.onArchived((txId) => archived.push(txId));
    const idsOf = (write: { records: readonly FinishedTransaction[] }): string[] =>
      write.records.map((record) => record.txId);
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((second) =>
      finishedTransaction({ createdAtMs: second * 1_000 }),
    ) as [
      FinishedTransaction,
      FinishedTransaction,
      FinishedTransaction,
      FinishedTransaction,
      FinishedTransaction,
    ];

    lingering.offer(a);
    await vi.advanceTimersByTimeAsync(30);
    lingering.offer(b);
    await vi.advanceTimersByTimeAsync(19);
    expect(store.writes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1); // a has waited 50 ms
    expect(store.writes.map(idsOf)).toEqual([[a.txId, b.txId]]);

    // A full batch does not wait: c, d and e fill one while [a, b] is being written.
    for (const record of [c, d, e]) lingering.offer(record);
    store.last().succeed();
    await vi.advanceTimersByTimeAsync(0);
    expect(store.writes.map(idsOf)).toEqual([
      [a.txId, b.txId],
      [c.txId, d.txId, e.txId],
    ]);
    store.last().succeed();
    await vi.advanceTimersByTimeAsync(0);
    expect(archived).toEqual([a, b, c, d, e].map((record) => record.txId));
    await lingering.close();
  });

  it('refuses a record whose outcome contradicts its state before queueing it', () => {
    const base = finishedTransaction();
    const contradictory = { ...base, decision: { ...base.decision, outcome: 'ABORT' as const } };
    expect(() => archiver.offer(contradictory)).toThrow(/is COMMITTED but its decision is ABORT/);
    expect(archiver.backlog().queued).toBe(0);
  });

  it('names the bad option', () => {
    expect(() => new Archiver(store, { ...options, retryDelayMsMax: 50 })).toThrow(
      /retryDelayMsMax \(50\) is below retryDelayMs \(100\)/,
    );
    expect(() => new Archiver(store, { ...options, capacity: 0 })).toThrow(/capacity is 0/);
    expect(() => new Archiver(store, { ...options, lingerMs: -1 })).toThrow(/lingerMs is -1/);
  });
});
