import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asOperator, asService, createTestApp, type TestApp } from './testing/test-app';

// The timeline contract the console and the CLI read: GET /v1/transactions/{id} carries
// `timeline`, oldest first; the list leaves it empty.

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp('node-1');
});
afterEach(async () => {
  await t.app.close();
});

interface TimelineEvent {
  readonly at: string;
  readonly kind: string;
  readonly participant: string | null;
  readonly detail: string;
  readonly raftIndex: number | null;
  readonly raftTerm: number | null;
  readonly actor: string | null;
}

async function post(url: string, headers: Record<string, string>, payload?: Record<string, unknown>) {
  const response = await t.app.inject({ method: 'POST', url, headers, ...(payload && { payload }) });
  expect(response.statusCode, response.body).toBeLessThan(300);
  return response.json<Record<string, unknown>>();
}

async function timelineOf(txId: string): Promise<TimelineEvent[]> {
  const response = await t.app.inject({ method: 'GET', url: `/v1/transactions/${txId}`, headers: asService });
  expect(response.statusCode).toBe(200);
  return response.json<{ timeline: TimelineEvent[] }>().timeline;
}

async function begin(): Promise<string> {
  const body = await post('/v1/transactions', asService, {
    participants: [{ name: 'bank-a' }, { name: 'bank-b' }],
  });
  return String(body['id']);
}

describe('GET /v1/transactions/{id}: timeline', () => {
  it('a committed transaction: BEGIN, ENLIST, PREPARING, PREPARE_SENT, VOTE, DECISION with its raft index, DECISION_SENT, ACK, ARCHIVED, oldest first', async () => {
    const txId = await begin();
    await post(`/v1/transactions/${txId}/commit?wait=completion`, asService);

    const timeline = await timelineOf(txId);

    expect(timeline.map((event) => [event.kind, event.participant])).toEqual([
      ['BEGIN', null],
      ['ENLIST', 'bank-a'],
      ['ENLIST', 'bank-b'],
      ['PREPARING', null],
      ['PREPARE_SENT', 'bank-a'],
      ['PREPARE_SENT', 'bank-b'],
      ['VOTE', 'bank-a'],
      ['VOTE', 'bank-b'],
      ['DECISION', null],
      ['DECISION_SENT', 'bank-a'],
      ['DECISION_SENT', 'bank-b'],
      ['ACK', 'bank-a'],
      ['ACK', 'bank-b'],
      ['ARCHIVED', null],
    ]);
    const decision = timeline.find((event) => event.kind === 'DECISION');
    expect(decision).toMatchObject({
      detail: 'decided COMMIT: all participants voted YES',
      raftTerm: 1,
      actor: null,
    });
    expect(decision?.raftIndex).toEqual(expect.any(Number));
    expect(timeline.find((event) => event.kind === 'VOTE')?.detail).toBe('voted YES');
    expect(
      timeline.filter((event) => event.kind === 'PREPARE_SENT').every((event) => event.raftIndex === null),
    ).toBe(true);
    for (const event of timeline) expect(new Date(event.at).toISOString()).toBe(event.at);
  });

  it('an operator resolution and retry carry the actor', async () => {
    const txId = await begin();
    await post(`/v1/admin/transactions/${txId}/retry`, asOperator);
    await post(`/v1/admin/transactions/${txId}/resolve`, asOperator, {
      outcome: 'abort',
      reason: 'bank-b is gone',
    });

    const timeline = await timelineOf(txId);

    const retry = timeline.find((event) => event.kind === 'RETRY');
    const decision = timeline.find((event) => event.kind === 'DECISION');
    expect(retry?.actor).toMatch(/^operator/);
    expect(decision).toMatchObject({ detail: 'decided ABORT: bank-b is gone', actor: retry?.actor });
  });

  it('the list leaves the timeline empty', async () => {
    await begin();
    const response = await t.app.inject({ method: 'GET', url: '/v1/transactions', headers: asService });
    const items = response.json<{ items: { timeline: unknown[] }[] }>().items;
    expect(items).toHaveLength(1);
    expect(items[0]?.timeline).toEqual([]);
  });
});
