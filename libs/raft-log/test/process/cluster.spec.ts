// Three (or four) raft-process.ts children over loopback TCP with real segment files: the faults
// the simulator models, done for real with kill -9, truncated files and membership changes.
import { appendFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRecords, parseSegment, parseSegmentFileName } from '../../src/storage/segment-format';
import { ProcessCluster, waitFor, type ProcessNode } from './process-cluster';

const VOTERS = ['n1', 'n2', 'n3'];

/**
 * A client keeping `concurrency` proposals in flight on one node until stopped or until that
 * node fails; `acked` holds what the node confirmed as committed, by index.
 */
class ProposalStream {
  readonly acked: { data: string; index: number }[] = [];
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(node: ProcessNode, prefix: string, concurrency: number) {
    let sequence = 0;
    this.done = Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (!this.stopped) {
          const data = `${prefix}-${sequence}`;
          sequence += 1;
          try {
            const { index } = await node.propose(data);
            this.acked.push({ data, index });
          } catch {
            return; // the node died or lost leadership: this client's stream ends
          }
        }
      }),
    ).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  /** Acknowledged entries in log order. */
  inOrder(): string[] {
    return [...this.acked].sort((left, right) => left.index - right.index).map((ack) => ack.data);
  }

  async waitForAcks(count: number): Promise<void> {
    await waitFor(`${count} acknowledged proposals`, 15_000, () =>
      Promise.resolve(this.acked.length >= count ? true : undefined),
    );
  }
}

/** The acknowledged entries, in the order the log holds them. */
function acknowledgedIn(log: readonly string[], stream: ProposalStream): string[] {
  const acked = new Set(stream.acked.map((ack) => ack.data));
  return log.filter((data) => acked.has(data));
}

