import { randomUUID } from 'node:crypto';
import { DataSource, type QueryRunner } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type TestDatabase } from '../support/stack.js';

// PREPARE TRANSACTION takes its gid as a literal only (`PREPARE TRANSACTION $1` is a syntax
// error), so the id is checked before it is spliced into SQL.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
function gidOf(txId: string): string {
  if (!UUID.test(txId)) throw new Error(`transaction id ${txId} is not a lower-case UUID`);
  return `verdict:${txId}`;
}

describe('PostgreSQL prepared transactions through TypeORM', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  const runners: QueryRunner[] = [];

  const connection = async (): Promise<QueryRunner> => {
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    runners.push(runner);
    return runner;
  };
  const balanceOf = async (runner: QueryRunner, account: string): Promise<number | undefined> => {
    const rows = (await runner.query('SELECT balance FROM accounts WHERE id = $1', [account])) as {
      balance: string;
    }[];
    return rows[0] === undefined ? undefined : Number(rows[0].balance);
  };
  const preparedGids = async (runner: QueryRunner): Promise<string[]> => {
    const rows = (await runner.query(
      'SELECT gid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY gid',
    )) as { gid: string }[];
    return rows.map((row) => row.gid);
  };
  /** Inserts an account in a transaction of its own and prepares it; returns the gid. */
  const prepareInsert = async (account: string, balance: number): Promise<string> => {
    const gid = gidOf(randomUUID());
    const participant = await connection();
    await participant.query('BEGIN');
    await participant.query('INSERT INTO accounts (id, balance) VALUES ($1, $2)', [account, balance]);
    await participant.query(`PREPARE TRANSACTION '${gid}'`);
    return gid;
  };

  beforeAll(async () => {
    database = await createDatabase('prepared');
    dataSource = new DataSource({
      type: 'postgres',
      url: database.url,
      synchronize: false,
      entities: [],
      poolSize: 6,
      connectTimeoutMS: 10_000,
    });
    await dataSource.initialize();
    await dataSource.query(
      'CREATE TABLE accounts (id text PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0))',
    );
  });

  afterEach(async () => {
    await Promise.all(runners.splice(0).map((runner) => runner.release()));
  });

  afterAll(async () => {
    // A forgotten prepared transaction holds its locks and blocks DROP DATABASE.
    const leftovers = await dataSource.query<{ gid: string }[]>(
      'SELECT gid FROM pg_prepared_xacts WHERE database = current_database()',
    );
    for (const { gid } of leftovers) await dataSource.query(`ROLLBACK PREPARED '${gid}'`);
    await dataSource.destroy();
    await database.drop();
  });

  it('COMMIT PREPARED from another connection makes the prepared row visible to everyone', async () => {
    const gid = await prepareInsert('alice', 100);
    const coordinator = await connection();
    const observer = await connection();

    expect(await preparedGids(observer)).toEqual([gid]);
    expect(await balanceOf(observer, 'alice')).toBeUndefined();

    await coordinator.query(`COMMIT PREPARED '${gid}'`);

    expect(await preparedGids(observer)).toEqual([]);
    expect(await balanceOf(observer, 'alice')).toBe(100);
  });

  it('ROLLBACK PREPARED from another connection discards the prepared row', async () => {
    const gid = await prepareInsert('bob', 50);
    const coordinator = await connection();
    const observer = await connection();

    expect(await preparedGids(observer)).toEqual([gid]);
    expect(await balanceOf(observer, 'bob')).toBeUndefined();

    await coordinator.query(`ROLLBACK PREPARED '${gid}'`);

    expect(await preparedGids(observer)).toEqual([]);
    expect(await balanceOf(observer, 'bob')).toBeUndefined();
    // Gone, not merely hidden: the key is free again.
    await observer.query('INSERT INTO accounts (id, balance) VALUES ($1, $2)', ['bob', 7]);
    expect(await balanceOf(observer, 'bob')).toBe(7);
  });

  it('a prepared transaction keeps its row locks until it is finished', async () => {
    await dataSource.query('INSERT INTO accounts (id, balance) VALUES ($1, $2)', ['carol', 10]);
    const gid = gidOf(randomUUID());
    const participant = await connection();
    await participant.query('BEGIN');
    await participant.query('UPDATE accounts SET balance = balance - 10 WHERE id = $1', ['carol']);
    await participant.query(`PREPARE TRANSACTION '${gid}'`);

    const other = await connection();
    await other.query("SET lock_timeout = '200ms'");
    await expect(
      other.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', ['carol']),
    ).rejects.toMatchObject({ driverError: { code: '55P03' } }); // lock_not_available

    await other.query(`COMMIT PREPARED '${gid}'`);
    expect(await balanceOf(other, 'carol')).toBe(0);
  });

  it('the gid cannot be a bind parameter, which is why it is validated and written literally', async () => {
    const runner = await connection();
    await runner.query('BEGIN');
    await expect(runner.query('PREPARE TRANSACTION $1', [gidOf(randomUUID())])).rejects.toThrow(
      /syntax error/,
    );
    await runner.query('ROLLBACK');
    expect(() => gidOf("x'; DROP TABLE accounts; --")).toThrow(/not a lower-case UUID/);
  });
});
