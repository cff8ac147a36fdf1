// kill -9 of a real participant-demo process while it holds transactions prepared: the restarted
// process finds them in pg_prepared_xacts and finishes each one as the coordinator decided, one
// learned over Kafka (OUTCOME_QUERY answered with COMMIT on its topic), one over REST (the
// coordinator's outcome endpoint, played by FakeCoordinatorHttp). The coordinator's side is
// played by the test (see participant-ledger.test.ts).
import { rmSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gidPrefix } from '../../apps/participant-demo/src/ledger/postgres';
import { createDatabase, kafkaBrokers, uniqueName, type TestDatabase } from '../support/stack.js';
import { CoordinatorWire, newTxId, prepareCommand } from './participant/coordinator-wire';
import { buildDemo, DemoProcess } from './participant/demo-process';
import { FakeCoordinatorHttp } from './participant/fake-coordinator-http';

describe('participant demo crash while prepared', () => {
  const bank = uniqueName('bank-crash');
  let buildDir: string;
  let database: TestDatabase;
  let observer: DataSource;
  let wire: CoordinatorWire;
  let coordinator: FakeCoordinatorHttp;
  let demo: DemoProcess | undefined;

  const preparedTxIds = async (): Promise<string[]> => {
    const rows = await observer.query<{ gid: string }[]>(
      'SELECT gid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY gid',
    );
    return rows.map((row) => row.gid.replace(gidPrefix(bank), ''));
  };
  const startDemo = (): Promise<DemoProcess> =>
    DemoProcess.start(buildDir, {
      VERDICT_PARTICIPANT_NAME: bank,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      DATABASE_URL: database.url,
      VERDICT_COORDINATOR_URL: coordinator.url,
      VERDICT_API_KEY: 'crash-test-service-key',
      LOG_LEVEL: 'info',
    });

  beforeAll(async () => {
    buildDir = buildDemo();
    database = await createDatabase('bank_crash');
    wire = await CoordinatorWire.start([bank]);
    coordinator = await new FakeCoordinatorHttp().start();
  });

  afterAll(async () => {
    await demo?.stop();
    if (observer?.isInitialized) {
      for (const txId of await preparedTxIds())
        await observer.query(`ROLLBACK PREPARED '${gidPrefix(bank)}${txId}'`);
      await observer.destroy();
    }
    await Promise.all([wire?.stop(), coordinator?.stop()]);
    await database?.drop();
    if (buildDir !== undefined) rmSync(buildDir, { recursive: true, force: true });
  });

  it('after kill -9 between PREPARE and the decision, the restarted process finishes both as decided', async () => {
    demo = await startDemo();
    observer = new DataSource({ type: 'postgres', url: database.url, poolSize: 2, connectTimeoutMS: 10_000 });
    await observer.initialize();
    // Two accounts: a prepared transaction keeps its row locks, so a second debit of the same
    // account would wait for the first and vote NO on the lock timeout.
    expect((await demo.post('/accounts', { id: 'carol', openingBalance: 1_000 })).status).toBe(201);
    expect((await demo.post('/accounts', { id: 'dave', openingBalance: 1_000 })).status).toBe(201);

    const committed = newTxId();
    const aborted = newTxId();
    await wire.send(
      prepareCommand(bank, committed, { debit: { account: 'carol', amount: 300 } }),
      prepareCommand(bank, aborted, { debit: { account: 'dave', amount: 200 } }),
    );
    for (const txId of [committed, aborted]) {
      expect(await wire.reply((r) => r.type === 'VOTE' && r.txId === txId)).toMatchObject({
        payload: { vote: 'YES' },
      });
    }

    await demo.kill9();
    expect(await preparedTxIds()).toEqual([committed, aborted].sort());

    // The coordinator decided while the bank was down: one outcome it answers over Kafka, the
    // other only over REST (the wire does not answer OUTCOME_QUERY for it).
    wire.decisions.set(committed, { outcome: 'COMMIT', term: 1 });
    coordinator.outcomes.set(aborted, 'ABORT');
    demo = await startDemo();

    const query = await wire.reply((r) => r.type === 'OUTCOME_QUERY' && r.txId === committed);
    expect(query).toMatchObject({ participant: bank, term: 0, payload: {} });
    expect(await wire.reply((r) => r.type === 'ACK' && r.txId === committed, 45_000)).toMatchObject({
      payload: { outcome: 'COMMIT' },
    });
    const deadline = Date.now() + 45_000;
    while ((await preparedTxIds()).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await preparedTxIds()).toEqual([]);
    expect(await demo.balance('carol')).toBe(700);
    expect(await demo.balance('dave')).toBe(1_000);
    const outcomeCall = coordinator.calls.find((call) => call.path === `/v1/transactions/${aborted}/outcome`);
    expect(outcomeCall?.headers['authorization']).toBe('Bearer crash-test-service-key');
    const rows = await observer.query<{ tx_id: string }[]>('SELECT tx_id FROM aborted_transactions');
    expect(rows.map((row) => row.tx_id)).toEqual([aborted]);
  });
});
