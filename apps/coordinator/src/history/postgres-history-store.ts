import { In } from 'typeorm';
import { isParticipantName, type Outcome } from '@verdict/protocol';
import { isoTime } from '../engine';
import {
  FINISHED_TIMELINE_EVENT_KINDS,
  type FinishedBranch,
  type FinishedTimelineEvent,
  type FinishedTransaction,
} from './finished-transaction';
import type { HistoryDatabase } from './history-database';
import {
  decodeHistoryCursor,
  encodeHistoryCursor,
  HISTORY_PAGE_LIMIT_MAX,
  type HistoryPage,
  type HistoryQuery,
  type HistoryStore,
} from './history-store';
import { FinishedTransactionRow, TransactionBranchRow } from './history.entities';

/**
 * A batch is written with two statements whatever its size: the rows travel as one JSON array
 * and `jsonb_to_recordset` turns it back into rows. One `JSON.stringify` of the batch costs the
 * leader far less than pg's escaping of one array literal per column did (the timeline, itself
 * JSON, was escaped character by character), and TypeORM's multi-row insert builder cost more
 * than PostgreSQL spent on the rows. ON CONFLICT DO NOTHING: archiving again (a new leader, a
 * retry after a lost reply) keeps the first write, which is identical since a decision never
 * changes.
 */
const INSERT_TRANSACTIONS = `
  INSERT INTO finished_transactions (tx_id, outcome, state, cause, reason, resolved_by, created_at,
    decided_at, finished_at, deadline, metadata, decision_raft_index, decision_raft_term,
    idempotency_key, timeline)
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS row(tx_id uuid, outcome text, state text,
    cause text, reason text, resolved_by text, created_at timestamptz, decided_at timestamptz,
    finished_at timestamptz, deadline timestamptz, metadata jsonb, decision_raft_index bigint,
    decision_raft_term bigint, idempotency_key text, timeline jsonb)
  ON CONFLICT DO NOTHING`;
const INSERT_BRANCHES = `
  INSERT INTO transaction_branches (tx_id, participant, vote, vote_reason, voted_at, acked_at,
    attempts, last_error)
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS row(tx_id uuid, participant text, vote text,
    vote_reason text, voted_at timestamptz, acked_at timestamptz, attempts integer, last_error text)
  ON CONFLICT DO NOTHING`;

export class PostgresHistoryStore implements HistoryStore {
  constructor(private readonly database: HistoryDatabase) {}

  async archive(records: readonly FinishedTransaction[]): Promise<void> {
    if (records.length === 0) return;
    for (const record of records) assertArchivable(record);
    const iso = (ms: number | null): string | null => (ms === null ? null : isoTime(ms));
    const transactions = records.map((record) => ({
      tx_id: record.txId,
      outcome: record.decision.outcome,
      state: record.state,
      cause: record.decision.cause,
      reason: record.decision.reason,
      resolved_by: record.decision.resolvedBy,
      created_at: iso(record.createdAtMs),
      decided_at: iso(record.decision.decidedAtMs),
      finished_at: iso(record.finishedAtMs),
      deadline: iso(record.deadlineMs),
      metadata: record.metadata,
      decision_raft_index: record.decision.raftIndex,
      decision_raft_term: record.decision.raftTerm,
      idempotency_key: record.idempotencyKey,
      timeline: record.timeline,
    }));
    const branches = records.flatMap((record) =>
      record.participants.map((branch) => ({
        tx_id: record.txId,
        participant: branch.name,
        vote: branch.vote,
        vote_reason: branch.voteReason,
        voted_at: iso(branch.votedAtMs),
        acked_at: iso(branch.ackedAtMs),
        attempts: branch.attempts,
        last_error: branch.lastError,
      })),
    );
    // One database transaction: a transaction row is never visible without its branches.
    await this.database.dataSource().transaction('READ COMMITTED', async (manager) => {
      await manager.query(INSERT_TRANSACTIONS, [JSON.stringify(transactions)]);
      await manager.query(INSERT_BRANCHES, [JSON.stringify(branches)]);
    });
  }

  async find(txId: string): Promise<FinishedTransaction | null> {
    assertTxId(txId);
    const dataSource = this.database.dataSource();
    const row = await dataSource.getRepository(FinishedTransactionRow).findOne({ where: { txId } });
    if (row === null) return null;
    const branches = await dataSource
      .getRepository(TransactionBranchRow)
      .find({ where: { txId }, order: { participant: 'ASC' } });
    return fromRows(row, branches);
  }

