import { InvariantViolation } from '../core/assert';
import type { RaftConfigInput } from '../core/config';
import { decodeMembership, type MembershipChange } from '../core/membership';
import { RaftCore } from '../core/raft';
import { sendableBeforePersist, type Ready } from '../core/ready';
import { Xoshiro128, type Rng } from '../core/rng';
import type { Entry, Index, Membership, NodeId, RaftMessage, Snapshot, Term } from '../core/types';
import { SimDisk } from './disk';
import { SimNetwork, type NetworkOptions } from './network';

/** Everything a run does follows from these; all but the first four are derived from the seed. */
export interface SimOptions {
  readonly seed: number;
  readonly nodeCount: number;
  /** Ticks of the safety phase (faults on). */
  readonly steps: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly network: NetworkOptions;
  /** Per-mille chances, each tick. */
  readonly crashPerMille: number;
  readonly partitionPerMille: number;
  readonly proposePerMille: number;
  readonly readPerMille: number;
  readonly membershipPerMille: number;
  readonly transferPerMille: number;
  /** A node snapshots once it has applied this many entries past its last snapshot. */
  readonly snapshotEveryEntries: number;
  /** Per node: ticks per 1000 global ticks (clock skew). */
  readonly tickRatesPerMille: readonly number[];
  /** A Ready's write takes 0..diskDelayTicksMax ticks; meanwhile the node keeps stepping messages. */
  readonly diskDelayTicksMax: number;
}

export interface SimRunOptions {
  readonly seed: number;
  readonly nodeCount?: number;
  readonly steps?: number;
  /** Builds each node's core; the simulator's self-test passes a deliberately broken one. */
  readonly makeCore?: (config: RaftConfigInput) => RaftCore;
}

export interface SimViolation {
  readonly tick: number;
  readonly invariant: string;
  readonly detail: string;
}

export interface SimResult {
  readonly options: SimOptions;
  readonly violation: SimViolation | null;
  /** The most recent events, oldest first. */
  readonly trace: readonly string[];
  readonly stats: {
    readonly acknowledged: number;
    readonly applied: number;
    readonly maxTerm: Term;
    readonly crashes: number;
  };
}

/** Liveness phase budget: with faults healed a leader must emerge and commit within this many ticks. */
const LIVENESS_ELECTION_TIMEOUTS_MAX = 30;
const TRACE_LINES_MAX = 400;
const SNAPSHOT_PADDING_BYTES = 2500;
const SNAPSHOT_CHUNK_BYTES = 1000;
/** Bounds the Ready loop per node per tick; a core that keeps producing Readies is a bug. */
const READY_ROUNDS_MAX = 1000;

export function deriveOptions(seed: number, nodeCount = 3, steps = 1500): SimOptions {
  const rng = new Xoshiro128(seed);
  const between = (min: number, max: number): number => min + rng.nextInt(max - min + 1);
  const electionTicks = between(8, 16);
  const delayTicksMin = between(0, 1);
  return {
    seed,
    nodeCount,
    steps,
    electionTicks,
    heartbeatTicks: between(1, Math.floor((electionTicks - 1) / 2)),
    network: {
      lossPerMille: between(0, 150),
      duplicatePerMille: between(0, 60),
      delayTicksMin,
      delayTicksMax: delayTicksMin + between(0, 4),
    },
    crashPerMille: between(0, 12),
    partitionPerMille: between(0, 15),
    proposePerMille: between(100, 600),
    readPerMille: between(0, 100),
    membershipPerMille: between(0, 10),
    transferPerMille: between(0, 6),
    snapshotEveryEntries: between(8, 40),
    diskDelayTicksMax: between(0, 3),
    tickRatesPerMille: Array.from({ length: nodeCount + 4 }, () => between(800, 1250)),
  };
}

export function formatOptions(options: SimOptions): string {
  const { network } = options;
  return [
    `SEED=${options.seed}`,
    `nodes=${options.nodeCount}`,
    `steps=${options.steps}`,
    `electionTicks=${options.electionTicks}`,
    `heartbeatTicks=${options.heartbeatTicks}`,
    `loss=${network.lossPerMille}‰`,
    `duplicate=${network.duplicatePerMille}‰`,
    `delay=${network.delayTicksMin}..${network.delayTicksMax}`,
    `crash=${options.crashPerMille}‰`,
    `partition=${options.partitionPerMille}‰`,
    `propose=${options.proposePerMille}‰`,
    `read=${options.readPerMille}‰`,
    `membership=${options.membershipPerMille}‰`,
    `transfer=${options.transferPerMille}‰`,
    `snapshotEvery=${options.snapshotEveryEntries}`,
    `diskDelay=0..${options.diskDelayTicksMax}`,
    `tickRates=${options.tickRatesPerMille.join('/')}`,
  ].join(' ');
}

