// One transaction followed across processes: three real coordinator processes export their spans
// over OTLP/HTTP (JSON) to a small collector this test runs, two participants on the real SDK in
// this process record theirs in memory, and together the spans must form one trace:
// client → HTTP BEGIN → transaction → phase → participant → the participant's handler span.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { context as otelContext, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CoordinatorCluster, eventually, SERVICE_KEY } from '../support/coordinator-cluster';
import { startScriptedParticipant, type ScriptedParticipant } from '../support/scripted-participant';
import { createDatabase, kafkaBrokers, uniqueName, type TestDatabase } from '../support/stack';

/** A span as this test compares them, from either side. */
interface SeenSpan {
  readonly service: string;
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly attributes: Readonly<Record<string, unknown>>;
}

interface OtlpAttribute {
  readonly key: string;
  readonly value: Readonly<Record<string, unknown>>;
}
interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly attributes?: readonly OtlpAttribute[];
}
interface OtlpRequest {
  readonly resourceSpans?: readonly {
    readonly resource?: { readonly attributes?: readonly OtlpAttribute[] };
    readonly scopeSpans?: readonly { readonly spans?: readonly OtlpSpan[] }[];
  }[];
}

function attributesOf(list: readonly OtlpAttribute[] | undefined): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) attributes[key] = Object.values(value)[0];
  return attributes;
}

/** Everything the coordinators exported, as OTLP/HTTP with JSON bodies (OTEL_EXPORTER_OTLP_PROTOCOL=http/json). */
const collected: SeenSpan[] = [];
const collector: Server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    if (request.method === 'POST' && request.url === '/v1/traces') {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest;
      for (const resourceSpans of body.resourceSpans ?? []) {
        const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name']);
        for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
          for (const span of scopeSpans.spans ?? []) {
            collected.push({
              service,
              name: span.name,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId:
                span.parentSpanId === undefined || span.parentSpanId === '' ? null : span.parentSpanId,
              attributes: attributesOf(span.attributes),
            });
          }
        }
      }
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

// The participants' side: the real SDK takes its tracer from the global API, as in a service.
const participantSpans = new InMemorySpanExporter();
const participantTracing = new TracerProvider({
  spanProcessors: [new SimpleSpanProcessor({ exporter: participantSpans })],
});

let database: TestDatabase;
let cluster: CoordinatorCluster;
let bankA: ScriptedParticipant;
let bankB: ScriptedParticipant;

beforeAll(async () => {
  trace.setGlobalTracerProvider(participantTracing);
  otelContext.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const { port } = collector.address() as AddressInfo;
  database = await createDatabase('tracing');
  cluster = await CoordinatorCluster.start({
    kafkaBrokers: kafkaBrokers(),
    databaseUrl: database.url,
    environment: {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_SERVICE_NAME: 'verdict-coordinator',
      // Export within a fifth of a second instead of the default five.
      OTEL_BSP_SCHEDULE_DELAY: '200',
    },
  });
  bankA = await startScriptedParticipant(uniqueName('bank-a'), kafkaBrokers());
  bankB = await startScriptedParticipant(uniqueName('bank-b'), kafkaBrokers());
  await cluster.waitForLeader(60_000);
}, 120_000);

afterAll(async () => {
  await Promise.all([bankA?.handle.stop(), bankB?.handle.stop()]);
  await cluster?.stop();
  await database?.drop();
  await new Promise((resolve) => collector.close(resolve));
  trace.disable();
  otelContext.disable();
  await participantTracing.shutdown();
});

