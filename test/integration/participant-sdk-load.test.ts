// The SDK on its own (startParticipant, no Nest, an in-memory service) under a burst of
// transactions on the real broker: every PREPARE gets exactly one vote and every COMMIT exactly
// one ACK, the service commits each transaction once, and replies go out a consumer batch at a
// time. Prints the rates it saw (not asserted: the machine is shared).
import { startParticipant, type ParticipantHandle, type ParticipantService } from '@verdict/participant';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaBrokers, uniqueName } from '../support/stack.js';
import { CoordinatorWire, decisionCommand, newTxId, prepareCommand } from './participant/coordinator-wire';

const TRANSACTIONS = 2_000;
const SEND_BATCH = 200;

class InMemoryService implements ParticipantService {
  readonly prepared = new Set<string>();
  readonly commits = new Map<string, number>();

  prepare({ txId }: { txId: string }): Promise<{ vote: 'YES' }> {
    this.prepared.add(txId);
    return Promise.resolve({ vote: 'YES' });
  }
  commit({ txId }: { txId: string }): Promise<void> {
    this.prepared.delete(txId);
    this.commits.set(txId, (this.commits.get(txId) ?? 0) + 1);
    return Promise.resolve();
  }
  abort({ txId }: { txId: string }): Promise<void> {
    this.prepared.delete(txId);
    return Promise.resolve();
  }
  inDoubt(): Promise<readonly string[]> {
    return Promise.resolve([]);
  }
}

describe('participant SDK under a burst of transactions', () => {
  const name = uniqueName('load');
  let wire: CoordinatorWire | undefined;
  let participant: ParticipantHandle | undefined;

  afterAll(async () => {
    await participant?.stop();
    await wire?.stop();
  });

  it(`answers ${TRANSACTIONS} PREPAREs and COMMITs exactly once each`, async () => {
    wire = await CoordinatorWire.start([name]);
    const service = new InMemoryService();
    participant = await startParticipant({
      name,
      service,
      kafka: {
        brokers: kafkaBrokers(),
        sessionTimeoutMs: 6_000,
        heartbeatIntervalMs: 1_000,
        maxWaitTimeMs: 5,
      },
      logger: { debug() {}, info() {}, warn: console.warn, error: console.error },
    });
    const txIds = Array.from({ length: TRANSACTIONS }, newTxId);
    const sendAll = async (build: (txId: string) => ReturnType<typeof prepareCommand>): Promise<void> => {
      for (let start = 0; start < txIds.length; start += SEND_BATCH) {
        await wire?.send(...txIds.slice(start, start + SEND_BATCH).map(build));
      }
    };

    const prepareStartedAt = performance.now();
    await sendAll((txId) => prepareCommand(name, txId, { any: 'work' }));
    const votes = await wire.repliesMatching((reply) => reply.type === 'VOTE', TRANSACTIONS, 120_000);
    const prepareMs = performance.now() - prepareStartedAt;

    const commitStartedAt = performance.now();
    await sendAll((txId) => decisionCommand(name, txId, 'COMMIT'));
    const acks = await wire.repliesMatching((reply) => reply.type === 'ACK', TRANSACTIONS, 120_000);
    const commitMs = performance.now() - commitStartedAt;

    console.log(
      `participant SDK, ${TRANSACTIONS} transactions: PREPARE→VOTE ${Math.round((TRANSACTIONS / prepareMs) * 1000)}/s, ` +
        `COMMIT→ACK ${Math.round((TRANSACTIONS / commitMs) * 1000)}/s (one broker, producer and consumer in this process)`,
    );
    expect(new Set(votes.map((vote) => vote.txId)).size).toBe(TRANSACTIONS);
    expect(votes.every((vote) => vote.type === 'VOTE' && vote.payload.vote === 'YES')).toBe(true);
    expect(new Set(acks.map((ack) => ack.txId)).size).toBe(TRANSACTIONS);
    expect([...service.commits.values()].every((count) => count === 1)).toBe(true);
    expect(service.commits.size).toBe(TRANSACTIONS);
    expect(service.prepared.size).toBe(0);
    // Nothing more arrives: no duplicate answers.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(wire.replies).toHaveLength(2 * TRANSACTIONS);
  });
});