/** The host's state machine: a running hash of applied entries plus the membership they set. */
interface StateMachine {
  index: Index;
  term: Term;
  hash: number;
  membership: Membership;
}

interface SimNode {
  readonly nodeId: NodeId;
  readonly tickRatePerMille: number;
  core: RaftCore;
  disk: SimDisk;
  stateMachine: StateMachine;
  running: boolean;
  /** Shut down for good after its removal committed (or its addition failed). Its id is never reused. */
  retired: boolean;
  restartAtTick: number;
  tickAccumulator: number;
  incarnation: number;
  /** Client proposals this node accepted as leader, by index: acknowledged once it applies them. */
  readonly proposals: Map<Index, { term: Term; data: string }>;
  /** ReadIndex requests: the highest acknowledged index when the read began. */
  readonly reads: Map<string, Index>;
  /** The Ready being written, and the tick its write completes. */
  writing: { readonly ready: Ready; readonly doneAtTick: number } | null;
  /** The term of the newest hard state whose write completed (what sendableBeforePersist needs). */
  durableTerm: Term;
}

interface AppliedRecord {
  readonly term: Term;
  readonly hash: number;
  /** Highest term any node had when this index was first applied: leaders of later terms must hold it. */
  readonly termWhenApplied: Term;
}

interface Acknowledged {
  readonly index: Index;
  readonly term: Term;
  readonly data: string;
  readonly termWhenAcknowledged: Term;
}

interface PendingChange {
  readonly change: MembershipChange;
  readonly index: Index;
  readonly term: Term;
}

