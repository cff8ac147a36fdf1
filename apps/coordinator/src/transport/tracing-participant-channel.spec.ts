import { context as otelContext, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import type { ParticipantCommand, ParticipantReply } from '@verdict/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TransactionTracing } from '../observability/tracing-transactions';
import type { OutboundCommand, ParticipantChannel } from './participant-channel';
import { TracingParticipantChannel } from './tracing-participant-channel';

const TX = '01936c0e-8b7a-7c3e-9f2a-0123456789ab';
const SENT_AT = '2026-11-25T12:00:00.000Z';

function command(type: ParticipantCommand['type'], participant: string, attempt = 1): ParticipantCommand {
  const envelope = { v: 1, txId: TX, participant, term: 3, attempt, sentAt: SENT_AT } as const;
  if (type === 'PREPARE') {
    return {
      ...envelope,
      type,
      payload: { deadline: SENT_AT, participants: ['bank-a', 'bank-b'] },
    };
  }
  return type === 'COMMIT' ? { ...envelope, type, payload: {} } : { ...envelope, type, payload: {} };
}

function vote(participant: string, value: 'YES' | 'NO'): ParticipantReply {
  return {
    v: 1,
    type: 'VOTE',
    txId: TX,
    participant,
    term: 3,
    attempt: 1,
    sentAt: SENT_AT,
    payload: value === 'NO' ? { vote: 'NO', reason: 'insufficient funds' } : { vote: 'YES' },
  };
}

function ack(participant: string, outcome: 'COMMIT' | 'ABORT'): ParticipantReply {
  return {
    v: 1,
    type: 'ACK',
    txId: TX,
    participant,
    term: 3,
    attempt: 1,
    sentAt: SENT_AT,
    payload: { outcome },
  };
}

/** Records what reaches Kafka and lets the test play the replies consumer. */
class RecordingChannel implements ParticipantChannel {
  readonly sent: OutboundCommand[] = [];
  deliver: (replies: readonly ParticipantReply[]) => void = () => undefined;
  send(commands: readonly OutboundCommand[]): Promise<void> {
    this.sent.push(...commands);
    return Promise.resolve();
  }
  onReplies(handler: (replies: readonly ParticipantReply[]) => void): Promise<void> {
    this.deliver = handler;
    return Promise.resolve();
  }
  leading: boolean | null = null;
  setLeading(leading: boolean): void {
    this.leading = leading;
  }
  ensureTopics(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('test');
const contextManager = new AsyncLocalStorageContextManager();
let nowMs = 0;

beforeAll(() => {
  otelContext.setGlobalContextManager(contextManager.enable());
});
afterAll(async () => {
  otelContext.disable();
  await provider.shutdown();
});

let tracing: TransactionTracing;
let inner: RecordingChannel;
let channel: TracingParticipantChannel;
let delivered: ParticipantReply[];
beforeEach(async () => {
  exporter.reset();
  nowMs = 0;
  tracing = new TransactionTracing(tracer, { nodeId: 'n1', clock: () => nowMs });
  inner = new RecordingChannel();
  channel = new TracingParticipantChannel(inner, tracing);
  delivered = [];
  await channel.onReplies((replies) => delivered.push(...replies));
});

function span(name: string): ReadableSpan {
  const found = exporter.getFinishedSpans().filter((each) => each.name === name);
  expect(found, `exactly one finished span named ${name}`).toHaveLength(1);
  return found[0] as ReadableSpan;
}

function parentOf(child: ReadableSpan): string | undefined {
  return child.parentSpanContext?.spanId;
}

describe('tracing participant channel', () => {
  it('a committed transaction: transaction → phase → participant spans, traceparent of each participant span on its commands', async () => {
    const request = tracer.startSpan('POST /v1/transactions');
    otelContext.with(trace.setSpan(ROOT_CONTEXT, request), () => tracing.begun(TX));
    request.end();

    await channel.send([{ participant: 'bank-a', message: command('PREPARE', 'bank-a') }]);
    await channel.send([{ participant: 'bank-b', message: command('PREPARE', 'bank-b') }]);
    await channel.send([{ participant: 'bank-b', message: command('PREPARE', 'bank-b', 2) }]);
    inner.deliver([vote('bank-a', 'YES'), vote('bank-b', 'YES')]);
    await channel.send([
      { participant: 'bank-a', message: command('COMMIT', 'bank-a') },
      { participant: 'bank-b', message: command('COMMIT', 'bank-b') },
    ]);
    inner.deliver([ack('bank-a', 'COMMIT')]);
    inner.deliver([ack('bank-b', 'COMMIT')]);
    tracing.finished(TX, 'COMMIT');

    expect(delivered.map((reply) => reply.type)).toEqual(['VOTE', 'VOTE', 'ACK', 'ACK']);
    const transaction = span('transaction');
    const prepare = span('prepare');
    const commit = span('commit');
    expect(parentOf(transaction)).toBe(request.spanContext().spanId);
    expect(parentOf(prepare)).toBe(transaction.spanContext().spanId);
    expect(parentOf(commit)).toBe(transaction.spanContext().spanId);
    for (const name of ['PREPARE bank-a', 'PREPARE bank-b'])
      expect(parentOf(span(name))).toBe(prepare.spanContext().spanId);
    for (const name of ['COMMIT bank-a', 'COMMIT bank-b'])
      expect(parentOf(span(name))).toBe(commit.spanContext().spanId);
    const traceIds = new Set(exporter.getFinishedSpans().map((each) => each.spanContext().traceId));
    expect(traceIds).toEqual(new Set([request.spanContext().traceId]));
    expect(transaction.attributes).toMatchObject({
      'verdict.tx.id': TX,
      'verdict.outcome': 'COMMIT',
      'verdict.tx.resumed': false,
    });
    expect(span('PREPARE bank-b').events.map((event) => event.name)).toEqual(['resent']);
    expect(span('PREPARE bank-a').attributes['verdict.vote']).toBe('YES');

    // Each command carries its own participant span's context; a re-send carries the same one.
    const traceparents = inner.sent.map((sent) => sent.traceparent);
    const contextOf = (name: string): string => {
      const { traceId, spanId } = span(name).spanContext();
      return `00-${traceId}-${spanId}-01`;
    };
    expect(traceparents).toEqual([
      contextOf('PREPARE bank-a'),
      contextOf('PREPARE bank-b'),
      contextOf('PREPARE bank-b'),
      contextOf('COMMIT bank-a'),
      contextOf('COMMIT bank-b'),
    ]);
    // The commit phase ended with its last ACK, before the transaction did.
    const order = exporter.getFinishedSpans().map((each) => each.name);
    expect(order.slice(-3)).toEqual(['COMMIT bank-b', 'commit', 'transaction']);
  });

  it('a NO vote: the abort phase follows prepare; a participant that never voted is marked so', async () => {
    tracing.begun(TX);
    await channel.send([
      { participant: 'bank-a', message: command('PREPARE', 'bank-a') },
      { participant: 'bank-b', message: command('PREPARE', 'bank-b') },
    ]);
    inner.deliver([vote('bank-a', 'NO')]);
    await channel.send([{ participant: 'bank-a', message: command('ABORT', 'bank-a') }]);
    expect(
      exporter
        .getFinishedSpans()
        .map((each) => each.name)
        .sort(),
    ).toEqual(['PREPARE bank-a', 'PREPARE bank-b', 'prepare']);
    expect(span('PREPARE bank-a').attributes).toMatchObject({
      'verdict.vote': 'NO',
      'verdict.vote.reason': 'insufficient funds',
    });
    expect(span('PREPARE bank-b').status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'no vote before the phase ended',
    });
    tracing.finished(TX, 'ABORT');
    expect(parentOf(span('ABORT bank-a'))).toBe(span('abort').spanContext().spanId);
    expect(span('transaction').attributes['verdict.outcome']).toBe('ABORT');
  });

  it('a transaction this leader did not begin gets a resumed root span at its first command', async () => {
    await channel.send([{ participant: 'bank-a', message: command('COMMIT', 'bank-a') }]);
    inner.deliver([ack('bank-a', 'COMMIT')]);
    tracing.finished(TX, 'COMMIT');
    const transaction = span('transaction');
    expect(transaction.parentSpanContext).toBeUndefined();
    expect(transaction.attributes['verdict.tx.resumed']).toBe(true);
    expect(parentOf(span('COMMIT bank-a'))).toBe(span('commit').spanContext().spanId);
  });

  it('losing leadership ends every open span, marked unfinished', async () => {
    tracing.begun(TX);
    await channel.send([{ participant: 'bank-a', message: command('PREPARE', 'bank-a') }]);
    tracing.leadershipLost();
    expect(tracing.size).toBe(0);
    expect(span('transaction').status.code).toBe(SpanStatusCode.ERROR);
    expect(span('prepare').ended).toBe(true);
    expect(span('PREPARE bank-a').status.code).toBe(SpanStatusCode.ERROR);
    // Replies for it afterwards are passed on and otherwise ignored.
    inner.deliver([vote('bank-a', 'YES')]);
    expect(delivered).toHaveLength(1);
    expect(exporter.getFinishedSpans()).toHaveLength(3);
  });

  it('the number of traced transactions is bounded and idle traces end', () => {
    const bounded = new TransactionTracing(tracer, {
      nodeId: 'n1',
      clock: () => nowMs,
      transactionsMax: 2,
      idleMsMax: 1_000,
    });
    const ids = [
      '01936c0e-8b7a-7c3e-9f2a-000000000001',
      '01936c0e-8b7a-7c3e-9f2a-000000000002',
      '01936c0e-8b7a-7c3e-9f2a-000000000003',
    ];
    for (const txId of ids) bounded.begun(txId);
    expect(bounded.size).toBe(2);
    expect(bounded.traceIdOf(ids[0] as string)).toBeNull();
    expect(exporter.getFinishedSpans()[0]?.attributes['verdict.tx.id']).toBe(ids[0]);
    nowMs = 5_000;
    bounded.begun('01936c0e-8b7a-7c3e-9f2a-000000000004');
    expect(bounded.size).toBe(1);
    expect(exporter.getFinishedSpans()).toHaveLength(3);
  });

  it('replies to a transaction this node does not trace are passed on untouched', () => {
    inner.deliver([vote('bank-a', 'YES')]);
    expect(delivered).toHaveLength(1);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('passes leadership on to the channel it wraps', () => {
    channel.setLeading(true);
    expect(inner.leading).toBe(true);
    channel.setLeading(false);
    expect(inner.leading).toBe(false);
  });
});
