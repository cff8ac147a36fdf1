// The participant SDK and the bank demo on a real Kafka broker and real PostgreSQL databases.
// The coordinator does not exist yet: the tests play its side of the wire (CoordinatorWire) and of
// its REST API (FakeCoordinatorHttp, which records the calls); the real end-to-end run comes when
// the coordinator lands.
import type { ParticipantReply } from '@verdict/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerParticipant } from '../../apps/participant-demo/src/ledger/ledger.participant';
import { uniqueName } from '../support/stack.js';
import { Bank } from './participant/bank-harness';
import {
  CoordinatorWire,
  decisionCommand,
  newTxId,
  prepareCommand,
  runTwoPhaseCommit,
  waitUntil,
} from './participant/coordinator-wire';
import { FakeCoordinatorHttp } from './participant/fake-coordinator-http';

describe('bank ledger as a 2PC participant', () => {
  const bankA = uniqueName('bank-a');
  const bankB = uniqueName('bank-b');
  const bankC = uniqueName('bank-c');
  let wire: CoordinatorWire;
  let coordinator: FakeCoordinatorHttp;
  let a: Bank;
  let b: Bank;
  let c: Bank;

  const replyTo =
    (bank: string, txId: string, type: ParticipantReply['type']) =>
    (reply: ParticipantReply): boolean =>
      reply.participant === bank && reply.txId === txId && reply.type === type;

  beforeAll(async () => {
    wire = await CoordinatorWire.start([bankA, bankB, bankC]);
    coordinator = await new FakeCoordinatorHttp().start();
    coordinator.onCommit = async (txId, begin) => {
      const { outcome, votes } = await runTwoPhaseCommit(wire, txId, begin.participants);
      return {
        id: txId,
        state: outcome === 'COMMIT' ? 'COMMITTED' : 'ABORTED',
        decision: { outcome, index: 1, term: 1 },
        participants: votes.map((vote) => ({
          name: vote.participant,
          vote: vote.type === 'VOTE' ? vote.payload.vote : null,
          voteReason: vote.type === 'VOTE' ? (vote.payload.reason ?? null) : null,
        })),
      };
    };
    [a, b, c] = await Promise.all([
      Bank.start(bankA, coordinator.url),
      Bank.start(bankB, coordinator.url),
      // Asks about what it holds prepared only every 10 minutes, and deems a YES in doubt only
      // after 10 minutes: what brings its question sooner is the PREPARE's deadline.
      Bank.start(bankC, coordinator.url, { recoveryIntervalMs: 600_000, inDoubtAfterMs: 600_000 }),
    ]);
    await a.openAccount('alice', 10_000);
    await b.openAccount('bob', 500);
    await c.openAccount('carol', 500);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
    await Promise.all([wire?.stop(), coordinator?.stop()]);
  });

  it('POST /transfers: begins at the coordinator, both banks prepare and commit', async () => {
    const [aliceBefore, bobBefore] = [await a.balance('alice'), await b.balance('bob')];
    const transfer = await a.request('POST', '/transfers', {
      fromAccount: 'alice',
      toBank: bankB,
      toAccount: 'bob',
      amount: 2_500,
    });

    expect(transfer.status).toBe(201);
    const txId = transfer.body['txId'] as string;
    expect(transfer.body).toMatchObject({ outcome: 'COMMIT', amount: 2_500 });
    const begin = coordinator.calls.find((call) => call.path === '/v1/transactions');
    expect(begin?.headers['authorization']).toBe('Bearer test-service-key');
    expect(begin?.body).toMatchObject({
      participants: [
        { name: bankA, payload: { debit: { account: 'alice', amount: 2_500 } } },
        { name: bankB, payload: { credit: { account: 'bob', amount: 2_500 } } },
      ],
    });
    expect(coordinator.calls.map((call) => `${call.method} ${call.path}`)).toContain(
      `POST /v1/transactions/${txId}/commit`,
    );
    expect(await a.balance('alice')).toBe(aliceBefore - 2_500);
    expect(await b.balance('bob')).toBe(bobBefore + 2_500);
    expect(await a.ledgerEntries(txId)).toEqual([{ account: 'alice', amount: -2_500 }]);
    expect(await b.ledgerEntries(txId)).toEqual([{ account: 'bob', amount: 2_500 }]);
    expect([...(await a.preparedTxIds()), ...(await b.preparedTxIds())]).toEqual([]);
  });

  it('insufficient funds: the debiting bank votes NO with the reason, both banks end aborted', async () => {
    const [aliceBefore, bobBefore] = [await a.balance('alice'), await b.balance('bob')];
    const transfer = await a.request('POST', '/transfers', {
      fromAccount: 'alice',
      toBank: bankB,
      toAccount: 'bob',
      amount: aliceBefore + 1,
    });

    expect(transfer.status).toBe(409);
    expect(transfer.contentType).toMatch(/^application\/problem\+json/);
    expect(transfer.body).toMatchObject({
      code: 'TRANSFER_ABORTED',
      detail: expect.stringContaining(`${bankA} voted NO (insufficient funds in account alice)`) as unknown,
    });
    const txId = transfer.body['txId'] as string;
    // bank-b had voted YES and held its credit prepared until the ABORT rolled it back.
    expect(await wire.reply(replyTo(bankB, txId, 'VOTE'))).toMatchObject({ payload: { vote: 'YES' } });
    expect(await wire.reply(replyTo(bankB, txId, 'ACK'))).toMatchObject({ payload: { outcome: 'ABORT' } });
    expect(await a.balance('alice')).toBe(aliceBefore);
    expect(await b.balance('bob')).toBe(bobBefore);
    expect([...(await a.ledgerEntries(txId)), ...(await b.ledgerEntries(txId))]).toEqual([]);
    expect([...(await a.preparedTxIds()), ...(await b.preparedTxIds())]).toEqual([]);
  });

  it('a transfer within one bank is one participant doing both legs; an unknown remote account aborts it', async () => {
    await a.openAccount('alice-savings', 0);
    const aliceBefore = await a.balance('alice');
    const internal = await a.request('POST', '/transfers', {
      fromAccount: 'alice',
      toBank: bankA,
      toAccount: 'alice-savings',
      amount: 300,
    });
    expect(internal.status).toBe(201);
    const begin = coordinator.calls.filter((call) => call.path === '/v1/transactions').at(-1);
    expect(begin?.body).toMatchObject({
      participants: [
        {
          name: bankA,
          payload: {
            debit: { account: 'alice', amount: 300 },
            credit: { account: 'alice-savings', amount: 300 },
          },
        },
      ],
    });
    expect(await a.balance('alice')).toBe(aliceBefore - 300);
    expect(await a.balance('alice-savings')).toBe(300);

    const toNowhere = await a.request('POST', '/transfers', {
      fromAccount: 'alice',
      toBank: bankB,
      toAccount: 'nobody',
      amount: 10,
    });
    expect(toNowhere.status).toBe(409);
    expect(toNowhere.body['detail']).toContain(`${bankB} voted NO (unknown account nobody)`);
    expect(await a.balance('alice')).toBe(aliceBefore - 300);
    expect([...(await a.preparedTxIds()), ...(await b.preparedTxIds())]).toEqual([]);
  });

  it('duplicated and reordered commands change nothing', async () => {
    const aliceBefore = await a.balance('alice');
    const committed = newTxId();
    const debit = { debit: { account: 'alice', amount: 100 } };
    // PREPARE twice (a re-send), COMMIT twice, then a PREPARE re-send overtaken by the decision.
    await wire.send(
      prepareCommand(bankA, committed, debit),
      prepareCommand(bankA, committed, debit, { attempt: 2 }),
    );
    const votes = await wire.repliesMatching(replyTo(bankA, committed, 'VOTE'), 2);
    expect(votes.map((vote) => vote.payload)).toEqual([{ vote: 'YES' }, { vote: 'YES' }]);
    await wire.send(
      decisionCommand(bankA, committed, 'COMMIT'),
      decisionCommand(bankA, committed, 'COMMIT', 1, 2),
      prepareCommand(bankA, committed, debit, { attempt: 3 }),
    );
    const acks = await wire.repliesMatching(replyTo(bankA, committed, 'ACK'), 3);
    expect(acks.map((ack) => ack.payload)).toEqual([
      { outcome: 'COMMIT' },
      { outcome: 'COMMIT' },
      { outcome: 'COMMIT' },
    ]);

    // An ABORT that overtook its PREPARE: the late PREPARE must not prepare anything.
    const aborted = newTxId();
    await wire.send(decisionCommand(bankA, aborted, 'ABORT'), prepareCommand(bankA, aborted, debit));
    const answers = await wire.repliesMatching(replyTo(bankA, aborted, 'ACK'), 2);
    expect(answers.map((ack) => ack.payload)).toEqual([{ outcome: 'ABORT' }, { outcome: 'ABORT' }]);
    expect(wire.replies.filter(replyTo(bankA, aborted, 'VOTE'))).toEqual([]);

    expect(await a.balance('alice')).toBe(aliceBefore - 100);
    expect(await a.ledgerEntries(committed)).toEqual([{ account: 'alice', amount: -100 }]);
    expect(await a.ledgerEntries(aborted)).toEqual([]);
    expect(await a.preparedTxIds()).toEqual([]);
  });

  it('two instances of one bank preparing the same transaction at once apply its work once', async () => {
    // The SDK serialises commands per txId within a process; across processes (a consumer
    // rebalance) only the bank's own claim on the txId stands between them.
    const ledger = a.app.get(LedgerParticipant);
    const txId = newTxId();
    const request = {
      txId,
      work: { debit: { account: 'alice', amount: 40 } },
      deadline: new Date(Date.now() + 10_000),
      participants: [bankA],
      signal: new AbortController().signal,
    };
    const aliceBefore = await a.balance('alice');
    const votes = await Promise.all([ledger.prepare(request), ledger.prepare(request)]);
    expect(votes).toContainEqual({ vote: 'YES' });
    expect(await a.preparedTxIds()).toEqual([txId]);
    await ledger.commit({ txId, outcome: 'COMMIT' });
    expect(await ledger.prepare(request)).toEqual({ decided: 'COMMIT' });
    await ledger.commit({ txId, outcome: 'COMMIT' });
    expect(await a.balance('alice')).toBe(aliceBefore - 40);
    expect(await a.ledgerEntries(txId)).toEqual([{ account: 'alice', amount: -40 }]);
  });

  it('a transaction left prepared is asked about periodically, kept while undecided, finished once decided', async () => {
    const txId = newTxId();
    const bobBefore = await b.balance('bob');
    await wire.send(prepareCommand(bankB, txId, { credit: { account: 'bob', amount: 9 } }));
    expect(await wire.reply(replyTo(bankB, txId, 'VOTE'))).toMatchObject({ payload: { vote: 'YES' } });

    // Undecided: OUTCOME_QUERY rounds and REST look-ups answer nothing, so the work stays prepared.
    await wire.repliesMatching(replyTo(bankB, txId, 'OUTCOME_QUERY'), 2);
    await waitUntil(
      () => coordinator.calls.find((call) => call.path === `/v1/transactions/${txId}/outcome`),
      10_000,
      'a REST outcome look-up',
    );
    expect(await b.preparedTxIds()).toContain(txId);

    coordinator.outcomes.set(txId, 'ABORT');
    await waitUntil(
      async () => ((await b.preparedTxIds()).includes(txId) ? undefined : true),
      10_000,
      'the recorded ABORT to be applied',
    );
    expect(await b.balance('bob')).toBe(bobBefore);
    expect(await b.ledgerEntries(txId)).toEqual([]);
  });

  it('a YES nobody decides (its BEGIN lost with the coordinator leader) is asked about once its deadline passed', async () => {
    const txId = newTxId();
    const carolBefore = await c.balance('carol');
    await wire.send(
      prepareCommand(bankC, txId, { credit: { account: 'carol', amount: 3 } }, { deadlineMs: 1_500 }),
    );
    expect(await wire.reply(replyTo(bankC, txId, 'VOTE'))).toMatchObject({ payload: { vote: 'YES' } });
    const votedAtMs = Date.now();
    await wire.reply(replyTo(bankC, txId, 'OUTCOME_QUERY'));
    const askedAfterMs = Date.now() - votedAtMs;
    expect(askedAfterMs).toBeGreaterThanOrEqual(1_000);
    expect(askedAfterMs).toBeLessThan(10_000);
    // Presumed abort: the coordinator has no record, so its answer is ABORT.
    coordinator.outcomes.set(txId, 'ABORT');
    await waitUntil(
      async () => ((await c.preparedTxIds()).includes(txId) ? undefined : true),
      10_000,
      'the ABORT to be applied',
    );
    expect(await c.balance('carol')).toBe(carolBefore);
  });

  it('a YES given to an earlier leader is asked about once a newer leader is heard from, long before its deadline', async () => {
    const old = newTxId();
    const carolBefore = await c.balance('carol');
    await wire.send(prepareCommand(bankC, old, { credit: { account: 'carol', amount: 4 } }, { term: 1 }));
    expect(await wire.reply(replyTo(bankC, old, 'VOTE'))).toMatchObject({ payload: { vote: 'YES' } });
    // The next leader's first command: another transaction (another account: carol's is locked),
    // under term 2.
    await c.openAccount('carol-savings', 0);
    const next = newTxId();
    const heardAtMs = Date.now();
    await wire.send(
      prepareCommand(bankC, next, { credit: { account: 'carol-savings', amount: 1 } }, { term: 2 }),
    );
    expect(await wire.reply(replyTo(bankC, next, 'VOTE'))).toMatchObject({ payload: { vote: 'YES' } });
    await wire.reply(replyTo(bankC, old, 'OUTCOME_QUERY'));
    // Bank C asks nothing on its own for 10 minutes, and the PREPARE's deadline is 20 s away.
    expect(Date.now() - heardAtMs).toBeLessThan(10_000);
    expect(wire.replies.filter(replyTo(bankC, next, 'OUTCOME_QUERY'))).toEqual([]);
    // The new leader has no record of it: presumed abort.
    coordinator.outcomes.set(old, 'ABORT');
    await waitUntil(
      async () => ((await c.preparedTxIds()).includes(old) ? undefined : true),
      10_000,
      'the ABORT to be applied',
    );
    await wire.send(decisionCommand(bankC, next, 'ABORT', 2));
    await wire.reply(replyTo(bankC, next, 'ACK'));
    expect(await c.balance('carol')).toBe(carolBefore);
  });

  it('a command from a deposed leader (older term) is ignored', async () => {
    const txId = newTxId();
    const credit = { credit: { account: 'bob', amount: 7 } };
    const bobBefore = await b.balance('bob');
    await wire.send(prepareCommand(bankB, txId, credit, { term: 5 }));
    expect(await wire.reply(replyTo(bankB, txId, 'VOTE'))).toMatchObject({
      term: 5,
      payload: { vote: 'YES' },
    });
    // Same key, same partition: the stale ABORT is handled before the COMMIT behind it.
    await wire.send(decisionCommand(bankB, txId, 'ABORT', 4), decisionCommand(bankB, txId, 'COMMIT', 5));
    expect(await wire.reply(replyTo(bankB, txId, 'ACK'))).toMatchObject({
      term: 5,
      payload: { outcome: 'COMMIT' },
    });
    expect(wire.replies.filter(replyTo(bankB, txId, 'ACK'))).toHaveLength(1);
    expect(await b.balance('bob')).toBe(bobBefore + 7);
  });

  it('a malformed message is parked on the dead-letter topic with the reason; the consumer keeps going', async () => {
    const txId = newTxId();
    await wire.sendRaw(bankB, txId, Buffer.from('{"v":1,"type":"PREPARE"'));
    await wire.sendRaw(
      bankB,
      txId,
      Buffer.from(JSON.stringify({ ...prepareCommand(bankB, txId, {}), term: -1 })),
    );
    await wire.send(prepareCommand(bankB, txId, { credit: { account: 'bob', amount: 1 } }));

    expect(await wire.reply(replyTo(bankB, txId, 'VOTE'))).toMatchObject({ payload: { vote: 'YES' } });
    const parked = await wire.parkedFrom(bankB, 2);
    expect(parked.map((letter) => letter.reason)).toEqual([
      expect.stringMatching(/body is not JSON/),
      expect.stringMatching(/term/),
    ]);
    expect(parked[0]).toMatchObject({ key: txId, parkedBy: `participant ${bankB}` });
    expect(Buffer.from(parked[0]?.valueBase64 ?? '', 'base64').toString()).toBe('{"v":1,"type":"PREPARE"');
    await wire.send(decisionCommand(bankB, txId, 'ABORT'));
    await wire.reply(replyTo(bankB, txId, 'ACK'));
  });

  it('REST errors are problem details with a code: unknown account, bad amount, coordinator down', async () => {
    const unknown = await a.request('POST', '/transfers', {
      fromAccount: 'nobody',
      toBank: bankB,
      toAccount: 'bob',
      amount: 5,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.contentType).toMatch(/^application\/problem\+json/);
    expect(unknown.body).toMatchObject({
      status: 404,
      code: 'ACCOUNT_NOT_FOUND',
      detail: 'account nobody does not exist in this bank; open it first',
    });

    const badAmount = await a.request('POST', '/transfers', {
      fromAccount: 'alice',
      toBank: bankB,
      toAccount: 'bob',
      amount: -5,
    });
    expect(badAmount.status).toBe(400);
    expect(badAmount.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ field: 'amount', problems: ['amount must be at least 1 cent'] }],
    });

    expect((await a.request('GET', '/accounts/nobody')).body).toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });

    coordinator.unreachable = true;
    try {
      const down = await a.request('POST', '/transfers', {
        fromAccount: 'alice',
        toBank: bankB,
        toAccount: 'bob',
        amount: 5,
      });
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({
        code: 'COORDINATOR_UNAVAILABLE',
        detail: expect.stringMatching(/is unreachable .*; the transfer was not made, retry later/) as unknown,
      });
      expect(down.retryAfter).toBe('2');
    } finally {
      coordinator.unreachable = false;
    }
  });
});
