import { Body, Controller, Get, NotFoundException, Post } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransferDto } from '../transfers/transfers.dto';
import { configureHttp } from './configure-http';
import { problem, RetryLaterException } from './problem-details';

@Controller()
class ProbeController {
  @Post('transfers')
  transfer(@Body() request: TransferDto): TransferDto {
    return request;
  }

  @Get('missing')
  missing(): never {
    throw new NotFoundException(problem('ACCOUNT_NOT_FOUND', 'account x does not exist', { account: 'x' }));
  }

  @Get('busy')
  busy(): never {
    throw new RetryLaterException('COORDINATOR_UNAVAILABLE', 'coordinator is unreachable; retry later', 2);
  }

  @Get('database-down')
  databaseDown(): never {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  }

  @Get('broken')
  broken(): never {
    throw new Error('database password is hunter2');
  }
}

describe('problem details (RFC 9457) for every error', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [ProbeController] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    configureHttp(app);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app.close();
  });

  const call = (method: 'GET' | 'POST', url: string, payload?: string) =>
    app
      .getHttpAdapter()
      .getInstance()
      .inject({
        method,
        url,
        headers: { 'content-type': 'application/json' },
        ...(payload === undefined ? {} : { payload }),
      });

  it('lists every bad field of a request body, with code VALIDATION_FAILED', async () => {
    const response = await call(
      'POST',
      '/transfers',
      JSON.stringify({ fromAccount: 'Alice!', toBank: 'bank-b', amount: 0.5, extra: 1 }),
    );
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = response.json<{ code: string; errors: { field: string }[]; type: string; title: string }>();
    expect(body).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      title: 'Bad request',
      instance: '/transfers',
    });
    expect(body.errors.map((error) => error.field).sort()).toEqual([
      'amount',
      'extra',
      'fromAccount',
      'toAccount',
    ]);
  });

  it('keeps the code, detail and extensions a handler threw', async () => {
    const response = await call('GET', '/missing');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      type: 'urn:verdict:problem:account-not-found',
      title: 'Not found',
      status: 404,
      detail: 'account x does not exist',
      code: 'ACCOUNT_NOT_FOUND',
      instance: '/missing',
      account: 'x',
    });
  });

  it('sends Retry-After with a 503', async () => {
    const response = await call('GET', '/busy');
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('2');
    expect(response.json()).toMatchObject({ code: 'COORDINATOR_UNAVAILABLE', retryAfterMs: 2_000 });
  });

  it('answers 503 DATABASE_UNAVAILABLE with Retry-After while the database cannot be reached', async () => {
    const response = await call('GET', '/database-down');
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE', retryAfterMs: 1_000 });
    expect(response.body).not.toContain('5432');
  });

  it('answers framework errors (unknown route, unparsable body) as problems too', async () => {
    const unknown = await call('GET', '/nowhere');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'NOT_FOUND' });
    const unparsable = await call('POST', '/transfers', '{"amount":');
    expect(unparsable.statusCode).toBe(400);
    expect(unparsable.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('hides the message of an unexpected error', async () => {
    const response = await call('GET', '/broken');
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({
      code: 'INTERNAL',
      detail: 'an unexpected error occurred; it has been logged',
    });
    expect(response.body).not.toContain('hunter2');
  });
});
