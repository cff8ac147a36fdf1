import { createServer, connect, type Server, type Socket } from 'node:net';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome } from '@verdict/protocol';
import { createDatabase, type TestDatabase } from '../../../../test/support/stack.js';
import { Archiver } from './archiver';
import { abortedTransaction, finishedTransaction } from './finished-transaction.fixture';
import { HistoryDatabase, type HistoryDatabaseOptions } from './history-database';
import { HistoryUnavailableError, InvalidHistoryCursorError } from './history-store';
import { PostgresHistoryStore } from './postgres-history-store';

const databaseOptions = (url: string): HistoryDatabaseOptions => ({
  url,
  poolSize: 4,
  connectTimeoutMs: 2_000,
  statementTimeoutMs: 10_000,
  reconnectDelayMs: 50,
  reconnectDelayMsMax: 200,
  applicationName: 'verdict-history-test',
});

async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('PostgresHistoryStore on the stack PostgreSQL', () => {
  let testDatabase: TestDatabase;
  let database: HistoryDatabase;
  let store: PostgresHistoryStore;
  let inspector: DataSource;

  beforeAll(async () => {
    testDatabase = await createDatabase('history');
    database = new HistoryDatabase(databaseOptions(testDatabase.url));
    await database.whenConnected();
    store = new PostgresHistoryStore(database);
    inspector = await new DataSource({ type: 'postgres', url: testDatabase.url, poolSize: 1 }).initialize();
  });

  afterAll(async () => {
    await inspector?.destroy();
    await database?.close();
    await testDatabase?.drop();
  });

  const count = async (sql: string, parameters: unknown[] = []): Promise<number> => {
    const rows = await inspector.query<{ count: string }[]>(sql, parameters);
    return Number(rows[0]?.count);
  };

  it('creates the schema on an empty database through the migration', async () => {
    const tables = await inspector.query<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((table) => table.table_name)).toEqual([
      'finished_transactions',
      'migrations',
      'transaction_branches',
    ]);
    const migrations = await inspector.query<{ name: string }[]>('SELECT name FROM migrations');
    expect(migrations.map((migration) => migration.name)).toEqual([
      'CreateHistory1764064800000',
      'AddTimeline1764072000000',
    ]);
    // The schema itself refuses a state that contradicts the outcome.
    await expect(
      inspector.query(
        `INSERT INTO finished_transactions (tx_id, outcome, state, cause, reason, created_at, decided_at, finished_at, deadline, metadata, decision_raft_index, decision_raft_term)
         VALUES (gen_random_uuid(), 'ABORT', 'COMMITTED', 'VOTES', 'x', now(), now(), now(), now(), '{}', 1, 1)`,
      ),
    ).rejects.toThrow(/finished_transactions_outcome_matches_state/);
  });

  it('archives a transaction once however often it is archived, and reads it back unchanged', async () => {
    const record = finishedTransaction({ createdAtMs: Date.UTC(2026, 0, 1), idempotencyKey: 'order-17' });
    await store.archive([record]);
    await store.archive([record]);
    await store.archive([{ ...record, decision: { ...record.decision, reason: 'a different reason' } }]);

    expect(await count('SELECT count(*) FROM finished_transactions WHERE tx_id = $1', [record.txId])).toBe(1);
    expect(await count('SELECT count(*) FROM transaction_branches WHERE tx_id = $1', [record.txId])).toBe(2);
    expect(await store.find(record.txId)).toEqual(record);
  });

  it('archives a large batch in one go, nulls, quotes and JSON included, and reads each row back', async () => {
    // Far more bind values than PostgreSQL's 65,535 if every row carried its own.
    const records = Array.from({ length: 5_000 }, (_, index) =>
      index % 2 === 0
        ? finishedTransaction({
            createdAtMs: Date.UTC(2026, 1, 1) + index,
            metadata: { order: `"${index}",\\{}` },
          })
        : abortedTransaction(Date.UTC(2026, 1, 1) + index),
    );
    await store.archive(records);
    const ids = records.map((record) => record.txId);
    expect(
      await count('SELECT count(*) FROM finished_transactions WHERE tx_id = ANY($1::uuid[])', [ids]),
    ).toBe(records.length);
    for (const record of [records[0], records[1], records[4_999]]) {
      if (record !== undefined) expect(await store.find(record.txId)).toEqual(record);
    }
  });

  it('the archiver stores the timeline and ends it with ARCHIVED, stamped when it wrote the row', async () => {
    const archiver = new Archiver(store, {
      capacity: 10,
      batchSizeMax: 10,
      lingerMs: 0,
      retryDelayMs: 50,
      retryDelayMsMax: 200,
    });
    const archived: string[] = [];
    archiver.onArchived((txId) => archived.push(txId));
    const record = finishedTransaction({ createdAtMs: Date.UTC(2026, 0, 4) });
    const beforeMs = Date.now();
    try {
      expect(archiver.offer(record)).toBe('queued');
      await waitFor(() => archived.length === 1, 'the archive write');
    } finally {
      await archiver.close();
    }
    const afterMs = Date.now();

    const found = await store.find(record.txId);
    expect(found?.timeline.slice(0, -1)).toEqual(record.timeline);
    const last = found?.timeline.at(-1);
    expect(last).toMatchObject({
      kind: 'ARCHIVED',
      participant: null,
      detail: 'archived to history',
      actor: null,
    });
    expect(last?.atMs).toBeGreaterThanOrEqual(beforeMs);
    expect(last?.atMs).toBeLessThanOrEqual(afterMs);
    // The DECISION keeps its Raft position through jsonb.
    expect(found?.timeline.find((event) => event.kind === 'DECISION')).toMatchObject({
      raftIndex: 42,
      raftTerm: 3,
    });
  });

  it('a row archived before timelines were kept reads back with a timeline rebuilt from its columns', async () => {
    const createdAtMs = Date.UTC(2026, 0, 5);
    const txId = finishedTransaction({ createdAtMs }).txId;
    // As the first migration's schema wrote rows: no timeline column in the INSERT.
    await inspector.query(
      `INSERT INTO finished_transactions (tx_id, outcome, state, cause, reason, resolved_by, created_at, decided_at, finished_at, deadline, metadata, decision_raft_index, decision_raft_term)
       VALUES ($1, 'ABORT', 'ABORTED', 'OPERATOR', 'bank-b is gone', 'operator:ada', $2, $3, $4, $5, '{}', 9, 2)`,
      [
        txId,
        new Date(createdAtMs),
        new Date(createdAtMs + 60_000),
        new Date(createdAtMs + 61_000),
        new Date(createdAtMs + 5_000),
      ],
    );
    await inspector.query(
      `INSERT INTO transaction_branches (tx_id, participant, vote, vote_reason, voted_at, acked_at, attempts)
       VALUES ($1, 'bank-a', 'YES', NULL, $2, $3, 2)`,
      [txId, new Date(createdAtMs + 10), new Date(createdAtMs + 61_000)],
    );

    const found = await store.find(txId);
    expect(
      found?.timeline.map((event) => [event.atMs - createdAtMs, event.kind, event.participant, event.detail]),
    ).toEqual([
      [0, 'BEGIN', null, 'began (archived before timelines were kept)'],
      [10, 'VOTE', 'bank-a', 'voted YES'],
      [60_000, 'DECISION', null, 'resolved ABORT by an operator: bank-b is gone'],
      [61_000, 'ACK', 'bank-a', 'acknowledged ABORT'],
      [61_000, 'ARCHIVED', null, 'archived to history'],
    ]);
    expect(found?.timeline[2]).toMatchObject({ raftIndex: 9, raftTerm: 2, actor: 'operator:ada' });
  });

  it('refuses a timeline that is not what the coordinator writes, naming the transaction', async () => {
    const record = finishedTransaction({ createdAtMs: Date.UTC(2026, 0, 6) });
    await store.archive([record]);
    await inspector.query(
      `UPDATE finished_transactions SET timeline = '[{"kind":"REWOUND","atMs":1,"detail":"x"}]' WHERE tx_id = $1`,
      [record.txId],
    );
    await expect(store.find(record.txId)).rejects.toThrow(
      `transaction ${record.txId} has a corrupt timeline: event 0 has kind REWOUND`,
    );
    await expect(
      inspector.query(`UPDATE finished_transactions SET timeline = '{}' WHERE tx_id = $1`, [record.txId]),
    ).rejects.toThrow(/finished_transactions_timeline_is_array/);
  });

  it('answers outcome look-ups: COMMIT, ABORT, and null for an unknown transaction', async () => {
    const committed = finishedTransaction({ createdAtMs: Date.UTC(2026, 0, 2) });
    const aborted = abortedTransaction(Date.UTC(2026, 0, 3));
    await store.archive([committed, aborted]);
    const outcomes: Array<Outcome | null> = await Promise.all([
      store.outcomeOf(committed.txId),
      store.outcomeOf(aborted.txId),
      store.outcomeOf('0190a6f4-0000-7000-8000-000000000000'),
    ]);
    expect(outcomes).toEqual(['COMMIT', 'ABORT', null]);
    await expect(store.outcomeOf('tx-1')).rejects.toThrow('txId "tx-1" is not a UUID');
    expect(await store.find(aborted.txId)).toEqual(aborted);
  });

  it('lists newest first, page by page, with state, participant and age filters', async () => {
    // A database of its own, so the rows of the other tests do not count.
    const own = await createDatabase('history_list');
    const ownDatabase = new HistoryDatabase(databaseOptions(own.url));
    try {
      await ownDatabase.whenConnected();
      const listStore = new PostgresHistoryStore(ownDatabase);
      const base = Date.UTC(2026, 5, 1);
      const records = Array.from({ length: 7 }, (_, index) =>
        index % 3 === 2
          ? abortedTransaction(base + index * 60_000)
          : finishedTransaction({
              createdAtMs: base + index * 60_000,
              participants: [
                {
                  name: index % 2 === 0 ? 'bank-a' : 'ledger',
                  vote: 'YES',
                  voteReason: null,
                  votedAtMs: null,
                  ackedAtMs: null,
                  attempts: 1,
                  lastError: null,
                },
              ],
            }),
      );
      await listStore.archive(records);
      const newestFirst = records.map((record) => record.txId).reverse();

      const seen: string[] = [];
      let cursor: string | undefined;
      const pageSizes: number[] = [];
      do {
        const page = await listStore.list({ limit: 3, ...(cursor === undefined ? {} : { cursor }) });
        pageSizes.push(page.items.length);
        seen.push(...page.items.map((item) => item.txId));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      expect(pageSizes).toEqual([3, 3, 1]);
      expect(seen).toEqual(newestFirst);

      const aborted = await listStore.list({ state: 'ABORTED', limit: 50 });
      expect(aborted.items.map((item) => item.txId)).toEqual([records[5]?.txId, records[2]?.txId]);
      expect(aborted.nextCursor).toBeNull();
      const byOutcome = await listStore.list({ outcome: 'COMMIT', limit: 50 });
      expect(byOutcome.items).toHaveLength(5);

      // bank-a: the even committed ones (0, 4, 6) and both aborted ones (bank-a and bank-b).
      const bankA = await listStore.list({ participant: 'bank-a', limit: 2 });
      expect(bankA.items.map((item) => item.txId)).toEqual([records[6]?.txId, records[5]?.txId]);
      const bankANext = await listStore.list({
        participant: 'bank-a',
        limit: 50,
        cursor: bankA.nextCursor ?? '',
      });
      expect(bankANext.items.map((item) => item.txId)).toEqual([
        records[4]?.txId,
        records[2]?.txId,
        records[0]?.txId,
      ]);
      // Each listed transaction carries all its branches, not only the matching one.
      expect(bankANext.items[1]?.participants.map((branch) => branch.name)).toEqual(['bank-a', 'bank-b']);

      const older = await listStore.list({ createdBeforeMs: base + 2 * 60_000, limit: 50 });
      expect(older.items.map((item) => item.txId)).toEqual([records[1]?.txId, records[0]?.txId]);

      await expect(listStore.list({ limit: 3, cursor: 'bm90LWEtY3Vyc29y' })).rejects.toBeInstanceOf(
        InvalidHistoryCursorError,
      );
      await expect(listStore.list({ limit: 501 })).rejects.toThrow(/limit must be an integer from 1 to 500/);
      await expect(listStore.list({ limit: 5, createdBeforeMs: Number.NaN })).rejects.toThrow(
        /createdBeforeMs NaN is not a Unix time/,
      );
    } finally {
      await ownDatabase.close();
      await own.drop();
    }
  });
});

