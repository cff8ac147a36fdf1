import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './testing/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.app.close();
});

interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Record<
    string,
    Record<string, { responses: Record<string, unknown>; security?: unknown[] }>
  >;
  readonly components: {
    securitySchemes: Record<string, { type: string; scheme: string }>;
    schemas: Record<string, unknown>;
  };
}

interface Operation {
  readonly operationId: string;
  readonly responses: Record<
    string,
    { links?: Record<string, { operationId: string; parameters: Record<string, string> }> }
  >;
}

interface SchemaLike {
  readonly additionalProperties?: unknown;
  readonly properties?: Record<string, SchemaLike & { type?: string; nullable?: boolean }>;
}

const ROUTES = [
  ['post', '/v1/transactions'],
  ['get', '/v1/transactions'],
  ['post', '/v1/transactions/{txId}/participants'],
  ['post', '/v1/transactions/{txId}/commit'],
  ['post', '/v1/transactions/{txId}/abort'],
  ['get', '/v1/transactions/{txId}'],
  ['get', '/v1/transactions/{txId}/outcome'],
  ['post', '/v1/admin/transactions/{txId}/resolve'],
  ['post', '/v1/admin/transactions/{txId}/retry'],
  ['get', '/v1/cluster'],
  ['post', '/v1/cluster/leadership-transfer'],
  ['post', '/v1/cluster/members'],
  ['delete', '/v1/cluster/members/{nodeId}'],
  ['get', '/v1/session'],
  ['get', '/health/live'],
  ['get', '/health/ready'],
  ['get', '/metrics'],
] as const;

describe('OpenAPI', () => {
  it('/openapi.json needs no key and lists every route, bearer auth and problem responses', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json<OpenApiDocument>();
    expect(document.openapi).toMatch(/^3\./);
    const listed = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method} ${path}`),
    );
    expect(listed.sort()).toEqual(ROUTES.map(([method, path]) => `${method} ${path}`).sort());
    expect(document.components.securitySchemes['bearer']).toMatchObject({ type: 'http', scheme: 'bearer' });
    const beginResponses = document.paths['/v1/transactions']?.['post']?.responses ?? {};
    expect(Object.keys(beginResponses).sort()).toEqual([
      '201',
      '400',
      '401',
      '413',
      '415',
      '422',
      '500',
      '503',
      '504',
    ]);
    const clusterResponses = document.paths['/v1/cluster']?.['get']?.responses ?? {};
    expect(Object.keys(clusterResponses).sort()).toEqual(['200', '401', '500']);
    expect(JSON.stringify(beginResponses['422'])).toContain('application/problem+json');
    expect(document.paths['/v1/admin/transactions/{txId}/resolve']?.['post']?.responses['403']).toBeDefined();
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(['BeginTransactionDto', 'TransactionDto', 'ProblemDto', 'ClusterStatusDto']),
    );
  });

  it('links lead from each transaction response to the next step, by operationId and the returned id', async () => {
    const document = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, Operation>>;
    }>();
    const operationIds = new Map(
      Object.entries(document.paths).flatMap(([path, operations]) =>
        Object.entries(operations).map(([method, operation]) => [operation.operationId, `${method} ${path}`]),
      ),
    );
    const linksOf = (method: string, path: string, status: string): Record<string, string> =>
      Object.fromEntries(
        Object.entries(document.paths[path]?.[method]?.responses[status]?.links ?? {}).map(([name, link]) => {
          expect(link.parameters).toEqual({ txId: '$response.body#/id' });
          return [name, operationIds.get(link.operationId) ?? `unknown ${link.operationId}`];
        }),
      );
    expect(linksOf('post', '/v1/transactions', '201')).toEqual({
      Enlist: 'post /v1/transactions/{txId}/participants',
      Commit: 'post /v1/transactions/{txId}/commit',
      Abort: 'post /v1/transactions/{txId}/abort',
      Read: 'get /v1/transactions/{txId}',
      Outcome: 'get /v1/transactions/{txId}/outcome',
    });
    expect(Object.keys(linksOf('post', '/v1/transactions/{txId}/participants', '201'))).toEqual([
      'Enlist',
      'Commit',
      'Abort',
      'Read',
    ]);
    expect(linksOf('post', '/v1/transactions/{txId}/commit', '200')['Read']).toBe(
      'get /v1/transactions/{txId}',
    );
  });

  it('request bodies refuse undeclared fields, as the validation pipe does; free-form fields stay free', async () => {
    const { components } = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      components: { schemas: Record<string, SchemaLike> };
    }>();
    for (const name of [
      'BeginTransactionDto',
      'ParticipantDto',
      'ResolveTransactionDto',
      'RetryTransactionDto',
      'LeadershipTransferDto',
      'AddMemberDto',
    ]) {
      expect(components.schemas[name]?.additionalProperties, name).toBe(false);
    }
    const begin = components.schemas['BeginTransactionDto']?.properties ?? {};
    expect(begin['metadata']?.additionalProperties).toMatchObject({ type: 'string' });
    const participant = components.schemas['ParticipantDto']?.properties ?? {};
    expect(participant['payload']).not.toHaveProperty('type');
    expect(participant['payload']).toMatchObject({ nullable: true });
    // Responses may grow fields; a client must ignore those it does not know.
    expect(components.schemas['TransactionDto']?.additionalProperties).toBeUndefined();
  });

  it('/docs serves the Swagger UI and its assets from this node, not a CDN', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).not.toMatch(/https?:\/\//);
    for (const asset of [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? '')) {
      const response = await t.app.inject({ method: 'GET', url: asset });
      expect(response.statusCode, asset).toBe(200);
      expect(response.rawPayload.length, asset).toBeGreaterThan(100);
    }
    const initializer = await t.app.inject({ method: 'GET', url: '/docs/swagger-initializer.js' });
    expect(initializer.body).toContain('"/openapi.json"');
  });
});