it('one transaction: the client, the coordinator and both participants in one trace, as a tree', async () => {
  const leader = await cluster.waitForLeader(30_000);
  // The client's own trace: everything below must join it.
  const clientTraceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const clientSpanId = '1122334455667788';
  const traceparent = `00-${clientTraceId}-${clientSpanId}-01`;
  const begun = await cluster.request<{ id: string }>(
    leader,
    'POST',
    '/v1/transactions',
    { timeoutMs: 10_000, participants: [{ name: bankA.name }, { name: bankB.name }] },
    SERVICE_KEY,
    { traceparent },
  );
  expect(begun.status, JSON.stringify(begun.body)).toBe(201);
  const txId = begun.body.id;
  const committed = await cluster.request<{ state: string }>(
    leader,
    'POST',
    `/v1/transactions/${txId}/commit?wait=completion`,
    undefined,
    SERVICE_KEY,
  );
  expect(committed.status, JSON.stringify(committed.body)).toBe(200);
  expect(committed.body.state).toBe('COMMITTED');

  const ofTransaction = (span: SeenSpan): boolean => span.attributes['verdict.tx.id'] === txId;
  // The transaction span is exported when the last ACK is in, within OTEL_BSP_SCHEDULE_DELAY.
  const coordinator = await eventually(
    () => {
      const spans = collected.filter(ofTransaction);
      return spans.some((span) => span.name === 'transaction')
        ? Promise.resolve(spans)
        : Promise.resolve(undefined);
    },
    15_000,
    `the coordinator exporting the spans of ${txId}`,
  );
  const participants = participantSpans
    .getFinishedSpans()
    .filter((span) => span.attributes['verdict.tx.id'] === txId)
    .map((span): SeenSpan => ({
      service: String(span.attributes['verdict.participant']),
      name: span.name,
      traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId,
      parentSpanId: span.parentSpanContext?.spanId ?? null,
      attributes: span.attributes,
    }));

  const one = (spans: readonly SeenSpan[], name: string, service?: string): SeenSpan => {
    const found = spans.filter(
      (span) => span.name === name && (service === undefined || span.service === service),
    );
    expect(found, `one span ${name}${service === undefined ? '' : ` of ${service}`}`).toHaveLength(1);
    return found[0] as SeenSpan;
  };
  const http = one(
    collected.filter((span) => span.traceId === clientTraceId),
    'POST /v1/transactions',
  );
  const transaction = one(coordinator, 'transaction');
  const prepare = one(coordinator, 'prepare');
  const commit = one(coordinator, 'commit');

  // One trace: the client's.
  for (const span of [http, ...coordinator, ...participants]) {
    expect(span.traceId, `${span.service} ${span.name}`).toBe(clientTraceId);
  }
  expect(http.service).toBe('verdict-coordinator');
  expect(http.parentSpanId).toBe(clientSpanId);
  expect(transaction.parentSpanId).toBe(http.spanId);
  expect(transaction.attributes).toMatchObject({
    'verdict.outcome': 'COMMIT',
    'verdict.node.id': leader.nodeId,
  });
  expect(prepare.parentSpanId).toBe(transaction.spanId);
  expect(commit.parentSpanId).toBe(transaction.spanId);
  expect(coordinator).toHaveLength(7);
  for (const bank of [bankA, bankB]) {
    const sentPrepare = one(coordinator, `PREPARE ${bank.name}`);
    const sentCommit = one(coordinator, `COMMIT ${bank.name}`);
    expect(sentPrepare.parentSpanId).toBe(prepare.spanId);
    expect(sentPrepare.attributes['verdict.vote']).toBe('YES');
    expect(sentCommit.parentSpanId).toBe(commit.spanId);
    // A command sent again before its answer arrived is handled (idempotently) again: every copy
    // carries the same traceparent, so each handler span hangs under the same coordinator span.
    for (const [name, parent] of [
      ['handle PREPARE', sentPrepare],
      ['handle COMMIT', sentCommit],
    ] as const) {
      const handled = participants.filter((span) => span.service === bank.name && span.name === name);
      expect(handled.length, `${bank.name} ${name}`).toBeGreaterThanOrEqual(1);
      for (const span of handled) expect(span.parentSpanId, `${bank.name} ${name}`).toBe(parent.spanId);
    }
  }
  expect(participants.every((span) => span.name === 'handle PREPARE' || span.name === 'handle COMMIT')).toBe(
    true,
  );

  // The leader's log line of the commit request names the transaction and its trace.
  const commitLine = readFileSync(leader.logFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((line) => line['msg'] === 'request completed' && line['txId'] === txId);
  expect(commitLine?.['traceId']).toBe(clientTraceId);
}, 60_000);