  async list(query: HistoryQuery): Promise<HistoryPage> {
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > HISTORY_PAGE_LIMIT_MAX) {
      throw new RangeError(
        `limit must be an integer from 1 to ${HISTORY_PAGE_LIMIT_MAX}; got ${query.limit}`,
      );
    }
    const dataSource = this.database.dataSource();
    const select = dataSource
      .getRepository(FinishedTransactionRow)
      .createQueryBuilder('tx')
      .orderBy('tx.txId', 'DESC')
      // One more than asked tells whether another page exists without a COUNT.
      .limit(query.limit + 1);
    if (query.state !== undefined) select.andWhere('tx.state = :state', { state: query.state });
    if (query.outcome !== undefined) select.andWhere('tx.outcome = :outcome', { outcome: query.outcome });
    if (query.createdBeforeMs !== undefined) {
      if (!Number.isSafeInteger(query.createdBeforeMs)) {
        throw new RangeError(`createdBeforeMs ${query.createdBeforeMs} is not a Unix time in milliseconds`);
      }
      select.andWhere('tx.createdAt < :createdBefore', { createdBefore: new Date(query.createdBeforeMs) });
    }
    if (query.cursor !== undefined) {
      select.andWhere('tx.txId < :after', { after: decodeHistoryCursor(query.cursor) });
    }
    if (query.participant !== undefined) {
      select.andWhere(
        'EXISTS (SELECT 1 FROM transaction_branches branch WHERE branch.tx_id = tx.tx_id AND branch.participant = :participant)',
        { participant: query.participant },
      );
    }
    const rows = await select.getMany();
    const page = rows.slice(0, query.limit);
    const branches =
      page.length === 0
        ? []
        : await dataSource.getRepository(TransactionBranchRow).find({
            where: { txId: In(page.map((row) => row.txId)) },
            order: { participant: 'ASC' },
          });
    const branchesByTx = new Map<string, TransactionBranchRow[]>();
    for (const branch of branches) {
      const list = branchesByTx.get(branch.txId) ?? [];
      list.push(branch);
      branchesByTx.set(branch.txId, list);
    }
    const last = page.at(-1);
    return {
      items: page.map((row) => fromRows(row, branchesByTx.get(row.txId) ?? [])),
      nextCursor: rows.length > query.limit && last !== undefined ? encodeHistoryCursor(last.txId) : null,
    };
  }

  async outcomeOf(txId: string): Promise<Outcome | null> {
    assertTxId(txId);
    const row = await this.database
      .dataSource()
      .getRepository(FinishedTransactionRow)
      .findOne({ select: { txId: true, outcome: true }, where: { txId } });
    return row === null ? null : row.outcome;
  }
}

const TX_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Without it PostgreSQL answers "invalid input syntax for type uuid", which reads like an outage.
function assertTxId(txId: string): void {
  if (!TX_ID_PATTERN.test(txId)) throw new RangeError(`txId "${txId}" is not a UUID`);
}

/**
 * Programmer errors in what the engine hands over; thrown before anything is written so that a
 * broken record can never half-enter the archive.
 */
export function assertArchivable(record: FinishedTransaction): void {
  const expectedOutcome: Outcome = record.state === 'COMMITTED' ? 'COMMIT' : 'ABORT';
  if (record.decision.outcome !== expectedOutcome) {
    throw new Error(
      `transaction ${record.txId} is ${record.state} but its decision is ${record.decision.outcome}`,
    );
  }
  if (!Number.isSafeInteger(record.decision.raftIndex) || record.decision.raftIndex < 1) {
    throw new Error(
      `transaction ${record.txId} has decision raftIndex ${record.decision.raftIndex}; expected ≥ 1`,
    );
  }
  if (!Number.isSafeInteger(record.decision.raftTerm) || record.decision.raftTerm < 1) {
    throw new Error(
      `transaction ${record.txId} has decision raftTerm ${record.decision.raftTerm}; expected ≥ 1`,
    );
  }
  const names = new Set<string>();
  for (const branch of record.participants) {
    if (!isParticipantName(branch.name)) {
      throw new Error(`transaction ${record.txId} has an invalid participant name "${branch.name}"`);
    }
    if (names.has(branch.name)) {
      throw new Error(`transaction ${record.txId} lists participant ${branch.name} twice`);
    }
    names.add(branch.name);
    if (!Number.isSafeInteger(branch.attempts) || branch.attempts < 0) {
      throw new Error(
        `transaction ${record.txId}: participant ${branch.name} has attempts ${branch.attempts}`,
      );
    }
  }
  if (record.state === 'COMMITTED' && record.participants.some((branch) => branch.vote === 'NO')) {
    throw new Error(`transaction ${record.txId} is COMMITTED although a participant voted NO`);
  }
}

