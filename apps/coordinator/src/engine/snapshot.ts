import { assert } from './assert';
import { canonicalStringify, decodeJson } from './canonical-json';
import type { DecisionRecord } from './effects';
import { array, entryFromJson, epochMs, integer, record, string } from './entries';
import { IDEMPOTENCY_KEYS_MAX, LIVE_TRANSACTIONS_MAX, PARTICIPANTS_PER_TX_MAX } from './limits';
import {
  createEngineState,
  type EngineState,
  type EnlistmentRecord,
  type IdempotencyRecord,
  type TxRecord,
} from './state';

// Raft snapshots of the engine: the replicated part only (leader memory is rebuilt by
// `becameLeader`). Canonical JSON, so two nodes at the same applied index produce the same bytes,
// which the property tests use to check that replicas agree.
//
// v2 adds to each transaction where its BEGIN and ENLIST entries sit in the log (`begun`,
// `enlistments`), for the timeline. v1 snapshots (written before) still decode, with those
// positions unknown (null), so a node restarting on an old snapshot keeps working.

export const SNAPSHOT_FORMAT_VERSION = 2;
/** Idempotency keys a coordinator encodes per turn of its event loop: 1–2 ms of work here. */
export const SNAPSHOT_KEYS_PER_SLICE = 1_000;
const utf8 = new TextEncoder();
const SNAPSHOT_FORMAT_VERSIONS_READ: readonly unknown[] = [1, SNAPSHOT_FORMAT_VERSION];

export function encodeSnapshot(state: EngineState): Uint8Array {
  const encoding = new SnapshotEncoding(state);
  encoding.encode(Number.POSITIVE_INFINITY);
  return encoding.bytes();
}

/**
 * A snapshot of the state as it is at construction, encoded a slice of the idempotency table at a
 * time: a Raft node takes snapshots off its Ready loop, and 100,000 keys encoded at once held the
 * event loop for ~200 ms under load. Everything but that table is encoded at once, because it
 * changes in place; the table's records never do (IdempotencyRecord is readonly: a key's record
 * is added, replaced or evicted), so holding the records of the moment is holding the table of
 * the moment.
 */
export class SnapshotEncoding {
  private readonly head: string;
  private readonly tail: string;
  /** The table's keys and records, oldest first: one walk of its links. */
  private readonly keys: readonly (readonly [string, IdempotencyRecord])[];
  private readonly slices: Uint8Array[] = [];
  private encoded = 0;

  constructor(state: EngineState) {
    const replicated = state.replicated;
    this.head =
      `{"appliedIndex":${canonicalStringify(replicated.appliedIndex)}` +
      `,"appliedTerm":${canonicalStringify(replicated.appliedTerm)}` +
      // The array keeps the table's order: it evicts in that order, so the order is state too.
      `,"idempotencyKeys":[`;
    this.tail =
      `],"transactions":${canonicalStringify([...replicated.transactions.values()])}` +
      `,"v":${SNAPSHOT_FORMAT_VERSION}}`;
    this.keys = [...replicated.idempotencyKeys];
  }

  /** Encodes up to `count` more idempotency keys; true once every key is. */
  encode(count: number): boolean {
    const end = Math.min(this.keys.length, this.encoded + count);
    // Canonical JSON, in two speeds. With canonicalStringify, 100,000 keys took ~590 ms here;
    // JSON.stringify gives the same bytes when each object's keys are inserted already sorted and
    // every value is a string or a safe integer: it writes keys in insertion order, and strings
    // and integers as canonicalStringify does. codec.spec.ts holds them equal.
    const objects = [];
    for (let position = this.encoded; position < end; position += 1) {
      const [key, recorded] = this.keys[position] as readonly [string, IdempotencyRecord];
      // Not assert(): its message would be built for every one of 100,000 keys.
      if (!Number.isSafeInteger(recorded.createdAtMs)) {
        assert(false, `idempotency key ${key} has createdAtMs ${recorded.createdAtMs}`);
      }
      objects.push({
        createdAtMs: recorded.createdAtMs,
        fingerprint: recorded.fingerprint,
        key,
        txId: recorded.txId,
      });
    }
    if (objects.length > 0) {
      const json = JSON.stringify(objects);
      // The slice's elements without its brackets, after a comma unless they come first.
      this.slices.push(utf8.encode(`${this.encoded === 0 ? '' : ','}${json.slice(1, -1)}`));
    }
    this.encoded = end;
    return this.encoded === this.keys.length;
  }

