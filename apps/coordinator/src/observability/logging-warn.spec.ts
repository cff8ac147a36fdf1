import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asService, createTestApp, type TestApp } from '../api/testing/test-app';

// Its own file: nestjs-pino keeps one root logger per process, built by the first app that logs.
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp('node-1', { logLevel: 'warn' });
});
afterAll(async () => {
  await t.app.close();
});

describe('logs at warn (how benchmarks and quiet deployments run)', () => {
  it('write no line per request, yet an error keeps the request id its answer names', async () => {
    const unknown = await t.app.inject({
      method: 'GET',
      url: '/v1/transactions/01936c0e-8b7a-7c3e-9f2a-0123456789ab',
      headers: { ...asService, 'x-request-id': 'client-9' },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['x-request-id']).toBe('client-9');
    expect(t.logs).toEqual([]);

    t.coordinator.failNextWith = new Error('the engine tripped');
    const failed = await t.app.inject({
      method: 'GET',
      url: '/v1/transactions/01936c0e-8b7a-7c3e-9f2a-0123456789ab',
      headers: { ...asService, 'x-request-id': 'client-10' },
    });
    expect(failed.statusCode).toBe(500);
    expect(t.logs).toHaveLength(1);
    expect(t.logs[0]).toMatchObject({
      level: 50,
      requestId: 'client-10',
      err: { message: 'the engine tripped' },
    });
  });
});
