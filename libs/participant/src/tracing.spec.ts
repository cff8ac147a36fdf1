import { context as otelContext, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { ParticipantCommand } from '@verdict/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Handled } from './command-handler';
import type { ParticipantLogger } from './service';
import { inCommandSpan, tracedLogger } from './tracing';

const TX = '01936c0e-8b7a-7c3e-9f2a-0123456789ab';
const RECEIVED = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const PREPARE: ParticipantCommand = {
  v: 1,
  type: 'PREPARE',
  txId: TX,
  participant: 'bank-a',
  term: 2,
  attempt: 1,
  sentAt: '2026-11-25T12:00:00.000Z',
  payload: { deadline: '2026-11-25T12:00:05.000Z', participants: ['bank-a'] },
};
const YES: Handled = {
  kind: 'reply',
  reply: {
    v: 1,
    type: 'VOTE',
    txId: TX,
    participant: 'bank-a',
    term: 2,
    attempt: 1,
    sentAt: '2026-11-25T12:00:00.010Z',
    payload: { vote: 'YES' },
  },
};

interface Line {
  readonly message: string;
  readonly fields: Record<string, unknown> | undefined;
}

function recordingLogger(lines: Line[]): ParticipantLogger {
  const write = (message: string, fields?: Record<string, unknown>): void => {
    lines.push({ message, fields });
  };
  return { debug: write, info: write, warn: write, error: write };
}

describe('a command handled without an OpenTelemetry SDK', () => {
  it('the reply carries the received traceparent back and log lines carry its trace id', async () => {
    const lines: Line[] = [];
    const logger = tracedLogger(recordingLogger(lines));
    const { handled, traceparent } = await inCommandSpan('bank-a', PREPARE, RECEIVED, () => {
      logger.info('preparing', { txId: TX });
      return Promise.resolve(YES);
    });
    expect(handled).toBe(YES);
    expect(traceparent).toBe(RECEIVED);
    expect(lines).toEqual([
      {
        message: 'preparing',
        fields: { txId: TX, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' },
      },
    ]);
  });

  it('without a traceparent there is none to reply with and none in the logs', async () => {
    const lines: Line[] = [];
    const logger = tracedLogger(recordingLogger(lines));
    const { traceparent } = await inCommandSpan('bank-a', PREPARE, null, () => {
      logger.warn('no trace');
      return Promise.resolve(YES);
    });
    expect(traceparent).toBeNull();
    expect(lines).toEqual([{ message: 'no trace', fields: undefined }]);
  });
});

describe('a command handled with an OpenTelemetry SDK', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  beforeAll(() => {
    trace.setGlobalTracerProvider(provider);
    otelContext.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  afterAll(async () => {
    trace.disable();
    otelContext.disable();
    await provider.shutdown();
  });
  beforeEach(() => exporter.reset());

  it('one span per command, a child of the received context; the reply carries that span; the service runs inside it', async () => {
    const lines: Line[] = [];
    const logger = tracedLogger(recordingLogger(lines));
    let activeInService: string | undefined;
    const { traceparent } = await inCommandSpan('bank-a', PREPARE, RECEIVED, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      activeInService = trace.getActiveSpan()?.spanContext().spanId;
      logger.info('prepared');
      return YES;
    });
    const [span] = exporter.getFinishedSpans();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
    expect(span?.name).toBe('handle PREPARE');
    expect(span?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    const { traceId, spanId } = span?.spanContext() ?? { traceId: '', spanId: '' };
    expect(traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(traceparent).toBe(`00-${traceId}-${spanId}-01`);
    expect(activeInService).toBe(spanId);
    expect(span?.attributes).toMatchObject({
      'verdict.tx.id': TX,
      'verdict.participant': 'bank-a',
      'verdict.term': 2,
      'verdict.vote': 'YES',
    });
    expect(lines[0]?.fields).toEqual({ traceId, spanId });
  });

  it('a refused command ends its span with an error; a throwing handler too, and the error goes on', async () => {
    await inCommandSpan('bank-a', PREPARE, RECEIVED, () =>
      Promise.resolve<Handled>({ kind: 'reject', reason: 'term 0 is not a term' }),
    );
    await expect(
      inCommandSpan('bank-a', PREPARE, null, () => Promise.reject(new Error('database gone'))),
    ).rejects.toThrow('database gone');
    expect(exporter.getFinishedSpans().map((span) => span.status)).toEqual([
      { code: 2, message: 'term 0 is not a term' },
      { code: 2, message: 'database gone' },
    ]);
  });
});
