import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Post, Req, type INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { uuidv7 } from '@verdict/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorClient } from '../coordinator-client';
import { Enlist, EnlistInterceptor, type EnlistableRequest } from './enlist.interceptor';
import { VERDICT_PARTICIPANT_OPTIONS } from './tokens';

@Controller('credits')
class CreditsController {
  @Post()
  @Enlist((request) => ({ credit: (request as EnlistableRequest & { body: unknown }).body }))
  credit(@Req() request: EnlistableRequest): { txId: string | null } {
    return { txId: request.verdictTxId ?? null };
  }
}

describe('@Enlist()', () => {
  let app: INestApplication;
  let coordinator: Server;
  let answerStatus = 200;
  const enlisted: { url: string; body: unknown }[] = [];

  beforeAll(async () => {
    coordinator = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        enlisted.push({ url: request.url ?? '', body: JSON.parse(body) as unknown });
        const answer =
          answerStatus === 200 ? { id: 'x' } : { code: 'TX_NOT_ACTIVE', detail: 'transaction is PREPARING' };
        response.writeHead(answerStatus, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => coordinator.listen(0, '127.0.0.1', resolve));
    const { port } = coordinator.address() as AddressInfo;
    const moduleRef = await Test.createTestingModule({
      controllers: [CreditsController],
      providers: [
        EnlistInterceptor,
        { provide: VERDICT_PARTICIPANT_OPTIONS, useValue: { name: 'bank-b' } },
        {
          provide: CoordinatorClient,
          useValue: new CoordinatorClient({
            coordinatorUrl: `http://127.0.0.1:${port}`,
            apiKey: 'k',
            requestTimeoutMs: 2_000,
          }),
        },
      ],
    }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    await app.init();
    await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app.close();
    await new Promise<void>((resolve) => coordinator.close(() => resolve()));
  });

  const post = (headers: Record<string, string>) =>
    (app as NestFastifyApplication)
      .getHttpAdapter()
      .getInstance()
      .inject({
        method: 'POST',
        url: '/credits',
        headers: { 'content-type': 'application/json', ...headers },
        payload: { amount: 5 },
      });

  it('enlists the participant with a payload built from the request, then runs the handler', async () => {
    const txId = uuidv7();
    const response = await post({ 'verdict-transaction': txId });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ txId });
    expect(enlisted.at(-1)).toEqual({
      url: `/v1/transactions/${txId}/participants`,
      body: { name: 'bank-b', payload: { credit: { amount: 5 } } },
    });
  });

  it('runs the handler outside any transaction when the header is absent', async () => {
    const before = enlisted.length;
    const response = await post({});
    expect(response.json()).toEqual({ txId: null });
    expect(enlisted).toHaveLength(before);
  });

  it('refuses a malformed header with 400, and passes on the coordinator refusal', async () => {
    const malformed = await post({ 'verdict-transaction': 'tx-1' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({
      message: expect.stringMatching(/must be a transaction id/) as unknown,
    });
    answerStatus = 409;
    const refused = await post({ 'verdict-transaction': uuidv7() });
    answerStatus = 200;
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'TX_NOT_ACTIVE' });
  });
});
