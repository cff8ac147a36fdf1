import { describe, expect, it } from 'vitest';
import type { RaftLogLogger } from '../support/logger';
import { describeLogStoreContract, entries } from './log-store.contract';
import { MemoryLogMedium, MemoryLogStore } from './memory-log-store';

describeLogStoreContract('MemoryLogStore', () => {
  const medium = new MemoryLogMedium();
  const warnings: string[] = [];
  const logger: RaftLogLogger = { info: () => undefined, warn: (message) => warnings.push(message) };
  return Promise.resolve({
    open: () => new MemoryLogStore(medium, logger),
    tearLastRecord: () => {
      const last = medium.records.at(-1);
      if (last !== undefined) medium.corruptRecord(last.entry.index);
      return Promise.resolve();
    },
    corruptRecord: (index) => {
      medium.corruptRecord(index);
      return Promise.resolve();
    },
    warnings,
    cleanup: () => Promise.resolve(),
  });
});

describe('MemoryLogStore crash simulation', () => {
  it('a crash loses writes made with sync: false and keeps synced ones', async () => {
    const medium = new MemoryLogMedium();
    const store = new MemoryLogStore(medium);
    await store.load();
    await store.write(entries(1, 2, 1), null, { sync: true });
    await store.write(entries(3, 4, 1), { term: 2, votedFor: 'n1', commitIndex: 0 }, { sync: false });
    const afterCrash = await new MemoryLogStore(medium).load();
    expect(afterCrash.entries).toEqual(entries(1, 2, 1));
    expect(afterCrash.hardState.term).toBe(0);
  });

  it('a synced write makes earlier unsynced writes durable too (one fsync covers the file)', async () => {
    const medium = new MemoryLogMedium();
    const store = new MemoryLogStore(medium);
    await store.load();
    await store.write(entries(1, 2, 1), null, { sync: false });
    await store.write(entries(3, 3, 1), null, { sync: true });
    expect((await new MemoryLogStore(medium).load()).lastIndex).toBe(3);
  });
});