  /** The snapshot's bytes, once `encode` answered true. */
  bytes(): Uint8Array {
    assert(this.encoded === this.keys.length, `snapshot encoded ${this.encoded} of ${this.keys.length} keys`);
    const parts = [utf8.encode(this.head), ...this.slices, utf8.encode(this.tail)];
    const whole = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      whole.set(part, offset);
      offset += part.length;
    }
    return whole;
  }
}

/** A follower's engine state at the snapshot's index. Corrupt input is an InvariantViolation. */
export function decodeSnapshot(bytes: Uint8Array): EngineState {
  const body = record(decodeJson(bytes, 'snapshot'), 'snapshot');
  const version = body['v'];
  assert(
    SNAPSHOT_FORMAT_VERSIONS_READ.includes(version),
    `snapshot format v${String(version)}; this engine reads v${SNAPSHOT_FORMAT_VERSIONS_READ.join(', v')}`,
  );
  const state = createEngineState();
  const replicated = state.replicated;
  replicated.appliedIndex = integer(body['appliedIndex'], 'snapshot.appliedIndex');
  replicated.appliedTerm = integer(body['appliedTerm'], 'snapshot.appliedTerm');
  const transactions = array(body['transactions'], 'snapshot.transactions');
  assert(
    transactions.length <= LIVE_TRANSACTIONS_MAX,
    `snapshot has ${transactions.length} live transactions; at most ${LIVE_TRANSACTIONS_MAX}`,
  );
  transactions.forEach((item, position) => {
    const tx = txFromJson(item, `snapshot.transactions[${position}]`, version === 1);
    assert(!replicated.transactions.has(tx.txId), `snapshot lists transaction ${tx.txId} twice`);
    replicated.transactions.set(tx.txId, tx);
  });
  const keys = array(body['idempotencyKeys'], 'snapshot.idempotencyKeys');
  assert(
    keys.length <= IDEMPOTENCY_KEYS_MAX,
    `snapshot has ${keys.length} idempotency keys; at most ${IDEMPOTENCY_KEYS_MAX}`,
  );
  keys.forEach((item, position) => {
    const what = `snapshot.idempotencyKeys[${position}]`;
    const entry = record(item, what);
    const key = string(entry['key'], `${what}.key`);
    const recorded: IdempotencyRecord = {
      fingerprint: string(entry['fingerprint'], `${what}.fingerprint`),
      txId: string(entry['txId'], `${what}.txId`),
      createdAtMs: epochMs(entry['createdAtMs'], `${what}.createdAtMs`),
    };
    assert(!replicated.idempotencyKeys.has(key), `snapshot lists idempotency key ${key} twice`);
    replicated.idempotencyKeys.add(key, recorded);
  });
  return state;
}