function fromRows(
  row: FinishedTransactionRow,
  branches: readonly TransactionBranchRow[],
): FinishedTransaction {
  const finished = {
    txId: row.txId,
    state: row.state,
    decision: {
      outcome: row.outcome,
      cause: row.cause,
      reason: row.reason,
      resolvedBy: row.resolvedBy,
      decidedAtMs: row.decidedAt.getTime(),
      raftIndex: row.decisionRaftIndex,
      raftTerm: row.decisionRaftTerm,
    },
    participants: branches.map((branch): FinishedBranch => ({
      name: branch.participant,
      vote: branch.vote,
      voteReason: branch.voteReason,
      votedAtMs: msOrNull(branch.votedAt),
      ackedAtMs: msOrNull(branch.ackedAt),
      attempts: branch.attempts,
      lastError: branch.lastError,
    })),
    createdAtMs: row.createdAt.getTime(),
    deadlineMs: row.deadline.getTime(),
    finishedAtMs: row.finishedAt.getTime(),
    metadata: row.metadata,
    idempotencyKey: row.idempotencyKey,
  };
  const stored = timelineFromJson(row.timeline, row.txId);
  return { ...finished, timeline: stored.length > 0 ? stored : rebuiltTimeline(finished) };
}

const TIMELINE_KINDS: ReadonlySet<unknown> = new Set(FINISHED_TIMELINE_EVENT_KINDS);

/** The stored timeline, checked: a malformed one is a corrupt row, said with its txId. */
function timelineFromJson(value: unknown, txId: string): FinishedTimelineEvent[] {
  const corrupt = (why: string): Error => new Error(`transaction ${txId} has a corrupt timeline: ${why}`);
  if (!Array.isArray(value)) throw corrupt('not an array');
  return value.map((item: unknown, position): FinishedTimelineEvent => {
    if (typeof item !== 'object' || item === null) throw corrupt(`event ${position} is not an object`);
    const event = item as Record<string, unknown>;
    const nullableInteger = (field: string): number | null => {
      const found = event[field];
      if (found === null) return null;
      if (!Number.isSafeInteger(found))
        throw corrupt(`event ${position} has ${field} ${JSON.stringify(found)}`);
      return found as number;
    };
    const nullableString = (field: string): string | null => {
      const found = event[field];
      if (found === null || typeof found === 'string') return found;
      throw corrupt(`event ${position} has ${field} ${JSON.stringify(found)}`);
    };
    const kind = event['kind'];
    if (!TIMELINE_KINDS.has(kind)) throw corrupt(`event ${position} has kind ${String(kind)}`);
    const atMs = nullableInteger('atMs');
    const detail = nullableString('detail');
    if (atMs === null || detail === null) throw corrupt(`event ${position} lacks atMs or detail`);
    return {
      atMs,
      kind: kind as FinishedTimelineEvent['kind'],
      participant: nullableString('participant'),
      detail,
      raftIndex: nullableInteger('raftIndex'),
      raftTerm: nullableInteger('raftTerm'),
      actor: nullableString('actor'),
    };
  });
}

/**
 * For rows archived before timelines were kept: what the columns still tell, oldest first. The
 * sends, retries and leader changes of those transactions are not known any more.
 */
function rebuiltTimeline(finished: Omit<FinishedTransaction, 'timeline'>): FinishedTimelineEvent[] {
  const event = (
    atMs: number,
    kind: FinishedTimelineEvent['kind'],
    participant: string | null,
    detail: string,
  ): FinishedTimelineEvent => ({
    atMs,
    kind,
    participant,
    detail,
    raftIndex: null,
    raftTerm: null,
    actor: null,
  });
  const { decision } = finished;
  const votes = finished.participants.flatMap((branch) => {
    if (branch.vote === null || branch.votedAtMs === null) return [];
    const why = branch.voteReason === null ? '' : `: ${branch.voteReason}`;
    return [event(branch.votedAtMs, 'VOTE', branch.name, `voted ${branch.vote}${why}`)];
  });
  const acks = finished.participants.flatMap((branch) =>
    branch.ackedAtMs === null
      ? []
      : [event(branch.ackedAtMs, 'ACK', branch.name, `acknowledged ${decision.outcome}`)],
  );
  const events: FinishedTimelineEvent[] = [
    event(finished.createdAtMs, 'BEGIN', null, 'began (archived before timelines were kept)'),
    ...votes,
    {
      ...event(
        decision.decidedAtMs,
        'DECISION',
        null,
        decision.resolvedBy === null
          ? `decided ${decision.outcome}: ${decision.reason}`
          : `resolved ${decision.outcome} by an operator: ${decision.reason}`,
      ),
      raftIndex: decision.raftIndex,
      raftTerm: decision.raftTerm,
      actor: decision.resolvedBy,
    },
    ...acks,
  ];
  // Stable: at equal times the causal order above stays.
  events.sort((left, right) => left.atMs - right.atMs);
  events.push(event(finished.finishedAtMs, 'ARCHIVED', null, 'archived to history'));
  return events;
}

function msOrNull(date: Date | null): number | null {
  return date === null ? null : date.getTime();
}
