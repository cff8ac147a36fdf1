import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoordinatorClient } from '@verdict/participant/coordinator-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TransactionView } from './coordinator.port';
import { asService, createTestApp, SERVICE_KEY, type TestApp } from './testing/test-app';

// Two real HTTP servers: node-1 leads, node-2 follows and forwards to node-1's URL.
let leader: TestApp;
let follower: TestApp;
let followerUrl: string;
let leaderUrl: string;

beforeEach(async () => {
  leader = await createTestApp('node-1');
  follower = await createTestApp('node-2', { forwardTimeoutMs: 500 });
  await leader.app.listen({ port: 0, host: '127.0.0.1' });
  await follower.app.listen({ port: 0, host: '127.0.0.1' });
  leaderUrl = await leader.app.getUrl();
  followerUrl = await follower.app.getUrl();
  follower.coordinator.leadership = { kind: 'follower', leaderId: 'node-1', leaderUrl };
});
afterEach(async () => {
  await follower.app.close();
  await leader.app.close();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  if (body === undefined)
    return fetch(followerUrl + path, { method: 'POST', headers: { ...asService, ...headers } });
  return fetch(followerUrl + path, {
    method: 'POST',
    headers: { ...asService, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

describe('a follower forwards leader-bound requests to the leader', () => {
  it('begin: body, Authorization and Idempotency-Key reach the leader; its 201 comes back as it is', async () => {
    const response = await post(
      '/v1/transactions',
      { participants: [{ name: 'bank-a' }] },
      {
        'idempotency-key': 'order-7',
        'x-request-id': 'client-req-1',
      },
    );
    expect(response.status).toBe(201);
    expect(response.headers.get('verdict-served-by')).toBe('node-1');
    expect(response.headers.get('x-request-id')).toBe('client-req-1');
    const tx = (await response.json()) as TransactionView;
    expect(tx.state).toBe('ACTIVE');
    expect(follower.coordinator.calls.map((call) => call.method)).toEqual(['begin']);
    expect(leader.coordinator.calls).toEqual([
      { method: 'begin', args: [{ participants: [{ name: 'bank-a' }], metadata: {} }, 'order-7'] },
    ]);
    expect((await leader.coordinator.get(tx.id)).id).toBe(tx.id);
  });

  it('path and query reach the leader: commit?wait=completion', async () => {
    const tx = await leader.coordinator.begin({ participants: [{ name: 'bank-a' }], metadata: {} });
    const response = await post(`/v1/transactions/${tx.id}/commit?wait=completion`, undefined);
    expect(response.status).toBe(200);
    expect(((await response.json()) as TransactionView).state).toBe('COMMITTED');
    expect(leader.coordinator.calls.at(-1)).toEqual({ method: 'commit', args: [tx.id, 'completion'] });
  });

  it("the client's trace context reaches the leader, so its spans join the client's trace", async () => {
    const arrived: IncomingHttpHeaders[] = [];
    const standIn = createServer((request, response) => {
      arrived.push(request.headers);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve));
    const { port } = standIn.address() as AddressInfo;
    follower.coordinator.leadership = {
      kind: 'follower',
      leaderId: 'node-1',
      leaderUrl: `http://127.0.0.1:${port}`,
    };
    try {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const response = await post('/v1/transactions', {}, { traceparent, tracestate: 'vendor=1' });
      expect(response.status).toBe(200);
      expect(arrived).toHaveLength(1);
      expect(arrived[0]?.['traceparent']).toBe(traceparent);
      expect(arrived[0]?.['tracestate']).toBe('vendor=1');
    } finally {
      await new Promise<void>((resolve) => standIn.close(() => resolve()));
    }
  });

  it("the leader's problem answer is returned unchanged", async () => {
    const txId = '01936c0e-8b7a-7c3e-9f2a-0123456789ab';
    const response = await fetch(`${followerUrl}/v1/transactions/${txId}`, { headers: asService });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('verdict-served-by')).toBe('node-1');
    expect(await response.json()).toMatchObject({ code: 'TX_NOT_FOUND', txId });
  });

  it('no forwarding loop: a forwarded request that meets NOT_LEADER again is a 503 NO_LEADER', async () => {
    leader.coordinator.leadership = { kind: 'follower', leaderId: 'node-2', leaderUrl: followerUrl };
    const response = await post('/v1/transactions', {});
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ code: 'NO_LEADER' });
    expect(follower.coordinator.calls).toHaveLength(1);
    expect(leader.coordinator.calls).toHaveLength(1);
  });

  it('leader unreachable: 503 LEADER_UNREACHABLE with Retry-After', async () => {
    await leader.app.close();
    const response = await post('/v1/transactions', {});
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ code: 'LEADER_UNREACHABLE', leaderId: 'node-1' });
    leader = await createTestApp('node-1'); // afterEach closes it again
  });

  it('leader silent past the forward timeout: 504 LEADER_TIMEOUT telling the client to read before retrying', async () => {
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    leader.coordinator.get = async (txId: string): Promise<TransactionView> => {
      await stalled;
      throw new Error(`released ${txId}`);
    };
    try {
      const response = await fetch(`${followerUrl}/v1/transactions/01936c0e-8b7a-7c3e-9f2a-0123456789ab`, {
        headers: asService,
      });
      expect(response.status).toBe(504);
      const problem = (await response.json()) as Record<string, unknown>;
      expect(problem).toMatchObject({ code: 'LEADER_TIMEOUT', leaderId: 'node-1' });
      expect(problem['detail']).toContain('500 ms');
    } finally {
      release();
    }
  });

  it('requests the follower rejects itself (auth) are never forwarded', async () => {
    const response = await fetch(`${followerUrl}/v1/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('verdict-served-by')).toBeNull();
    expect(leader.coordinator.calls).toEqual([]);
  });

  it("the participant SDK's CoordinatorClient speaks this API through a follower", async () => {
    const client = new CoordinatorClient({
      coordinatorUrl: followerUrl,
      apiKey: SERVICE_KEY,
      requestTimeoutMs: 2000,
    });
    const txId = await client.begin({ participants: [{ name: 'bank-a' }] }, 'sdk-order-1');
    await client.enlist(txId, { name: 'bank-b', payload: { amountCents: 5 } });
    expect(await client.outcome(txId)).toBeNull();
    expect(await client.commit(txId, 2000)).toMatchObject({ id: txId, decision: { outcome: 'COMMIT' } });
    expect(await client.outcome(txId)).toBe('COMMIT');
    expect(await client.outcome('01936c0e-8b7a-7c3e-9f2a-0123456789ab')).toBe('ABORT');
    expect(leader.coordinator.calls.map((call) => call.method)).toEqual([
      'begin',
      'enlist',
      'outcome',
      'commit',
      'outcome',
      'outcome',
    ]);
  });
});
