import { hash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type {
  Entry,
  Membership,
  MembershipChange,
  NodeId,
  RaftNode,
  RaftStateMachine,
  RoleState,
  Snapshot,
} from '@verdict/raft-log';
import { NotLeaderError, ProposalRejectedError } from '@verdict/raft-log';
import { type Outcome, type ParticipantCommand, type ParticipantReply, uuidv7 } from '@verdict/protocol';
import { CoordinatorError } from '../api/coordinator.error';
import type {
  Actor,
  BeginInput,
  BreakerState,
  ClusterParticipantView,
  ClusterStatsView,
  ClusterStatusView,
  CommitWait,
  CoordinatorPort,
  ListFilter,
  MemberInput,
  MemberView,
  OutcomeView,
  ParticipantInput,
  RaftRole,
  Resolution,
  TransactionPage,
  TransactionView,
} from '../api/coordinator.port';
import {
  createEngineState,
  decodeSnapshot,
  listTransactions,
  SNAPSHOT_KEYS_PER_SLICE,
  SnapshotEncoding,
  transition,
  txState,
  viewTransaction,
  type Command,
  type Effect,
  type EngineError,
  type EngineState,
  type JsonValue,
  type Reply,
  type TxLogEntry,
} from '../engine';
import { encodeCanonical } from '../engine/canonical-json';
import type { Archiver } from '../history/archiver';
import type { FinishedTransaction } from '../history/finished-transaction';
import type { HistoryStore } from '../history/history-store';
import { decodeHistoryCursor, encodeHistoryCursor } from '../history/history-store';
import type { CoordinatorMetrics } from '../observability/metrics';
import type { ReadinessPort, ReadinessView } from '../observability/readiness.port';
import type { TransactionTracingHooks } from '../observability/tracing-transactions';
import type { ParticipantBreakers } from '../transport/participant-breakers';
import type { OutboundCommand, ParticipantChannel } from '../transport/participant-channel';
import { decodeEntryBatch, encodeEntryBatch } from './entry-batch';
import { LAST_SEEN_NAMES_MAX, ParticipantLastSeen } from './participant-last-seen';
import {
  encodeMemberAddress,
  raftPeers,
  recordableAddresses,
  resolveAddresses,
  type MemberAddress,
  type StartupAddresses,
} from './member-addresses';
import { fromEngineView, fromHistory, toBreakerState, toDecisionView } from './views';

/** What the host needs of a Raft node: RaftNode in production, the same class in tests. */
export type ReplicatedLog = Pick<
  RaftNode,
  'propose' | 'readIndex' | 'status' | 'onRoleChange' | 'transferLeadership' | 'proposeMembership'
>;

export interface HostLogger {
  log(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

export interface CoordinatorHostOptions {
  readonly nodeId: NodeId;
  /**
   * Where the environment says the members are (VERDICT_PEERS, VERDICT_PEER_HTTP_URLS); the
   * replicated configuration adds the members it does not name.
   */
  readonly startupAddresses: StartupAddresses;
  readonly channel: ParticipantChannel;
  readonly breakers: ParticipantBreakers;
  readonly archiver: Archiver;
  readonly history: HistoryStore;
  readonly metrics: CoordinatorMetrics;
  readonly logger: HostLogger;
  /** Wall clock in epoch milliseconds; the engine reads time only through `tick`. */
  readonly clock: () => number;
  readonly tickIntervalMs: number;
  /** A transaction in one phase longer than this is shown as stuck (VERDICT_STUCK_AFTER_MS); the engine's default when absent. */
  readonly stuckAfterMs?: number;
  /** Told when a transaction begins and ends on this leader; absent when tracing is off. */
  readonly tracing?: TransactionTracingHooks;
}

/** A client should retry this soon after a leader change; elections take a few hundred ms. */
const NO_LEADER_RETRY_AFTER_MS = 500;
/** How long a leadership transfer may take before the API reports it failed. */
const TRANSFER_TIMEOUT_MS = 5_000;
/** How often metrics that summarise the live table are refreshed. */
const METRICS_INTERVAL_MS = 1_000;
/** A configuration entry not committed by then points at an unreachable majority. */
const CONFIG_COMMIT_TIMEOUT_MS = 10_000;
/** A new member that has not answered the leader by then is taken out again. */
const LEARNER_CONTACT_TIMEOUT_MS = 10_000;
/** A learner still behind by then stays a learner; the operator repeats the call or removes it. */
const LEARNER_CATCH_UP_TIMEOUT_MS = 60_000;
/**
 * Caught up: at most this many entries behind the leader's last one. Promotion then cannot stall
 * commits for long: each entry is a group-committed batch, a few milliseconds' worth of work.
 */
const LEARNER_LAG_MAX = 64;
/** A voter that answered the leader this recently counts as up when a removal is checked for quorum. */
const VOTER_RECENT_CONTACT_MS = 2_000;
/** How often a running membership change looks at the learner's progress. */
const MEMBERSHIP_POLL_MS = 50;

type PendingRequest =
  | { readonly kind: 'engine'; readonly settle: (reply: Reply) => void }
  | {
      readonly kind: 'outcome';
      readonly settle: (view: OutcomeView) => void;
      readonly fail: (error: Error) => void;
    };

/**
 * Hosts the pure 2PC engine on this node: feeds it committed Raft entries, the clock, replies from
 * participants and breaker changes; carries out its effects (propose through Raft with group
 * commit, send through Kafka in one produce request per turn, complete HTTP requests, archive);
 * and implements the API's CoordinatorPort on top of it. The engine is single-threaded state:
 * every command runs to completion synchronously, so no locks exist or are needed.
 */
export class CoordinatorHost implements CoordinatorPort, ReadinessPort, RaftStateMachine {
  private state: EngineState = createEngineState();
  private raft: ReplicatedLog | null = null;
  // Invariant: `leading` is true only after the engine was told `becameLeader` for `leaderTerm`,
  // and it is reset (with `lostLeadership`) as soon as Raft reports another role or term.
  private leading = false;
  private leaderTerm = 0;
  private readonly requests = new Map<string, PendingRequest>();
  private nextRequestId = 0;
  private proposals: TxLogEntry[] = [];
  private sends: OutboundCommand[] = [];
  private flushScheduled = false;
  /** Archive records the archiver could not queue yet (its queue was full); offered again on tick. */
  private unqueuedArchives = new Map<string, FinishedTransaction>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribers: (() => void)[] = [];
  private caughtUpIndex: number | null = null;
  /** When each transaction this leader saw start preparing did so; dropped at its decision. */
  private readonly preparingSinceMs = new Map<string, number>();
  /** Members' addresses as this node resolves them now; every member, this node included. */
  private addresses = new Map<NodeId, Partial<MemberAddress>>();
  /** Whether this node was in the last membership it saw: leaving it means it was removed. */
  private member = false;
  private removed = false;
  /** The membership change this leader is carrying out (an add takes several steps); null when none. */
  private membershipChange: string | null = null;
  /** Decisions applied on this node since it started (a restored snapshot's are not counted). */
  private readonly decisionsApplied: Record<Outcome, number> = { COMMIT: 0, ABORT: 0 };
  /** Recorded on every node, leader or not: see ParticipantLastSeen. */
  private readonly participantsLastSeen = new ParticipantLastSeen(LAST_SEEN_NAMES_MAX);

  constructor(private readonly options: CoordinatorHostOptions) {}

  // ---- wiring -------------------------------------------------------------------------------

  /** Starts consuming replies, ticking and following Raft's roles. Call once Raft has started. */
  async attach(raft: ReplicatedLog): Promise<void> {
    this.raft = raft;
    this.caughtUpIndex = raft.status().commitIndex;
    this.unsubscribers.push(raft.onRoleChange((roleState) => this.onRoleChange(roleState)));
    this.unsubscribers.push(
      this.options.breakers.onStateChange((change) => {
        this.options.metrics.setBreaker(change.participant, toBreakerState(change.to));
        if (!this.leading) return;
        this.execute(
          change.to === 'open'
            ? { kind: 'participantUnavailable', participant: change.participant, reason: change.reason }
            : { kind: 'participantAvailable', participant: change.participant },
        );
      }),
    );
    this.options.archiver.onArchived((txId) => {
      if (this.leading) this.execute({ kind: 'archived', txId });
    });
    this.timers.push(
      setInterval(() => this.onTick(), this.options.tickIntervalMs),
      setInterval(() => this.refreshMetrics(), METRICS_INTERVAL_MS),
    );
    this.options.channel.setLeading(false);
    await this.options.channel.onReplies((replies) => this.onReplies(replies));
    this.onRoleChange({
      role: raft.status().role,
      term: raft.status().term,
      leaderId: raft.status().leaderId,
    });
  }

  detach(): void {
    for (const timer of this.timers) clearInterval(timer);
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    this.timers.length = 0;
    this.unsubscribers.length = 0;
    if (this.leading) this.loseLeadership();
  }

  /**
   * The membership in force changed (a config entry was appended, truncated, or came with a
   * snapshot). Returns the Raft transport's new peer table.
   */
  membershipChanged(membership: Membership): Record<NodeId, string> {
    this.addresses = resolveAddresses(membership, this.options.startupAddresses);
    const nodeId = this.options.nodeId;
    const member = membership.voters.includes(nodeId) || membership.learners.includes(nodeId);
    if (this.member && !member) {
      this.removed = true;
      this.options.logger.warn(
        `${nodeId} was removed from the cluster: it no longer votes or receives the log; stop this process (a node id is never reused)`,
      );
    } else if (!this.member && member) {
      this.removed = false;
      const role = membership.voters.includes(nodeId) ? 'a voter' : 'a learner';
      this.options.logger.log(`${nodeId} is ${role} of the cluster (${membership.voters.join(', ')})`);
    }
    this.member = member;
    return raftPeers(this.addresses, nodeId);
  }

  // ---- RaftStateMachine: runs on every node, in log order ------------------------------------

  apply(entry: Entry): void {
    for (const [position, txEntry] of decodeEntryBatch(entry.data).entries()) {
      const silent = this.leading && txEntry.kind === 'DECISION' && txEntry.cause === 'DEADLINE';
      const waitedFor = silent ? this.participantsWithoutVote(txEntry.txId) : [];
      const undecided =
        txEntry.kind === 'DECISION' &&
        this.state.replicated.transactions.get(txEntry.txId)?.decision === null;
      this.execute({
        kind: 'entryCommitted',
        entry: txEntry,
        index: entry.index,
        position,
        term: entry.term,
      });
      if (this.leading) this.observePhases(txEntry);
      // Only the first DECISION of a transaction counts; a later one is void at apply time.
      const decision = undecided ? this.state.replicated.transactions.get(txEntry.txId)?.decision : null;
      if (decision !== null && decision !== undefined) this.decisionsApplied[decision.outcome] += 1;
      // A prepare deadline that passed without a vote counts against that participant's breaker.
      for (const participant of waitedFor) this.options.breakers.recordPrepareTimeout(participant);
    }
  }

  /** Phase timings from the entries' own timestamps (the leader's clock), leader only. */
  private observePhases(entry: TxLogEntry): void {
    if (entry.kind === 'PREPARING') {
      this.preparingSinceMs.set(entry.txId, entry.atMs);
    } else if (entry.kind === 'DECISION') {
      const preparingSinceMs = this.preparingSinceMs.get(entry.txId);
      this.preparingSinceMs.delete(entry.txId);
      if (preparingSinceMs !== undefined && (entry.cause === 'VOTES' || entry.cause === 'VOTED_NO')) {
        this.options.metrics.observePhase('prepare', (entry.atMs - preparingSinceMs) / 1000);
      }
      this.options.metrics.observePhase('decide', Math.max(0, this.options.clock() - entry.atMs) / 1000);
    }
  }

  private participantsWithoutVote(txId: string): string[] {
    const view = viewTransaction(this.state, txId, this.options.clock());
    if (view === null || view.state !== 'PREPARING') return [];
    return view.participants
      .filter((participant) => participant.vote === null)
      .map((participant) => participant.name);
  }

  /**
   * The state now, encoded over several turns so that requests and replies go on meanwhile. The
   * encoding captures the state before the first await, so before this returns its promise.
   */
  async snapshot(): Promise<Uint8Array> {
    const encoding = new SnapshotEncoding(this.state);
    while (!encoding.encode(SNAPSHOT_KEYS_PER_SLICE)) await nextTurn();
    return encoding.bytes();
  }

  restore(snapshot: Snapshot): void {
    // A snapshot replaces the replicated state wholesale; leader memory does not survive it, so a
    // leader (which never receives snapshots in practice) re-derives it through becameLeader.
    const wasLeading = this.leading;
    if (wasLeading) this.loseLeadership();
    this.state = decodeSnapshot(snapshot.data);
    if (wasLeading) this.confirmLeadership(this.leaderTerm);
  }

  // ---- the engine loop ----------------------------------------------------------------------

  private execute(command: Command): void {
    // Between ticks the engine's clock stands still; what this command records (timeline, entry
    // times, a new deadline) gets the time it really happened.
    if (command.kind !== 'tick') {
      const nowMs = this.options.clock();
      if (nowMs > this.state.nowMs) this.step({ kind: 'clock', nowMs });
    }
    this.step(command);
  }

  private step(command: Command): void {
    const { state, effects } = transition(this.state, command);
    this.state = state;
    for (const effect of effects) this.carryOut(effect);
  }

  private carryOut(effect: Effect): void {
    switch (effect.kind) {
      case 'propose':
        this.proposals.push(effect.entry);
        this.scheduleFlush();
        return;
      case 'send':
        this.sends.push({ participant: effect.participant, message: effect.message });
        this.scheduleFlush();
        return;
      case 'reply': {
        const pending = this.requests.get(effect.requestId);
        if (pending === undefined) return;
        this.requests.delete(effect.requestId);
        if (pending.kind === 'engine') pending.settle(effect.result);
        else if (effect.result.ok && effect.result.value.kind === 'outcome') {
          pending.settle({
            txId: effect.result.value.txId,
            outcome: effect.result.value.outcome,
            presumed: false,
          });
        } else if (!effect.result.ok) pending.fail(this.toError(effect.result.error));
        return;
      }
      case 'archive':
        this.options.tracing?.finished(effect.record.txId, effect.record.decision.outcome);
        this.offerArchive(effect.record);
        this.options.metrics.recordDecision(effect.record.decision.outcome);
        this.options.metrics.observePhase(
          'commit_total',
          (effect.record.finishedAtMs - effect.record.createdAtMs) / 1000,
        );
        return;
      case 'lookUpOutcome':
        void this.lookUpOutcome(effect.txId, effect.participant, effect.requestId);
        return;
      case 'notice': {
        const context = { code: effect.code, txId: effect.txId, participant: effect.participant };
        if (effect.level === 'info') this.options.logger.log(effect.message, context);
        else if (effect.level === 'warn') this.options.logger.warn(effect.message, context);
        else this.options.logger.error(effect.message, context);
        return;
      }
    }
  }

  /**
   * Everything proposed or sent during one turn of the event loop leaves together: one Raft entry
   * (one fsync, one replication round) and one Kafka produce request. That is group commit.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const proposals = this.proposals;
    const sends = this.sends;
    this.proposals = [];
    this.sends = [];
    if (proposals.length > 0 && this.raft !== null) {
      const term = this.leaderTerm;
      this.raft
        .propose(encodeEntryBatch(proposals))
        .catch((error: unknown) => this.onProposeFailed(error, term));
    }
    if (sends.length > 0) {
      this.options.channel.send(sends).catch((error: unknown) => {
        const reason = error instanceof Error ? error : new Error(String(error));
        this.options.logger.warn(`sending ${sends.length} command(s) failed: ${reason.message}`);
        for (const participant of new Set(sends.map((send) => send.participant))) {
          this.options.breakers.recordSendFailure(participant, reason);
        }
      });
    }
  }

  /**
   * A proposal that fails leaves the engine waiting for entries that will never come back. If
   * leadership moved on, the role change resets the engine anyway; if this node still leads the
   * same term (the core refused: overloaded, transfer under way), it resets the leader state
   * itself, which re-proposes or aborts everything from the replicated state. Nothing decided is
   * lost either way: decisions exist only once committed.
   */
  private onProposeFailed(error: unknown, term: number): void {
    const message = error instanceof Error ? error.message : String(error);
    this.options.logger.warn(`proposal in term ${term} failed: ${message}`);
    if (this.leading && this.leaderTerm === term) {
      this.loseLeadership();
      this.confirmLeadership(term);
    }
  }

  private onTick(): void {
    this.execute({ kind: 'tick', nowMs: this.options.clock() });
    if (this.unqueuedArchives.size > 0) {
      const waiting = [...this.unqueuedArchives.values()];
      this.unqueuedArchives = new Map();
      for (const record of waiting) this.offerArchive(record);
    }
  }

  private offerArchive(record: FinishedTransaction): void {
    let offered: ReturnType<Archiver['offer']>;
    try {
      offered = this.options.archiver.offer(record);
    } catch (error) {
      // A record the archive refuses is a bug upstream. Thrown from here it would abandon the rest
      // of this engine turn's effects (other transactions' sends and replies, a whole batch of
      // votes); logged, the transaction stays unarchived in the live table, where operators see it.
      const message = error instanceof Error ? error.message : String(error);
      this.options.logger.error(`transaction ${record.txId} cannot be archived: ${message}`);
      return;
    }
    if (offered === 'full') this.unqueuedArchives.set(record.txId, record);
  }

  private onReplies(replies: readonly ParticipantReply[]): void {
    const nowMs = this.options.clock();
    for (const reply of replies) this.participantsLastSeen.record(reply.participant, nowMs);
    if (!this.leading) return;
    for (const reply of replies) {
      switch (reply.type) {
        case 'VOTE':
          this.execute({
            kind: 'participantVote',
            txId: reply.txId,
            participant: reply.participant,
            vote: reply.payload.vote,
            reason: reply.payload.reason ?? null,
            term: reply.term,
          });
          break;
        case 'ACK':
          this.execute({
            kind: 'ack',
            txId: reply.txId,
            participant: reply.participant,
            outcome: reply.payload.outcome,
            term: reply.term,
          });
          break;
        case 'OUTCOME_QUERY':
          this.execute({
            kind: 'outcomeQuery',
            txId: reply.txId,
            participant: reply.participant,
            requestId: null,
          });
          break;
      }
    }
  }

  /** Presumed abort, the host's half: the engine has no live record; history decides. */
  private async lookUpOutcome(
    txId: string,
    participant: string | null,
    requestId: string | null,
  ): Promise<void> {
    let recorded: Outcome | null;
    try {
      recorded = await this.options.history.outcomeOf(txId);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const pending = requestId === null ? undefined : this.requests.get(requestId);
      if (requestId !== null) this.requests.delete(requestId);
      if (pending?.kind === 'outcome') {
        pending.fail(
          new CoordinatorError(
            { code: 'NO_LEADER', retryAfterMs: NO_LEADER_RETRY_AFTER_MS },
            `the history database is unreachable, so the outcome of ${txId} cannot be looked up (${reason}); retry later`,
          ),
        );
      }
      // A participant asking over Kafka asks again; answering ABORT without history would guess.
      return;
    }
    const outcome = recorded ?? 'ABORT';
    if (requestId !== null) {
      const pending = this.requests.get(requestId);
      this.requests.delete(requestId);
      if (pending?.kind === 'outcome') pending.settle({ txId, outcome, presumed: recorded === null });
      return;
    }
    if (participant === null || !this.leading) return;
    const message: ParticipantCommand =
      outcome === 'COMMIT'
        ? this.decisionMessage('COMMIT', txId, participant, {})
        : this.decisionMessage('ABORT', txId, participant, {
            reason:
              recorded === null
                ? 'presumed abort: the coordinator has no record of this transaction'
                : 'aborted',
          });
    this.sends.push({ participant, message });
    this.scheduleFlush();
  }

  private decisionMessage<T extends 'COMMIT' | 'ABORT'>(
    type: T,
    txId: string,
    participant: string,
    payload: Extract<ParticipantCommand, { type: T }>['payload'],
  ): ParticipantCommand {
    return {
      v: 1,
      type,
      txId,
      participant,
      term: this.leaderTerm,
      attempt: 1,
      sentAt: new Date(this.options.clock()).toISOString(),
      payload,
    } as ParticipantCommand;
  }

  // ---- leadership -----------------------------------------------------------------------------

  private onRoleChange(roleState: RoleState): void {
    if (this.leading && (roleState.role !== 'leader' || roleState.term !== this.leaderTerm)) {
      this.loseLeadership();
    }
    if (roleState.role === 'leader' && !this.leading) this.confirmLeadership(roleState.term);
  }

  /**
   * The engine must hear `becameLeader` only once every entry of earlier terms is applied here.
   * A ReadIndex barrier gives exactly that: it resolves once this leader's own first entry is
   * committed and everything up to the read index is applied.
   */
  private confirmLeadership(term: number): void {
    const raft = this.raft;
    if (raft === null) return;
    this.leaderTerm = term;
    raft.readIndex().then(
      () => {
        const status = raft.status();
        if (this.leading || status.role !== 'leader' || status.term !== term) return;
        this.leading = true;
        this.options.channel.setLeading(true);
        this.options.logger.log(`leading term ${term}: resuming every live transaction`);
        this.execute({ kind: 'becameLeader', term, nowMs: this.options.clock() });
        for (const breaker of this.options.breakers.states()) {
          if (breaker.state !== 'open') continue;
          this.execute({
            kind: 'participantUnavailable',
            participant: breaker.participant,
            reason: this.options.breakers.unavailableReason(breaker.participant) ?? 'circuit breaker open',
          });
        }
      },
      // Only the barrier's refusal (leadership moved on, the node stopped) is expected here. An
      // exception from the engine above is a broken invariant: it stays unhandled and ends the
      // process, because a node that goes on with half-applied leader state is worse than none.
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.options.logger.warn(`leadership of term ${term} not confirmed: ${message}`);
      },
    );
  }

  private loseLeadership(): void {
    this.leading = false;
    this.options.channel.setLeading(false);
    this.preparingSinceMs.clear();
    this.options.tracing?.leadershipLost();
    this.execute({ kind: 'lostLeadership' });
  }

  // ---- CoordinatorPort ------------------------------------------------------------------------

  async begin(input: BeginInput, idempotencyKey?: string): Promise<TransactionView> {
    const participants = input.participants.map((participant) => ({
      name: participant.name,
      work: (participant.payload ?? null) as JsonValue,
    }));
    const txId = uuidv7(this.options.clock());
    const commit = input.commit ?? null;
    // With commit, PREPAREs leave before begin answers: the transaction's trace must exist first.
    if (commit !== null) this.options.tracing?.begun(txId);
    const reply = await this.request((requestId) => ({
      kind: 'begin',
      requestId,
      txId,
      participants,
      timeoutMs: input.timeoutMs ?? null,
      metadata: input.metadata,
      idempotency:
        idempotencyKey === undefined
          ? null
          : {
              key: idempotencyKey,
              fingerprint: fingerprint({
                participants,
                timeoutMs: input.timeoutMs ?? null,
                metadata: input.metadata,
              }),
            },
      commit,
    }));
    if (commit === null) {
      const begun = this.value(reply, 'begun').txId;
      this.options.tracing?.begun(begun);
      return this.viewOf(begun);
    }
    if (reply.ok && reply.value.kind === 'begun') {
      // The key names a transaction that began earlier: commit it now (idempotent).
      return this.commit(reply.value.txId, commit);
    }
    return this.viewOf(this.value(reply, commit === 'decision' ? 'decided' : 'completed').txId);
  }

  async enlist(txId: string, participant: ParticipantInput): Promise<TransactionView> {
    const reply = await this.request((requestId) => ({
      kind: 'enlist',
      requestId,
      txId,
      participant: { name: participant.name, work: (participant.payload ?? null) as JsonValue },
    }));
    const finished = await this.finishedIfGone(reply);
    if (finished !== null) {
      throw new CoordinatorError(
        { code: 'TX_NOT_ACTIVE', txId, state: finished.state },
        `transaction ${txId} is ${finished.state}; participants can be enlisted only while ACTIVE`,
      );
    }
    return this.viewOf(this.value(reply, 'enlisted').txId);
  }

  async commit(txId: string, wait: CommitWait): Promise<TransactionView> {
    const reply = await this.request((requestId) => ({ kind: 'commitRequested', requestId, txId, wait }));
    // Asking again after the end is answered with the recorded decision, whatever it was.
    const finished = await this.finishedIfGone(reply);
    if (finished !== null) return finished;
    return this.viewOf(this.value(reply, wait === 'decision' ? 'decided' : 'completed').txId);
  }

  async abort(txId: string): Promise<TransactionView> {
    const reply = await this.request((requestId) => ({ kind: 'abortRequested', requestId, txId }));
    const finished = await this.finishedIfGone(reply);
    if (finished !== null) return this.unlessDecidedOtherwise(finished, 'ABORT');
    return this.viewOf(this.value(reply, 'decided').txId);
  }

  async get(txId: string): Promise<TransactionView> {
    await this.linearizableRead();
    return this.viewOf(txId);
  }

  outcome(txId: string): Promise<OutcomeView> {
    this.requireLeader();
    return new Promise<OutcomeView>((settle, fail) => {
      const requestId = this.newRequestId();
      this.requests.set(requestId, { kind: 'outcome', settle, fail });
      this.execute({ kind: 'outcomeQuery', txId, participant: null, requestId });
    });
  }

  async list(filter: ListFilter): Promise<TransactionPage> {
    await this.linearizableRead();
    let afterTxId: string | undefined;
    try {
      afterTxId = filter.cursor === undefined ? undefined : decodeHistoryCursor(filter.cursor);
    } catch {
      throw new CoordinatorError(
        {
          code: 'VALIDATION_FAILED',
          errors: [{ field: 'cursor', messages: ['is not a cursor this API issued'] }],
        },
        'cursor is not one this API issued; pass nextCursor from the previous page unchanged',
      );
    }
    const nowMs = this.options.clock();
    const live = listTransactions(
      this.state,
      {
        ...(filter.state !== undefined && { state: filter.state }),
        ...(filter.participant !== undefined && { participant: filter.participant }),
        ...(filter.olderThanMs !== undefined && { olderThanMs: filter.olderThanMs }),
        ...(filter.stuck !== undefined && { stuck: filter.stuck }),
        ...(this.options.stuckAfterMs !== undefined && { stuckAfterMs: this.options.stuckAfterMs }),
        ...(afterTxId !== undefined && { cursor: afterTxId }),
        limit: filter.limit,
      },
      nowMs,
    ).items.map((view) => fromEngineView(view, this.breakerOf));
    // Finished transactions are never stuck and only COMMITTED/ABORTED ones reach history.
    const historyWanted =
      filter.stuck !== true &&
      (filter.state === undefined || filter.state === 'COMMITTED' || filter.state === 'ABORTED');
    const archived = historyWanted
      ? (
          await this.options.history.list({
            ...(filter.state === 'COMMITTED' || filter.state === 'ABORTED' ? { state: filter.state } : {}),
            ...(filter.participant !== undefined && { participant: filter.participant }),
            ...(filter.olderThanMs !== undefined && { createdBeforeMs: nowMs - filter.olderThanMs }),
            ...(afterTxId !== undefined && { cursor: encodeHistoryCursor(afterTxId) }),
            limit: filter.limit,
          })
        ).items.map(fromHistory)
      : [];
    const byId = new Map<string, TransactionView>();
    for (const view of archived) byId.set(view.id, view);
    // A transaction briefly both live and archived (archived, END not yet applied): live wins.
    for (const view of live) byId.set(view.id, view);
    const merged = [...byId.values()].sort((left, right) =>
      left.id < right.id ? 1 : left.id > right.id ? -1 : 0,
    );
    const items = merged.slice(0, filter.limit);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: merged.length > filter.limit && last !== undefined ? encodeHistoryCursor(last.id) : null,
    };
  }

  async resolve(txId: string, resolution: Resolution, actor: Actor): Promise<TransactionView> {
    this.options.logger.log(
      `operator ${actor.name} resolves ${txId} as ${resolution.outcome}: ${resolution.reason}`,
      {
        txId,
      },
    );
    const reply = await this.request((requestId) => ({
      kind: 'operatorResolve',
      requestId,
      txId,
      outcome: resolution.outcome,
      reason: resolution.reason,
      resolvedBy: actor.name,
    }));
    const finished = await this.finishedIfGone(reply);
    if (finished !== null) return this.unlessDecidedOtherwise(finished, resolution.outcome);
    return this.viewOf(this.value(reply, 'decided').txId);
  }

  async retry(txId: string, reason: string | null, actor: Actor): Promise<TransactionView> {
    this.options.logger.log(
      `operator ${actor.name} re-drives ${txId}${reason === null ? '' : `: ${reason}`}`,
      { txId },
    );
    const reply = await this.request((requestId) => ({
      kind: 'retryPhaseTwo',
      requestId,
      txId,
      requestedBy: actor.name,
      ...(reason !== null && { reason }),
    }));
    const finished = await this.finishedIfGone(reply);
    if (finished !== null) {
      throw new CoordinatorError(
        { code: 'TX_NOT_ACTIVE', txId, state: finished.state },
        `transaction ${txId} is ${finished.state}: every participant acknowledged, nothing is left to retry`,
      );
    }
    return this.viewOf(this.value(reply, 'retried').txId);
  }

  clusterStatus(): Promise<ClusterStatusView> {
    return Promise.resolve(this.status());
  }

  /** `timeoutMs` is shorter at shutdown, when the chosen follower may be stopping too. */
  async transferLeadership(to?: string, timeoutMs = TRANSFER_TIMEOUT_MS): Promise<ClusterStatusView> {
    const raft = this.requireLeader();
    const status = raft.status();
    const target = to ?? this.mostCaughtUpFollower();
    if (target === null || !status.membership.voters.includes(target) || target === this.options.nodeId) {
      throw new CoordinatorError(
        { code: 'CLUSTER_CHANGE_REJECTED' },
        target === null
          ? 'no follower can take over leadership now; check that the other members are up'
          : `${target} cannot take over leadership: name another voter (${status.membership.voters.join(', ')})`,
      );
    }
    try {
      raft.transferLeadership(target);
    } catch (error) {
      throw new CoordinatorError(
        { code: 'CLUSTER_CHANGE_REJECTED' },
        `leadership transfer to ${target} refused: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    await this.waitFor(
      () => raft.status().leaderId === target,
      timeoutMs,
      () =>
        new CoordinatorError(
          { code: 'CLUSTER_CHANGE_REJECTED' },
          `${target} did not take over leadership within ${timeoutMs} ms; it may be lagging, retry`,
        ),
    );
    return this.status();
  }

  /**
   * Learner first, then voter (Raft thesis §4.2.1): the new node copies the log without counting
   * towards any quorum, so a slow or unreachable newcomer cannot stall commits; once it is caught
   * up, one more single-server change makes it a voter. A learner left behind by a failed call is
   * finished by repeating the call.
   */
  async addMember(member: MemberInput): Promise<ClusterStatusView> {
    const raft = this.requireLeader();
    const { nodeId } = member;
    this.claimMembershipChange(`adding ${nodeId}`);
    try {
      const { membership } = raft.status();
      if (membership.voters.includes(nodeId)) {
        throw new CoordinatorError(
          { code: 'CLUSTER_CHANGE_REJECTED' },
          `${nodeId} is already a voter of this cluster; nothing to add`,
        );
      }
      if (membership.learners.includes(nodeId)) {
        const recorded = this.addresses.get(nodeId);
        if (recorded?.raftAddress !== member.raftAddress || recorded.httpUrl !== member.httpUrl) {
          throw new CoordinatorError(
            { code: 'CLUSTER_CHANGE_REJECTED' },
            `${nodeId} is already a learner at ${recorded?.raftAddress ?? 'an unknown address'} (${recorded?.httpUrl ?? 'no HTTP URL'}); remove it first to add it elsewhere`,
          );
        }
        this.options.logger.log(
          `${nodeId} is already a learner: waiting for it to catch up, then promoting it`,
        );
      } else {
        this.options.logger.log(
          `adding ${nodeId} (raft ${member.raftAddress}, http ${member.httpUrl}) as a learner`,
        );
        await this.changeMembership(
          {
            kind: 'addLearner',
            nodeId,
            address: encodeMemberAddress(member),
            // Records the other members' addresses too, for clusters founded before they were.
            addresses: recordableAddresses(this.addresses),
          },
          `adding ${nodeId} as a learner`,
        );
      }
      await this.waitForLearner(member);
      await this.changeMembership({ kind: 'promoteLearner', nodeId }, `promoting ${nodeId} to voter`);
      this.options.logger.log(`${nodeId} is a voter now`);
      return this.status();
    } finally {
      this.membershipChange = null;
    }
  }

  /**
   * Removing a voter is refused when the voters left could not commit it (fewer than a majority
   * of them answered recently). Removing the leader itself is allowed: it commits the change
   * with the remaining voters, steps down and tells the most caught-up one to campaign at once.
   */
  async removeMember(nodeId: string): Promise<ClusterStatusView> {
    if (nodeId === this.options.nodeId) {
      // A leader that commits its own removal steps down before it can see the commit, so the
      // caller would get a timeout for a change that took effect. Handing over first makes it the
      // removal of a follower by the new leader: requireLeader below then answers NOT_LEADER,
      // and the API forwards this request there.
      await this.transferLeadership();
    }
    const raft = this.requireLeader();
    this.claimMembershipChange(`removing ${nodeId}`);
    try {
      const status = raft.status();
      const { voters, learners } = status.membership;
      if (!voters.includes(nodeId) && !learners.includes(nodeId)) {
        throw new CoordinatorError(
          { code: 'MEMBER_NOT_FOUND', nodeId },
          `${nodeId} is not a member of this cluster (members: ${[...voters, ...learners].join(', ')})`,
        );
      }
      if (voters.includes(nodeId)) {
        const remaining = voters.filter((voter) => voter !== nodeId);
        if (remaining.length === 0) {
          throw new CoordinatorError(
            { code: 'CLUSTER_CHANGE_REJECTED' },
            `${nodeId} is the last voter; a cluster cannot remove its last voter`,
          );
        }
        const answering = remaining.filter(
          (voter) =>
            voter === this.options.nodeId ||
            (status.lastContactMs.get(voter) ?? Number.POSITIVE_INFINITY) <= VOTER_RECENT_CONTACT_MS,
        );
        const quorum = Math.floor(remaining.length / 2) + 1;
        if (answering.length < quorum) {
          throw new CoordinatorError(
            { code: 'CLUSTER_CHANGE_REJECTED' },
            `removing ${nodeId} would leave voters ${remaining.join(', ')}, of which only ${answering.length} ` +
              `answered in the last ${VOTER_RECENT_CONTACT_MS} ms (${quorum} needed to commit the change); bring the others back first`,
          );
        }
      }
      this.options.logger.log(`removing ${nodeId} from the cluster`);
      await this.changeMembership({ kind: 'removeNode', nodeId }, `removing ${nodeId}`);
      this.options.logger.log(`${nodeId} is no longer a member`);
      return this.status();
    } finally {
      this.membershipChange = null;
    }
  }

  private claimMembershipChange(what: string): void {
    if (this.membershipChange !== null) {
      throw new CoordinatorError(
        { code: 'CLUSTER_CHANGE_REJECTED' },
        `cannot start ${what}: ${this.membershipChange} is in progress (one membership change at a time); retry when it finished`,
      );
    }
    this.membershipChange = what;
  }

  /** Proposes one configuration entry and waits until it is committed and applied here. */
  private async changeMembership(change: MembershipChange, what: string): Promise<void> {
    const raft = this.requireLeader();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new CoordinatorError(
              { code: 'NO_LEADER', retryAfterMs: NO_LEADER_RETRY_AFTER_MS },
              `${what} was not committed within ${CONFIG_COMMIT_TIMEOUT_MS} ms (is a majority of the new configuration reachable?); GET /v1/cluster shows whether it took effect`,
            ),
          ),
        CONFIG_COMMIT_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([raft.proposeMembership(change), timeout]);
    } catch (error) {
      if (error instanceof CoordinatorError) throw error;
      if (error instanceof ProposalRejectedError) {
        throw new CoordinatorError(
          { code: 'CLUSTER_CHANGE_REJECTED' },
          error.reason === 'membershipChangePending'
            ? `${what} refused: the previous configuration change is not committed yet; retry in a moment`
            : `${what} refused: ${error.message}`,
        );
      }
      if (error instanceof NotLeaderError) throw this.fromRaftError(error);
      throw new CoordinatorError(
        { code: 'NO_LEADER', retryAfterMs: NO_LEADER_RETRY_AFTER_MS },
        `${what} did not complete (${error instanceof Error ? error.message : String(error)}); GET /v1/cluster shows whether it took effect, then retry`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Until the learner answered and holds everything committed when it was added, nearly all the log. */
  private async waitForLearner(member: MemberInput): Promise<void> {
    const { nodeId } = member;
    const startedAtMs = this.options.clock();
    const committedWhenAdded = this.requireLeader().status().commitIndex;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, MEMBERSHIP_POLL_MS));
      const raft = this.raft;
      const status = raft?.status();
      if (raft === null || status?.role !== 'leader' || !this.leading) {
        throw new CoordinatorError(
          { code: 'NO_LEADER', retryAfterMs: NO_LEADER_RETRY_AFTER_MS },
          `leadership moved while ${nodeId} was catching up; it stays a learner: repeat the call to finish adding it`,
        );
      }
      if (!status.membership.learners.includes(nodeId)) {
        throw new CoordinatorError(
          { code: 'CLUSTER_CHANGE_REJECTED' },
          `${nodeId} stopped being a learner while it was catching up (removed by another change)`,
        );
      }
      const elapsedMs = this.options.clock() - startedAtMs;
      const contactMs = status.lastContactMs.get(nodeId);
      const answered = contactMs !== undefined && contactMs <= elapsedMs;
      const matchIndex = status.progress.get(nodeId)?.matchIndex ?? 0;
      const lag = status.lastIndex - matchIndex;
      if (answered && matchIndex >= committedWhenAdded && lag <= LEARNER_LAG_MAX) return;
      if (!answered && elapsedMs > LEARNER_CONTACT_TIMEOUT_MS) {
        await this.changeMembership({ kind: 'removeNode', nodeId }, `taking unreachable ${nodeId} out again`);
        throw new CoordinatorError(
          { code: 'CLUSTER_CHANGE_REJECTED' },
          `${nodeId} did not answer at ${member.raftAddress} within ${LEARNER_CONTACT_TIMEOUT_MS} ms, so it was taken out again; ` +
            'check that it runs with VERDICT_JOIN=true, the same VERDICT_CLUSTER_SECRET and that address, then retry',
        );
      }
      if (elapsedMs > LEARNER_CATCH_UP_TIMEOUT_MS) {
        throw new CoordinatorError(
          { code: 'CLUSTER_CHANGE_REJECTED' },
          `${nodeId} is still ${lag} entries behind after ${LEARNER_CATCH_UP_TIMEOUT_MS} ms; it stays a learner ` +
            '(it receives the log but does not vote): repeat the call to finish, or remove it',
        );
      }
    }
  }

  // ---- ReadinessPort --------------------------------------------------------------------------

  readiness(): Promise<ReadinessView> {
    const status = this.raft?.status();
    const appliedIndex = status?.appliedIndex ?? 0;
    return Promise.resolve({
      leaderId: status?.leaderId ?? null,
      caughtUp: this.caughtUpIndex !== null && appliedIndex >= this.caughtUpIndex,
      commitIndex: status?.commitIndex ?? 0,
      appliedIndex,
    });
  }

  // ---- helpers --------------------------------------------------------------------------------

  /**
   * The engine forgets a transaction once it is archived (END). When it answers TX_NOT_FOUND,
   * history tells a finished transaction (returned) from one that never existed (null).
   */
  private async finishedIfGone(reply: Reply): Promise<TransactionView | null> {
    if (reply.ok || reply.error.code !== 'TX_NOT_FOUND') return null;
    const finished = await this.options.history.find(reply.error.txId);
    return finished === null ? null : fromHistory(finished);
  }

  /** A finished transaction asked for `outcome`: fine if that is what was decided, else 409. */
  private unlessDecidedOtherwise(finished: TransactionView, outcome: Outcome): TransactionView {
    const decision = finished.decision;
    if (decision === null || decision.outcome === outcome) return finished;
    throw new CoordinatorError(
      { code: 'DECISION_EXISTS', txId: finished.id, decision },
      `transaction ${finished.id} was decided ${decision.outcome} at Raft index ${decision.raftIndex}; a decision never changes`,
    );
  }

  private newRequestId(): string {
    this.nextRequestId += 1;
    return `${this.options.nodeId}-${this.nextRequestId}`;
  }

  private request(build: (requestId: string) => Command): Promise<Reply> {
    this.requireLeader();
    return new Promise<Reply>((settle) => {
      const requestId = this.newRequestId();
      this.requests.set(requestId, { kind: 'engine', settle });
      this.execute(build(requestId));
    });
  }

  private value<K extends Extract<Reply, { ok: true }>['value']['kind']>(
    reply: Reply,
    kind: K,
  ): Extract<Extract<Reply, { ok: true }>['value'], { kind: K }> {
    if (!reply.ok) throw this.toError(reply.error);
    const value = reply.value;
    if (value.kind !== kind) throw new Error(`engine answered ${value.kind} where ${kind} was expected`);
    return value as Extract<Extract<Reply, { ok: true }>['value'], { kind: K }>;
  }

  private async linearizableRead(): Promise<void> {
    const raft = this.requireLeader();
    try {
      await raft.readIndex();
    } catch (error) {
      throw this.fromRaftError(error);
    }
  }

  /** The transaction as the API shows it: live from the engine, else finished from history. */
  private async viewOf(txId: string): Promise<TransactionView> {
    const live = viewTransaction(this.state, txId, this.options.clock(), this.options.stuckAfterMs);
    if (live !== null) return fromEngineView(live, this.breakerOf);
    const finished = await this.options.history.find(txId);
    if (finished !== null) return fromHistory(finished);
    throw new CoordinatorError(
      { code: 'TX_NOT_FOUND', txId },
      `transaction ${txId} does not exist: check the id, or begin a transaction first`,
    );
  }

  private readonly breakerOf = (participant: string): BreakerState =>
    toBreakerState(this.options.breakers.stateOf(participant));

  private requireLeader(): ReplicatedLog {
    const raft = this.raft;
    if (raft !== null && this.leading) return raft;
    const status = raft?.status();
    const leaderId = status?.leaderId ?? null;
    if (this.removed) {
      throw new CoordinatorError(
        { code: 'NO_LEADER', retryAfterMs: NO_LEADER_RETRY_AFTER_MS },
        `${this.options.nodeId} was removed from the cluster; send requests to a member (GET /v1/cluster on one lists them)`,
      );
    }
    if (leaderId !== null && leaderId !== this.options.nodeId) {
      const leaderUrl = this.httpUrlOf(leaderId);
      if (leaderUrl !== null) {
        throw new CoordinatorError(
          { code: 'NOT_LEADER', leaderId, leaderUrl },
          `${leaderId} leads the cluster`,
        );
      }
    }
    throw new CoordinatorError(
      { code: 'NO_LEADER', retryAfterMs: NO_LEADER_RETRY_AFTER_MS },
      leaderId === this.options.nodeId
        ? 'this node was just elected and is catching up on the log; retry in a moment'
        : 'the cluster has no leader right now (an election is under way or a majority of nodes is unreachable); retry later',
    );
  }

  private fromRaftError(error: unknown): Error {
    if (error instanceof NotLeaderError) {
      try {
        this.requireLeader();
      } catch (notLeader) {
        return notLeader as Error;
      }
    }
    return new CoordinatorError(
      { code: 'NO_LEADER', retryAfterMs: NO_LEADER_RETRY_AFTER_MS },
      `leadership could not be confirmed (${error instanceof Error ? error.message : String(error)}); retry`,
    );
  }

  private toError(error: EngineError): Error {
    switch (error.code) {
      case 'DECISION_EXISTS':
        return new CoordinatorError(
          { code: 'DECISION_EXISTS', txId: error.txId, decision: toDecisionView(error.decision) },
          error.message,
        );
      case 'TRANSACTION_LIMIT_REACHED':
      case 'LEADERSHIP_LOST':
        return new CoordinatorError(
          { code: 'NO_LEADER', retryAfterMs: NO_LEADER_RETRY_AFTER_MS },
          error.message,
        );
      case 'NOT_LEADER':
        try {
          this.requireLeader();
        } catch (notLeader) {
          return notLeader as Error;
        }
        return new CoordinatorError(
          { code: 'NO_LEADER', retryAfterMs: NO_LEADER_RETRY_AFTER_MS },
          error.message,
        );
      case 'VALIDATION_FAILED':
        return new CoordinatorError(
          { code: 'VALIDATION_FAILED', errors: [{ field: error.field, messages: [error.message] }] },
          error.message,
        );
      default: {
        // The remaining engine errors carry exactly the fields of the API's failure of that code.
        const { message, ...failure } = error;
        return new CoordinatorError(failure, message);
      }
    }
  }

  private status(): ClusterStatusView {
    const raft = this.raft;
    const status = raft?.status();
    const roleOf = (nodeId: string): RaftRole => {
      if (status === undefined) return 'FOLLOWER';
      if (nodeId === status.leaderId) return 'LEADER';
      if (nodeId === this.options.nodeId) return RAFT_ROLES[status.role];
      return status.membership.learners.includes(nodeId) ? 'LEARNER' : 'FOLLOWER';
    };
    const members = status === undefined ? [] : [...status.membership.voters, ...status.membership.learners];
    return {
      nodeId: this.options.nodeId,
      role: status === undefined ? 'FOLLOWER' : RAFT_ROLES[status.role],
      term: status?.term ?? 0,
      leaderId: status?.leaderId ?? null,
      commitIndex: status?.commitIndex ?? 0,
      appliedIndex: status?.appliedIndex ?? 0,
      members: members.map((nodeId): MemberView => {
        const progress = status?.role === 'leader' ? status.progress.get(nodeId) : undefined;
        const self = nodeId === this.options.nodeId;
        return {
          nodeId,
          role: roleOf(nodeId),
          matchIndex: self && status?.role === 'leader' ? status.lastIndex : (progress?.matchIndex ?? null),
          lag:
            status?.role !== 'leader'
              ? null
              : self
                ? 0
                : progress === undefined
                  ? null
                  : Math.max(0, status.lastIndex - progress.matchIndex),
          lastContactMs:
            status?.role !== 'leader' ? null : self ? 0 : (status.lastContactMs.get(nodeId) ?? null),
          httpUrl: this.httpUrlOf(nodeId),
        };
      }),
      breakers: this.options.breakers.states().map((breaker) => ({
        participant: breaker.participant,
        state: toBreakerState(breaker.state),
        since: breaker.since,
      })),
      participants: this.participantStatuses(),
      stats: this.stats(),
    };
  }

  /** Every participant with a breaker here or a reply read here, by name. */
  private participantStatuses(): ClusterParticipantView[] {
    const breakers = new Map(
      this.options.breakers.states().map((breaker) => [breaker.participant, breaker.state]),
    );
    const names = [...new Set([...breakers.keys(), ...this.participantsLastSeen.names()])].sort();
    return names.map((name) => {
      const lastSeenAtMs = this.participantsLastSeen.lastSeenAtMsOf(name);
      const breaker = breakers.get(name);
      return {
        name,
        lastSeenAt: lastSeenAtMs === null ? null : new Date(lastSeenAtMs).toISOString(),
        breaker: breaker === undefined ? null : toBreakerState(breaker),
      };
    });
  }

  /**
   * In doubt: prepared or decided but not acknowledged by everyone. A follower has no ACKs, so it
   * counts a decided transaction until its END is applied; the leader stops at the last ACK.
   */
  private stats(): ClusterStatsView {
    const nowMs = this.options.clock();
    const leaderTransactions = this.state.leader?.transactions;
    let inDoubt = 0;
    let oldestCreatedMs: number | null = null;
    for (const tx of this.state.replicated.transactions.values()) {
      const state = txState(tx, leaderTransactions?.get(tx.txId));
      if (state !== 'PREPARING' && state !== 'COMMITTING' && state !== 'ABORTING') continue;
      inDoubt += 1;
      oldestCreatedMs = oldestCreatedMs === null ? tx.createdAtMs : Math.min(oldestCreatedMs, tx.createdAtMs);
    }
    return {
      committed: this.decisionsApplied.COMMIT,
      aborted: this.decisionsApplied.ABORT,
      inDoubt,
      oldestInDoubtMs: oldestCreatedMs === null ? null : Math.max(0, nowMs - oldestCreatedMs),
    };
  }

  private httpUrlOf(nodeId: NodeId): string | null {
    return this.addresses.get(nodeId)?.httpUrl ?? this.options.startupAddresses[nodeId]?.httpUrl ?? null;
  }

  private mostCaughtUpFollower(): string | null {
    const status = this.raft?.status();
    if (status === undefined || status.role !== 'leader') return null;
    let best: { nodeId: string; matchIndex: number } | null = null;
    for (const nodeId of status.membership.voters) {
      if (nodeId === this.options.nodeId) continue;
      const matchIndex = status.progress.get(nodeId)?.matchIndex ?? 0;
      if (best === null || matchIndex > best.matchIndex) best = { nodeId, matchIndex };
    }
    return best?.nodeId ?? null;
  }

  private waitFor(condition: () => boolean, timeoutMs: number, timeoutError: () => Error): Promise<void> {
    const startedAt = this.options.clock();
    return new Promise((resolve, reject) => {
      const poll = setInterval(() => {
        if (condition()) {
          clearInterval(poll);
          resolve();
        } else if (this.options.clock() - startedAt > timeoutMs) {
          clearInterval(poll);
          reject(timeoutError());
        }
      }, 20);
    });
  }

  private refreshMetrics(): void {
    const status = this.raft?.status();
    if (status !== undefined) {
      this.options.metrics.setRaft({
        term: status.term,
        commitIndex: status.commitIndex,
        appliedIndex: status.appliedIndex,
        isLeader: this.leading,
      });
    }
    if (!this.leading) return;
    const nowMs = this.options.clock();
    let inDoubt = 0;
    let oldestMs = nowMs;
    for (const tx of this.state.replicated.transactions.values()) {
      if (tx.decision !== null) continue;
      inDoubt += 1;
      oldestMs = Math.min(oldestMs, tx.createdAtMs);
    }
    this.options.metrics.setInDoubt(inDoubt, (nowMs - oldestMs) / 1000);
  }
}

const RAFT_ROLES: Readonly<Record<RoleState['role'], RaftRole>> = {
  leader: 'LEADER',
  follower: 'FOLLOWER',
  candidate: 'CANDIDATE',
  preCandidate: 'PRE_CANDIDATE',
  learner: 'LEARNER',
};

/** The request's identity for Idempotency-Key checks: same key, other body → 422. */
function fingerprint(body: unknown): string {
  return hash('sha256', encodeCanonical(body), 'hex');
}
