import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Module, type DynamicModule } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READINESS } from '../observability/readiness.port';
import { resolveInside } from './console.static';
import { COORDINATOR } from './coordinator.port';
import { createHttpApp } from './http-app';
import { InMemoryCoordinator } from './testing/in-memory-coordinator';
import { API_KEYS, asOperator, asService, ScriptedReadiness } from './testing/test-app';

let directory: string;
let built: NestFastifyApplication;
let missing: NestFastifyApplication;

async function appServing(consoleDirectory: string): Promise<NestFastifyApplication> {
  @Module({})
  class HostModule {}
  const host: DynamicModule = {
    module: HostModule,
    providers: [
      { provide: COORDINATOR, useValue: new InMemoryCoordinator('node-1') },
      { provide: READINESS, useValue: new ScriptedReadiness() },
    ],
    exports: [COORDINATOR, READINESS],
  };
  const app = await createHttpApp(host, {
    nodeId: 'node-1',
    apiKeys: API_KEYS,
    logLevel: 'silent',
    logDestination: new Writable({ write: (_chunk, _encoding, callback): void => callback() }),
    consoleDirectory,
  });
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'verdict-console-'));
  mkdirSync(join(directory, 'assets'));
  writeFileSync(join(directory, 'index.html'), '<!DOCTYPE html><script src="./assets/app-1a2b.js"></script>');
  writeFileSync(join(directory, 'assets', 'app-1a2b.js'), 'console.log("console");');
  writeFileSync(join(directory, 'assets', 'notes.txt'), 'not a console file type');
  built = await appServing(directory);
  missing = await appServing(join(directory, 'no-such-folder'));
}, 30_000); // two Nest apps: slow on a busy 2-core machine
afterAll(async () => {
  await Promise.all([built.close(), missing.close()]);
  rmSync(directory, { recursive: true, force: true });
});

describe('the operator console files', () => {
  it('/console/ serves index.html with no API key, a strict CSP and no caching', async () => {
    const page = await built.inject({ method: 'GET', url: '/console/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('assets/app-1a2b.js');
  });

  it('/console redirects to /console/ so relative asset paths resolve', async () => {
    const answer = await built.inject({ method: 'GET', url: '/console' });
    expect(answer.statusCode).toBe(302);
    expect(answer.headers['location']).toBe('/console/');
  });

  it('hashed assets come with their type and a long cache lifetime', async () => {
    const asset = await built.inject({ method: 'GET', url: '/console/assets/app-1a2b.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(asset.headers['cache-control']).toContain('immutable');
    expect(asset.body).toBe('console.log("console");');
  });

  it.each([
    ['an unknown file', '/console/assets/nothing.js'],
    ['a file type the console never ships', '/console/assets/notes.txt'],
    ['a path climbing out of the folder', '/console/..%2f..%2fetc%2fpasswd'],
  ])('%s is a 404', async (_case, url) => {
    const answer = await built.inject({ method: 'GET', url });
    expect(answer.statusCode).toBe(404);
    expect(answer.body).not.toContain('root:');
  });

  it('without a build the node still serves the API, and /console says to run npm run build', async () => {
    const page = await missing.inject({ method: 'GET', url: '/console/' });
    expect(page.statusCode).toBe(404);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('npm run build');
    const cluster = await missing.inject({ method: 'GET', url: '/v1/cluster', headers: asService });
    expect(cluster.statusCode).toBe(200);
  });
});

describe('resolveInside', () => {
  it('keeps paths inside the console folder', () => {
    expect(resolveInside('/srv/console', 'assets/a.js')).toBe('/srv/console/assets/a.js');
    expect(resolveInside('/srv/console', '../secrets.json')).toBeNull();
    expect(resolveInside('/srv/console', 'assets/../../x')).toBeNull();
    expect(resolveInside('/srv/console', '')).toBeNull();
    expect(resolveInside('/srv/console', 'a\0b')).toBeNull();
  });
});

describe('GET /v1/session', () => {
  it.each([
    ['service', asService],
    ['operator', asOperator],
  ])('tells a %s key its role and how its actions are recorded', async (role, headers) => {
    const answer = await built.inject({ method: 'GET', url: '/v1/session', headers });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({
      role,
      actor: expect.stringMatching(new RegExp(`^${role}:[0-9a-f]{12}$`)) as unknown,
    });
  });

  it('answers 401 without a key', async () => {
    const answer = await built.inject({ method: 'GET', url: '/v1/session' });
    expect(answer.statusCode).toBe(401);
    expect(answer.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
