// End to end: a real transfer through the real coordinator. Three coordinator processes (Raft over
// TCP, PostgreSQL history), two participant-demo bank processes on their own databases, the real
// broker. Money moves only through the banks' REST API; the test reads each bank's database
// directly to check what PostgreSQL holds: balances, ledger rows and prepared transactions.
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gidLiteral, gidPrefix } from '../../apps/participant-demo/src/ledger/postgres';
import { CoordinatorCluster, eventually, SERVICE_KEY } from '../support/coordinator-cluster';
import { createDatabase, kafkaBrokers, uniqueName, type TestDatabase } from '../support/stack';
import { DemoProcess } from './participant/demo-process';

/** What the coordinator's built main.js needs next to it: CoordinatorCluster builds dist/. */
const DIST = join(__dirname, '..', '..', 'dist');
const OPENING = { alice: 10_000, bob: 5_000 } as const;
/** Delivery of a decision to both banks, under the load of a shared 2-core machine. */
const SETTLE_MS = 45_000;

interface BankUnderTest {
  readonly name: string;
  readonly database: TestDatabase;
  readonly observer: pg.Pool;
  process: DemoProcess;
}

interface TransactionView {
  readonly state: string;
  readonly decision: { readonly outcome: string } | null;
  readonly participants: readonly { name: string; vote: string | null; ack: boolean }[];
}

let history: TestDatabase;
let cluster: CoordinatorCluster;
let bankA: BankUnderTest;
let bankB: BankUnderTest;

function startBankProcess(name: string, database: TestDatabase): Promise<DemoProcess> {
  return DemoProcess.start(DIST, {
    VERDICT_PARTICIPANT_NAME: name,
    KAFKA_BROKERS: kafkaBrokers().join(','),
    DATABASE_URL: database.url,
    // Any node: a follower forwards the bank's begin and commit to the leader.
    VERDICT_COORDINATOR_URL: cluster.nodes[0]?.url ?? '',
    VERDICT_API_KEY: SERVICE_KEY,
    LOG_LEVEL: 'info',
  });
}

async function startBank(prefix: string): Promise<BankUnderTest> {
  const name = uniqueName(prefix);
  const database = await createDatabase(prefix.replaceAll('-', '_'));
  const observer = new pg.Pool({ connectionString: database.url, max: 2 });
  return { name, database, observer, process: await startBankProcess(name, database) };
}

async function preparedTxIds(bank: BankUnderTest): Promise<string[]> {
  const result = await bank.observer.query<{ gid: string }>(
    'SELECT gid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY gid',
  );
  return result.rows.map((row) => row.gid.replace(gidPrefix(bank.name), ''));
}

async function ledgerRows(bank: BankUnderTest, txId: string): Promise<{ account: string; amount: number }[]> {
  const result = await bank.observer.query<{ account_id: string; amount: string }>(
    'SELECT account_id, amount FROM ledger_entries WHERE tx_id = $1 ORDER BY id',
    [txId],
  );
  return result.rows.map((row) => ({ account: row.account_id, amount: Number(row.amount) }));
}

async function balances(): Promise<{ alice: number; bob: number }> {
  const [alice, bob] = await Promise.all([
    bankA.observer.query<{ balance: string }>("SELECT balance FROM accounts WHERE id = 'alice'"),
    bankB.observer.query<{ balance: string }>("SELECT balance FROM accounts WHERE id = 'bob'"),
  ]);
  return { alice: Number(alice.rows[0]?.balance), bob: Number(bob.rows[0]?.balance) };
}

async function transaction(txId: string): Promise<TransactionView> {
  const leader = await cluster.waitForLeader(30_000);
  const result = await cluster.request<TransactionView>(leader, 'GET', `/v1/transactions/${txId}`);
  expect(result.status, JSON.stringify(result.body)).toBe(200);
  return result.body;
}

/** Polls until nothing is prepared in either bank and the balances are `expected`. */
async function settled(expected: { alice: number; bob: number }): Promise<void> {
  await eventually(
    async () => {
      const [preparedA, preparedB, now] = await Promise.all([
        preparedTxIds(bankA),
        preparedTxIds(bankB),
        balances(),
      ]);
      return preparedA.length === 0 &&
        preparedB.length === 0 &&
        now.alice === expected.alice &&
        now.bob === expected.bob
        ? true
        : undefined;
    },
    SETTLE_MS,
    `both banks settling at ${JSON.stringify(expected)}`,
  );
}

beforeAll(async () => {
  history = await createDatabase('coordinator_history');
  cluster = await CoordinatorCluster.start({ kafkaBrokers: kafkaBrokers(), databaseUrl: history.url });
  bankA = await startBank('bank-a');
  bankB = await startBank('bank-b');
  await cluster.waitForLeader(60_000);
  expect((await bankA.process.post('/accounts', { id: 'alice', openingBalance: OPENING.alice })).status).toBe(
    201,
  );
  expect((await bankB.process.post('/accounts', { id: 'bob', openingBalance: OPENING.bob })).status).toBe(
    201,
  );
}, 180_000);

afterAll(async () => {
  for (const bank of [bankA, bankB]) {
    if (bank === undefined) continue;
    // A stopped process ignores SIGTERM until it is continued.
    bank.process.child.kill('SIGCONT');
    await bank.process.stop();
    // A prepared transaction left by a failed test holds locks and blocks DROP DATABASE.
    for (const txId of await preparedTxIds(bank)) {
      await bank.observer.query(`ROLLBACK PREPARED ${gidLiteral(bank.name, txId)}`);
    }
    await bank.observer.end();
    await bank.database.drop();
  }
  await cluster?.stop();
  await history?.drop();
}, 60_000);

