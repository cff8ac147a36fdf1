import { assert } from '../core/assert';
import type { RaftConfigInput } from '../core/config';
import { decodeMembership, encodeMembership, type MembershipChange } from '../core/membership';
import {
  RaftCore,
  type ProposeRejection,
  type ProposeResult,
  type RaftStatus,
  type RequestResult,
} from '../core/raft';
import { sendableBeforePersist, type Ready, type RoleState } from '../core/ready';
import type { Entry, Index, Membership, NodeId, RaftMessage, Snapshot, Term } from '../core/types';
import { deferred, type Deferred } from '../support/deferred';
import type { RaftLogLogger } from '../support/logger';
import { LogCorruptionError, type LogStore } from '../storage/log-store';
import { ENTRY_DATA_BYTES_MAX } from '../storage/segment-format';
import type { SnapshotStore } from '../storage/snapshot-store';
import type { PeerTransport } from '../transport/peer-transport';
import { snapshotDue, snapshotOffset } from './snapshot-schedule';

/** The replicated state machine a RaftNode drives. Every method runs on committed data only. */
export interface RaftStateMachine {
  /** Applies one committed command entry. Must be deterministic: every node applies the same log. */
  apply(entry: Entry): void;
  /**
   * Serialises the state as of the last applied entry. It may answer with a promise, to encode
   * over several turns of the event loop while entries go on applying: the state it serialises
   * is still the one at the call, so it must capture that state before it returns.
   */
  snapshot(): Uint8Array | Promise<Uint8Array>;
  /** Replaces the state with a snapshot's (at start, or when the leader sent one). */
  restore(snapshot: Snapshot): void;
}

export interface RaftNodeOptions {
  /** Passed to the core; `nodeId` and a seeded `rng` are required. */
  readonly raft: RaftConfigInput;
  /** Membership of a brand-new cluster (every founding node passes the same); empty for a joining node. */
  readonly bootstrapMembership: Membership;
  readonly logStore: LogStore;
  readonly snapshotStore: SnapshotStore;
  readonly transport: PeerTransport;
  readonly stateMachine: RaftStateMachine;
  readonly logger: RaftLogLogger;
  /** Wall-clock length of one core tick; the election timeout is `electionTicks` of these. */
  readonly tickIntervalMs: number;
  /**
   * Take a snapshot once per this many applied entries, each member at its own offset in the
   * interval (snapshot-schedule.ts).
   */
  readonly snapshotEveryEntries: number;
  /** Client-facing address of each node, reported in NotLeaderError so callers can redirect. */
  readonly nodeAddresses?: Readonly<Record<NodeId, string>>;
  /** Wall clock in epoch milliseconds, for `lastContactMs`; Date.now when absent. */
  readonly clock?: () => number;
  /**
   * Called once if the node stops by itself because handling a Ready failed (a storage error, a
   * state machine or listener that threw). The node then takes no further part in the cluster;
   * a host process should end so that a supervisor restarts it from its durable log.
   */
  readonly onFailure?: (error: RaftNodeStoppedError) => void;
}

/** The core's status plus what only the host knows: time. */
export interface RaftNodeStatus extends RaftStatus {
  /**
   * Milliseconds since each peer last answered this node (an appendEntries, installSnapshot or
   * RequestVote response). On the leader that is each follower's liveness; peers never heard
   * from are absent.
   */
  readonly lastContactMs: ReadonlyMap<NodeId, number>;
}

const RESPONSE_KINDS: ReadonlySet<RaftMessage['kind']> = new Set([
  'appendEntriesResponse',
  'installSnapshotResponse',
  'requestVoteResponse',
]);

/** This node does not lead; retry on `leaderAddress` (null while no leader is known). */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
  constructor(
    readonly leaderId: NodeId | null,
    readonly leaderAddress: string | null,
    detail: string,
  ) {
    super(
      leaderId === null
        ? `${detail}; no leader is known yet, retry later`
        : `${detail}; the leader is ${leaderId}`,
    );
  }
}

/** The core refused the request for another reason (overloaded, transfer or membership change in progress). */
export class ProposalRejectedError extends Error {
  override readonly name = 'ProposalRejectedError';
  constructor(
    readonly reason: ProposeRejection,
    detail: string,
  ) {
    super(detail);
  }
}

