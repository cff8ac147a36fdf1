import type { Command } from '../commands';
import { transition } from '../engine';
import { IDEMPOTENCY_KEYS_MAX } from '../limits';
import { createEngineState, type EngineState } from '../state';

// Engine throughput on the hot path: whole two-participant transactions (begin, commit, two
// votes, two acks, archived, END) with every proposal committed at once, as a leader with a
// fast log would see them. Pure CPU: no Raft, no Kafka. The baseline is work the host must do
// anyway with the same effects: JSON-encode every entry and message. Both are timed per command
// in the same run, so machine load hits them alike and the ratio stays meaningful.

export interface ThroughputResult {
  readonly transactions: number;
  readonly commands: number;
  readonly backgroundLive: number;
  readonly idempotencyTableFull: boolean;
  readonly engineMs: number;
  readonly encodeMs: number;
}

/**
 * `idempotencyTableFull`: the Idempotency-Key table starts at IDEMPOTENCY_KEYS_MAX keys, as on a
 * coordinator that has begun that many transactions with a key, so every BEGIN evicts one. The
 * table got there the way a running one does, by recording more keys than it keeps and evicting
 * the oldest.
 */
export function measureThroughput(
  transactions: number,
  backgroundLive: number,
  idempotencyTableFull = false,
): ThroughputResult {
  let state: EngineState = createEngineState();
  let index = 0;
  let nowMs = Date.UTC(2026, 10, 25);
  if (idempotencyTableFull) {
    const keys = state.replicated.idempotencyKeys;
    for (let n = 0; n < IDEMPOTENCY_KEYS_MAX * 1.5; n += 1) {
      keys.add(`earlier-${n}`, { fingerprint: 'sha256:0e', txId: `earlier-${n}`, createdAtMs: nowMs });
    }
    keys.evict(IDEMPOTENCY_KEYS_MAX, nowMs);
  }
  let commands = 0;
  let engineMs = 0;
  let encodeMs = 0;
  let bytes = 0;
  const step = (command: Command): void => {
    const started = performance.now();
    const result = transition(state, command);
    const transitioned = performance.now();
    for (const effect of result.effects) bytes += JSON.stringify(effect).length;
    encodeMs += performance.now() - transitioned;
    engineMs += transitioned - started;
    commands += 1;
    state = result.state;
    for (const effect of result.effects) {
      if (effect.kind === 'propose') {
        index += 1;
        step({ kind: 'entryCommitted', entry: effect.entry, index, position: 0, term: 1 });
      }
    }
  };
  step({ kind: 'becameLeader', term: 1, nowMs });
  for (let n = 0; n < backgroundLive; n += 1) {
    step({
      kind: 'begin',
      requestId: `b${n}`,
      txId: `background-${n}`,
      participants: [{ name: 'bank-a', work: null }],
      timeoutMs: 600_000,
      metadata: {},
      idempotency: null,
      commit: null,
    });
  }
  commands = 0;
  engineMs = 0;
  encodeMs = 0;
  for (let n = 0; n < transactions; n += 1) {
    const txId = `tx-${n}`;
    if (n % 50 === 0) step({ kind: 'tick', nowMs: (nowMs += 1) });
    step({
      kind: 'begin',
      requestId: `begin-${n}`,
      txId,
      participants: [
        { name: 'bank-a', work: { account: 'alice', amount: -500 } },
        { name: 'bank-b', work: { account: 'bob', amount: 500 } },
      ],
      timeoutMs: 5000,
      metadata: { order: `o-${n}` },
      idempotency: { key: `key-${n}`, fingerprint: 'sha256:0f' },
      commit: null,
    });
    step({ kind: 'commitRequested', requestId: `commit-${n}`, txId, wait: 'decision' });
    step({ kind: 'participantVote', txId, participant: 'bank-a', vote: 'YES', reason: null, term: 1 });
    step({ kind: 'participantVote', txId, participant: 'bank-b', vote: 'YES', reason: null, term: 1 });
    step({ kind: 'ack', txId, participant: 'bank-a', outcome: 'COMMIT', term: 1 });
    step({ kind: 'ack', txId, participant: 'bank-b', outcome: 'COMMIT', term: 1 });
    step({ kind: 'archived', txId });
  }
  step({ kind: 'tick', nowMs: nowMs + 1 });
  if (state.replicated.transactions.size !== backgroundLive) {
    throw new Error(`${state.replicated.transactions.size - backgroundLive} transactions did not end`);
  }
  if (bytes === 0) throw new Error('nothing was encoded');
  return { transactions, commands, backgroundLive, idempotencyTableFull, engineMs, encodeMs };
}
