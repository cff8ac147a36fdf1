import { uuidv7, type ParticipantCommand } from '@verdict/protocol';
import { describe, expect, it } from 'vitest';
import { ParticipantMemory, planCommand, type TxMemory } from './promises';

const txId = uuidv7();

function command(type: ParticipantCommand['type'], term: number, extra: object = {}): ParticipantCommand {
  const envelope = {
    v: 1,
    txId,
    participant: 'bank-a',
    term,
    attempt: 1,
    sentAt: '2026-11-25T10:00:00.000Z',
  } as const;
  switch (type) {
    case 'PREPARE':
      return {
        ...envelope,
        type,
        payload: { deadline: '2026-11-25T10:00:05.000Z', participants: ['bank-a', 'bank-b'], ...extra },
      };
    case 'COMMIT':
      return { ...envelope, type, payload: { ...extra } };
    case 'ABORT':
      return { ...envelope, type, payload: { ...extra } };
  }
}

const fresh: TxMemory | undefined = undefined;
const votedYes: TxMemory = {
  termSeen: 3,
  vote: { vote: 'YES' },
  votedAtMs: 0,
  deadlineMs: null,
  outcome: null,
};
const votedNo: TxMemory = {
  termSeen: 3,
  vote: { vote: 'NO', reason: 'insufficient funds' },
  votedAtMs: 0,
  deadlineMs: null,
  outcome: null,
};
const votedReadOnly: TxMemory = {
  termSeen: 3,
  vote: { vote: 'READ_ONLY' },
  votedAtMs: 0,
  deadlineMs: null,
  outcome: null,
};
const committed: TxMemory = {
  termSeen: 3,
  vote: { vote: 'YES' },
  votedAtMs: 0,
  deadlineMs: null,
  outcome: 'COMMIT',
};
const aborted: TxMemory = { termSeen: 3, vote: null, votedAtMs: null, deadlineMs: null, outcome: 'ABORT' };

