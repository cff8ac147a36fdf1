import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asOperator, asService, createTestApp, type TestApp } from './testing/test-app';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.app.close();
});

describe('smoke', () => {
  it('begins a transaction', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/transactions',
      headers: asService,
      payload: { participants: [{ name: 'bank-a' }] },
    });
    console.log(response.statusCode, response.headers, response.body);
    const r2 = await t.app.inject({
      method: 'POST',
      url: '/v1/transactions',
      headers: asService,
      payload: { participants: [{ name: 'Bank_A' }], foo: 1 },
    });
    console.log(r2.statusCode, r2.headers, r2.body);
    const r3 = await t.app.inject({ method: 'GET', url: '/v1/transactions/abc', headers: asOperator });
    console.log(r3.statusCode, r3.body);
    console.log(t.logs.slice(-3));
    expect(response.statusCode).toBe(201);
  });
});
