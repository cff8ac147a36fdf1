import { Validator } from '@seriousme/openapi-schema-validator';
import { Parser } from '@asyncapi/parser';
import { buildAsyncApiDocument } from '@verdict/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './testing/test-app';

// Both halves of the published contract, as a node serves them, checked against their own
// specifications by validators that share no code with the generators.

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.app.close();
});

describe('contract documents served by a node', () => {
  it('/openapi.json is a valid OpenAPI document', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const result = await new Validator().validate(response.json<Record<string, unknown>>());
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    // The validator does reject: a document without info and paths is not OpenAPI.
    expect((await new Validator().validate({ openapi: '3.0.0' })).valid).toBe(false);
  });

  it('/asyncapi.json needs no key and is the valid AsyncAPI 3 document of libs/protocol', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/asyncapi.json' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const served = response.json<Record<string, unknown>>();
    expect(served).toEqual(buildAsyncApiDocument());
    const { diagnostics } = await new Parser().parse(response.body);
    expect(diagnostics.map((each) => each.message)).toEqual([]);
    expect(served['asyncapi']).toMatch(/^3\./);
    // The parser loads its rulesets on first use: seconds on a busy 2-core machine.
  }, 30_000);
});
