import { assert } from './assert';
import { decodeJson, encodeCanonical, isJsonValue } from './canonical-json';
import { PARTICIPANTS_PER_TX_MAX, REASON_CHARS_MAX, END_BATCH_TX_MAX } from './limits';
import type { DecisionCause, IdempotencySpec, Outcome, ParticipantSpec, TxId } from './types';

// The entries the engine writes to the Raft log. Every node applies them in log order through
// `entryCommitted`, so everything an entry's effect depends on is inside it: times are the
// proposing leader's clock readings, carried as epoch milliseconds; nothing is read at apply time.

export const ENTRY_FORMAT_VERSION = 1;

/** A transaction starts: who takes part, until when, and the idempotency key it answers to. */
export interface BeginEntry {
  readonly kind: 'BEGIN';
  readonly txId: TxId;
  readonly participants: readonly ParticipantSpec[];
  readonly createdAtMs: number;
  /** Prepare deadline, decided by the leader: createdAtMs + the client's timeout. */
  readonly deadlineMs: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly idempotency: IdempotencySpec | null;
}

/** One more participant, while ACTIVE. Rejected at apply time if the transaction moved on. */
export interface EnlistEntry {
  readonly kind: 'ENLIST';
  readonly txId: TxId;
  readonly participant: ParticipantSpec;
  /**
   * The proposing leader's clock, for the timeline. Null only in ENLIST entries written before
   * the field existed (it is optional on decode, so their logs still replay).
   */
  readonly atMs: number | null;
}

/** Commit was requested: the prepare round starts once this is applied. */
export interface PreparingEntry {
  readonly kind: 'PREPARING';
  readonly txId: TxId;
  readonly atMs: number;
}

/**
 * The outcome. The first DECISION for a transaction in log order is its decision; any later one
 * (two leaders' proposals, an operator racing the deadline) is void at apply time.
 */
export interface DecisionEntry {
  readonly kind: 'DECISION';
  readonly txId: TxId;
  readonly outcome: Outcome;
  readonly cause: DecisionCause;
  readonly reason: string;
  /** The operator, for cause OPERATOR; null otherwise. */
  readonly resolvedBy: string | null;
  readonly atMs: number;
}

/** The transactions are archived in history and leave the live table. Batched. */
export interface EndEntry {
  readonly kind: 'END';
  readonly txIds: readonly TxId[];
}

export type TxLogEntry = BeginEntry | EnlistEntry | PreparingEntry | DecisionEntry | EndEntry;
export type TxLogEntryKind = TxLogEntry['kind'];

export function encodeEntry(entry: TxLogEntry): Uint8Array {
  return encodeCanonical({ v: ENTRY_FORMAT_VERSION, ...entry });
}

/**
 * Decodes an entry from the Raft log. A malformed entry means corruption past the log's CRC or a
 * node running an older format: both are crashes (InvariantViolation), not something to skip,
 * because skipping an entry would make this node's state differ from the others'.
 */
export function decodeEntry(bytes: Uint8Array): TxLogEntry {
  const value = decodeJson(bytes, 'log entry');
  const body = record(value, 'log entry');
  assert(
    body['v'] === ENTRY_FORMAT_VERSION,
    `log entry format v${String(body['v'])}; this engine reads v${ENTRY_FORMAT_VERSION}`,
  );
  return entryFromJson(body);
}

