import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Xoshiro128 } from '../core/rng';
import type { RoleState } from '../core/ready';
import type { Entry, NodeId, Snapshot } from '../core/types';
import { deferred } from '../support/deferred';
import { silentLogger } from '../support/logger';
import type { LogStore } from '../storage/log-store';
import { MemoryLogMedium, MemoryLogStore } from '../storage/memory-log-store';
import { SegmentedLogStore } from '../storage/segmented-log-store';
import { FileSnapshotStore, MemorySnapshotStore, type SnapshotStore } from '../storage/snapshot-store';
import { MemoryNetwork } from '../transport/memory-transport';
import type { PeerTransport } from '../transport/peer-transport';
import { TcpTransport } from '../transport/tcp-transport';
import { NotLeaderError, RaftNode, type RaftStateMachine } from './raft-node';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const IDS = ['n1', 'n2', 'n3'];
const MEMBERSHIP = { voters: IDS, learners: [] };

/** Remembers every applied command, in order; snapshots are that list as JSON. */
class ListMachine implements RaftStateMachine {
  applied: string[] = [];

  apply(entry: Entry): void {
    this.applied.push(decoder.decode(entry.data));
  }

  snapshot(): Uint8Array | Promise<Uint8Array> {
    return this.encode();
  }

  protected encode(): Uint8Array {
    return encoder.encode(JSON.stringify(this.applied));
  }

  restore(snapshot: Snapshot): void {
    this.applied = JSON.parse(decoder.decode(snapshot.data)) as string[];
  }
}

/** A ListMachine whose snapshots capture the list at once but are done only when the gate opens. */
class GatedMachine extends ListMachine {
  private readonly gate = deferred<void>();
  snapshotsBegun = 0;

  override snapshot(): Promise<Uint8Array> {
    const data = this.encode();
    this.snapshotsBegun += 1;
    return this.gate.promise.then(() => data);
  }

  open(): void {
    this.gate.resolve();
  }
}

/** Keeps every snapshot saved, not only the newest. */
class RecordingSnapshotStore extends MemorySnapshotStore {
  readonly saved: Snapshot[] = [];

  override save(snapshot: Snapshot): Promise<void> {
    this.saved.push(snapshot);
    return super.save(snapshot);
  }
}

interface Member {
  readonly nodeId: NodeId;
  node: RaftNode;
  machine: ListMachine;
  readonly medium: MemoryLogMedium;
  readonly snapshots: RecordingSnapshotStore;
}

const running: RaftNode[] = [];

async function startNode(
  nodeId: NodeId,
  parts: { logStore: LogStore; snapshotStore: SnapshotStore; transport: PeerTransport; machine: ListMachine },
  snapshotEveryEntries = 1000,
): Promise<RaftNode> {
  const node = await RaftNode.start({
    raft: { nodeId, rng: new Xoshiro128(nodeId.charCodeAt(1) * 7919 + running.length) },
    bootstrapMembership: MEMBERSHIP,
    logStore: parts.logStore,
    snapshotStore: parts.snapshotStore,
    transport: parts.transport,
    stateMachine: parts.machine,
    logger: silentLogger,
    tickIntervalMs: 10,
    snapshotEveryEntries,
    nodeAddresses: { n1: 'http://n1:3000', n2: 'http://n2:3000', n3: 'http://n3:3000' },
  });
  running.push(node);
  return node;
}

async function memoryCluster(snapshotEveryEntries = 1000, newMachine = (): ListMachine => new ListMachine()) {
  const network = new MemoryNetwork();
  const members: Member[] = [];
  for (const nodeId of IDS) {
    const medium = new MemoryLogMedium();
    const snapshots = new RecordingSnapshotStore();
    const machine = newMachine();
    const node = await startNode(
      nodeId,
      {
        logStore: new MemoryLogStore(medium),
        snapshotStore: snapshots,
        transport: network.connect(nodeId),
        machine,
      },
      snapshotEveryEntries,
    );
    members.push({ nodeId, node, machine, medium, snapshots });
  }
  const restart = async (member: Member): Promise<void> => {
    await member.node.close();
    member.machine = newMachine();
    member.node = await startNode(
      member.nodeId,
      {
        logStore: new MemoryLogStore(member.medium),
        snapshotStore: member.snapshots,
        transport: network.connect(member.nodeId),
        machine: member.machine,
      },
      snapshotEveryEntries,
    );
  };
  return { members, restart };
}

