// Snapshots taken by real coordinator processes (encoded a slice at a time, saved in the
// background) and a whole cluster restarted from them. A snapshot every 20 entries: a few dozen
// transactions make several per node. After the restart, every node's engine starts from its
// newest snapshot, so the idempotency keys of the earlier transactions exist only there: sending
// each request again must find its transaction and answer its decision.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDatabase, kafkaBrokers, uniqueName, type TestDatabase } from '../support/stack';
import { CoordinatorCluster, eventually, SERVICE_KEY } from '../support/coordinator-cluster';
import { startScriptedParticipant, type ScriptedParticipant } from '../support/scripted-participant';

interface TxView {
  id: string;
  decision: { outcome: 'COMMIT' | 'ABORT'; raftIndex: number } | null;
}

const TRANSACTIONS = 40;
const SNAPSHOT_EVERY_ENTRIES = 20;

let database: TestDatabase;
let cluster: CoordinatorCluster;
let banks: ScriptedParticipant[];

beforeAll(async () => {
  database = await createDatabase('snapshots');
  cluster = await CoordinatorCluster.start({
    kafkaBrokers: kafkaBrokers(),
    databaseUrl: database.url,
    environment: { VERDICT_SNAPSHOT_EVERY_ENTRIES: String(SNAPSHOT_EVERY_ENTRIES) },
  });
  banks = await Promise.all(
    ['bank-a', 'bank-b'].map((name) => startScriptedParticipant(uniqueName(name), kafkaBrokers())),
  );
  await cluster.waitForLeader(60_000);
}, 120_000);

afterAll(async () => {
  await Promise.all((banks ?? []).map((bank) => bank.handle.stop()));
  await cluster?.stop();
  await database?.drop();
});

function snapshotFiles(dataDirectory: string): string[] {
  try {
    return readdirSync(join(dataDirectory, 'snapshots')).filter((name) => name.endsWith('.snap'));
  } catch {
    return [];
  }
}

it('a cluster restarted from its snapshots still knows every idempotency key and decision', async () => {
  const body = {
    timeoutMs: 5_000,
    participants: banks.map((bank) => ({ name: bank.name, payload: {} })),
    commit: 'decision',
  };
  // As a client would: a 503 (no leader yet) is asked again.
  const begin = async (key: string) => {
    const node = await cluster.waitForLeader(60_000);
    return eventually(
      async () => {
        const answer = await cluster.request<TxView>(node, 'POST', '/v1/transactions', body, SERVICE_KEY, {
          'idempotency-key': key,
        });
        return answer.status === 503 ? undefined : answer;
      },
      30_000,
      `an answer to the begin with key ${key}`,
    );
  };
  const answered: { key: string; tx: TxView }[] = [];
  for (let round = 0; round < TRANSACTIONS; round += 1) {
    const key = `snapshots-${round}-${Date.now()}`;
    const first = await begin(key);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.decision?.outcome).toBe('COMMIT');
    answered.push({ key, tx: first.body });
  }
  for (const node of cluster.nodes) {
    await eventually(
      () => Promise.resolve(snapshotFiles(node.dataDirectory).length > 0 ? true : undefined),
      20_000,
      `a snapshot in ${node.nodeId}'s data directory`,
    );
  }

  for (const node of cluster.nodes) await cluster.kill(node);
  for (const node of cluster.nodes) cluster.startNode(node);
  for (const { key, tx } of answered) {
    const again = await begin(key);
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect({ id: again.body.id, decision: again.body.decision }).toEqual({
      id: tx.id,
      decision: tx.decision,
    });
  }
}, 180_000);
