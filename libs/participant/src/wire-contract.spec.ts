import { uuidv7, type ParticipantCommand, type ParticipantReply } from '@verdict/protocol';
import { describe, expect, it } from 'vitest';
import { asyncApiValidators } from '../../protocol/src/testing/asyncapi-validators';
import { CommandHandler } from './command-handler';
import { ParticipantMemory } from './promises';
import type { ParticipantService, PrepareRequest, PrepareResult } from './service';

// Every reply the SDK builds must match the published AsyncAPI document (checked with ajv against
// the document's JSON Schemas, not with the zod schemas the SDK itself is typed by).

const NOW_MS = Date.UTC(2026, 10, 25, 10, 0, 0);
const validators = asyncApiValidators();

/** Votes as the work says: `{ vote }`, `{ throws }` or `{ decided }`. */
const service: ParticipantService = {
  prepare(request: PrepareRequest): Promise<PrepareResult> {
    const work = request.work as {
      vote?: 'YES' | 'NO' | 'READ_ONLY';
      throws?: string;
      decided?: 'COMMIT' | 'ABORT';
    };
    if (work.throws !== undefined) return Promise.reject(new Error(work.throws));
    if (work.decided !== undefined) return Promise.resolve({ decided: work.decided });
    if (work.vote === 'NO') return Promise.resolve({ vote: 'NO', reason: 'no funds '.repeat(500) });
    return Promise.resolve({ vote: work.vote ?? 'YES' });
  },
  commit: () => Promise.resolve(),
  abort: () => Promise.resolve(),
  inDoubt: () => Promise.resolve([]),
};

function command(
  type: 'PREPARE' | 'COMMIT' | 'ABORT',
  txId: string,
  work: unknown,
  onePhase = false,
): ParticipantCommand {
  const envelope = {
    v: 1,
    txId,
    participant: 'bank-a',
    term: 4,
    attempt: 2,
    sentAt: new Date(NOW_MS).toISOString(),
  } as const;
  if (type === 'PREPARE') {
    return {
      ...envelope,
      type,
      payload: { work, deadline: new Date(NOW_MS + 5_000).toISOString(), participants: ['bank-a', 'bank-b'] },
    };
  }
  if (type === 'COMMIT') return { ...envelope, type, payload: onePhase ? { onePhase, work } : {} };
  return { ...envelope, type, payload: { reason: 'bank-b voted NO' } };
}

describe('replies the SDK sends match the AsyncAPI document', () => {
  it('VOTE (YES, NO with a long reason, READ_ONLY, a failed prepare) and ACK (COMMIT, ABORT, one-phase, decided)', async () => {
    const handler = new CommandHandler({
      participant: 'bank-a',
      service,
      memory: new ParticipantMemory(),
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      prepareTimeoutMs: 1_000,
      concurrencyMax: 4,
      now: () => NOW_MS,
    });
    const script: [ParticipantCommand['type'], unknown, boolean?][][] = [
      [
        ['PREPARE', { vote: 'YES' }],
        ['PREPARE', { vote: 'YES' }],
        ['COMMIT', null],
        ['COMMIT', null],
      ],
      [
        ['PREPARE', { vote: 'NO' }],
        ['ABORT', null],
      ],
      [
        ['PREPARE', { vote: 'READ_ONLY' }],
        ['COMMIT', null],
      ],
      [
        ['PREPARE', { throws: 'database unreachable' }],
        ['ABORT', null],
      ],
      [['PREPARE', { decided: 'COMMIT' }]],
      [
        ['ABORT', null],
        ['PREPARE', { vote: 'YES' }],
      ],
      [['COMMIT', { vote: 'YES' }, true]],
      [['COMMIT', { vote: 'NO' }, true]],
    ];
    const replies: ParticipantReply[] = [];
    for (const steps of script) {
      const txId = uuidv7(NOW_MS);
      for (const [type, work, onePhase] of steps) {
        const handled = await handler.handle(command(type, txId, work, onePhase));
        if (handled.kind === 'reply') replies.push(handled.reply);
      }
    }
    const kinds = new Set(
      replies.map(
        (reply) =>
          `${reply.type} ${reply.type === 'VOTE' ? reply.payload.vote : reply.type === 'ACK' ? reply.payload.outcome : ''}`,
      ),
    );
    expect([...kinds].sort()).toEqual(['ACK ABORT', 'ACK COMMIT', 'VOTE NO', 'VOTE READ_ONLY', 'VOTE YES']);
    for (const reply of replies) {
      expect(validators.check(validators.schemaNameOf(reply.type), reply), JSON.stringify(reply)).toBeNull();
    }
  });
});
