import { uuidv7, type Outcome, type ParticipantCommand } from '@verdict/protocol';
import { describe, expect, it } from 'vitest';
import { CommandHandler, type Handled } from './command-handler';
import { ParticipantMemory } from './promises';
import type {
  DecisionRequest,
  ParticipantLogger,
  ParticipantService,
  PrepareRequest,
  PrepareResult,
} from './service';

const silentLogger: ParticipantLogger = { debug() {}, info() {}, warn() {}, error() {} };
const NOW_MS = Date.UTC(2026, 10, 25, 10, 0, 0);

/** A service whose durable state is a few maps; every call is recorded in order. */
class FakeService implements ParticipantService {
  readonly calls: string[] = [];
  readonly prepared = new Set<string>();
  readonly finished = new Map<string, Outcome>();
  prepareWith: (request: PrepareRequest) => Promise<PrepareResult> = () => Promise.resolve({ vote: 'YES' });
  failCommits = 0;

  async prepare(request: PrepareRequest): Promise<PrepareResult> {
    this.calls.push(`prepare ${request.txId}`);
    const decided = this.finished.get(request.txId);
    if (decided !== undefined) return { decided };
    if (this.prepared.has(request.txId)) return { vote: 'YES' };
    const result = await this.prepareWith(request);
    if ('vote' in result && result.vote === 'YES') this.prepared.add(request.txId);
    return result;
  }

  commit(request: DecisionRequest): Promise<void> {
    this.calls.push(`commit ${request.txId}`);
    if (this.failCommits > 0) {
      this.failCommits -= 1;
      return Promise.reject(new Error('database is restarting'));
    }
    this.prepared.delete(request.txId);
    this.finished.set(request.txId, 'COMMIT');
    return Promise.resolve();
  }

  abort(request: DecisionRequest): Promise<void> {
    this.calls.push(`abort ${request.txId}`);
    this.prepared.delete(request.txId);
    this.finished.set(request.txId, 'ABORT');
    return Promise.resolve();
  }

  inDoubt(): Promise<readonly string[]> {
    return Promise.resolve([...this.prepared]);
  }
}

function handlerFor(service: ParticipantService, prepareTimeoutMs = 1_000): CommandHandler {
  return new CommandHandler({
    participant: 'bank-a',
    service,
    memory: new ParticipantMemory(),
    logger: silentLogger,
    prepareTimeoutMs,
    concurrencyMax: 4,
    now: () => NOW_MS,
  });
}

function prepare(txId: string, term = 1, deadlineMs = NOW_MS + 5_000): ParticipantCommand {
  return {
    v: 1,
    type: 'PREPARE',
    txId,
    participant: 'bank-a',
    term,
    attempt: 1,
    sentAt: new Date(NOW_MS).toISOString(),
    payload: { work: { debit: 5 }, deadline: new Date(deadlineMs).toISOString(), participants: ['bank-a'] },
  };
}

function decision(outcome: Outcome, txId: string, term = 1, onePhase = false): ParticipantCommand {
  const envelope = {
    v: 1,
    txId,
    participant: 'bank-a',
    term,
    attempt: 2,
    sentAt: new Date(NOW_MS).toISOString(),
  } as const;
  return outcome === 'COMMIT'
    ? { ...envelope, type: 'COMMIT', payload: onePhase ? { onePhase, work: { debit: 5 } } : {} }
    : { ...envelope, type: 'ABORT', payload: { reason: 'bank-b voted NO' } };
}

/** The reply's type and payload, or the kind of non-reply. */
function answer(handled: Handled): unknown {
  return handled.kind === 'reply' ? { [handled.reply.type]: handled.reply.payload } : handled.kind;
}

