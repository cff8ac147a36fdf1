import { describe, expect, it } from 'vitest';
import { decodeCommand, decodeReply, encodeMessage } from './codec';
import { deadLetter } from './dead-letter';
import { pooledRandomBytes, uuidv7, uuidv7Time } from './ids';
import { MESSAGE_BYTES_MAX, type Prepare, type Vote } from './messages';
import { participantOfTopic, participantTopic } from './topics';

const txId = uuidv7(Date.UTC(2026, 10, 25));
const prepare: Prepare = {
  v: 1,
  type: 'PREPARE',
  txId,
  participant: 'bank-a',
  term: 3,
  attempt: 1,
  sentAt: '2026-11-25T10:00:00.000Z',
  payload: {
    work: { debit: { account: 'alice', amount: 500 } },
    deadline: '2026-11-25T10:00:05.000Z',
    participants: ['bank-a', 'bank-b'],
  },
};
const vote: Vote = {
  v: 1,
  type: 'VOTE',
  txId,
  participant: 'bank-a',
  term: 3,
  attempt: 1,
  sentAt: '2026-11-25T10:00:00.010Z',
  payload: { vote: 'NO', reason: 'insufficient funds in alice' },
};

function reasonOf(result: { ok: true } | { ok: false; reason: string }): string {
  if (result.ok) throw new Error('expected the message to be rejected');
  return result.reason;
}

describe('protocol codec', () => {
  it('round-trips a command and a reply', () => {
    expect(decodeCommand(encodeMessage(prepare))).toEqual({ ok: true, message: prepare });
    expect(decodeReply(encodeMessage(vote))).toEqual({ ok: true, message: vote });
  });

  it('rejects a reply on the command topic and a command on the replies topic', () => {
    expect(reasonOf(decodeCommand(encodeMessage(vote)))).toMatch(/not a valid participant command/);
    expect(reasonOf(decodeReply(encodeMessage(prepare)))).toMatch(/not a valid participant reply/);
  });

  it.each([
    ['an empty body', Buffer.alloc(0), /empty message body/],
    ['truncated JSON', encodeMessage(prepare).subarray(0, 40), /body is not JSON/],
    ['a JSON array', Buffer.from('[1,2]'), /not a JSON object/],
    [
      'an unknown version',
      Buffer.from(JSON.stringify({ ...prepare, v: 2 })),
      /unsupported protocol version 2/,
    ],
    [
      'a missing version',
      Buffer.from(JSON.stringify({ ...prepare, v: undefined })),
      /unsupported protocol version/,
    ],
    ['a bad txId', Buffer.from(JSON.stringify({ ...prepare, txId: 'tx-1' })), /txId/],
    ['an unknown field', Buffer.from(JSON.stringify({ ...prepare, extra: true })), /extra/],
    ['a negative term', Buffer.from(JSON.stringify({ ...prepare, term: -1 })), /term/],
    ['a bad participant', Buffer.from(JSON.stringify({ ...prepare, participant: 'Bank A' })), /participant/],
    ['an oversized body', Buffer.alloc(MESSAGE_BYTES_MAX + 1, 32), /limit is/],
    // Found by the Kafka fuzz test: printing this `v` overflowed the stack and the consumer re-read it forever.
    [
      'a version nested 50,000 deep',
      Buffer.from(`${'{"v":'.repeat(50_000)}1${'}'.repeat(50_000)}`),
      /unsupported protocol version \(an object\)/,
    ],
    [
      'an array version',
      Buffer.from(JSON.stringify({ ...prepare, v: [1] })),
      /unsupported protocol version \(an array\)/,
    ],
  ])('parks %s with a reason', (_name, value, reason) => {
    expect(reasonOf(decodeCommand(value))).toMatch(reason);
  });

  it('rejects a vote that is not YES, NO or READ_ONLY', () => {
    const bad = Buffer.from(JSON.stringify({ ...vote, payload: { vote: 'MAYBE' } }));
    expect(reasonOf(decodeReply(bad))).toMatch(/payload.vote/);
  });

  it('keeps the original bytes of a parked message', () => {
    const value = Buffer.from('not json');
    const parked = deadLetter(
      { topic: 'verdict.coordinator.replies', partition: 0, offset: '42', key: Buffer.from(txId), value },
      'body is not JSON',
      'coordinator n1',
      new Date(0),
    );
    expect(Buffer.from(parked.valueBase64 ?? '', 'base64')).toEqual(value);
    expect(parked).toMatchObject({ sourceOffset: '42', key: txId, parkedAt: '1970-01-01T00:00:00.000Z' });
  });
});

describe('ids and topics', () => {
  it('makes time-ordered UUIDv7 ids that carry their time', () => {
    const earlier = uuidv7(1_000_000);
    const later = uuidv7(2_000_000);
    expect(earlier < later).toBe(true);
    expect(uuidv7Time(later)).toBe(2_000_000);
    expect(later).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('hands out pooled random bytes once each, across pool refills, and ids that never repeat', () => {
    const slices = Array.from({ length: 1_000 }, () => pooledRandomBytes(24).toString('hex'));
    expect(new Set(slices).size).toBe(slices.length);
    expect(pooledRandomBytes(10_000)).toHaveLength(10_000);
    const ids = Array.from({ length: 1_000 }, () => uuidv7(1_000_000));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('maps participant names to topics and back', () => {
    expect(participantTopic('bank-a')).toBe('verdict.participant.bank-a');
    expect(participantOfTopic('verdict.participant.bank-a')).toBe('bank-a');
    expect(participantOfTopic('verdict.coordinator.replies')).toBeNull();
    expect(() => participantTopic('Bank A')).toThrow(/lowercase letters/);
  });
});