/**
 * A TCP relay to PostgreSQL on a port of its own that the test opens and closes, so the history
 * sees its database disappear and come back without stopping the shared server.
 */
class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async onFreePort(target: { host: string; port: number }): Promise<Relay> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const address = probe.address();
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    if (address === null || typeof address === 'string') throw new Error('no TCP port for the relay');
    return new Relay(address.port, target);
  }

  async open(): Promise<void> {
    if (this.server !== null) return;
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
  }

  /** Refuses new connections and cuts the open ones, as a crashed server would. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('Archiver while PostgreSQL is unreachable', () => {
  let testDatabase: TestDatabase;
  let relay: Relay;
  let database: HistoryDatabase;
  let archiver: Archiver;
  let inspector: DataSource;

  beforeAll(async () => {
    testDatabase = await createDatabase('archiver');
    const target = new URL(testDatabase.url);
    relay = await Relay.onFreePort({ host: target.hostname, port: Number(target.port) });
    const viaRelay = new URL(testDatabase.url);
    viaRelay.hostname = '127.0.0.1';
    viaRelay.port = String(relay.port);
    // Nothing listens on the relay's port yet: the database is "down" from the start.
    database = new HistoryDatabase(databaseOptions(viaRelay.toString()));
    database.start();
    archiver = new Archiver(new PostgresHistoryStore(database), {
      capacity: 100,
      batchSizeMax: 10,
      lingerMs: 0,
      retryDelayMs: 50,
      retryDelayMsMax: 200,
    });
    inspector = await new DataSource({ type: 'postgres', url: testDatabase.url, poolSize: 1 }).initialize();
  });

  afterAll(async () => {
    await archiver?.close();
    await database?.close();
    await relay?.close();
    await inspector?.destroy();
    await testDatabase?.drop();
  });

  it('retries while the database is down, catches up when it returns, and reports only written rows', async () => {
    const archived: string[] = [];
    // Started from inside the callback: the row must already be visible to another connection.
    const visibleWhenReported: Array<Promise<boolean>> = [];
    archiver.onArchived((txId) => {
      archived.push(txId);
      visibleWhenReported.push(
        inspector
          .query('SELECT 1 FROM finished_transactions WHERE tx_id = $1', [txId])
          .then((rows: unknown[]) => rows.length === 1),
      );
    });

    const first = [1, 2, 3].map((minute) =>
      finishedTransaction({ createdAtMs: Date.UTC(2026, 2, 1, 0, minute) }),
    );
    for (const record of first) expect(archiver.offer(record)).toBe('queued');
    await waitFor(() => archiver.backlog().consecutiveFailures >= 3, 'three failed writes');
    expect(archived).toEqual([]);
    expect(archiver.backlog()).toMatchObject({ queued: 3 });
    expect(archiver.backlog().lastError).toMatch(/history database is (unreachable|still connecting)/);
    expect(() => database.dataSource()).toThrow(HistoryUnavailableError);

    await relay.open();
    await waitFor(() => archived.length === 3, 'the backlog to be archived');
    expect(archived).toEqual(first.map((record) => record.txId));
    expect(archiver.backlog()).toMatchObject({ queued: 0, consecutiveFailures: 0, lastError: null });

    // Down again after having been connected: the pool's connections are cut.
    await relay.close();
    const second = finishedTransaction({ createdAtMs: Date.UTC(2026, 2, 1, 1, 0) });
    archiver.offer(second);
    await waitFor(() => archiver.backlog().consecutiveFailures >= 2, 'failed writes after the cut');
    expect(archived).toHaveLength(3);

    await relay.open();
    await waitFor(() => archived.length === 4, 'the second backlog to be archived');
    expect(await Promise.all(visibleWhenReported)).toEqual([true, true, true, true]);
    const rows = await inspector.query<{ count: string }[]>(
      'SELECT count(*) AS count FROM finished_transactions',
    );
    expect(Number(rows[0]?.count)).toBe(4);
  });
});