describe('CommandHandler keeps the participant promises around the service', () => {
  it('answers a repeated PREPARE with the same vote without preparing again', async () => {
    const service = new FakeService();
    service.prepareWith = () => Promise.resolve({ vote: 'NO', reason: 'insufficient funds in alice' });
    const handler = handlerFor(service);
    const txId = uuidv7();
    const first = await handler.handle(prepare(txId));
    const second = await handler.handle(prepare(txId));
    expect(answer(first)).toEqual({ VOTE: { vote: 'NO', reason: 'insufficient funds in alice' } });
    expect(answer(second)).toEqual(answer(first));
    expect(service.calls).toEqual([`prepare ${txId}`]);
  });

  it('echoes the command envelope in the reply: txId, term, attempt, own name', async () => {
    const handler = handlerFor(new FakeService());
    const txId = uuidv7();
    const handled = await handler.handle(prepare(txId, 7));
    expect(handled).toMatchObject({
      kind: 'reply',
      reply: {
        v: 1,
        type: 'VOTE',
        txId,
        participant: 'bank-a',
        term: 7,
        attempt: 1,
        sentAt: '2026-11-25T10:00:00.000Z',
      },
    });
  });

  it('acknowledges a repeated COMMIT without committing twice', async () => {
    const service = new FakeService();
    const handler = handlerFor(service);
    const txId = uuidv7();
    await handler.handle(prepare(txId));
    const acks = [
      await handler.handle(decision('COMMIT', txId)),
      await handler.handle(decision('COMMIT', txId)),
    ];
    expect(acks.map(answer)).toEqual([{ ACK: { outcome: 'COMMIT' } }, { ACK: { outcome: 'COMMIT' } }]);
    expect(service.calls).toEqual([`prepare ${txId}`, `commit ${txId}`]);
  });

  it('never prepares a transaction again after its decision', async () => {
    const service = new FakeService();
    const handler = handlerFor(service);
    const txId = uuidv7();
    await handler.handle(prepare(txId));
    await handler.handle(decision('COMMIT', txId));
    expect(answer(await handler.handle(prepare(txId)))).toEqual({ ACK: { outcome: 'COMMIT' } });
    expect(service.calls).toEqual([`prepare ${txId}`, `commit ${txId}`]);
  });

  it('an ABORT overtaking its PREPARE is applied, and the late PREPARE is not prepared', async () => {
    const service = new FakeService();
    const handler = handlerFor(service);
    const txId = uuidv7();
    expect(answer(await handler.handle(decision('ABORT', txId)))).toEqual({ ACK: { outcome: 'ABORT' } });
    expect(answer(await handler.handle(prepare(txId)))).toEqual({ ACK: { outcome: 'ABORT' } });
    expect(service.calls).toEqual([`abort ${txId}`]);
  });

  it('after a restart (empty memory) repeated commands are answered from the service', async () => {
    const service = new FakeService();
    const txId = uuidv7();
    const before = handlerFor(service);
    await before.handle(prepare(txId));
    await before.handle(decision('COMMIT', txId));
    const after = handlerFor(service);
    expect(answer(await after.handle(prepare(txId)))).toEqual({ ACK: { outcome: 'COMMIT' } });
    expect(answer(await after.handle(decision('COMMIT', txId)))).toEqual({ ACK: { outcome: 'COMMIT' } });
    expect(service.prepared.size).toBe(0);
  });

  it('ignores a command from a deposed leader', async () => {
    const service = new FakeService();
    const handler = handlerFor(service);
    const txId = uuidv7();
    await handler.handle(prepare(txId, 5));
    expect(await handler.handle(decision('ABORT', txId, 4))).toMatchObject({
      kind: 'silent',
      reason: /term 4/,
    });
    expect(service.calls).toEqual([`prepare ${txId}`]);
    expect(service.prepared.has(txId)).toBe(true);
  });

  it('votes NO with the reason when prepare throws', async () => {
    const service = new FakeService();
    service.prepareWith = () => Promise.reject(new Error('connection refused'));
    const handled = await handlerFor(service).handle(prepare(uuidv7()));
    expect(answer(handled)).toEqual({ VOTE: { vote: 'NO', reason: 'prepare failed: connection refused' } });
  });

  it('a PREPARE past its deadline starts no work and never votes NO: silent, or YES again for work held prepared', async () => {
    const service = new FakeService();
    const late = uuidv7();
    const handler = handlerFor(service);
    const handled = await handler.handle(prepare(late, 1, NOW_MS - 1));
    expect(handled).toEqual({
      kind: 'silent',
      reason: expect.stringMatching(/after its deadline .*no work started/) as unknown,
    });
    expect(service.calls).toEqual([]);

    // Prepared and voted YES before a restart (the SDK's memory is empty, the service's durable
    // state is not); the coordinator may have decided COMMIT on it: the re-delivered PREPARE,
    // however late, gets the same YES, and the COMMIT is applied.
    const held = uuidv7();
    service.prepared.add(held);
    const restarted = handlerFor(service);
    expect(answer(await restarted.handle(prepare(held, 1, NOW_MS - 1)))).toEqual({ VOTE: { vote: 'YES' } });
    expect(answer(await restarted.handle(decision('COMMIT', held)))).toEqual({ ACK: { outcome: 'COMMIT' } });

    // Finished before the restart: no answer to the late PREPARE, and the decision re-sent by the
    // coordinator is still acknowledged.
    const finished = uuidv7();
    service.finished.set(finished, 'COMMIT');
    expect(answer(await restarted.handle(prepare(finished, 1, NOW_MS - 1)))).toBe('silent');
    expect(answer(await restarted.handle(decision('COMMIT', finished)))).toEqual({
      ACK: { outcome: 'COMMIT' },
    });
  });

  it('votes NO when prepare overruns its budget, and runs the ABORT only after the prepare finished', async () => {
    const service = new FakeService();
    let finishPrepare: (result: PrepareResult) => void = () => {};
    let signal: AbortSignal | null = null;
    service.prepareWith = (request) => {
      signal = request.signal;
      return new Promise((resolve) => (finishPrepare = resolve));
    };
    const handler = handlerFor(service, 20);
    const txId = uuidv7();
    expect(answer(await handler.handle(prepare(txId)))).toEqual({
      VOTE: { vote: 'NO', reason: 'prepare took longer than its budget of 20 ms' },
    });
    expect((signal as AbortSignal | null)?.aborted).toBe(true);
    const abort = handler.handle(decision('ABORT', txId));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(service.calls).toEqual([`prepare ${txId}`]);
    finishPrepare({ vote: 'YES' });
    expect(answer(await abort)).toEqual({ ACK: { outcome: 'ABORT' } });
    expect(service.calls).toEqual([`prepare ${txId}`, `abort ${txId}`]);
    expect(service.prepared.has(txId)).toBe(false);
  });

  it('does not acknowledge a COMMIT the service failed to apply; the re-send succeeds', async () => {
    const service = new FakeService();
    const handler = handlerFor(service);
    const txId = uuidv7();
    await handler.handle(prepare(txId));
    service.failCommits = 1;
    expect(await handler.handle(decision('COMMIT', txId))).toMatchObject({
      kind: 'silent',
      reason: /COMMIT failed in the service: database is restarting/,
    });
    expect(answer(await handler.handle(decision('COMMIT', txId)))).toEqual({ ACK: { outcome: 'COMMIT' } });
  });

  it('rejects a COMMIT after its own NO vote and never commits', async () => {
    const service = new FakeService();
    service.prepareWith = () => Promise.resolve({ vote: 'NO', reason: 'insufficient funds' });
    const handler = handlerFor(service);
    const txId = uuidv7();
    await handler.handle(prepare(txId));
    expect(await handler.handle(decision('COMMIT', txId))).toMatchObject({ kind: 'reject' });
    expect(service.calls).toEqual([`prepare ${txId}`]);
  });

  it('one-phase COMMIT prepares then commits; a refusal is answered with the NO vote', async () => {
    const service = new FakeService();
    const handler = handlerFor(service);
    const committed = uuidv7();
    expect(answer(await handler.handle(decision('COMMIT', committed, 1, true)))).toEqual({
      ACK: { outcome: 'COMMIT' },
    });
    expect(service.calls).toEqual([`prepare ${committed}`, `commit ${committed}`]);
    service.prepareWith = () => Promise.resolve({ vote: 'NO', reason: 'account closed' });
    const refused = uuidv7();
    expect(answer(await handler.handle(decision('COMMIT', refused, 1, true)))).toEqual({
      VOTE: { vote: 'NO', reason: 'account closed' },
    });
  });

  it('handles commands for one transaction in arrival order, even when handed in at once', async () => {
    const service = new FakeService();
    service.prepareWith = () => new Promise((resolve) => setTimeout(() => resolve({ vote: 'YES' }), 10));
    const handler = handlerFor(service);
    const txId = uuidv7();
    const answers = await Promise.all([
      handler.handle(prepare(txId)),
      handler.handle(decision('ABORT', txId)),
      handler.handle(prepare(txId)),
    ]);
    expect(answers.map(answer)).toEqual([
      { VOTE: { vote: 'YES' } },
      { ACK: { outcome: 'ABORT' } },
      { ACK: { outcome: 'ABORT' } },
    ]);
    expect(service.calls).toEqual([`prepare ${txId}`, `abort ${txId}`]);
  });

  it('applies an outcome learned over REST once, serialized with commands', async () => {
    const service = new FakeService();
    const handler = handlerFor(service);
    const txId = uuidv7();
    await handler.handle(prepare(txId));
    expect(await handler.applyOutcome(txId, 'COMMIT')).toBe(true);
    expect(await handler.applyOutcome(txId, 'COMMIT')).toBe(true);
    expect(answer(await handler.handle(decision('COMMIT', txId)))).toEqual({ ACK: { outcome: 'COMMIT' } });
    expect(service.calls).toEqual([`prepare ${txId}`, `commit ${txId}`]);
  });
});