class SafetyViolation extends Error {
  readonly invariant: string;
  constructor(invariant: string, detail: string) {
    super(detail);
    this.invariant = invariant;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function runSeed(run: SimRunOptions): SimResult {
  return new Simulation(deriveOptions(run.seed, run.nodeCount, run.steps), run.makeCore).run();
}

class Simulation {
  private readonly options: SimOptions;
  private readonly makeCore: (config: RaftConfigInput) => RaftCore;
  private readonly rng: Rng;
  private readonly network: SimNetwork;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly bootstrap: Snapshot;
  private tick = 0;
  private readonly trace: string[] = [];
  private readonly leadersByTerm = new Map<Term, NodeId>();
  private readonly applied = new Map<Index, AppliedRecord>();
  private readonly acknowledged: Acknowledged[] = [];
  private maxAcknowledgedIndex: Index = 0;
  private pendingChange: PendingChange | null = null;
  private proposalCount = 0;
  private crashes = 0;
  private maxTerm: Term = 0;

  constructor(options: SimOptions, makeCore: ((config: RaftConfigInput) => RaftCore) | undefined) {
    this.options = options;
    this.makeCore = makeCore ?? ((config) => new RaftCore(config));
    // Distinct streams for the schedule and the network keep a change in one from shifting the other.
    this.rng = new Xoshiro128(options.seed ^ 0x5eed);
    this.network = new SimNetwork(options.network, new Xoshiro128(options.seed ^ 0x7e7));
    const voters = Array.from({ length: options.nodeCount }, (_, index) => `n${index + 1}`);
    const membership: Membership = { voters, learners: [] };
    this.bootstrap = {
      metadata: { index: 0, term: 0, membership },
      data: encodeStateMachine(initialStateMachine(membership)),
    };
    for (const nodeId of voters) this.start(this.createNode(nodeId, this.bootstrap));
  }

  private createNode(nodeId: NodeId, bootstrap: Snapshot): SimNode {
    const node: SimNode = {
      nodeId,
      tickRatePerMille: this.options.tickRatesPerMille[this.nodes.size] ?? 1000,
      core: this.makeCore({ nodeId, rng: new Xoshiro128(0) }),
      disk: new SimDisk(bootstrap),
      stateMachine: initialStateMachine(bootstrap.metadata.membership),
      running: false,
      retired: false,
      restartAtTick: 0,
      tickAccumulator: 0,
      incarnation: 0,
      proposals: new Map(),
      reads: new Map(),
      writing: null,
      durableTerm: 0,
    };
    this.nodes.set(nodeId, node);
    return node;
  }

  run(): SimResult {
    let violation: SimViolation | null = null;
    try {
      for (this.tick = 1; this.tick <= this.options.steps; this.tick += 1) {
        this.step(true);
      }
      this.livenessPhase();
      this.finalCheck();
    } catch (error) {
      violation = this.toViolation(error);
    }
    return {
      options: this.options,
      violation,
      trace: this.trace,
      stats: {
        acknowledged: this.acknowledged.length,
        applied: this.applied.size,
        maxTerm: this.maxTerm,
        crashes: this.crashes,
      },
    };
  }

  private toViolation(error: unknown): SimViolation {
    if (error instanceof SafetyViolation)
      return { tick: this.tick, invariant: error.invariant, detail: error.message };
    if (error instanceof InvariantViolation)
      return { tick: this.tick, invariant: 'core assertion', detail: error.message };
    throw error;
  }

  /** One global tick: deliver, tick, inject faults and client work, run every host loop, check. */
  private step(faults: boolean): void {
    for (const message of this.network.due(this.tick)) this.deliver(message);
    for (const node of this.nodes.values()) {
      if (!node.running) continue;
      node.tickAccumulator += node.tickRatePerMille;
      while (node.tickAccumulator >= 1000) {
        node.tickAccumulator -= 1000;
        node.core.tick();
      }
    }
    if (faults) this.injectFaults();
    this.clientWork(faults);
    for (const node of this.nodes.values()) if (node.running) this.drain(node);
    this.checkMembershipProgress();
    this.checkSafety();
  }

  private deliver(message: RaftMessage): void {
    const node = this.nodes.get(message.to);
    if (node === undefined || !node.running) return;
    this.record(`deliver ${describeMessage(message)}`);
    node.core.step(message);
  }

  private injectFaults(): void {
    const { options } = this;
    const running = [...this.nodes.values()].filter((node) => node.running);
    if (this.chance(options.crashPerMille) && running.length > 0) {
      const node = this.pick(running);
      // The machine dies in the middle of its host loop: whatever Ready it was writing is torn.
      const ready = node.writing?.ready ?? node.core.ready();
      const torn = ready === null ? 0 : this.rng.nextInt(ready.entriesToPersist.length + 1);
      node.disk.crash(ready, torn);
      node.running = false;
      node.restartAtTick = this.tick + 1 + this.rng.nextInt(options.electionTicks * 5);
      this.crashes += 1;
      this.record(`crash ${node.nodeId} torn=${torn} restartAt=${node.restartAtTick}`);
    }
    for (const node of this.nodes.values()) {
      if (!node.running && !node.retired && node.restartAtTick <= this.tick) this.start(node);
    }
    if (this.chance(options.partitionPerMille)) this.changePartition();
  }

  private changePartition(): void {
    const ids = [...this.nodes.keys()];
    const kind = this.rng.nextInt(3);
    this.network.heal();
    if (kind === 0) {
      this.record('heal');
      return;
    }
    if (kind === 1) {
      const side = ids.filter(() => this.rng.nextInt(2) === 0);
      for (const a of side)
        for (const b of ids)
          if (!side.includes(b)) {
            this.network.block(a, b);
            this.network.block(b, a);
          }
      this.record(`partition {${side.join(',')}} | rest`);
      return;
    }
    const from = this.pick(ids);
    const to = this.pick(ids.filter((id) => id !== from));
    this.network.block(from, to);
    this.record(`one-way partition ${from} -x-> ${to}`);
  }

  private clientWork(faults: boolean): void {
    const leader = this.currentLeader();
    if (leader === null) return;
    const { options } = this;
    if (this.chance(options.proposePerMille)) this.propose(leader);
    if (this.chance(options.readPerMille)) {
      const requestId = `r${this.tick}`;
      if (leader.core.readIndex(requestId).ok) leader.reads.set(requestId, this.maxAcknowledgedIndex);
    }
    if (!faults) return;
    if (this.chance(options.transferPerMille)) {
      const target = this.pick(leader.core.status().membership.voters);
      const result = leader.core.transferLeadership(target);
      this.record(`transfer ${leader.nodeId} -> ${target}: ${result.ok ? 'started' : result.detail}`);
    }
    if (this.chance(options.membershipPerMille)) this.changeMembership(leader);
  }

  private propose(leader: SimNode): void {
    this.proposalCount += 1;
    const data = `p${this.proposalCount}`;
    const result = leader.core.propose(encoder.encode(data));
    if (!result.ok) return;
    leader.proposals.set(result.index, { term: result.term, data });
    this.record(`propose ${leader.nodeId} ${data} -> index ${result.index} term ${result.term}`);
  }

  private changeMembership(leader: SimNode): void {
    if (this.pendingChange !== null) return;
    const membership = leader.core.status().membership;
    let change: MembershipChange;
    if (membership.voters.length + membership.learners.length === this.options.nodeCount) {
      // A new machine always gets a new id: a wiped machine that reused a removed voter's id
      // could grant a ballot its old self never would (seed 1311 found this in the simulator).
      change = { kind: 'addLearner', nodeId: `n${this.nodes.size + 1}` };
    } else if (membership.learners.length > 0) {
      change = { kind: 'promoteLearner', nodeId: this.pick(membership.learners) };
    } else if (membership.voters.length > this.options.nodeCount) {
      change = { kind: 'removeNode', nodeId: this.pick(membership.voters) };
    } else {
      return;
    }
    const result = leader.core.proposeMembership(change);
    this.record(
      `membership ${change.kind} ${change.nodeId}: ${result.ok ? `index ${result.index}` : result.detail}`,
    );
    if (!result.ok) return;
    this.pendingChange = { change, index: result.index, term: result.term };
    if (change.kind === 'addLearner') this.start(this.createNode(change.nodeId, emptyBootstrap()));
  }

  /** Acts on a membership change once its entry committed (or was replaced by another). */
  private checkMembershipProgress(): void {
    const pending = this.pendingChange;
    if (pending === null) return;
    const record = this.applied.get(pending.index);
    if (record === undefined) return;
    this.pendingChange = null;
    const node = this.nodes.get(pending.change.nodeId);
    if (node === undefined) return;
    const committed = record.term === pending.term;
    this.record(
      `membership ${pending.change.kind} ${pending.change.nodeId} ${committed ? 'committed' : 'lost'}`,
    );
    const retire = committed ? pending.change.kind === 'removeNode' : pending.change.kind === 'addLearner';
    if (!retire) return;
    // Only now may the operator shut the machine down: before the removal commits it still counts.
    node.running = false;
    node.retired = true;
    this.record(`retire ${node.nodeId}`);
  }

  private start(node: SimNode): void {
    node.incarnation += 1;
    // Each incarnation of each node draws its own election timeouts, all from the run's seed.
    const seed =
      (Math.imul(this.options.seed, 31) + Math.imul(node.incarnation, 104729)) ^ hashString(node.nodeId);
    node.core = this.makeCore({
      nodeId: node.nodeId,
      rng: new Xoshiro128(seed),
      electionTicks: this.options.electionTicks,
      heartbeatTicks: this.options.heartbeatTicks,
      appendEntriesMax: 8,
      appendBytesMax: 256,
      inflightMessagesMax: 4,
      snapshotChunkBytes: SNAPSHOT_CHUNK_BYTES,
    });
    const state = node.disk.load();
    node.core.restore(state);
    node.durableTerm = state.hardState.term;
    node.stateMachine = decodeStateMachine(state.snapshot.data, state.snapshot.metadata.membership);
    node.running = true;
    node.tickAccumulator = 0;
    node.proposals.clear();
    node.writing = null;
    node.reads.clear();
    this.record(
      `start ${node.nodeId} term=${state.hardState.term} snapshot=${state.snapshot.metadata.index} entries=${state.entries.length}`,
    );
  }

  /** The host loop of the Ready contract, in its documented order. */
  private drain(node: SimNode): void {
    for (let round = 0; round < READY_ROUNDS_MAX; round += 1) {
      if (node.writing !== null) {
        if (node.writing.doneAtTick > this.tick) return;
        const { ready } = node.writing;
        node.writing = null;
        this.handleReady(node, ready);
      }
      const ready = node.core.ready();
      if (ready === null) {
        this.maybeSnapshot(node);
        return;
      }
      // As RaftNode does: the leader's appends leave before its write, which a crash may tear.
      for (const message of ready.messages) {
        if (sendableBeforePersist(message, node.durableTerm)) this.network.send(message, this.tick);
      }
      const delayTicks = this.rng.nextInt(this.options.diskDelayTicksMax + 1);
      if (delayTicks === 0) this.handleReady(node, ready);
      else node.writing = { ready, doneAtTick: this.tick + delayTicks };
    }
    throw new SafetyViolation(
      'bounded ready loop',
      `${node.nodeId} produced ${READY_ROUNDS_MAX} Readies in one tick`,
    );
  }

  private handleReady(node: SimNode, ready: Ready): void {
    node.disk.write(ready);
    for (const message of ready.messages) {
      if (!sendableBeforePersist(message, node.durableTerm)) this.network.send(message, this.tick);
    }
    if (ready.hardState !== null) node.durableTerm = ready.hardState.term;
    if (ready.snapshot !== null) {
      node.stateMachine = decodeStateMachine(ready.snapshot.data, ready.snapshot.metadata.membership);
      this.record(`${node.nodeId} installed snapshot ${ready.snapshot.metadata.index}`);
    }
    for (const entry of ready.entriesToApply) this.apply(node, entry);
    for (const read of ready.readStates) {
      const floor = node.reads.get(read.requestId);
      node.reads.delete(read.requestId);
      if (floor !== undefined && read.index < floor) {
        throw new SafetyViolation(
          'linearizable read',
          `${node.nodeId} answered read ${read.requestId} at index ${read.index}, below acknowledged index ${floor}`,
        );
      }
    }
    if (ready.roleState !== null) {
      this.record(`${node.nodeId} is ${ready.roleState.role} at term ${ready.roleState.term}`);
    }
    node.core.advance(ready);
  }

  private apply(node: SimNode, entry: Entry): void {
    const machine = node.stateMachine;
    if (entry.index !== machine.index + 1) {
      throw new SafetyViolation(
        'apply order',
        `${node.nodeId} applied ${entry.index} after ${machine.index}`,
      );
    }
    machine.hash = mix(machine.hash, entry);
    machine.index = entry.index;
    machine.term = entry.term;
    if (entry.kind === 'config') machine.membership = decodeMembership(entry.data);
    const record = this.applied.get(entry.index);
    if (record === undefined) {
      this.applied.set(entry.index, { term: entry.term, hash: machine.hash, termWhenApplied: this.maxTerm });
    } else if (record.term !== entry.term || record.hash !== machine.hash) {
      throw new SafetyViolation(
        'state machine safety',
        `${node.nodeId} applied term ${entry.term} hash ${machine.hash} at ${entry.index}; another node applied term ${record.term} hash ${record.hash}`,
      );
    }
    const proposal = node.proposals.get(entry.index);
    if (proposal === undefined) return;
    node.proposals.delete(entry.index);
    const data = decoder.decode(entry.data);
    if (proposal.term !== entry.term || proposal.data !== data) return; // Replaced: the client sees a failure.
    this.acknowledged.push({
      index: entry.index,
      term: entry.term,
      data,
      termWhenAcknowledged: this.maxTerm,
    });
    this.maxAcknowledgedIndex = Math.max(this.maxAcknowledgedIndex, entry.index);
    this.record(`ack ${data} index ${entry.index} term ${entry.term}`);
  }

  private maybeSnapshot(node: SimNode): void {
    const status = node.core.status();
    const machine = node.stateMachine;
    if (machine.index - status.snapshotIndex < this.options.snapshotEveryEntries) return;
    const snapshot: Snapshot = {
      metadata: { index: machine.index, term: machine.term, membership: machine.membership },
      data: encodeStateMachine(machine),
    };
    node.disk.saveSnapshot(snapshot);
    node.core.snapshotTaken(snapshot);
  }

  private currentLeader(): SimNode | null {
    let best: SimNode | null = null;
    let bestTerm = -1;
    for (const node of this.nodes.values()) {
      if (!node.running) continue;
      const status = node.core.status();
      if (status.role === 'leader' && status.term > bestTerm) {
        best = node;
        bestTerm = status.term;
      }
    }
    return best;
  }

  // ---------------------------------------------------------------------------------------------
  // Invariants, checked after every tick.

  private checkSafety(): void {
    const running = [...this.nodes.values()].filter((node) => node.running);
    for (const node of running) {
      const status = node.core.status();
      this.maxTerm = Math.max(this.maxTerm, status.term);
      if (status.role !== 'leader') continue;
      const known = this.leadersByTerm.get(status.term);
      if (known !== undefined && known !== node.nodeId) {
        throw new SafetyViolation(
          'election safety',
          `${known} and ${node.nodeId} both led term ${status.term}`,
        );
      }
      this.leadersByTerm.set(status.term, node.nodeId);
      this.checkLeaderCompleteness(node, status.term, status.snapshotIndex);
    }
    for (let a = 0; a < running.length; a += 1) {
      for (let b = a + 1; b < running.length; b += 1) {
        const left = running[a];
        const right = running[b];
        if (left !== undefined && right !== undefined) checkLogMatching(left, right);
      }
    }
  }

  private checkLeaderCompleteness(leader: SimNode, term: Term, snapshotIndex: Index): void {
    for (const [index, record] of this.applied) {
      if (index <= snapshotIndex || record.termWhenApplied >= term) continue;
      const entry = leader.core.entryAt(index);
      if (entry?.term !== record.term) {
        throw new SafetyViolation(
          'leader completeness',
          `leader ${leader.nodeId} of term ${term} has ${entry === undefined ? 'no entry' : `term ${entry.term}`} at committed index ${index} (term ${record.term})`,
        );
      }
    }
    for (const acknowledged of this.acknowledged) {
      if (acknowledged.index <= snapshotIndex || acknowledged.termWhenAcknowledged >= term) continue;
      const entry = leader.core.entryAt(acknowledged.index);
      if (entry?.term !== acknowledged.term || decoder.decode(entry.data) !== acknowledged.data) {
        throw new SafetyViolation(
          'acknowledged proposal lost',
          `${acknowledged.data} acknowledged at index ${acknowledged.index} term ${acknowledged.term} is missing from leader ${leader.nodeId} of term ${term}`,
        );
      }
    }
  }

  /** Heal every fault; a leader must be elected and commit a fresh proposal within the budget. */
  private livenessPhase(): void {
    this.network.heal();
    this.network.options = { lossPerMille: 0, duplicatePerMille: 0, delayTicksMin: 1, delayTicksMax: 2 };
    for (const node of this.nodes.values()) if (!node.running && !node.retired) this.start(node);
    this.record('liveness phase: all faults healed');
    const deadline = this.tick + LIVENESS_ELECTION_TIMEOUTS_MAX * this.options.electionTicks;
    let probe: { node: SimNode; index: Index; term: Term } | null = null;
    for (; this.tick <= deadline; this.tick += 1) {
      this.step(false);
      if (probe !== null && this.applied.get(probe.index)?.term === probe.term) {
        this.record(`liveness: index ${probe.index} committed at tick ${this.tick}`);
        return;
      }
      const leader = this.currentLeader();
      if (
        leader !== null &&
        (probe === null || probe.node !== leader || !leader.proposals.has(probe.index))
      ) {
        const result = leader.core.propose(encoder.encode(`liveness${this.tick}`));
        if (result.ok) {
          probe = { node: leader, index: result.index, term: result.term };
          leader.proposals.set(result.index, { term: result.term, data: `liveness${this.tick}` });
        }
      }
    }
    throw new SafetyViolation(
      'liveness',
      `no proposal committed within ${LIVENESS_ELECTION_TIMEOUTS_MAX} election timeouts after healing`,
    );
  }

  private finalCheck(): void {
    for (const acknowledged of this.acknowledged) {
      if (this.applied.get(acknowledged.index)?.term !== acknowledged.term) {
        throw new SafetyViolation(
          'acknowledged proposal lost',
          `${acknowledged.data} at index ${acknowledged.index} not in the applied history`,
        );
      }
    }
  }

  private record(event: string): void {
    this.trace.push(`t=${this.tick} ${event}`);
    if (this.trace.length > TRACE_LINES_MAX) this.trace.shift();
  }

  private chance(perMille: number): boolean {
    return this.rng.nextInt(1000) < perMille;
  }

  private pick<T>(items: readonly T[]): T {
    const item = items[this.rng.nextInt(items.length)];
    if (item === undefined) throw new SafetyViolation('simulator', 'picked from an empty list');
    return item;
  }
}

/** Log matching: if two logs hold an entry with the same index and term, they agree up to it. */
function checkLogMatching(left: SimNode, right: SimNode): void {
  const a = left.core.status();
  const b = right.core.status();
  const low = Math.max(a.snapshotIndex, b.snapshotIndex) + 1;
  let agreed = false;
  for (let index = Math.min(a.lastIndex, b.lastIndex); index >= low; index -= 1) {
    const x = left.core.entryAt(index);
    const y = right.core.entryAt(index);
    if (x === undefined || y === undefined) continue;
    if (!agreed) {
      agreed = x.term === y.term;
      if (!agreed) continue;
    }
    if (x.term !== y.term || x.kind !== y.kind || !sameBytes(x.data, y.data)) {
      throw new SafetyViolation(
        'log matching',
        `${left.nodeId} and ${right.nodeId} agree on a later entry but differ at index ${index} (terms ${x.term}/${y.term})`,
      );
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, index) => byte === b[index]);
}

function initialStateMachine(membership: Membership): StateMachine {
  return { index: 0, term: 0, hash: 0x811c9dc5, membership };
}

function emptyBootstrap(): Snapshot {
  const membership: Membership = { voters: [], learners: [] };
  return {
    metadata: { index: 0, term: 0, membership },
    data: encodeStateMachine(initialStateMachine(membership)),
  };
}

/** Snapshot bytes: the state machine as JSON, padded so that a transfer takes several chunks. */
function encodeStateMachine(machine: StateMachine): Uint8Array {
  const json = JSON.stringify({ index: machine.index, term: machine.term, hash: machine.hash });
  return encoder.encode(json.padEnd(SNAPSHOT_PADDING_BYTES, ' '));
}

function decodeStateMachine(data: Uint8Array, membership: Membership): StateMachine {
  const parsed = JSON.parse(decoder.decode(data)) as { index: Index; term: Term; hash: number };
  return { index: parsed.index, term: parsed.term, hash: parsed.hash, membership };
}

/** FNV-1a over the entry's identity and bytes: two nodes agree on the hash iff they applied the same history. */
function mix(hash: number, entry: Entry): number {
  let value = hash;
  const feed = (byte: number): void => {
    value = Math.imul(value ^ byte, 0x01000193) >>> 0;
  };
  for (const byte of encoder.encode(`${entry.index}/${entry.term}/${entry.kind}/`)) feed(byte);
  for (const byte of entry.data) feed(byte);
  return value;
}

function hashString(text: string): number {
  let value = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1)
    value = Math.imul(value ^ text.charCodeAt(index), 0x01000193) >>> 0;
  return value;
}

export function describeMessage(message: RaftMessage): string {
  const head = `${message.from}->${message.to} ${message.kind} term=${message.term}`;
  switch (message.kind) {
    case 'requestVote':
      return `${head}${message.preVote ? ' pre' : ''}${message.leadershipTransfer ? ' transfer' : ''} last=${message.lastLogIndex}/${message.lastLogTerm}`;
    case 'requestVoteResponse':
      return `${head}${message.preVote ? ' pre' : ''} ${message.voteGranted ? 'granted' : 'rejected'}`;
    case 'appendEntries': {
      const entries = message.entries.map(
        (entry) => `${entry.index}/${entry.term}${entry.kind === 'command' ? '' : `:${entry.kind}`}`,
      );
      return `${head} prev=${message.prevLogIndex}/${message.prevLogTerm} commit=${message.leaderCommit} entries=[${entries.join(' ')}]${message.readRound > 0 ? ` read=${message.readRound}` : ''}`;
    }
    case 'appendEntriesResponse':
      return message.success
        ? `${head} match=${message.matchIndex}${message.readRound > 0 ? ` read=${message.readRound}` : ''}`
        : `${head} reject=${message.rejectedIndex} hint=${message.rejectHintIndex}/${message.rejectHintTerm}`;
    case 'installSnapshot':
      return `${head} snapshot=${message.metadata.index}/${message.metadata.term} offset=${message.offset} bytes=${message.chunk.byteLength}${message.done ? ' done' : ''}`;
    case 'installSnapshotResponse':
      return `${head} snapshot=${message.snapshotIndex} next=${message.nextOffset}${message.done ? ' done' : ''}`;
    case 'timeoutNow':
      return head;
  }
}
