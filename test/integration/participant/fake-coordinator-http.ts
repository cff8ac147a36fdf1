// A minimal HTTP stand-in for the coordinator's REST API, recording every call. It answers begin
// with a fresh id; commit is handed to the test (which runs two-phase commit over the Kafka wire);
// outcome answers from the decisions the test recorded.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newTxId } from './coordinator-wire';

export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
}

export interface BeginBody {
  readonly participants: { name: string; payload?: unknown }[];
}

export class FakeCoordinatorHttp {
  readonly calls: RecordedCall[] = [];
  /** What `POST /v1/transactions/{id}/commit` answers; the test runs the protocol in it. */
  onCommit: (txId: string, begin: BeginBody) => Promise<unknown> = () =>
    Promise.reject(new Error('no onCommit'));
  /** What `GET /v1/transactions/{id}/outcome` answers; unknown ids get `outcome: null` (undecided). */
  readonly outcomes = new Map<string, 'COMMIT' | 'ABORT'>();
  /** When set, the next request is cut off without an answer, as by a dead coordinator. */
  unreachable = false;
  private readonly begun = new Map<string, BeginBody>();
  private server: Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      void this.onRequest(request, response);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server === null ? resolve() : this.server.close(() => resolve()),
    );
  }

  private async onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body: unknown = text === '' ? null : JSON.parse(text);
    const path = request.url ?? '';
    this.calls.push({ method: request.method ?? '', path, headers: request.headers, body });
    if (this.unreachable) {
      request.socket.destroy();
      return;
    }
    const answer = (status: number, payload: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    const commit = /^\/v1\/transactions\/([0-9a-f-]{36})\/commit$/.exec(path);
    const outcome = /^\/v1\/transactions\/([0-9a-f-]{36})\/outcome$/.exec(path);
    if (request.method === 'POST' && path === '/v1/transactions') {
      const txId = newTxId();
      this.begun.set(txId, body as BeginBody);
      answer(201, { id: txId, state: 'ACTIVE' });
    } else if (request.method === 'POST' && commit?.[1] !== undefined) {
      const txId = commit[1];
      const begin = this.begun.get(txId);
      if (begin === undefined) return answer(404, { code: 'TX_NOT_FOUND', detail: `no transaction ${txId}` });
      answer(200, await this.onCommit(txId, begin));
    } else if (request.method === 'GET' && outcome?.[1] !== undefined) {
      answer(200, { txId: outcome[1], outcome: this.outcomes.get(outcome[1]) ?? null });
    } else {
      answer(404, { code: 'NOT_FOUND', detail: `${request.method} ${path}` });
    }
  }
}