function txFromJson(value: unknown, what: string, v1: boolean): TxRecord {
  const body = record(value, what);
  // The fields BEGIN carries are checked by the entry decoder.
  const begin = entryFromJson({
    kind: 'BEGIN',
    txId: body['txId'],
    participants: body['participants'],
    createdAtMs: body['createdAtMs'],
    deadlineMs: body['deadlineMs'],
    metadata: body['metadata'],
    idempotency: null,
  });
  assert(begin.kind === 'BEGIN', `${what} did not decode as a transaction`);
  const phase = body['phase'];
  assert(
    phase === 'ACTIVE' || phase === 'PREPARING' || phase === 'DECIDED',
    `${what}.phase is ${String(phase)}`,
  );
  const idempotencyKey = body['idempotencyKey'];
  const prepareJson = body['prepare'];
  const prepare =
    prepareJson === null
      ? null
      : (() => {
          const fields = record(prepareJson, `${what}.prepare`);
          return {
            index: integer(fields['index'], `${what}.prepare.index`),
            term: integer(fields['term'], `${what}.prepare.term`),
            atMs: epochMs(fields['atMs'], `${what}.prepare.atMs`),
          };
        })();
  const decisionJson = body['decision'];
  const decision = decisionJson === null ? null : decisionFromJson(decisionJson, `${what}.decision`);
  const begunJson = body['begun'];
  const begun =
    v1 || begunJson === null
      ? null
      : (() => {
          const fields = record(begunJson, `${what}.begun`);
          return {
            index: integer(fields['index'], `${what}.begun.index`),
            term: integer(fields['term'], `${what}.begun.term`),
          };
        })();
  const enlistments = v1
    ? begin.participants.map((): EnlistmentRecord => ({ index: null, term: null, atMs: null }))
    : array(body['enlistments'], `${what}.enlistments`).map((item, position) =>
        enlistmentFromJson(item, `${what}.enlistments[${position}]`),
      );
  const tx: TxRecord = {
    txId: begin.txId,
    phase,
    participants: begin.participants.slice(),
    createdAtMs: begin.createdAtMs,
    deadlineMs: begin.deadlineMs,
    metadata: begin.metadata,
    idempotencyKey: idempotencyKey === null ? null : string(idempotencyKey, `${what}.idempotencyKey`),
    begun,
    enlistments,
    prepare,
    decision,
  };
  // The invariants of TxRecord, checked after read as they are kept before write.
  assert(
    tx.participants.length <= PARTICIPANTS_PER_TX_MAX,
    `${what} has ${tx.participants.length} participants`,
  );
  assert(
    new Set(tx.participants.map((each) => each.name)).size === tx.participants.length,
    `${what} repeats a participant`,
  );
  assert(
    (tx.decision !== null) === (tx.phase === 'DECIDED'),
    `${what} is ${tx.phase} with decision ${JSON.stringify(tx.decision)}`,
  );
  assert(
    tx.enlistments.length === tx.participants.length,
    `${what} has ${tx.enlistments.length} enlistments for ${tx.participants.length} participants`,
  );
  assert(tx.phase !== 'PREPARING' || tx.prepare !== null, `${what} is PREPARING without a prepare record`);
  assert(tx.phase !== 'ACTIVE' || tx.prepare === null, `${what} is ACTIVE with a prepare record`);
  return tx;
}

function enlistmentFromJson(value: unknown, what: string): EnlistmentRecord {
  const body = record(value, what);
  const nullOr = <T>(field: unknown, read: (present: unknown) => T): T | null =>
    field === null ? null : read(field);
  return {
    index: nullOr(body['index'], (index) => integer(index, `${what}.index`)),
    term: nullOr(body['term'], (term) => integer(term, `${what}.term`)),
    atMs: nullOr(body['atMs'], (atMs) => epochMs(atMs, `${what}.atMs`)),
  };
}

function decisionFromJson(value: unknown, what: string): DecisionRecord {
  const body = record(value, what);
  const decision = entryFromJson({
    kind: 'DECISION',
    txId: '',
    outcome: body['outcome'],
    cause: body['cause'],
    reason: body['reason'],
    resolvedBy: body['resolvedBy'],
    atMs: body['decidedAtMs'],
  });
  assert(decision.kind === 'DECISION', `${what} did not decode as a decision`);
  return {
    outcome: decision.outcome,
    cause: decision.cause,
    reason: decision.reason,
    resolvedBy: decision.resolvedBy,
    decidedAtMs: decision.atMs,
    raftIndex: integer(body['raftIndex'], `${what}.raftIndex`),
    raftTerm: integer(body['raftTerm'], `${what}.raftTerm`),
  };
}