/** Shared with the snapshot decoder, which carries the same shapes. */
export function entryFromJson(body: Readonly<Record<string, unknown>>): TxLogEntry {
  const kind = body['kind'];
  switch (kind) {
    case 'BEGIN': {
      const txId = string(body['txId'], 'BEGIN.txId');
      const participants = array(body['participants'], 'BEGIN.participants').map((item, index) =>
        participantSpec(item, `BEGIN.participants[${index}]`),
      );
      assert(
        participants.length <= PARTICIPANTS_PER_TX_MAX,
        `BEGIN ${txId} has ${participants.length} participants; at most ${PARTICIPANTS_PER_TX_MAX}`,
      );
      const idempotency = body['idempotency'];
      return {
        kind,
        txId,
        participants,
        createdAtMs: epochMs(body['createdAtMs'], 'BEGIN.createdAtMs'),
        deadlineMs: epochMs(body['deadlineMs'], 'BEGIN.deadlineMs'),
        metadata: stringRecord(body['metadata'], 'BEGIN.metadata'),
        idempotency: idempotency === null ? null : idempotencySpec(idempotency, 'BEGIN.idempotency'),
      };
    }
    case 'ENLIST': {
      const atMs = body['atMs'];
      return {
        kind,
        txId: string(body['txId'], 'ENLIST.txId'),
        participant: participantSpec(body['participant'], 'ENLIST.participant'),
        atMs: atMs === undefined || atMs === null ? null : epochMs(atMs, 'ENLIST.atMs'),
      };
    }
    case 'PREPARING':
      return {
        kind,
        txId: string(body['txId'], 'PREPARING.txId'),
        atMs: epochMs(body['atMs'], 'PREPARING.atMs'),
      };
    case 'DECISION': {
      const outcome = body['outcome'];
      assert(outcome === 'COMMIT' || outcome === 'ABORT', `DECISION.outcome is ${String(outcome)}`);
      const cause = body['cause'];
      assert(isDecisionCause(cause), `DECISION.cause is ${String(cause)}`);
      const resolvedBy = body['resolvedBy'];
      return {
        kind,
        txId: string(body['txId'], 'DECISION.txId'),
        outcome,
        cause,
        reason: string(body['reason'], 'DECISION.reason', REASON_CHARS_MAX),
        resolvedBy: resolvedBy === null ? null : string(resolvedBy, 'DECISION.resolvedBy'),
        atMs: epochMs(body['atMs'], 'DECISION.atMs'),
      };
    }
    case 'END': {
      const txIds = array(body['txIds'], 'END.txIds').map((item, index) =>
        string(item, `END.txIds[${index}]`),
      );
      assert(txIds.length >= 1, 'END.txIds is empty');
      assert(
        txIds.length <= END_BATCH_TX_MAX,
        `END carries ${txIds.length} txIds; at most ${END_BATCH_TX_MAX}`,
      );
      return { kind, txIds };
    }
    default:
      assert(false, `log entry kind ${String(kind)} is not one this engine knows`);
  }
}

const DECISION_CAUSES: ReadonlySet<string> = new Set<DecisionCause>([
  'VOTES',
  'VOTED_NO',
  'DEADLINE',
  'CLIENT_ABORT',
  'PARTICIPANT_UNAVAILABLE',
  'OPERATOR',
]);

function isDecisionCause(value: unknown): value is DecisionCause {
  return typeof value === 'string' && DECISION_CAUSES.has(value);
}

// The checks below run for every field of every entry on every node, and for every record of a
// snapshot: each builds its message only once the check failed. Built eagerly, the message of
// `record(snapshot)` was a JSON.stringify of the whole snapshot, on every restore.

export function record(value: unknown, what: string): Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    assert(false, `${what} is not a JSON object: ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

export function array(value: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(value)) assert(false, `${what} is not an array: ${JSON.stringify(value)}`);
  return value as unknown[];
}

export function string(value: unknown, what: string, charsMax = Number.MAX_SAFE_INTEGER): string {
  if (typeof value !== 'string') assert(false, `${what} is not a string: ${JSON.stringify(value)}`);
  if (value.length > charsMax) assert(false, `${what} has ${value.length} characters; at most ${charsMax}`);
  return value;
}

export function epochMs(value: unknown, what: string): number {
  if (!isNonNegativeInteger(value))
    assert(false, `${what} is not epoch milliseconds: ${JSON.stringify(value)}`);
  return value;
}

export function integer(value: unknown, what: string): number {
  if (!isNonNegativeInteger(value)) {
    assert(false, `${what} is not a non-negative integer: ${JSON.stringify(value)}`);
  }
  return value;
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function participantSpec(value: unknown, what: string): ParticipantSpec {
  const body = record(value, what);
  const work = body['work'];
  assert(isJsonValue(work), `${what}.work is not a JSON value`);
  return { name: string(body['name'], `${what}.name`), work };
}

function idempotencySpec(value: unknown, what: string): IdempotencySpec {
  const body = record(value, what);
  return {
    key: string(body['key'], `${what}.key`),
    fingerprint: string(body['fingerprint'], `${what}.fingerprint`),
  };
}

function stringRecord(value: unknown, what: string): Readonly<Record<string, string>> {
  const body = record(value, what);
  const result: Record<string, string> = {};
  for (const [key, field] of Object.entries(body)) result[key] = string(field, `${what}.${key}`);
  return result;
}
