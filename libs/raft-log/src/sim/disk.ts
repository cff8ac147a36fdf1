import type { Ready } from '../core/ready';
import type { RestoreState } from '../core/raft';
import type { Entry, HardState, Snapshot } from '../core/types';

interface DiskImage {
  readonly hardState: HardState;
  readonly snapshot: Snapshot;
  readonly entries: readonly Entry[];
}

/**
 * A disk that keeps only what was fsynced. `visible` is what the running node sees (the page
 * cache); `durable` is what survives a crash. A crash in the middle of a write may leave a
 * prefix of that write's entries on disk (a torn write) but never its hard state, which the
 * host writes last.
 */
export class SimDisk {
  private durable: DiskImage;
  private visible: DiskImage;

  constructor(bootstrap: Snapshot) {
    this.durable = {
      hardState: { term: 0, votedFor: null, commitIndex: 0 },
      snapshot: bootstrap,
      entries: [],
    };
    this.visible = this.durable;
  }

  /** Steps 1-3 of the Ready contract: snapshot, truncation, entries, hard state; fsync when asked. */
  write(ready: Ready): void {
    this.visible = applyWrite(this.visible, ready, ready.entriesToPersist.length, true);
    if (ready.mustSync) this.durable = this.visible;
  }

  /** The machine dies while writing `ready`: unsynced writes vanish, `tornEntries` of it survive. */
  crash(ready: Ready | null, tornEntries: number): void {
    this.visible = this.durable;
    if (ready !== null && tornEntries > 0) this.durable = applyWrite(this.durable, ready, tornEntries, false);
    this.visible = this.durable;
  }

  /** The host wrote a snapshot file (atomically, fsynced) and compacts the log behind it. */
  saveSnapshot(snapshot: Snapshot): void {
    const compact = (image: DiskImage): DiskImage => ({
      hardState: image.hardState,
      snapshot: snapshot.metadata.index > image.snapshot.metadata.index ? snapshot : image.snapshot,
      entries: image.entries.filter((entry) => entry.index > snapshot.metadata.index),
    });
    this.durable = compact(this.durable);
    this.visible = compact(this.visible);
  }

  load(): RestoreState {
    return {
      hardState: this.durable.hardState,
      snapshot: this.durable.snapshot,
      entries: this.durable.entries,
    };
  }
}

function applyWrite(image: DiskImage, ready: Ready, entryCount: number, withHardState: boolean): DiskImage {
  let snapshot = image.snapshot;
  let entries = image.entries;
  if (ready.snapshot !== null) {
    snapshot = ready.snapshot;
    entries = [];
  }
  const toAppend = ready.entriesToPersist.slice(0, entryCount);
  const first = toAppend[0];
  if (first !== undefined) {
    // Writing at an index overwrites it and everything after (truncateFromIndex says so explicitly).
    entries = [...entries.filter((entry) => entry.index < first.index), ...toAppend];
  }
  const hardState = withHardState && ready.hardState !== null ? ready.hardState : image.hardState;
  return { hardState, snapshot, entries };
}
