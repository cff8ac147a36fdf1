import {
  appendFile,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  truncate,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Index } from '../core/types';
import type { RaftLogLogger } from '../support/logger';
import { describeLogStoreContract, entries, entry, type LogStoreHarness } from './log-store.contract';
import { LogCorruptionError, LogStoreIoError, StorageIdentityError } from './log-store';
import {
  ENTRY_HEADER_BYTES,
  RECORD_HEADER_BYTES,
  parseSegment,
  parseSegmentFileName,
  segmentFileName,
} from './segment-format';
import { SegmentedLogStore, type SegmentedLogStoreOptions } from './segmented-log-store';

// Small segments so that every contract test also rolls, truncates and compacts across files.
const SMALL_SEGMENT_BYTES = 300;

interface Fixture {
  readonly directory: string;
  readonly warnings: { message: string; fields: Readonly<Record<string, unknown>> }[];
  open(overrides?: Partial<SegmentedLogStoreOptions>): SegmentedLogStore;
}

async function makeFixture(): Promise<Fixture> {
  const directory = await mkdtemp(join(tmpdir(), 'verdict-segmented-log-'));
  const warnings: Fixture['warnings'] = [];
  const logger: RaftLogLogger = {
    info: () => undefined,
    warn: (message, fields = {}) => warnings.push({ message, fields }),
  };
  return {
    directory,
    warnings,
    open: (overrides = {}) =>
      new SegmentedLogStore({
        directory,
        nodeId: 'n1',
        clusterId: 'cluster-a',
        logger,
        segmentBytesMax: SMALL_SEGMENT_BYTES,
        ...overrides,
      }),
  };
}

async function segmentPaths(directory: string): Promise<string[]> {
  const names = (await readdir(directory)).filter((name) => parseSegmentFileName(name) !== null).sort();
  return names.map((name) => join(directory, name));
}

/** The file and byte offset of entry `index`'s record, found by parsing the segments. */
async function locateRecord(directory: string, index: Index): Promise<{ path: string; offset: number }> {
  const paths = await segmentPaths(directory);
  for (const [position, path] of paths.entries()) {
    const firstIndex = parseSegmentFileName(path.slice(directory.length + 1)) ?? 0;
    const parsed = parseSegment(path, await readFile(path), firstIndex, position === paths.length - 1);
    const found = parsed.entries.findIndex((candidate) => candidate.index === index);
    const offset = parsed.offsets[found];
    if (found >= 0 && offset !== undefined) return { path, offset };
  }
  throw new Error(`no record for index ${index} in ${directory}`);
}

async function flipByte(path: string, offset: number): Promise<void> {
  const file = await readFile(path);
  file[offset] = (file[offset] ?? 0) ^ 0x01;
  await writeFile(path, file);
}

describeLogStoreContract('SegmentedLogStore', async (): Promise<LogStoreHarness> => {
  const fixture = await makeFixture();
  return {
    open: () => fixture.open(),
    tearLastRecord: async () => {
      const last = (await segmentPaths(fixture.directory)).at(-1);
      if (last === undefined) throw new Error('no segment to tear');
      await truncate(last, (await stat(last)).size - 3);
    },
    corruptRecord: async (index) => {
      const { path, offset } = await locateRecord(fixture.directory, index);
      await flipByte(path, offset + RECORD_HEADER_BYTES + ENTRY_HEADER_BYTES);
    },
    get warnings() {
      return fixture.warnings.map(({ message }) => message);
    },
    cleanup: () => rm(fixture.directory, { recursive: true, force: true }),
  };
});

