import { context as otelContext, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asService, createTestApp, type TestApp } from '../api/testing/test-app';
import { logTransactionTraces } from './tracing-logs';

const CLIENT_TRACE_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const CLIENT_SPAN_ID = '1122334455667788';
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });

// One app per file: nestjs-pino keeps one root logger per process (see logging.spec.ts).
let t: TestApp;
beforeAll(async () => {
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  otelContext.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  t = await createTestApp();
});
afterAll(async () => {
  await t.app.close();
  logTransactionTraces(null);
  trace.disable();
  propagation.disable();
  otelContext.disable();
  await provider.shutdown();
});
beforeEach(() => exporter.reset());

describe('HTTP server spans', () => {
  it('a request handled by a controller is a server span, a child of the caller’s traceparent', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/transactions',
      headers: { ...asService, traceparent: `00-${CLIENT_TRACE_ID}-${CLIENT_SPAN_ID}-01` },
      payload: { participants: [{ name: 'bank-a' }] },
    });
    expect(response.statusCode).toBe(201);
    const [span] = exporter.getFinishedSpans();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
    expect(span?.name).toBe('POST /v1/transactions');
    expect(span?.spanContext().traceId).toBe(CLIENT_TRACE_ID);
    expect(span?.parentSpanContext?.spanId).toBe(CLIENT_SPAN_ID);
    expect(span?.attributes).toMatchObject({
      'http.route': '/v1/transactions',
      'http.response.status_code': 201,
    });
  });

  it('a failed request names the problem code; a refused one (no key) gets no span', async () => {
    const missing = '01936c0e-8b7a-7c3e-9f2a-0123456789ab';
    const response = await t.app.inject({
      method: 'GET',
      url: `/v1/transactions/${missing}`,
      headers: asService,
    });
    expect(response.statusCode).toBe(404);
    await t.app.inject({ method: 'GET', url: `/v1/transactions/${missing}` });
    expect(exporter.getFinishedSpans().map((span) => [span.name, span.attributes['error.type']])).toEqual([
      ['GET /v1/transactions/:txId', 'TX_NOT_FOUND'],
    ]);
  });

  it('the request log line of a traced transaction carries its trace id', async () => {
    const txId = '01936c0e-8b7a-7c3e-9f2a-00000000beef';
    logTransactionTraces((id) => (id === txId ? CLIENT_TRACE_ID : null));
    await t.app.inject({ method: 'GET', url: `/v1/transactions/${txId}`, headers: asService });
    const line = t.logs.find((each) => each['msg'] === 'request completed' && each['txId'] === txId);
    expect(line?.['traceId']).toBe(CLIENT_TRACE_ID);
  });
});