async function waitFor<T>(
  probe: () => T | undefined | null | false,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const leaderOf = <T extends { node: RaftNode }>(members: readonly T[]): Promise<T> =>
  waitFor(() => members.find((member) => member.node.status().role === 'leader'), 'a leader');

const directories: string[] = [];

afterEach(async () => {
  for (const node of running.splice(0)) await node.close();
  for (const directory of directories.splice(0)) await rm(directory, { recursive: true, force: true });
});

describe('RaftNode over MemoryNetwork', () => {
  it('elects a leader; a proposal resolves once applied, and every node applies the same commands', async () => {
    const { members } = await memoryCluster();
    const leader = await leaderOf(members);
    const results = await Promise.all(
      ['a', 'b', 'c'].map((command) => leader.node.propose(encoder.encode(command))),
    );
    expect(results.map((result) => result.index)).toEqual([...results.map((result) => result.index)].sort());
    expect(leader.machine.applied).toEqual(['a', 'b', 'c']);
    for (const member of members) {
      await waitFor(() => member.machine.applied.length === 3, `${member.nodeId} to apply`);
      expect(member.machine.applied).toEqual(['a', 'b', 'c']);
    }
  });

  it('a follower refuses proposals with NotLeaderError naming the leader and its address', async () => {
    const { members } = await memoryCluster();
    const leader = await leaderOf(members);
    const follower = members.find((member) => member !== leader);
    await waitFor(
      () => follower?.node.status().leaderId === leader.nodeId,
      'the follower to know the leader',
    );
    const failure = follower?.node.propose(encoder.encode('x'));
    await expect(failure).rejects.toThrow(NotLeaderError);
    await expect(failure).rejects.toMatchObject({
      leaderId: leader.nodeId,
      leaderAddress: `http://${leader.nodeId}:3000`,
    });
  });

  it('readIndex resolves at or after the last acknowledged write', async () => {
    const { members } = await memoryCluster();
    const leader = await leaderOf(members);
    const { index } = await leader.node.propose(encoder.encode('w'));
    expect(await leader.node.readIndex()).toBeGreaterThanOrEqual(index);
  });

  it('a restarted follower reloads its log from its store and catches up', async () => {
    const { members, restart } = await memoryCluster();
    const leader = await leaderOf(members);
    await leader.node.propose(encoder.encode('before'));
    const follower = members.find((member) => member !== leader) as Member;
    await waitFor(() => follower.machine.applied.length === 1, 'follower applied');
    await restart(follower);
    await leader.node.propose(encoder.encode('after'));
    await waitFor(() => follower.machine.applied.length === 2, 'restarted follower to catch up');
    expect(follower.machine.applied).toEqual(['before', 'after']);
  });

  it('snapshots compact the log, and a node restarted from one restores its state machine', async () => {
    const { members, restart } = await memoryCluster(5);
    const leader = await leaderOf(members);
    for (let round = 0; round < 12; round += 1) await leader.node.propose(encoder.encode(`c${round}`));
    const follower = members.find((member) => member !== leader) as Member;
    await waitFor(() => follower.machine.applied.length === 12, 'follower applied');
    await waitFor(() => follower.medium.firstIndex > 5, 'follower compaction');
    expect((await follower.snapshots.loadLatest())?.metadata.index).toBeGreaterThanOrEqual(5);
    await restart(follower);
    await waitFor(() => follower.machine.applied.length === 12, 'restart from snapshot + log');
    expect(follower.machine.applied).toEqual(Array.from({ length: 12 }, (_, round) => `c${round}`));
  });

  it('a snapshot is encoded and saved off the Ready loop: commits go on, and it holds the state it began with', async () => {
    const { members } = await memoryCluster(5, () => new GatedMachine());
    const gated = (member: Member): GatedMachine => member.machine as GatedMachine;
    try {
      const leader = await leaderOf(members);
      const commands = Array.from({ length: 12 }, (_, round) => `c${round}`);
      for (const command of commands) await leader.node.propose(encoder.encode(command));
      for (const member of members) {
        await waitFor(() => member.machine.applied.length === 12, `${member.nodeId} to apply`);
        expect(gated(member).snapshotsBegun).toBe(1);
        expect(await member.snapshots.loadLatest()).toBeNull();
        expect(member.medium.firstIndex).toBe(1);
      }
      for (const member of members) gated(member).open();
      for (const member of members) {
        await waitFor(() => member.medium.firstIndex > 1, `${member.nodeId} to compact its log`);
        const [first] = member.snapshots.saved;
        const held = JSON.parse(decoder.decode(first?.data)) as string[];
        expect(held.length).toBeLessThan(12);
        expect(held).toEqual(commands.slice(0, held.length));
      }
    } finally {
      for (const member of members) gated(member).open();
    }
  });

  it('a snapshot that cannot be saved stops the node, as any storage failure does', async () => {
    const network = new MemoryNetwork();
    const failures: { nodeId: NodeId; error: Error }[] = [];
    const saveFails: SnapshotStore = {
      save: () => Promise.reject(new Error('disk full')),
      loadLatest: () => Promise.resolve(null),
    };
    const nodes = await Promise.all(
      IDS.map((nodeId) =>
        RaftNode.start({
          raft: { nodeId, rng: new Xoshiro128(nodeId.charCodeAt(1)) },
          bootstrapMembership: MEMBERSHIP,
          logStore: new MemoryLogStore(new MemoryLogMedium()),
          snapshotStore: saveFails,
          transport: network.connect(nodeId),
          stateMachine: new ListMachine(),
          logger: silentLogger,
          tickIntervalMs: 10,
          snapshotEveryEntries: 3,
          onFailure: (error) => failures.push({ nodeId, error }),
        }),
      ),
    );
    running.push(...nodes);
    const leader = await waitFor(() => nodes.find((node) => node.status().role === 'leader'), 'a leader');
    for (let round = 0; round < 6 && failures.length === 0; round += 1) {
      await leader.propose(encoder.encode(`c${round}`)).catch(() => undefined);
    }
    const [first] = await waitFor(() => failures.length > 0 && failures, 'a node to stop');
    expect(first?.error.message).toBe('raft node stopped after a failure: disk full');
    const stopped = nodes[IDS.indexOf(first?.nodeId ?? '')];
    await expect(stopped?.propose(encoder.encode('late'))).rejects.toThrow(
      /stopped after a failure: disk full/,
    );
  });

  it('transferLeadership hands over, and role listeners see the new leader', async () => {
    const { members } = await memoryCluster();
    const leader = await leaderOf(members);
    const target = members.find((member) => member !== leader) as Member;
    await leader.node.propose(encoder.encode('sync'));
    const seen: RoleState[] = [];
    target.node.onRoleChange((state) => seen.push(state));
    leader.node.transferLeadership(target.nodeId);
    await waitFor(() => seen.some((state) => state.role === 'leader'), 'the target to lead');
    expect(target.node.status().role).toBe('leader');
  });
});

describe('RaftNode: membership at run time and follower contact', () => {
  it('the leader reports how long ago each follower answered; a cut-off follower falls behind', async () => {
    const network = new MemoryNetwork();
    const members: Member[] = [];
    for (const nodeId of IDS) {
      const medium = new MemoryLogMedium();
      const snapshots = new RecordingSnapshotStore();
      const machine = new ListMachine();
      const node = await startNode(nodeId, {
        logStore: new MemoryLogStore(medium),
        snapshotStore: snapshots,
        transport: network.connect(nodeId),
        machine,
      });
      members.push({ nodeId, node, machine, medium, snapshots });
    }
    const leader = await leaderOf(members);
    await leader.node.propose(encoder.encode('sync'));
    const [cut, connected] = members.filter((member) => member !== leader) as [Member, Member];
    await waitFor(() => leader.node.status().lastContactMs.has(cut.nodeId), 'a response from each follower');
    network.cut(leader.nodeId, cut.nodeId);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const contact = leader.node.status().lastContactMs;
    expect(contact.get(cut.nodeId)).toBeGreaterThanOrEqual(450);
    expect(contact.get(connected.nodeId)).toBeLessThan((contact.get(cut.nodeId) ?? 0) - 200);
    expect(contact.has(leader.nodeId)).toBe(false);
  });

  it('a node that starts with an empty membership joins as a learner, is promoted, and keeps the replicated addresses across a restart', async () => {
    const addresses = { n1: 'addr-1', n2: 'addr-2', n3: 'addr-3' };
    const network = new MemoryNetwork();
    const start = (
      nodeId: NodeId,
      bootstrap: { voters: string[]; learners: string[]; addresses?: Record<string, string> },
      medium: MemoryLogMedium,
      snapshots: RecordingSnapshotStore,
      machine: ListMachine,
    ): Promise<RaftNode> =>
      RaftNode.start({
        raft: { nodeId, rng: new Xoshiro128(nodeId.charCodeAt(1) * 104_729) },
        bootstrapMembership: bootstrap,
        logStore: new MemoryLogStore(medium),
        snapshotStore: snapshots,
        transport: network.connect(nodeId),
        stateMachine: machine,
        logger: silentLogger,
        tickIntervalMs: 10,
        snapshotEveryEntries: 1000,
      }).then((node) => {
        running.push(node);
        return node;
      });
    const founders: Member[] = [];
    for (const nodeId of IDS) {
      const medium = new MemoryLogMedium();
      const snapshots = new RecordingSnapshotStore();
      const machine = new ListMachine();
      const node = await start(nodeId, { ...MEMBERSHIP, voters: IDS, addresses }, medium, snapshots, machine);
      founders.push({ nodeId, node, machine, medium, snapshots });
    }
    const leader = await leaderOf(founders);
    await leader.node.propose(encoder.encode('before'));

    const joinerMedium = new MemoryLogMedium();
    const joinerSnapshots = new RecordingSnapshotStore();
    let joinerMachine = new ListMachine();
    let joiner = await start(
      'n4',
      { voters: [], learners: [] },
      joinerMedium,
      joinerSnapshots,
      joinerMachine,
    );
    const seen: string[][] = [];
    joiner.onMembershipChange((membership) => seen.push([...membership.voters, ...membership.learners]));
    expect(joiner.status().role).toBe('follower');
    expect(seen).toEqual([[]]);

    await leader.node.proposeMembership({ kind: 'addLearner', nodeId: 'n4', address: 'addr-4' });
    await waitFor(() => joinerMachine.applied.length === 1, 'the learner to catch up');
    expect(joiner.status().role).toBe('learner');
    await leader.node.proposeMembership({ kind: 'promoteLearner', nodeId: 'n4' });
    await leader.node.propose(encoder.encode('after'));
    await waitFor(() => joinerMachine.applied.length === 2, 'the new voter to apply');
    expect(joiner.status().membership).toEqual({
      voters: ['n1', 'n2', 'n3', 'n4'],
      learners: [],
      addresses: { ...addresses, n4: 'addr-4' },
    });
    expect(seen).toEqual([[], ['n1', 'n2', 'n3', 'n4'], ['n1', 'n2', 'n3', 'n4']]);
    for (const founder of founders) {
      await waitFor(
        () => founder.node.status().membership.addresses?.['n4'] === 'addr-4',
        `${founder.nodeId} to record n4's address`,
      );
    }

    await joiner.close();
    running.splice(running.indexOf(joiner), 1);
    joinerMachine = new ListMachine();
    joiner = await start('n4', { voters: [], learners: [] }, joinerMedium, joinerSnapshots, joinerMachine);
    expect(joiner.status().membership.voters).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(joiner.status().membership.addresses?.['n1']).toBe('addr-1');
    await waitFor(() => joinerMachine.applied.length === 2, 'the restarted member to re-apply its log');
    expect(joinerMachine.applied).toEqual(['before', 'after']);
  });
});

describe('RaftNode over TCP with segmented logs', () => {
  it('replicates, and a whole-cluster restart keeps every acknowledged command', async () => {
    const secret = encoder.encode('a cluster secret of 32 bytes....');
    const root = await mkdtemp(join(tmpdir(), 'verdict-raft-node-'));
    directories.push(root);
    const transports = await Promise.all(
      IDS.map((nodeId) =>
        TcpTransport.start({
          nodeId,
          listenHost: '127.0.0.1',
          listenPort: 0,
          peers: {},
          clusterSecret: secret,
          logger: silentLogger,
        }),
      ),
    );
    const ports = transports.map((transport) => transport.address().port);
    const peers = Object.fromEntries(IDS.map((nodeId, position) => [nodeId, `127.0.0.1:${ports[position]}`]));
    const boot = async (transport: TcpTransport, nodeId: NodeId) => {
      transport.setPeers(peers);
      const machine = new ListMachine();
      const directory = join(root, nodeId);
      const node = await startNode(nodeId, {
        logStore: new SegmentedLogStore({
          directory: join(directory, 'log'),
          nodeId,
          clusterId: 'c',
          logger: silentLogger,
        }),
        snapshotStore: new FileSnapshotStore({
          directory: join(directory, 'snapshots'),
          logger: silentLogger,
        }),
        transport,
        machine,
      });
      return { nodeId, node, machine };
    };
    let members = await Promise.all(
      IDS.map((nodeId, position) => boot(transports[position] as TcpTransport, nodeId)),
    );
    const leader = await leaderOf(members);
    const commands = Array.from({ length: 50 }, (_, round) => `tx-${round}`);
    await Promise.all(commands.map((command) => leader.node.propose(encoder.encode(command))));

    for (const node of running.splice(0)) await node.close();
    const restarted = await Promise.all(
      IDS.map((nodeId, position) =>
        TcpTransport.start({
          nodeId,
          listenHost: '127.0.0.1',
          listenPort: ports[position] ?? 0,
          peers: {},
          clusterSecret: secret,
          logger: silentLogger,
        }),
      ),
    );
    members = await Promise.all(
      IDS.map((nodeId, position) => boot(restarted[position] as TcpTransport, nodeId)),
    );
    const newLeader = await leaderOf(members);
    await newLeader.node.propose(encoder.encode('after restart'));
    expect(newLeader.machine.applied).toEqual([...commands, 'after restart']);
  });
});

/** A MemoryLogStore whose writes can be held back, as a slow fsync would. */
class GatedLogStore extends MemoryLogStore {
  held = false;
  private readonly waiting: (() => void)[] = [];

  override async write(...args: Parameters<LogStore['write']>): Promise<void> {
    if (this.held) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return super.write(...args);
  }

  release(): void {
    this.held = false;
    for (const resume of this.waiting.splice(0)) resume();
  }
}

describe('RaftNode: leader writes in parallel with replication', () => {
  it("replicates an entry to the followers while the leader's own write is still in flight", async () => {
    const network = new MemoryNetwork();
    const members = await Promise.all(
      IDS.map(async (nodeId) => {
        const store = new GatedLogStore(new MemoryLogMedium());
        const parts = {
          logStore: store,
          snapshotStore: new MemorySnapshotStore(),
          transport: network.connect(nodeId),
          machine: new ListMachine(),
        };
        return { nodeId, store, node: await startNode(nodeId, parts) };
      }),
    );
    const leader = await leaderOf(members);
    await waitFor(() => leader.node.status().appliedIndex >= 1, 'the leader to apply its noop');
    const { term } = leader.node.status();
    leader.store.held = true;
    const proposal = leader.node.propose(encoder.encode('early'));
    const index = leader.node.status().lastIndex;
    // Released in finally: a held write would also hold close() in afterEach.
    try {
      // Same term: the entry came from this leader, not from a successor elected meanwhile.
      await waitFor(
        () =>
          members.every((member) => {
            const status = member.node.status();
            return member === leader || (status.term === term && status.stableIndex >= index);
          }),
        'both followers to persist the entry',
        3_000,
      );
      expect(leader.node.status().stableIndex).toBeLessThan(index);
    } finally {
      leader.store.release();
    }
    await expect(proposal).resolves.toEqual({ index, term });
  });
});

describe('RaftNode: a failure while handling a Ready', () => {
  it('stops the node, rejects what waits on it, and calls onFailure once so the host can end', async () => {
    const failures: Error[] = [];
    const machine = new ListMachine();
    const apply = machine.apply.bind(machine);
    machine.apply = (entry: Entry): void => {
      if (decoder.decode(entry.data) === 'poison') throw new Error('state machine broke an invariant');
      apply(entry);
    };
    const node = await RaftNode.start({
      raft: { nodeId: 'n1', rng: new Xoshiro128(11) },
      bootstrapMembership: { voters: ['n1'], learners: [] },
      logStore: new MemoryLogStore(new MemoryLogMedium()),
      snapshotStore: new MemorySnapshotStore(),
      transport: new MemoryNetwork().connect('n1'),
      stateMachine: machine,
      logger: silentLogger,
      tickIntervalMs: 10,
      snapshotEveryEntries: 1000,
      onFailure: (error) => failures.push(error),
    });
    running.push(node);
    await waitFor(() => node.status().role === 'leader', 'n1 to lead');
    await node.propose(encoder.encode('fine'));
    await expect(node.propose(encoder.encode('poison'))).rejects.toThrow(
      'raft node stopped after a failure: state machine broke an invariant',
    );
    expect(failures.map((error) => error.message)).toEqual([
      'raft node stopped after a failure: state machine broke an invariant',
    ]);
    await expect(node.propose(encoder.encode('after'))).rejects.toThrow('raft node stopped');
    expect(machine.applied).toEqual(['fine']);
  });
});
