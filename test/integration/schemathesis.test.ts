// A short `npm run fuzz:rest`: schemathesis against the /openapi.json of a real three-node cluster
// (real Kafka and PostgreSQL), every check on, the stateful phase following the document's links
// (begin → enlist → commit/abort → read). Any 5xx, any response outside the documented statuses,
// content types and schemas, and any refused valid or accepted invalid request fails it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fuzzRest, serverErrorsOf } from '../../scripts/fuzz-rest/run.mjs';
import { ensureSchemathesis } from '../../scripts/schemathesis.mjs';
import { CoordinatorCluster, OPERATOR_KEY, SERVICE_KEY } from '../support/coordinator-cluster';
import { createDatabase, kafkaBrokers, type TestDatabase } from '../support/stack';

let database: TestDatabase;
let cluster: CoordinatorCluster;
let reports: string;

beforeAll(async () => {
  // The first run on a clone installs schemathesis (about 20 s); later runs find it installed.
  ensureSchemathesis((line) => console.log(`[schemathesis] ${line}`));
  reports = mkdtempSync(join(tmpdir(), 'verdict-schemathesis-'));
  database = await createDatabase('schemathesis');
  cluster = await CoordinatorCluster.start({ kafkaBrokers: kafkaBrokers(), databaseUrl: database.url });
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
  await database?.drop();
  rmSync(reports, { recursive: true, force: true });
});

it('schemathesis finds nothing: no 5xx, every response as documented, over every operation and the links', async () => {
  // Nodes boot slowly on a busy 2-core machine.
  const leader = await cluster.waitForLeader(120_000);
  const output: string[] = [];
  const result = await fuzzRest({
    baseUrl: leader.url,
    operatorKey: OPERATOR_KEY,
    serviceKey: SERVICE_KEY,
    // About 700 requests in all: 45 to 110 s on the shared 2-core machine, as its load varies.
    maxExamples: 8,
    seed: 20261125,
    workers: 2,
    reportDirectory: reports,
    output: (line) => output.push(line),
  });
  const summary = result.summary.join('\n');
  console.log(summary);
  const context = `${summary}\n\n${output.slice(-150).join('\n')}`;
  expect(result.failed, context).toBe(false);
  for (const { result: run } of result.runs) {
    expect(run.exitCode, context).toBe(0);
    expect(run.junit.failures + run.junit.errors, context).toBe(0);
    expect(run.junit.tests, context).toBeGreaterThan(0);
  }
  expect(serverErrorsOf(result.runs), context).toEqual([]);
  const operator = result.runs[0]?.result.requests;
  // The stateful phase ran and followed the links: transactions were begun, enlisted in and
  // committed (a commit answers 200 only for a transaction that exists).
  expect(operator?.byPhase['stateful'] ?? 0, context).toBeGreaterThan(20);
  expect(operator?.byOperation['POST /v1/transactions']?.[201] ?? 0, context).toBeGreaterThan(0);
  expect(
    operator?.byOperation['POST /v1/transactions/{txId}/participants']?.[201] ?? 0,
    context,
  ).toBeGreaterThan(0);
  expect(operator?.byOperation['POST /v1/transactions/{txId}/commit']?.[200] ?? 0, context).toBeGreaterThan(
    0,
  );
  expect(result.requests, context).toBeGreaterThan(300);
}, 600_000);
