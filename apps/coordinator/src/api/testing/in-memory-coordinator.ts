import { uuidv7, type Outcome, type ParticipantVote } from '@verdict/protocol';
import { CoordinatorError } from '../coordinator.error';
import type {
  Actor,
  BeginInput,
  ClusterStatusView,
  CommitWait,
  CoordinatorPort,
  DecisionView,
  ListFilter,
  MemberInput,
  OutcomeView,
  ParticipantInput,
  ParticipantView,
  Resolution,
  TimelineEventKind,
  TimelineEventView,
  TransactionPage,
  TransactionView,
  TxState,
} from '../coordinator.port';

/** Which side of an election the double plays. */
export type Leadership =
  | { readonly kind: 'leader' }
  | { readonly kind: 'follower'; readonly leaderId: string; readonly leaderUrl: string }
  | { readonly kind: 'none'; readonly retryAfterMs: number };

interface Call {
  readonly method: keyof CoordinatorPort;
  readonly args: readonly unknown[];
}

/**
 * TEST DOUBLE of the coordinator for HTTP edge tests: one process, no Raft, no Kafka. A commit
 * decides at once from scripted participant votes (YES unless scripted), raft indexes are a
 * counter that only decisions take, so in its timeline only DECISION carries a raft index; the
 * timeline is written as the double goes (every PREPARE in one attempt, the archive right after
 * the last ACK). It keeps the port's contract (states, error codes, idempotency, presumed abort) so
 * the edge can be tested against it; it proves nothing about the real engine.
 */
export class InMemoryCoordinator implements CoordinatorPort {
  readonly calls: Call[] = [];
  leadership: Leadership = { kind: 'leader' };
  /** Makes the next call of any method reject with this (a bug in the coordinator, say). */
  failNextWith: Error | null = null;

  private readonly transactions = new Map<string, TransactionView>();
  private readonly idempotency = new Map<string, { readonly input: string; readonly txId: string }>();
  private readonly votes = new Map<string, ParticipantVote>();
  private raftIndex = 0;