describe('a transfer between two banks through the coordinator cluster', () => {
  it('reports itself live and ready (its database answers) for orchestrators', async () => {
    for (const bank of [bankA, bankB]) {
      const live = await fetch(`${bank.process.url}/health/live`);
      const ready = await fetch(`${bank.process.url}/health/ready`);
      expect(live.status).toBe(200);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
    }
  });

  it('opening an account that exists is refused and leaves its balance alone', async () => {
    const again = await bankA.process.post('/accounts', { id: 'alice', openingBalance: 1 });
    expect(again.status).toBe(409);
    expect(again.body['code']).toBe('ACCOUNT_EXISTS');
    expect(await bankA.process.balance('alice')).toBe(OPENING.alice);
  });

  it('commits: the money leaves one bank and arrives in the other, with a ledger row in each', async () => {
    const transfer = await bankA.process.post('/transfers', {
      fromAccount: 'alice',
      toBank: bankB.name,
      toAccount: 'bob',
      amount: 2_500,
    });
    expect(transfer.status, JSON.stringify(transfer.body)).toBe(201);
    expect(transfer.body['outcome']).toBe('COMMIT');
    const txId = String(transfer.body['txId']);

    await settled({ alice: 7_500, bob: 7_500 });
    expect(await ledgerRows(bankA, txId)).toEqual([{ account: 'alice', amount: -2_500 }]);
    expect(await ledgerRows(bankB, txId)).toEqual([{ account: 'bob', amount: 2_500 }]);
    await eventually(
      async () => ((await transaction(txId)).state === 'COMMITTED' ? true : undefined),
      SETTLE_MS,
      `${txId} COMMITTED at the coordinator`,
    );
  });

  it('aborts for lack of funds: nothing moves and no row is written anywhere', async () => {
    const transfer = await bankA.process.post('/transfers', {
      fromAccount: 'alice',
      toBank: bankB.name,
      toAccount: 'bob',
      amount: 1_000_000,
    });
    expect(transfer.status, JSON.stringify(transfer.body)).toBe(409);
    expect(transfer.body['code']).toBe('TRANSFER_ABORTED');
    expect(String(transfer.body['detail'])).toContain('insufficient funds in account alice');
    const txId = String(transfer.body['txId']);

    // bank-b voted YES and is rolled back by the ABORT: wait until that has happened too.
    await settled({ alice: 7_500, bob: 7_500 });
    expect(await ledgerRows(bankA, txId)).toEqual([]);
    expect(await ledgerRows(bankB, txId)).toEqual([]);
    const view = await transaction(txId);
    expect(view.decision?.outcome).toBe('ABORT');
    expect(view.participants.find((participant) => participant.name === bankA.name)?.vote).toBe('NO');
  });

  it('a bank killed -9 right after its YES vote finishes the transaction as decided once restarted', async () => {
    // bank-a is stopped so that no decision can exist while bank-b prepares and votes: the kill
    // lands between bank-b's vote and the decision, every time.
    bankA.process.child.kill('SIGSTOP');
    const transfer = bankB.process
      .post('/transfers', {
        fromAccount: 'bob',
        toBank: bankA.name,
        toAccount: 'alice',
        amount: 1_000,
        timeoutMs: 120_000,
      })
      .then(
        (response) => ({ answered: response }),
        (error: unknown) => ({ failed: error }),
      );
    const [txId] = await eventually(
      async () => {
        const prepared = await preparedTxIds(bankB);
        return prepared.length === 1 ? prepared : undefined;
      },
      SETTLE_MS,
      'bank-b holding the transfer prepared',
    );
    if (txId === undefined) throw new Error('no prepared transaction');
    await eventually(
      async () => {
        const view = await transaction(txId);
        return view.participants.find((participant) => participant.name === bankB.name)?.vote === 'YES'
          ? view
          : undefined;
      },
      SETTLE_MS,
      "the coordinator recording bank-b's YES",
    );
    await bankB.process.kill9();
    // The client that asked bank-b for the transfer never hears back: the process died mid-request.
    expect(await transfer).toHaveProperty('failed');
    expect(await preparedTxIds(bankB)).toEqual([txId]);

    bankA.process.child.kill('SIGCONT');
    const decided = await eventually(
      async () => {
        const view = await transaction(txId);
        return view.decision === null ? undefined : view;
      },
      SETTLE_MS,
      `a decision for ${txId}`,
    );
    expect(decided.decision?.outcome).toBe('COMMIT');
    // bank-a applies it; bank-b, down, still holds its share prepared.
    await eventually(
      async () => ((await balances()).alice === 8_500 ? true : undefined),
      SETTLE_MS,
      'bank-a applying the COMMIT',
    );
    expect(await preparedTxIds(bankB)).toEqual([txId]);
    expect((await balances()).bob).toBe(7_500);

    bankB.process = await startBankProcess(bankB.name, bankB.database);
    await settled({ alice: 8_500, bob: 6_500 });
    expect(await ledgerRows(bankA, txId)).toEqual([{ account: 'alice', amount: 1_000 }]);
    expect(await ledgerRows(bankB, txId)).toEqual([{ account: 'bob', amount: -1_000 }]);
    await eventually(
      async () => ((await transaction(txId)).state === 'COMMITTED' ? true : undefined),
      SETTLE_MS,
      `${txId} COMMITTED at the coordinator once bank-b acknowledged`,
    );
    const { alice, bob } = await balances();
    expect(alice + bob).toBe(OPENING.alice + OPENING.bob);
  });
});