describe('SegmentedLogStore on disk', () => {
  let fixture: Fixture;
  let stores: SegmentedLogStore[];

  async function openLoaded(overrides: Partial<SegmentedLogStoreOptions> = {}) {
    const store = fixture.open(overrides);
    stores.push(store);
    return { store, loaded: await store.load() };
  }

  async function writeAndClose(through: Index): Promise<void> {
    const { store } = await openLoaded();
    await store.write(entries(1, through, 1), null, { sync: true });
    await store.close();
  }

  beforeEach(async () => {
    fixture = await makeFixture();
    stores = [];
  });

  afterEach(async () => {
    for (const store of stores) await store.close().catch(() => undefined);
    await rm(fixture.directory, { recursive: true, force: true });
  });

  it('rolls segments at the size limit; truncation into an earlier segment deletes the later files', async () => {
    const { store } = await openLoaded();
    await store.write(entries(1, 40, 1), null, { sync: true });
    const before = await segmentPaths(fixture.directory);
    expect(before.length).toBeGreaterThan(4);
    await store.truncateSuffix(12);
    const after = await segmentPaths(fixture.directory);
    const lastFirstIndex = parseSegmentFileName(after.at(-1)?.slice(fixture.directory.length + 1) ?? '');
    expect(lastFirstIndex).toBeLessThanOrEqual(12);
    expect(after.length).toBeLessThan(before.length);
    await store.write(entries(12, 15, 2), null, { sync: true });
    await store.close();
    const { loaded } = await openLoaded();
    expect(loaded.entries).toEqual(entries(1, 11, 1).concat(entries(12, 15, 2)));
  });

  it('compaction deletes whole segments below the compacted index, never a partial one', async () => {
    const { store } = await openLoaded();
    await store.write(entries(1, 40, 1), { term: 1, votedFor: null, commitIndex: 40 }, { sync: true });
    const before = await segmentPaths(fixture.directory);
    await store.compactPrefix(20);
    const after = await segmentPaths(fixture.directory);
    expect(after.length).toBeLessThan(before.length);
    const firstKept = parseSegmentFileName(after[0]?.slice(fixture.directory.length + 1) ?? '');
    expect(firstKept).toBeLessThanOrEqual(21);
    await store.close();
    const { loaded } = await openLoaded();
    expect(loaded).toMatchObject({ firstIndex: 21, lastIndex: 40, entries: entries(21, 40, 1) });
  });

  it.each([
    ['a record cut in the middle', (size: number) => size - 5],
    [
      'a record header cut short',
      (size: number) => size - (RECORD_HEADER_BYTES + ENTRY_HEADER_BYTES + 7) + 5,
    ],
  ])('torn tail (%s): cut back to the last whole record, logged with file and offset', async (_, cutTo) => {
    await writeAndClose(3);
    const path = (await segmentPaths(fixture.directory)).at(-1) ?? '';
    const { offset } = await locateRecord(fixture.directory, 3);
    await truncate(path, cutTo((await readFile(path)).length));
    const { loaded } = await openLoaded();
    expect(loaded.entries).toEqual(entries(1, 2, 1));
    expect(fixture.warnings).toHaveLength(1);
    expect(fixture.warnings[0]?.message).toMatch(/torn tail/);
    expect(fixture.warnings[0]?.fields).toMatchObject({ file: path, offset });
    expect((await readFile(path)).length).toBe(offset);
  });

  it('torn tail: zero bytes after the last record (file grew, data never landed) are cut', async () => {
    await writeAndClose(3);
    const path = (await segmentPaths(fixture.directory)).at(-1) ?? '';
    const size = (await readFile(path)).length;
    await appendFile(path, Buffer.alloc(100));
    const { loaded } = await openLoaded();
    expect(loaded.entries).toEqual(entries(1, 3, 1));
    expect(fixture.warnings[0]?.fields).toMatchObject({ file: path, offset: size });
  });

  it('torn tail: a new segment cut inside its header (crash while rolling) becomes an empty segment', async () => {
    await writeAndClose(40);
    const path = join(fixture.directory, segmentFileName(41));
    await writeFile(path, Buffer.from('VRDTR', 'latin1'));
    const { store, loaded } = await openLoaded();
    expect(loaded.entries).toEqual(entries(1, 40, 1));
    expect(fixture.warnings[0]?.fields).toMatchObject({ file: path, offset: 0 });
    await store.write([entry(41, 2)], null, { sync: true });
    await store.close();
    expect((await openLoaded()).loaded.entries.at(-1)).toEqual(entry(41, 2));
  });

  it('a flipped byte in a middle record is an error naming the file and offset', async () => {
    await writeAndClose(5);
    const { path, offset } = await locateRecord(fixture.directory, 2);
    await flipByte(path, offset + RECORD_HEADER_BYTES + ENTRY_HEADER_BYTES + 1);
    const failure = fixture.open().load();
    await expect(failure).rejects.toThrow(LogCorruptionError);
    await expect(failure).rejects.toThrow(
      `${path} is corrupt at byte offset ${offset}: record payload checksum`,
    );
  });

  it('a flipped bit in a middle record length is caught by the header checksum, not taken for a torn tail', async () => {
    await writeAndClose(5);
    const { path, offset } = await locateRecord(fixture.directory, 2);
    await flipByte(path, offset + 2);
    await expect(fixture.open().load()).rejects.toThrow(
      `byte offset ${offset}: record header checksum mismatch`,
    );
    expect(fixture.warnings).toEqual([]);
  });

  it('a damaged last record of a segment that is not the last is corruption, not a torn tail', async () => {
    await writeAndClose(40);
    const [first] = await segmentPaths(fixture.directory);
    const size = (await readFile(first ?? '')).length;
    await truncate(first ?? '', size - 3);
    await expect(fixture.open().load()).rejects.toThrow(/in a segment that is not the last/);
  });

  it('a missing segment in the middle is an error', async () => {
    await writeAndClose(40);
    const paths = await segmentPaths(fixture.directory);
    await unlink(paths[1] ?? '');
    await expect(fixture.open().load()).rejects.toThrow(/a segment is missing/);
  });

  it('refuses a data directory that belongs to another node or cluster', async () => {
    await writeAndClose(1);
    await expect(fixture.open({ nodeId: 'n2' }).load()).rejects.toThrow(StorageIdentityError);
    await expect(fixture.open({ clusterId: 'cluster-b' }).load()).rejects.toThrow(
      /belongs to node n1 of cluster cluster-a, but this process is node n1 of cluster cluster-b/,
    );
  });

  it('a damaged hard state file is an error, not a silently reset term', async () => {
    const { store } = await openLoaded();
    await store.write([entry(1, 4)], { term: 4, votedFor: 'n3', commitIndex: 0 }, { sync: true });
    await store.close();
    await flipByte(join(fixture.directory, 'hard-state.json'), 40);
    await expect(fixture.open().load()).rejects.toThrow(LogCorruptionError);
  });

  it('an I/O failure fails the write and every later call until restart', async () => {
    const { store } = await openLoaded();
    await store.write(entries(1, 3, 1), null, { sync: true });
    await rm(fixture.directory, { recursive: true, force: true });
    // Enough bytes to roll: creating the next segment file fails with ENOENT.
    await expect(store.write(entries(4, 20, 1), null, { sync: true })).rejects.toThrow(LogStoreIoError);
    await expect(
      store.write([], { term: 2, votedFor: null, commitIndex: 0 }, { sync: true }),
    ).rejects.toThrow(/restart the node/);
  });
});
