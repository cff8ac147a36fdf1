// `npm run bench -- --dtm` against the real thing: DTM built from its Go module (once per machine;
// a few minutes the first time), its store on the stack's PostgreSQL, two no-op branch processes,
// one short level in each mode. Proves that the baseline measures DTM running sagas to the end,
// not a DTM that refuses or skips them; the numbers come from `npm run bench` on a quiet machine.
import { afterAll, expect, inject, it } from 'vitest';
import pg from 'pg';
import { databaseUrl, dropDatabase } from '../../scripts/stack/databases.mjs';
import { buildDtm, DtmBaselineRun } from '../../scripts/bench/dtm.mjs';
import { parseBenchArguments, type BenchOptions } from '../../scripts/bench/options.mjs';

const stack = inject('stack');
const runId = `t${Date.now().toString(36)}`;
/** Well below what DTM reaches at 2 clients here (300-450 sagas/s). */
const PACED_RATE = 50;
const databases = ['durable', 'default'].map((mode) => `bench_dtm_${runId}_${mode}`);
afterAll(async () => {
  for (const name of databases) await dropDatabase(stack.databaseUrl, name);
});

it(
  'runs sagas of two no-op branches through DTM to the end, durable and with its default',
  async () => {
    const options = parseBenchArguments([
      '--clients',
      '2',
      '--duration',
      '2',
      '--warmup',
      '0',
      '--stack-warmup',
      '1',
      '--dtm',
    ]) as BenchOptions;
    const say = (line: string): void => console.log(`[bench] ${line}`);
    const run = await DtmBaselineRun.start(
      buildDtm(say),
      options,
      stack,
      runId,
      say,
      new AbortController().signal,
    );
    try {
      await run.measure(2);
      // Verdict's half-load level is paced: DTM is then offered the same rate by as many clients.
      await run.measure(2, PACED_RATE);
    } finally {
      await run.stop();
    }
    const baseline = run.result();
    expect(baseline.levels.map((level) => [level.mode, level.clients])).toEqual([
      ['durable', 2],
      ['default', 2],
    ]);
    expect(baseline.halfLoad?.ratePerSecond).toBe(PACED_RATE);
    for (const level of baseline.halfLoad?.levels ?? []) {
      expect(level.failed, JSON.stringify(level.failures)).toBe(0);
      // Paced, not closed loop: near the offered rate, far below what 2 clients reach above.
      expect(level.committed).toBeGreaterThan(PACED_RATE * level.seconds * 0.8);
      expect(level.committedPerSecond).toBeLessThan(PACED_RATE * 1.1);
    }
    expect(baseline.halfLoad?.levels.map((level) => level.mode)).toEqual(['durable', 'default']);
    for (const [index, level] of baseline.levels.entries()) {
      expect(level.failed, JSON.stringify(level.failures)).toBe(0);
      expect(level.committed).toBeGreaterThan(0);
      expect(level.latency?.p50Ms).toBeGreaterThan(0);
      expect(level.cpu.map((entry) => entry.name)).toEqual([
        'dtm',
        'branch 1',
        'branch 2',
        'postgres',
        'load generator',
      ]);
      for (const entry of level.cpu) expect(entry.secondsPerTransaction, entry.name).toBeGreaterThan(0);

      // DTM's own store: every saga answered as done is recorded as succeeded, both actions run
      // and neither compensation. The durable mode wrote each action's status before it answered;
      // the default writes them in batches every 200 ms and drops the last batch when stopped, so
      // some of its actions still read `prepared` (their sagas did succeed: DTM goes by the global).
      const client = new pg.Client({
        connectionString: databaseUrl(stack.databaseUrl, databases[index] ?? ''),
      });
      await client.connect();
      try {
        const globals = await client.query<{ status: string; count: string }>(
          'SELECT status, count(*) FROM trans_global GROUP BY status',
        );
        const statuses = Object.fromEntries(globals.rows.map((row) => [row.status, Number(row.count)]));
        expect(Object.keys(statuses), level.mode).toEqual(['succeed']);
        const sagas = statuses['succeed'] ?? 0;
        const paced = baseline.halfLoad?.levels.find((candidate) => candidate.mode === level.mode);
        expect(sagas).toBeGreaterThanOrEqual(level.committed + (paced?.committed ?? 0));
        const branches = await client.query<{ op: string; status: string; count: string }>(
          'SELECT op, status, count(*) FROM trans_branch_op GROUP BY op, status',
        );
        const count = (op: string, status: string): number =>
          Number(branches.rows.find((row) => row.op === op && row.status === status)?.count ?? 0);
        // Nothing else: no failed action, no compensation run.
        expect(branches.rows.reduce((sum, row) => sum + Number(row.count), 0)).toBe(4 * sagas);
        expect(count('compensate', 'prepared'), level.mode).toBe(2 * sagas);
        expect(count('action', 'succeed') + count('action', 'prepared'), level.mode).toBe(2 * sagas);
        if (level.mode === 'durable') expect(count('action', 'prepared')).toBe(0);
      } finally {
        await client.end();
      }
    }
  },
  20 * 60_000,
);
