// What a Raft snapshot of the engine costs, and what decoding a log entry costs. A coordinator
// encodes its snapshot a slice at a time (SnapshotEncoding), so what holds its event loop is the
// longest step: the capture, a slice, or joining the slices. Builds an engine state with a full
// idempotency table (the build in dist/, like the benchmark's participants) and times
// encodeSnapshot (all at once), those steps, decodeSnapshot and decodeEntry:
//   npm run bench:snapshot [-- <idempotency keys, default IDEMPOTENCY_KEYS_MAX>]
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Engine from '../../apps/coordinator/src/engine/index.js';

const ENGINE = fileURLToPath(new URL('../../dist/apps/coordinator/src/engine/index.js', import.meta.url));
const ROUNDS = 5;
const ENTRY_DECODES = 100_000;

function bestOf(rounds: number, run: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round += 1) {
    const startedAt = performance.now();
    run();
    best = Math.min(best, performance.now() - startedAt);
  }
  return best;
}

function main(argv: readonly string[]): void {
  const engine = createRequire(import.meta.url)(ENGINE) as typeof Engine;
  const keys = Number(argv[0] ?? engine.IDEMPOTENCY_KEYS_MAX);
  if (!Number.isInteger(keys) || keys < 0 || keys > engine.IDEMPOTENCY_KEYS_MAX) {
    throw new Error(`idempotency keys: an integer from 0 to ${engine.IDEMPOTENCY_KEYS_MAX}, got ${argv[0]}`);
  }
  const state = engine.createEngineState();
  const nowMs = Date.now();
  for (let index = 0; index < keys; index += 1) {
    // A fingerprint is a SHA-256 in hex, a key whatever the client sent (here a UUID).
    state.replicated.idempotencyKeys.add(randomUUID(), {
      fingerprint: 'f'.repeat(64),
      txId: randomUUID(),
      createdAtMs: nowMs,
    });
  }
  const snapshot = engine.encodeSnapshot(state);
  const encodeMs = bestOf(ROUNDS, () => engine.encodeSnapshot(state));
  let longestStepMs = 0;
  const slicedMs = bestOf(ROUNDS, () => {
    const timed = <T,>(step: () => T): T => {
      const startedAt = performance.now();
      const result = step();
      longestStepMs = Math.max(longestStepMs, performance.now() - startedAt);
      return result;
    };
    const encoding = timed(() => new engine.SnapshotEncoding(state));
    while (!timed(() => encoding.encode(engine.SNAPSHOT_KEYS_PER_SLICE)));
    timed(() => encoding.bytes());
  });
  const decodeMs = bestOf(ROUNDS, () => engine.decodeSnapshot(snapshot));
  const begin = engine.encodeEntry({
    kind: 'BEGIN',
    txId: randomUUID(),
    participants: [
      { name: 'bank-a', work: { debit: { account: 'alice', amount: 100 } } },
      { name: 'bank-b', work: { credit: { account: 'bob', amount: 100 } } },
    ],
    createdAtMs: nowMs,
    deadlineMs: nowMs + 10_000,
    metadata: { orderId: 'ord-1042' },
    idempotency: { key: randomUUID(), fingerprint: 'f'.repeat(64) },
  });
  const decodeEntryMs = bestOf(ROUNDS, () => {
    for (let index = 0; index < ENTRY_DECODES; index += 1) engine.decodeEntry(begin);
  });
  console.log(
    `snapshot of ${keys} idempotency keys: ${(snapshot.length / 1e6).toFixed(1)} MB, ` +
      `encode ${encodeMs.toFixed(0)} ms at once, ${slicedMs.toFixed(0)} ms in slices of ` +
      `${engine.SNAPSHOT_KEYS_PER_SLICE} keys whose longest step took ${longestStepMs.toFixed(1)} ms, ` +
      `decode ${decodeMs.toFixed(0)} ms (best of ${ROUNDS}); ` +
      `decodeEntry of a BEGIN ${((decodeEntryMs * 1000) / ENTRY_DECODES).toFixed(2)} µs`,
  );
}

main(process.argv.slice(2));