/** The proposal's index was taken by another leader's entry: it was not (and will not be) applied. */
export class ProposalDroppedError extends Error {
  override readonly name = 'ProposalDroppedError';
}

/**
 * This node can no longer tell whether the proposal committed (a snapshot from a new leader
 * replaced its log position). Retry only if the command is idempotent; Verdict's are.
 */
export class ProposalOutcomeUnknownError extends Error {
  override readonly name = 'ProposalOutcomeUnknownError';
}

/**
 * The node stopped (closed, or a storage failure made it unsafe to continue). Pending proposals
 * fail with it; like ProposalOutcomeUnknownError, they may still have committed.
 */
export class RaftNodeStoppedError extends Error {
  override readonly name = 'RaftNodeStoppedError';
}

interface PendingProposal {
  readonly term: Term;
  readonly done: Deferred<{ index: Index; term: Term }>;
}

/**
 * The host of a RaftCore: it owns the only awaits. One loop takes each Ready and handles it in the
 * order the Ready contract states (core/ready.ts): persist, then send, then apply, then advance.
 * A timer drives tick(); inbound messages are stepped as they arrive.
 */
export class RaftNode {
  private readonly core: RaftCore;
  // Invariant: keys are indexes above appliedIndex; each resolves when its index is applied.
  private readonly proposals = new Map<Index, PendingProposal>();
  // Invariant: reads confirmed by the core, waiting for appliedIndex to reach their index.
  private confirmedReads: { index: Index; done: Deferred<Index> }[] = [];
  private readonly reads = new Map<string, Deferred<Index>>();
  private readonly roleListeners = new Set<(state: RoleState) => void>();
  private readonly membershipListeners = new Set<(membership: Membership) => void>();
  /** The membership last reported to membershipListeners, and its encoding to compare by value. */
  private reportedMembership: { readonly membership: Membership; readonly key: string } | null = null;
  private readonly lastResponseAtMs = new Map<NodeId, number>();
  private readonly clock: () => number;
  private nextReadId = 0;
  // Invariant: appliedIndex is the index of the last entry applied (or restored from a snapshot).
  private appliedIndex: Index;
  private appliedTerm: Term;
  private appliedMembership: Membership;
  private snapshotIndex: Index;
  /**
   * A snapshot of this node's own being encoded and saved, off the Ready loop: commits go on
   * meanwhile. Invariant: at most one at a time; a snapshot from the leader waits for it.
   */
  private snapshotting: Promise<void> | null = null;
  /** Saved by `snapshotting`, for the Ready loop to hand to the core and compact the log to. */
  private savedSnapshot: Snapshot | null = null;
  // Invariant: the term of the newest hard state the log store finished writing.
  private durableTerm: Term;
  private draining = false;
  private ticker: NodeJS.Timeout | null = null;
  private stopped: RaftNodeStoppedError | null = null;
  private drained: Promise<void> = Promise.resolve();

  private constructor(
    private readonly options: RaftNodeOptions,
    snapshot: Snapshot,
    durableTerm: Term,
  ) {
    this.core = new RaftCore(options.raft);
    this.clock = options.clock ?? Date.now;
    this.durableTerm = durableTerm;
    this.appliedIndex = snapshot.metadata.index;
    this.appliedTerm = snapshot.metadata.term;
    this.appliedMembership = snapshot.metadata.membership;
    this.snapshotIndex = snapshot.metadata.index;
  }

