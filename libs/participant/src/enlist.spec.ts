import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { uuidv7 } from '@verdict/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CoordinatorClient,
  CoordinatorRejectedError,
  CoordinatorUnavailableError,
} from './coordinator-client';
import { enlistFromHeaders, transactionIdFrom } from './enlist';

describe('transactionIdFrom', () => {
  const txId = uuidv7();

  it('reads the Verdict-Transaction header (Node lowercases header names)', () => {
    expect(transactionIdFrom({ 'verdict-transaction': txId })).toBe(txId);
    expect(transactionIdFrom({ 'verdict-transaction': ` ${txId.toUpperCase()} ` })).toBe(txId);
  });

  it('is null without the header: the request is not part of a transaction', () => {
    expect(transactionIdFrom({ accept: 'application/json' })).toBeNull();
  });

  it.each([
    ['not a UUID', { 'verdict-transaction': 'tx-1' }, /must be a transaction id \(a UUID\), got "tx-1"/],
    ['repeated', { 'verdict-transaction': [txId, txId] }, /must appear once, got 2 values/],
  ])('refuses a header that is %s', (_name, headers, message) => {
    expect(() => transactionIdFrom(headers)).toThrow(message);
  });
});

describe('CoordinatorClient', () => {
  let server: Server | null = null;
  const requests: {
    method: string;
    url: string;
    authorization: string | undefined;
    idempotencyKey?: string | string[] | undefined;
    body: string;
  }[] = [];

  async function coordinator(
    answer: (request: IncomingMessage) => { status: number; body: unknown },
  ): Promise<CoordinatorClient> {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        requests.push({
          method: request.method ?? '',
          url: request.url ?? '',
          authorization: request.headers.authorization,
          idempotencyKey: request.headers['idempotency-key'],
          body,
        });
        const { status, body: answerBody } = answer(request);
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answerBody));
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new CoordinatorClient({
      coordinatorUrl: `http://127.0.0.1:${port}/`,
      apiKey: 'key-for-tests',
      requestTimeoutMs: 2_000,
    });
  }

  afterEach(async () => {
    requests.length = 0;
    await new Promise<void>((resolve) => (server === null ? resolve() : server.close(() => resolve())));
    server = null;
  });

  it('asks for an outcome with the API key; null and 404 both mean undecided', async () => {
    const decided = uuidv7();
    const client = await coordinator((request) =>
      request.url?.includes(decided) === true
        ? { status: 200, body: { txId: decided, outcome: 'COMMIT', state: 'COMMITTED' } }
        : request.url?.includes('unknown') === true
          ? { status: 404, body: { code: 'TX_NOT_FOUND' } }
          : { status: 200, body: { txId: 'x', outcome: null } },
    );
    expect(await client.outcome(decided)).toBe('COMMIT');
    expect(await client.outcome(uuidv7())).toBeNull();
    expect(await client.outcome('unknown')).toBeNull();
    expect(requests[0]).toMatchObject({
      method: 'GET',
      url: `/v1/transactions/${decided}/outcome`,
      authorization: 'Bearer key-for-tests',
    });
  });

  it('enlists from the header, with the payload', async () => {
    const txId = uuidv7();
    const client = await coordinator(() => ({ status: 200, body: { id: txId, state: 'ACTIVE' } }));
    expect(
      await enlistFromHeaders({ 'verdict-transaction': txId }, client, {
        name: 'bank-b',
        payload: { credit: 5 },
      }),
    ).toBe(txId);
    expect(await enlistFromHeaders({}, client, { name: 'bank-b' })).toBeNull();
    expect(requests).toEqual([
      {
        method: 'POST',
        url: `/v1/transactions/${txId}/participants`,
        authorization: 'Bearer key-for-tests',
        body: JSON.stringify({ name: 'bank-b', payload: { credit: 5 } }),
      },
    ]);
  });

  it('begins and commits in one request, with the Idempotency-Key, and returns the decided transaction', async () => {
    const txId = uuidv7();
    const decided = { id: txId, state: 'COMMITTING', decision: { outcome: 'COMMIT' } };
    const client = await coordinator(() => ({ status: 201, body: decided }));
    const participants = [{ name: 'bank-a', payload: { debit: 5 } }];
    expect(await client.beginAndCommit({ participants, timeoutMs: 5_000 }, 'order-9', 10_000)).toEqual(
      decided,
    );
    expect(requests).toEqual([
      {
        method: 'POST',
        url: '/v1/transactions',
        authorization: 'Bearer key-for-tests',
        idempotencyKey: 'order-9',
        body: JSON.stringify({ participants, timeoutMs: 5_000, commit: 'decision' }),
      },
    ]);
  });

  it("passes on the coordinator's refusal with its code, and a 503 as unavailable", async () => {
    const client = await coordinator((request) =>
      request.method === 'POST'
        ? { status: 409, body: { code: 'TX_NOT_ACTIVE', detail: 'transaction is PREPARING' } }
        : { status: 503, body: { code: 'NO_LEADER', detail: 'cluster has no leader' } },
    );
    const refused = client.enlist(uuidv7(), { name: 'bank-b' });
    await expect(refused).rejects.toBeInstanceOf(CoordinatorRejectedError);
    await expect(refused).rejects.toThrow(/HTTP 409 TX_NOT_ACTIVE: transaction is PREPARING/);
    await expect(client.outcome(uuidv7())).rejects.toThrow(/unavailable .* HTTP 503 NO_LEADER/);
  });

  it('reports an unreachable coordinator as unavailable, naming it', async () => {
    const client = new CoordinatorClient({
      coordinatorUrl: 'http://127.0.0.1:1',
      apiKey: undefined,
      requestTimeoutMs: 2_000,
    });
    const outcome = client.outcome(uuidv7());
    await expect(outcome).rejects.toBeInstanceOf(CoordinatorUnavailableError);
    await expect(outcome).rejects.toThrow(/coordinator at http:\/\/127.0.0.1:1 is unreachable/);
  });
});