describe('planCommand: the participant promises, from memory alone', () => {
  it.each([
    ['first PREPARE is prepared by the service', fresh, command('PREPARE', 3), { kind: 'prepare' }],
    [
      'repeated PREPARE gets the same vote',
      votedNo,
      command('PREPARE', 3),
      { kind: 'reply', reply: { type: 'VOTE', vote: { vote: 'NO', reason: 'insufficient funds' } } },
    ],
    [
      'PREPARE from a newer leader still gets the same vote',
      votedYes,
      command('PREPARE', 4),
      { kind: 'reply', reply: { type: 'VOTE', vote: { vote: 'YES' } } },
    ],
    [
      'PREPARE after COMMIT is answered with the decision, never prepared again',
      committed,
      command('PREPARE', 3),
      { kind: 'reply', reply: { type: 'ACK', outcome: 'COMMIT' } },
    ],
    [
      'PREPARE overtaken by its ABORT is answered with the decision',
      aborted,
      command('PREPARE', 3),
      { kind: 'reply', reply: { type: 'ACK', outcome: 'ABORT' } },
    ],
    [
      'COMMIT after YES goes to the service',
      votedYes,
      command('COMMIT', 3),
      { kind: 'decide', outcome: 'COMMIT' },
    ],
    [
      'COMMIT of an unknown transaction goes to the service (it checks its durable state)',
      fresh,
      command('COMMIT', 3),
      { kind: 'decide', outcome: 'COMMIT' },
    ],
    [
      'repeated COMMIT gets the same ACK',
      committed,
      command('COMMIT', 3),
      { kind: 'reply', reply: { type: 'ACK', outcome: 'COMMIT' } },
    ],
    [
      'COMMIT to a read-only participant is acknowledged without work',
      votedReadOnly,
      command('COMMIT', 3),
      { kind: 'reply', reply: { type: 'ACK', outcome: 'COMMIT' } },
    ],
    [
      'one-phase COMMIT prepares and commits',
      fresh,
      command('COMMIT', 3, { onePhase: true }),
      { kind: 'prepareAndCommit' },
    ],
    [
      'one-phase COMMIT after a YES is an ordinary COMMIT',
      votedYes,
      command('COMMIT', 3, { onePhase: true }),
      { kind: 'decide', outcome: 'COMMIT' },
    ],
    [
      'ABORT after YES goes to the service',
      votedYes,
      command('ABORT', 3),
      { kind: 'decide', outcome: 'ABORT' },
    ],
    [
      'ABORT before any PREPARE goes to the service, which records it',
      fresh,
      command('ABORT', 3),
      { kind: 'decide', outcome: 'ABORT' },
    ],
    [
      'repeated ABORT gets the same ACK',
      aborted,
      command('ABORT', 3),
      { kind: 'reply', reply: { type: 'ACK', outcome: 'ABORT' } },
    ],
    [
      'ABORT to a read-only participant is acknowledged without work',
      votedReadOnly,
      command('ABORT', 3),
      { kind: 'reply', reply: { type: 'ACK', outcome: 'ABORT' } },
    ],
  ] as const)('%s', (_name, memory, incoming, plan) => {
    expect(planCommand(memory, incoming)).toEqual(plan);
  });

  it.each([
    ['PREPARE', votedYes],
    ['COMMIT', votedYes],
    ['ABORT', votedYes],
    ['COMMIT', committed],
  ] as const)('%s from a deposed leader (lower term) is ignored', (type, memory) => {
    expect(planCommand(memory, command(type, 2))).toMatchObject({
      kind: 'ignore',
      reason: /term 2 is older than term 3/,
    });
  });

  it.each([
    ['COMMIT after ABORT', aborted, command('COMMIT', 3), /already aborted/],
    ['COMMIT after a NO vote', votedNo, command('COMMIT', 3), /voted NO \(insufficient funds\)/],
    ['ABORT after COMMIT', committed, command('ABORT', 4), /already committed/],
  ] as const)('%s contradicts what was done: rejected, never acted on', (_name, memory, incoming, reason) => {
    expect(planCommand(memory, incoming)).toMatchObject({ kind: 'reject', reason });
  });
});

describe('ParticipantMemory', () => {
  it('keeps the first vote and the highest term', () => {
    const memory = new ParticipantMemory();
    memory.recordVote(txId, 3, { vote: 'YES' }, 10, 5_010);
    memory.recordVote(txId, 4, { vote: 'NO', reason: 'late' }, 20, 6_020);
    memory.seeTerm(txId, 7);
    memory.seeTerm(txId, 5);
    expect(memory.get(txId)).toEqual({
      termSeen: 7,
      vote: { vote: 'YES' },
      votedAtMs: 10,
      deadlineMs: 5_010,
      outcome: null,
    });
  });

  it('refuses to change an applied outcome', () => {
    const memory = new ParticipantMemory();
    memory.recordOutcome(txId, 3, 'COMMIT');
    memory.recordOutcome(txId, 3, 'COMMIT');
    expect(() => memory.recordOutcome(txId, 3, 'ABORT')).toThrow(/outcome COMMIT already applied/);
  });

  it('forgets the least recently touched transaction beyond its bound', () => {
    const memory = new ParticipantMemory(2);
    const [first, second, third] = [uuidv7(), uuidv7(), uuidv7()];
    memory.seeTerm(first, 1);
    memory.seeTerm(second, 1);
    memory.seeTerm(first, 2);
    memory.seeTerm(third, 1);
    expect(memory.size).toBe(2);
    expect(memory.get(second)).toBeUndefined();
    expect(memory.get(first)?.termSeen).toBe(2);
    // Reading did not make `first` recent: it was written before `third`.
    memory.seeTerm(uuidv7(), 1);
    expect(memory.get(first)).toBeUndefined();
    expect(memory.get(third)?.termSeen).toBe(1);
  });
});
