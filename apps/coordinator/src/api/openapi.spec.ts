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
