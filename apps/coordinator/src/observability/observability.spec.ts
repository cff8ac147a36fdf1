import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asService, createTestApp, type TestApp } from '../api/testing/test-app';
import { CoordinatorMetrics as CoordinatorMetricsToken } from './metrics';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.app.close();
});

describe('health', () => {
  it('/health/live answers 200 without a key', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/health/live' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'ok' });
  });

  it('/health/ready: 200 with a known leader and the log applied', async () => {
    t.readiness.view = { leaderId: 'node-1', caughtUp: true, commitIndex: 9, appliedIndex: 9 };
    const response = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      status: 'ok',
      details: { raft: { status: 'up', leaderId: 'node-1' } },
    });
  });

  it.each([
    [{ leaderId: null, caughtUp: true, commitIndex: 9, appliedIndex: 9 }, 'no known leader'],
    [
      { leaderId: 'node-1', caughtUp: false, commitIndex: 9, appliedIndex: 3 },
      'still applying the committed log',
    ],
  ])('/health/ready: 503 NOT_READY problem with Retry-After when %o', async (view, reason) => {
    t.readiness.view = view;
    const response = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({
      code: 'NOT_READY',
      checks: { raft: { status: 'down', reason } },
    });
  });
});

describe('metrics', () => {
  it('/metrics exposes every coordinator metric, updated through CoordinatorMetrics, without a key', async () => {
    const metrics = t.app.get(CoordinatorMetricsToken);
    metrics.recordDecision('COMMIT');
    metrics.observePhase('prepare', 0.012);
    metrics.setInDoubt(2, 31);
    metrics.setRaft({ term: 4, commitIndex: 120, appliedIndex: 119, isLeader: true });
    metrics.setBreaker('bank-b', 'OPEN');
    metrics.recordKafkaProduceRequest();
    metrics.recordKafkaProduceRequest();
    let logSyncs = 7;
    metrics.countRaftLogSyncs(() => logSyncs);
    await t.app.inject({ method: 'GET', url: '/v1/transactions', headers: asService });

    const response = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = response.body;
    expect(sample(text, 'verdict_transactions_total', { outcome: 'commit', node_id: 'node-1' })).toBe(1);
    expect(sample(text, 'verdict_transaction_phase_duration_seconds_count', { phase: 'prepare' })).toBe(1);
    expect(sample(text, 'verdict_in_doubt_transactions', {})).toBe(2);
    expect(sample(text, 'verdict_oldest_in_doubt_age_seconds', {})).toBe(31);
    expect(sample(text, 'verdict_raft_term', {})).toBe(4);
    expect(sample(text, 'verdict_raft_commit_index', {})).toBe(120);
    expect(sample(text, 'verdict_raft_applied_index', {})).toBe(119);
    expect(sample(text, 'verdict_raft_is_leader', {})).toBe(1);
    expect(sample(text, 'verdict_participant_breaker_state', { participant: 'bank-b' })).toBe(2);
    expect(sample(text, 'verdict_kafka_produce_requests_total', {})).toBe(2);
    expect(sample(text, 'verdict_raft_log_syncs_total', {})).toBe(7);
    logSyncs = 12;
    const later = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(sample(later.body, 'verdict_raft_log_syncs_total', {})).toBe(12);
    expect(
      sample(text, 'verdict_http_request_duration_seconds_count', {
        method: 'GET',
        route: '/v1/transactions',
        status_code: '200',
      }),
    ).toBe(1);
    expect(text).toContain('process_cpu_seconds_total');
  });
});

/** The value of the one sample of `name` carrying all of `labels` (in any order), or null. */
function sample(text: string, name: string, labels: Readonly<Record<string, string>>): number | null {
  const wanted = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);
  const matches = text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => wanted.every((pair) => line.slice(0, line.lastIndexOf(' ')).includes(pair)));
  expect(matches.length, `${name} ${wanted.join(',')}`).toBeLessThanOrEqual(1);
  const line = matches[0];
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}