  constructor(
    readonly nodeId: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  scriptVote(participant: string, vote: ParticipantVote): void {
    this.votes.set(participant, vote);
  }

  begin(input: BeginInput, idempotencyKey?: string): Promise<TransactionView> {
    const begun = this.leaderOnly('begin', [input, idempotencyKey], () => {
      // Like the engine's fingerprint: what the transaction is, not whether this call commits it.
      const { commit: _commit, ...transaction } = input;
      const fingerprint = JSON.stringify(transaction);
      if (idempotencyKey !== undefined) {
        const earlier = this.idempotency.get(idempotencyKey);
        if (earlier !== undefined && earlier.input !== fingerprint) {
          throw new CoordinatorError(
            { code: 'IDEMPOTENCY_MISMATCH', idempotencyKey, txId: earlier.txId },
            `Idempotency-Key ${idempotencyKey} was first used for transaction ${earlier.txId} with another body; use a new key for a new transaction`,
          );
        }
        if (earlier !== undefined) return this.find(earlier.txId);
      }
      const createdAt = this.now();
      const begun = this.local('BEGIN', null, `began with ${input.participants.length} participant(s)`);
      const tx: TransactionView = {
        id: uuidv7(createdAt.getTime()),
        state: 'ACTIVE',
        decision: null,
        participants: input.participants.map(newParticipant),
        createdAt: createdAt.toISOString(),
        deadline: new Date(createdAt.getTime() + (input.timeoutMs ?? 30_000)).toISOString(),
        metadata: input.metadata,
        stuck: null,
        finishedAt: null,
        timeline: [
          begun,
          ...input.participants.map((participant) =>
            this.local('ENLIST', participant.name, `enlisted ${participant.name}`),
          ),
        ],
      };
      this.transactions.set(tx.id, tx);
      if (idempotencyKey !== undefined)
        this.idempotency.set(idempotencyKey, { input: fingerprint, txId: tx.id });
      return tx;
    });
    const wait = input.commit;
    return wait === undefined ? begun : begun.then((tx) => this.commit(tx.id, wait));
  }

  enlist(txId: string, participant: ParticipantInput): Promise<TransactionView> {
    return this.leaderOnly('enlist', [txId, participant], () => {
      const tx = this.requireState(txId, ['ACTIVE'], 'participants can be enlisted only while ACTIVE');
      if (tx.participants.some((existing) => existing.name === participant.name)) {
        throw new CoordinatorError(
          { code: 'PARTICIPANT_ALREADY_ENLISTED', txId, participant: participant.name },
          `${participant.name} is already enlisted in transaction ${txId}`,
        );
      }
      return this.save({
        ...tx,
        participants: [...tx.participants, newParticipant(participant)],
        timeline: [...tx.timeline, this.local('ENLIST', participant.name, `enlisted ${participant.name}`)],
      });
    });
  }

  commit(txId: string, wait: CommitWait): Promise<TransactionView> {
    return this.leaderOnly('commit', [txId, wait], () => {
      const tx = this.find(txId);
      if (tx.decision !== null) return tx;
      this.requireState(txId, ['ACTIVE'], 'only an ACTIVE transaction can be committed');
      const participants = tx.participants.map((participant) => ({
        ...participant,
        vote: this.votes.get(participant.name) ?? 'YES',
        attempts: 1,
      }));
      const no = participants.find((participant) => participant.vote === 'NO');
      const timeline = [
        ...tx.timeline,
        this.local('PREPARING', null, `preparing ${participants.length} participant(s)`),
        ...participants.map((participant) =>
          this.local('PREPARE_SENT', participant.name, 'PREPARE sent, attempt 1'),
        ),
        ...participants.map((participant) =>
          this.local('VOTE', participant.name, `voted ${participant.vote}`),
        ),
      ];
      const decided = this.decide(
        { ...tx, participants, timeline },
        no === undefined ? 'COMMIT' : 'ABORT',
        no === undefined ? 'all participants voted YES' : `${no.name} voted NO`,
        null,
      );
      return wait === 'completion' ? this.complete(decided) : decided;
    });
  }

  abort(txId: string): Promise<TransactionView> {
    return this.leaderOnly('abort', [txId], () => {
      const tx = this.find(txId);
      if (tx.decision?.outcome === 'ABORT') return tx;
      this.requireNoOtherDecision(tx, 'ABORT');
      return this.decide(tx, 'ABORT', 'aborted by the client', null);
    });
  }

  get(txId: string): Promise<TransactionView> {
    return this.leaderOnly('get', [txId], () => this.find(txId));
  }

  outcome(txId: string): Promise<OutcomeView> {
    return this.leaderOnly('outcome', [txId], () => {
      const tx = this.transactions.get(txId);
      if (tx === undefined) return { txId, outcome: 'ABORT', presumed: true };
      return { txId, outcome: tx.decision?.outcome ?? 'UNDECIDED', presumed: false };
    });
  }

  list(filter: ListFilter): Promise<TransactionPage> {
    return this.leaderOnly('list', [filter], () => {
      const matching = [...this.transactions.values()]
        .filter((tx) => filter.state === undefined || tx.state === filter.state)
        .filter(
          (tx) =>
            filter.participant === undefined || tx.participants.some((p) => p.name === filter.participant),
        )
        .filter((tx) => filter.stuck === undefined || (tx.stuck !== null) === filter.stuck)
        .sort((a, b) => (a.id < b.id ? 1 : -1))
        .filter((tx) => filter.cursor === undefined || tx.id < filter.cursor);
      const items = matching.slice(0, filter.limit);
      const last = items.at(-1);
      return { items, nextCursor: matching.length > filter.limit && last !== undefined ? last.id : null };
    });
  }

  resolve(txId: string, resolution: Resolution, actor: Actor): Promise<TransactionView> {
    return this.leaderOnly('resolve', [txId, resolution, actor], () => {
      const tx = this.find(txId);
      if (tx.decision?.outcome === resolution.outcome) return tx;
      this.requireNoOtherDecision(tx, resolution.outcome);
      if (
        resolution.outcome === 'COMMIT' &&
        !tx.participants.every((participant) => participant.vote === 'YES')
      ) {
        throw new CoordinatorError(
          { code: 'RESOLVE_NOT_ALLOWED', txId, state: tx.state },
          `transaction ${txId} cannot be resolved COMMIT: not every participant's YES vote is known; resolve it ABORT or retry prepare`,
        );
      }
      return this.decide(tx, resolution.outcome, resolution.reason, actor.name);
    });
  }

  retry(txId: string, reason: string | null, actor: Actor): Promise<TransactionView> {
    return this.leaderOnly('retry', [txId, reason, actor], () => {
      const tx = this.requireState(
        txId,
        ['ACTIVE', 'PREPARING', 'COMMITTING', 'ABORTING'],
        'a finished transaction has nothing to retry',
      );
      const retried: TimelineEventView = {
        ...this.local(
          'RETRY',
          null,
          `retry requested by ${actor.name}${reason === null ? '' : `; reason: ${reason}`}`,
        ),
        actor: actor.name,
      };
      return this.save({ ...tx, timeline: [...tx.timeline, retried] });
    });
  }

  clusterStatus(): Promise<ClusterStatusView> {
    this.calls.push({ method: 'clusterStatus', args: [] });
    const leaderId =
      this.leadership.kind === 'leader'
        ? this.nodeId
        : this.leadership.kind === 'follower'
          ? this.leadership.leaderId
          : null;
    return Promise.resolve({
      nodeId: this.nodeId,
      role: this.leadership.kind === 'leader' ? 'LEADER' : 'FOLLOWER',
      term: 1,
      leaderId,
      commitIndex: this.raftIndex,
      appliedIndex: this.raftIndex,
      members: [
        {
          nodeId: this.nodeId,
          role: 'LEADER',
          matchIndex: this.raftIndex,
          lag: 0,
          lastContactMs: 0,
          httpUrl: null,
        },
      ],
      breakers: [],
      participants: [],
      stats: this.stats(),
    });
  }

  /** Counted from the transactions it holds, which it never forgets. */
  private stats(): ClusterStatusView['stats'] {
    const nowMs = this.now().getTime();
    let committed = 0;
    let aborted = 0;
    let inDoubt = 0;
    let oldestCreatedMs: number | null = null;
    for (const tx of this.transactions.values()) {
      if (tx.decision?.outcome === 'COMMIT') committed += 1;
      if (tx.decision?.outcome === 'ABORT') aborted += 1;
      if (tx.state !== 'PREPARING' && tx.state !== 'COMMITTING' && tx.state !== 'ABORTING') continue;
      inDoubt += 1;
      const createdMs = Date.parse(tx.createdAt);
      oldestCreatedMs = oldestCreatedMs === null ? createdMs : Math.min(oldestCreatedMs, createdMs);
    }
    return {
      committed,
      aborted,
      inDoubt,
      oldestInDoubtMs: oldestCreatedMs === null ? null : Math.max(0, nowMs - oldestCreatedMs),
    };
  }

  transferLeadership(to?: string): Promise<ClusterStatusView> {
    return this.leaderOnly('transferLeadership', [to], () => {
      throw new CoordinatorError(
        { code: 'CLUSTER_CHANGE_REJECTED' },
        'this test double has a single member; there is nobody to transfer leadership to',
      );
    });
  }

  addMember(member: MemberInput): Promise<ClusterStatusView> {
    return this.leaderOnly('addMember', [member], () => {
      throw new CoordinatorError(
        { code: 'CLUSTER_CHANGE_REJECTED' },
        'this test double cannot change membership',
      );
    });
  }

  removeMember(nodeId: string): Promise<ClusterStatusView> {
    return this.leaderOnly('removeMember', [nodeId], () => {
      throw new CoordinatorError(
        { code: 'MEMBER_NOT_FOUND', nodeId },
        `${nodeId} is not a member of this cluster`,
      );
    });
  }

  private leaderOnly<T>(method: keyof CoordinatorPort, args: readonly unknown[], body: () => T): Promise<T> {
    this.calls.push({ method, args });
    try {
      const failure = this.failNextWith;
      if (failure !== null) {
        this.failNextWith = null;
        throw failure;
      }
      if (this.leadership.kind === 'follower') {
        const { leaderId, leaderUrl } = this.leadership;
        throw new CoordinatorError(
          { code: 'NOT_LEADER', leaderId, leaderUrl },
          `${this.nodeId} is not the leader; ${leaderId} is`,
        );
      }
      if (this.leadership.kind === 'none') {
        throw new CoordinatorError(
          { code: 'NO_LEADER', retryAfterMs: this.leadership.retryAfterMs },
          'cluster has no leader (2 of 3 nodes unreachable); retry later',
        );
      }
      return Promise.resolve(body());
    } catch (error: unknown) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private find(txId: string): TransactionView {
    const tx = this.transactions.get(txId);
    if (tx === undefined) {
      throw new CoordinatorError(
        { code: 'TX_NOT_FOUND', txId },
        `no transaction ${txId}; check the id returned by begin`,
      );
    }
    return tx;
  }

  private requireState(txId: string, allowed: readonly TxState[], rule: string): TransactionView {
    const tx = this.find(txId);
    if (!allowed.includes(tx.state)) {
      throw new CoordinatorError(
        { code: 'TX_NOT_ACTIVE', txId, state: tx.state },
        `transaction ${txId} is ${tx.state}; ${rule}`,
      );
    }
    return tx;
  }

  private requireNoOtherDecision(tx: TransactionView, wanted: Outcome): void {
    if (tx.decision !== null && tx.decision.outcome !== wanted) {
      throw new CoordinatorError(
        { code: 'DECISION_EXISTS', txId: tx.id, decision: tx.decision },
        `transaction ${tx.id} is already decided ${tx.decision.outcome}; a decision never changes`,
      );
    }
  }

  private decide(
    tx: TransactionView,
    outcome: Outcome,
    reason: string,
    resolvedBy: string | null,
  ): TransactionView {
    this.raftIndex += 1;
    const decision: DecisionView = {
      outcome,
      raftIndex: this.raftIndex,
      raftTerm: 1,
      reason,
      resolvedBy,
      decidedAt: this.now().toISOString(),
    };
    const decided: TimelineEventView = {
      at: decision.decidedAt,
      kind: 'DECISION',
      participant: null,
      detail: `decided ${outcome}: ${reason}`,
      raftIndex: decision.raftIndex,
      raftTerm: decision.raftTerm,
      actor: resolvedBy,
    };
    const sent = tx.participants.map((participant) =>
      this.local('DECISION_SENT', participant.name, `${outcome} sent, attempt 1`),
    );
    return this.save({
      ...tx,
      state: outcome === 'COMMIT' ? 'COMMITTING' : 'ABORTING',
      decision,
      timeline: [...tx.timeline, decided, ...sent],
    });
  }

  private complete(tx: TransactionView): TransactionView {
    const now = this.now().toISOString();
    return this.save({
      ...tx,
      state: tx.decision?.outcome === 'COMMIT' ? 'COMMITTED' : 'ABORTED',
      participants: tx.participants.map((participant) => ({ ...participant, ack: true, ackedAt: now })),
      finishedAt: now,
      timeline: [
        ...tx.timeline,
        ...tx.participants.map((participant) =>
          this.local('ACK', participant.name, `acknowledged ${tx.decision?.outcome ?? 'the decision'}`),
        ),
        this.local('ARCHIVED', null, 'archived to history'),
      ],
    });
  }

  private local(kind: TimelineEventKind, participant: string | null, detail: string): TimelineEventView {
    return {
      at: this.now().toISOString(),
      kind,
      participant,
      detail,
      raftIndex: null,
      raftTerm: null,
      actor: null,
    };
  }

  private save(tx: TransactionView): TransactionView {
    this.transactions.set(tx.id, tx);
    return tx;
  }
}

function newParticipant(input: ParticipantInput): ParticipantView {
  return {
    name: input.name,
    vote: null,
    voteReason: null,
    ack: false,
    ackedAt: null,
    attempts: 0,
    lastError: null,
    breaker: 'CLOSED',
  };
}