  /** Loads durable state, restores the state machine, and starts ticking and receiving. */
  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    assert(options.tickIntervalMs >= 1, `tickIntervalMs ${options.tickIntervalMs} must be >= 1`);
    assert(
      options.snapshotEveryEntries >= 1,
      `snapshotEveryEntries ${options.snapshotEveryEntries} must be >= 1`,
    );
    const loaded = await options.logStore.load();
    const snapshot = (await options.snapshotStore.loadLatest()) ?? {
      metadata: { index: 0, term: 0, membership: options.bootstrapMembership },
      data: new Uint8Array(0),
    };
    if (loaded.firstIndex - 1 > snapshot.metadata.index) {
      throw new LogCorruptionError(
        `the log was compacted through index ${loaded.firstIndex - 1} but the newest snapshot covers only ` +
          `${snapshot.metadata.index}: entries in between are lost`,
      );
    }
    const node = new RaftNode(options, snapshot, loaded.hardState.term);
    node.core.restore({ hardState: loaded.hardState, snapshot, entries: loaded.entries });
    if (snapshot.metadata.index > 0) options.stateMachine.restore(snapshot);
    options.transport.onMessage((message) => {
      if (node.stopped !== null) return;
      if (RESPONSE_KINDS.has(message.kind)) node.lastResponseAtMs.set(message.from, node.clock());
      node.core.step(message);
      node.kick();
    });
    node.ticker = setInterval(() => {
      node.core.tick();
      node.kick();
    }, options.tickIntervalMs);
    node.kick();
    return node;
  }

  /** Replicates `data`; resolves once it is committed and applied on this node. */
  propose(data: Uint8Array): Promise<{ index: Index; term: Term }> {
    if (this.stopped !== null) return Promise.reject(this.stopped);
    if (data.length > ENTRY_DATA_BYTES_MAX) {
      return Promise.reject(
        new ProposalRejectedError(
          'overloaded',
          `proposal of ${data.length} bytes exceeds ENTRY_DATA_BYTES_MAX ${ENTRY_DATA_BYTES_MAX}`,
        ),
      );
    }
    return this.track(this.core.propose(data));
  }

  /** Proposes one membership change; resolves once its config entry is applied here. */
  proposeMembership(change: MembershipChange): Promise<{ index: Index; term: Term }> {
    if (this.stopped !== null) return Promise.reject(this.stopped);
    return this.track(this.core.proposeMembership(change));
  }

  /**
   * A linearizable read barrier: resolves with an index once this node has applied through it
   * and a quorum confirmed it still leads. Read the state machine after it resolves.
   */
  readIndex(): Promise<Index> {
    if (this.stopped !== null) return Promise.reject(this.stopped);
    const requestId = `read-${this.nextReadId}`;
    this.nextReadId += 1;
    const result = this.core.readIndex(requestId);
    if (!result.ok) return Promise.reject(this.refusal(result));
    const done = deferred<Index>();
    this.reads.set(requestId, done);
    this.kick();
    return done.promise;
  }

  /** Starts handing leadership to `to`; watch onRoleChange for the outcome. */
  transferLeadership(to: NodeId): void {
    if (this.stopped !== null) throw this.stopped;
    const result = this.core.transferLeadership(to);
    if (!result.ok) throw this.refusal(result);
    this.kick();
  }

  status(): RaftNodeStatus {
    const nowMs = this.clock();
    const lastContactMs = new Map<NodeId, number>();
    for (const [nodeId, atMs] of this.lastResponseAtMs) lastContactMs.set(nodeId, Math.max(0, nowMs - atMs));
    return { ...this.core.status(), lastContactMs };
  }

  /**
   * Called with the membership in force now and again whenever it changes, including the member
   * addresses. A change takes effect when its config entry is appended (not committed), and the
   * listener runs before any message of that Ready leaves, so a transport told here can already
   * reach a member just added. Returns an unsubscribe function.
   */
  onMembershipChange(listener: (membership: Membership) => void): () => void {
    this.membershipListeners.add(listener);
    listener(this.core.status().membership);
    return () => this.membershipListeners.delete(listener);
  }

  /** Called with every change of role, term or known leader; returns an unsubscribe function. */
  onRoleChange(listener: (state: RoleState) => void): () => void {
    this.roleListeners.add(listener);
    return () => this.roleListeners.delete(listener);
  }

  /**
   * Stops ticking and receiving, waits for the Ready and the snapshot in progress, and closes
   * storage and transport.
   */
  async close(): Promise<void> {
    if (this.stopped === null) this.stop(new RaftNodeStoppedError('raft node closed'));
    await this.drained;
    await this.snapshotting;
    await this.options.transport.close();
    await this.options.logStore.close();
  }

  /** Waits for an accepted proposal's entry to be applied. */
  private track(result: ProposeResult): Promise<{ index: Index; term: Term }> {
    if (!result.ok) return Promise.reject(this.refusal(result));
    const proposal: PendingProposal = { term: result.term, done: deferred() };
    this.proposals.set(result.index, proposal);
    this.kick();
    return proposal.done.promise;
  }

  private refusal(result: Extract<RequestResult, { ok: false }>): Error {
    if (result.reason !== 'notLeader') return new ProposalRejectedError(result.reason, result.detail);
    const leaderAddress =
      result.leaderId === null ? null : (this.options.nodeAddresses?.[result.leaderId] ?? null);
    return new NotLeaderError(result.leaderId, leaderAddress, result.detail);
  }

  /** Starts the Ready loop unless it is running; it re-reads ready() until there is nothing left. */
  private kick(): void {
    if (this.draining || this.stopped !== null) return;
    this.draining = true;
    this.drained = this.drain().catch((error: unknown) => this.fail('handling a Ready', error));
  }

  /** A storage, state machine or listener failure: this node can no longer take part safely. */
  private fail(what: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (this.stopped !== null) {
      // Already closed or failed: onFailure is called once.
      this.options.logger.warn(`raft node: ${what} failed after it stopped`, { error: message });
      return;
    }
    this.options.logger.warn(`raft node stopped: ${what} failed`, { error: message });
    const stopped = new RaftNodeStoppedError(`raft node stopped after a failure: ${message}`, {
      cause: error,
    });
    this.stop(stopped);
    this.options.onFailure?.(stopped);
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped !== null) return;
        if (this.savedSnapshot !== null) await this.compactTo(this.savedSnapshot);
        const ready = this.core.ready();
        if (ready === null) return;
        await this.handleReady(ready);
        const every = this.options.snapshotEveryEntries;
        const offset = snapshotOffset(this.options.raft.nodeId, this.appliedMembership, every);
        if (this.snapshotting === null && snapshotDue(this.appliedIndex, this.snapshotIndex, every, offset)) {
          this.startSnapshot();
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async handleReady(ready: Ready): Promise<void> {
    const { logStore, snapshotStore, transport, stateMachine } = this.options;
    this.reportMembership();
    // The leader's appends leave before its own write (see sendableBeforePersist): one fsync
    // latency less per commit.
    const durableTerm = this.durableTerm;
    for (const message of ready.messages) {
      if (sendableBeforePersist(message, durableTerm)) transport.send(message);
    }
    // 1. A snapshot from the leader replaces the whole log. Saves go in index order: one of this
    // node's own still being saved is older and finishes first.
    if (ready.snapshot !== null) {
      await this.snapshotting;
      this.savedSnapshot = null;
      const snapshotIndex = ready.snapshot.metadata.index;
      await snapshotStore.save(ready.snapshot);
      await logStore.compactPrefix(snapshotIndex);
      await logStore.truncateSuffix(snapshotIndex + 1);
    }
    // 2-3. Entries (the store removes [truncateFromIndex, +inf) first), then the hard state.
    assert(
      ready.truncateFromIndex === null || ready.truncateFromIndex === ready.entriesToPersist[0]?.index,
      `truncateFromIndex ${ready.truncateFromIndex} is not the first entry to persist`,
    );
    await logStore.write(ready.entriesToPersist, ready.hardState, { sync: ready.mustSync });
    if (ready.hardState !== null) this.durableTerm = ready.hardState.term;
    // 4. Only now may the other messages promise what was just made durable.
    for (const message of ready.messages) {
      if (!sendableBeforePersist(message, durableTerm)) transport.send(message);
    }
    // 5. Apply.
    if (ready.snapshot !== null) {
      stateMachine.restore(ready.snapshot);
      this.appliedIndex = ready.snapshot.metadata.index;
      this.appliedTerm = ready.snapshot.metadata.term;
      this.appliedMembership = ready.snapshot.metadata.membership;
      this.snapshotIndex = this.appliedIndex;
      for (const [index, proposal] of this.proposals) {
        if (index > this.appliedIndex) continue;
        this.proposals.delete(index);
        proposal.done.reject(
          new ProposalOutcomeUnknownError(
            `proposal at index ${index} was overtaken by a snapshot through ${this.appliedIndex} from the leader`,
          ),
        );
      }
    }
    for (const entry of ready.entriesToApply) this.apply(entry);
    // 6. Reads.
    for (const read of ready.readStates) {
      const done = this.reads.get(read.requestId);
      this.reads.delete(read.requestId);
      if (done !== undefined) this.confirmedReads.push({ index: read.index, done });
    }
    for (const requestId of ready.readsAborted) {
      this.reads
        .get(requestId)
        ?.reject(new NotLeaderError(null, null, 'leadership was lost during the read'));
      this.reads.delete(requestId);
    }
    this.settleConfirmedReads();
    if (ready.roleState !== null) {
      const roleState = ready.roleState;
      this.options.logger.info('raft role changed', { ...roleState });
      for (const listener of this.roleListeners) listener(roleState);
    }
    this.core.advance(ready);
  }

  private reportMembership(): void {
    const membership = this.core.status().membership;
    if (this.reportedMembership?.membership === membership) return;
    const key = new TextDecoder().decode(encodeMembership(membership));
    const changed = this.reportedMembership?.key !== key;
    this.reportedMembership = { membership, key };
    if (!changed) return;
    for (const listener of this.membershipListeners) listener(membership);
  }

  private apply(entry: Entry): void {
    assert(entry.index === this.appliedIndex + 1, `applying ${entry.index} after ${this.appliedIndex}`);
    if (entry.kind === 'command') this.options.stateMachine.apply(entry);
    if (entry.kind === 'config') this.appliedMembership = decodeMembership(entry.data);
    this.appliedIndex = entry.index;
    this.appliedTerm = entry.term;
    // Entries apply in index order, so the proposal at this index is the only one to settle.
    const proposal = this.proposals.get(entry.index);
    if (proposal === undefined) return;
    this.proposals.delete(entry.index);
    if (entry.term === proposal.term) {
      proposal.done.resolve({ index: entry.index, term: entry.term });
    } else {
      proposal.done.reject(
        new ProposalDroppedError(
          `proposal at index ${entry.index} (term ${proposal.term}) was replaced by an entry of term ${entry.term}`,
        ),
      );
    }
  }

  private settleConfirmedReads(): void {
    const waiting: typeof this.confirmedReads = [];
    for (const read of this.confirmedReads) {
      if (read.index <= this.appliedIndex) read.done.resolve(read.index);
      else waiting.push(read);
    }
    this.confirmedReads = waiting;
  }

  /**
   * Captures the state machine at the applied index now, then encodes and saves it in the
   * background; the Ready loop goes on and, once it is durable, tells the core and compacts the
   * log (compactTo). The log never loses what no snapshot holds.
   */
  private startSnapshot(): void {
    const metadata = { index: this.appliedIndex, term: this.appliedTerm, membership: this.appliedMembership };
    const data = this.options.stateMachine.snapshot();
    this.snapshotting = (async () => {
      const snapshot: Snapshot = { metadata, data: await data };
      await this.options.snapshotStore.save(snapshot);
      this.savedSnapshot = snapshot;
    })()
      .catch((error: unknown) => this.fail('taking a snapshot', error))
      .finally(() => {
        this.snapshotting = null;
        this.kick();
      });
  }

  private async compactTo(snapshot: Snapshot): Promise<void> {
    this.savedSnapshot = null;
    this.core.snapshotTaken(snapshot);
    // A leader's snapshot may have overtaken this one meanwhile (the core then ignores it).
    this.snapshotIndex = Math.max(this.snapshotIndex, snapshot.metadata.index);
    await this.options.logStore.compactPrefix(snapshot.metadata.index);
    this.options.logger.info('raft snapshot taken', {
      index: snapshot.metadata.index,
      term: snapshot.metadata.term,
    });
  }

  private stop(error: RaftNodeStoppedError): void {
    this.stopped = error;
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    for (const proposal of this.proposals.values()) proposal.done.reject(error);
    this.proposals.clear();
    for (const done of this.reads.values()) done.reject(error);
    this.reads.clear();
    for (const read of this.confirmedReads) read.done.reject(error);
    this.confirmedReads = [];
  }
}
