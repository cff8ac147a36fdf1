import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvariantViolation } from '../core/assert';
import type { Snapshot } from '../core/types';
import { silentLogger } from '../support/logger';
import { LogCorruptionError } from './log-store';
import { FileSnapshotStore, MemorySnapshotStore } from './snapshot-store';

function snapshot(index: number, term: number, text: string): Snapshot {
  return {
    metadata: { index, term, membership: { voters: ['n1', 'n2', 'n3'], learners: [] } },
    data: new TextEncoder().encode(text),
  };
}

describe('FileSnapshotStore', () => {
  let directory: string;
  const open = (): FileSnapshotStore => new FileSnapshotStore({ directory, logger: silentLogger });

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'verdict-snapshots-'));
  });

  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('returns null before any snapshot', async () => {
    expect(await open().loadLatest()).toBeNull();
  });

  it('keeps only the newest snapshot, and a new process reads it back', async () => {
    const store = open();
    await store.save(snapshot(10, 1, 'state at 10'));
    await store.save(snapshot(25, 2, 'state at 25'));
    expect(await readdir(directory)).toEqual(['snapshot-00000000000000000025-00000000000000000002.snap']);
    expect(await open().loadLatest()).toEqual(snapshot(25, 2, 'state at 25'));
  });

  it('an unfinished temp file from a crash is removed and the previous snapshot wins', async () => {
    await open().save(snapshot(10, 1, 'durable'));
    await writeFile(
      join(directory, 'snapshot-00000000000000000020-00000000000000000001.snap.tmp'),
      'partial',
    );
    expect(await open().loadLatest()).toEqual(snapshot(10, 1, 'durable'));
    expect(await readdir(directory)).toHaveLength(1);
  });

  it('a flipped byte fails the CRC check with the file named', async () => {
    await open().save(snapshot(10, 1, 'some state machine bytes'));
    const [name] = await readdir(directory);
    const path = join(directory, name ?? '');
    const file = await readFile(path);
    file[file.length - 10] = (file[file.length - 10] ?? 0) ^ 0x40;
    await writeFile(path, file);
    const failure = open().loadLatest();
    await expect(failure).rejects.toThrow(LogCorruptionError);
    await expect(failure).rejects.toThrow(`snapshot ${path} is corrupt: CRC mismatch`);
  });

  it('a snapshot older than the newest saved one is a programmer error', async () => {
    const store = open();
    await store.save(snapshot(10, 1, 'newer'));
    await expect(store.save(snapshot(5, 1, 'older'))).rejects.toThrow(InvariantViolation);
  });
});

describe('MemorySnapshotStore', () => {
  it('returns a copy of the newest snapshot', async () => {
    const store = new MemorySnapshotStore();
    const saved = snapshot(3, 1, 'abc');
    await store.save(saved);
    const loaded = await store.loadLatest();
    expect(loaded).toEqual(saved);
    expect(loaded?.data).not.toBe(saved.data);
  });
});
