import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asOperator,
  asService,
  OPERATOR_KEY,
  SERVICE_KEY,
  createTestApp,
  type TestApp,
} from '../api/testing/test-app';

// One app per file: nestjs-pino keeps one root logger per process (per test file here), built
// from the options of the first app that logs.
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.app.close();
});

function requestLogs(): Record<string, unknown>[] {
  return t.logs.filter((line) => line['msg'] === 'request completed' || line['msg'] === 'request errored');
}

describe('structured request logs', () => {
  it('one JSON line per request with the request id, the txId and no credentials', async () => {
    const txId = '01936c0e-8b7a-7c3e-9f2a-0123456789ab';
    await t.app.inject({
      method: 'GET',
      url: `/v1/transactions/${txId}`,
      headers: { ...asService, 'x-request-id': 'client-7' },
    });
    await t.app.inject({
      method: 'POST',
      url: `/v1/admin/transactions/${txId}/retry`,
      headers: asOperator,
    });
    const lines = requestLogs();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      nodeId: 'node-1',
      txId,
      req: { id: 'client-7', method: 'GET' },
      res: { statusCode: 404 },
    });
    expect(lines[1]).toMatchObject({ txId, req: { method: 'POST' } });
    const everything = JSON.stringify(t.logs);
    expect(everything).not.toContain(SERVICE_KEY);
    expect(everything).not.toContain(OPERATOR_KEY);
    expect(everything).toContain('"authorization":"[redacted]"');
  });

  it('an unsafe X-Request-Id is replaced rather than logged', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/v1/cluster',
      headers: { ...asService, 'x-request-id': 'a b\u0000c' },
    });
    const id = response.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestLogs().at(-1)).toMatchObject({ req: { id } });
  });

  it('probes and scrapes are not request-logged', async () => {
    const before = requestLogs().length;
    await t.app.inject({ method: 'GET', url: '/health/live' });
    await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(requestLogs()).toHaveLength(before);
  });
});