describe('raft-log in real processes', () => {
  let cluster: ProcessCluster | null = null;

  afterEach(async () => {
    await cluster?.destroy();
    cluster = null;
  });

  async function startCluster(snapshotEveryEntries?: number): Promise<ProcessCluster> {
    cluster = await ProcessCluster.create(snapshotEveryEntries === undefined ? {} : { snapshotEveryEntries });
    await cluster.define([...VOTERS, 'n4']);
    const started = cluster;
    await Promise.all(VOTERS.map((nodeId) => started.start(nodeId, VOTERS)));
    return started;
  }

  it('kill -9 of the leader loses no acknowledged proposal', async () => {
    const cluster = await startCluster();
    const leader = await cluster.waitForLeader();
    const stream = new ProposalStream(leader, 'a', 16);
    await stream.waitForAcks(300);
    await cluster.kill(leader.nodeId);
    await stream.stop();

    const newLeader = await cluster.waitForLeader();
    expect(newLeader.nodeId).not.toBe(leader.nodeId);
    await waitFor('the new leader to apply every acknowledged entry', 10_000, async () => {
      const log = await newLeader.appliedLog();
      return acknowledgedIn(log, stream).length === stream.acked.length ? log : undefined;
    });
    expect(acknowledgedIn(await newLeader.appliedLog(), stream)).toEqual(stream.inOrder());

    await cluster.start(leader.nodeId, VOTERS);
    const log = await cluster.waitForConvergence();
    expect(acknowledgedIn(log, stream)).toEqual(stream.inOrder());
  }, 60_000);

  it('a follower whose last segment record was torn repairs it, says so, and catches up', async () => {
    const cluster = await startCluster();
    const leader = await cluster.waitForLeader();
    const follower = VOTERS.find((nodeId) => nodeId !== leader.nodeId) ?? 'n1';
    const stream = new ProposalStream(leader, 'b', 8);
    await stream.waitForAcks(100);
    // Killed mid-stream, as a crash would; then its last segment is left ending inside a record,
    // as when the crash interrupts an append. The torn record is a new entry (index last + 1),
    // not one already on disk: cutting an entry the follower had fsynced and acknowledged would
    // be a disk breaking its promise, which Raft does not survive (the leader counts that match).
    await cluster.kill(follower);
    const logDirectory = join(cluster.dataDirectory(follower), 'log');
    const lastSegment = (await readdir(logDirectory))
      .filter((name) => name.endsWith('.seg'))
      .sort()
      .at(-1);
    const firstIndex = parseSegmentFileName(lastSegment ?? '');
    expect(firstIndex).not.toBeNull();
    const segmentPath = join(logDirectory, lastSegment ?? '');
    const parsed = parseSegment(segmentPath, await readFile(segmentPath), firstIndex ?? 0, true);
    const last = parsed.entries.at(-1);
    expect(last).toBeDefined();
    const torn = encodeRecords([
      {
        index: (last?.index ?? 0) + 1,
        term: last?.term ?? 0,
        kind: 'command',
        data: new TextEncoder().encode('torn'),
      },
    ]).buffer;
    await appendFile(segmentPath, torn.subarray(0, torn.length - 3));

    const restarted = await cluster.start(follower, VOTERS);
    await stream.waitForAcks(stream.acked.length + 100);
    await stream.stop();
    const log = await cluster.waitForConvergence();
    expect(
      restarted.logs.some(
        (line) =>
          line.message.startsWith('cutting torn tail') &&
          line.fields['file'] === segmentPath &&
          // Cut exactly where the intact records end.
          line.fields['offset'] === parsed.validBytes,
      ),
    ).toBe(true);
    expect(acknowledgedIn(log, stream)).toEqual(stream.inOrder());
    expect(log).not.toContain('torn');
  }, 60_000);

  it('adds a learner, promotes it and removes a voter while proposals keep committing', async () => {
    const cluster = await startCluster();
    const leader = await cluster.waitForLeader();
    const removed = VOTERS.find((nodeId) => nodeId !== leader.nodeId) ?? 'n1';
    const stream = new ProposalStream(leader, 'c', 8);
    const progresses = async (): Promise<void> => stream.waitForAcks(stream.acked.length + 50);
    await progresses();

    const joiner = await cluster.start('n4', []);
    await leader.changeMembership({ kind: 'addLearner', nodeId: 'n4' });
    await waitFor('n4 to catch up as a learner', 15_000, async () => {
      const [own, leaderStatus] = await Promise.all([joiner.status(), leader.status()]);
      return leaderStatus.commitIndex - own.appliedIndex < 50 ? true : undefined;
    });
    await progresses();
    await leader.changeMembership({ kind: 'promoteLearner', nodeId: 'n4' });
    await progresses();
    await leader.changeMembership({ kind: 'removeNode', nodeId: removed });
    await progresses();
    await stream.stop();

    await cluster.kill(removed);
    const log = await cluster.waitForConvergence();
    expect((await leader.status()).membership).toEqual({
      voters: expect.arrayContaining(VOTERS.filter((nodeId) => nodeId !== removed).concat('n4')) as string[],
      learners: [],
    });
    expect((await leader.status()).membership.voters).toHaveLength(3);
    expect(acknowledgedIn(log, stream)).toEqual(stream.inOrder());
  }, 60_000);

  it('a follower that fell behind the compacted log catches up through InstallSnapshot', async () => {
    const cluster = await startCluster(50);
    const leader = await cluster.waitForLeader();
    const lagging = VOTERS.find((nodeId) => nodeId !== leader.nodeId) ?? 'n1';
    const stream = new ProposalStream(leader, 'd', 8);
    await stream.waitForAcks(20);
    const stoppedAt = (await cluster.node(lagging).status()).lastIndex;
    await cluster.stop(lagging);
    await stream.waitForAcks(stream.acked.length + 300);
    await waitFor('the leader to compact past the stopped follower', 10_000, async () =>
      (await leader.status()).snapshotIndex > stoppedAt + 1 ? true : undefined,
    );

    const restarted = await cluster.start(lagging, VOTERS);
    await stream.waitForAcks(stream.acked.length + 50);
    await stream.stop();
    const log = await cluster.waitForConvergence();
    const restores = restarted.logs.filter(
      (line) => line.message === 'state machine restored from a snapshot',
    );
    expect(restores.some((line) => Number(line.fields['index']) > stoppedAt)).toBe(true);
    expect(acknowledgedIn(log, stream)).toEqual(stream.inOrder());
    expect(log.length).toBeGreaterThan(370);
  }, 60_000);
});
