// A short `npm run chaos` run: three coordinator processes and three bank processes, random
// transfers, three-bank transactions, client aborts and commit/abort races while every kind of
// fault runs once (leader, follower and two nodes killed, the leader paused, partitions both ways
// and one way, a bank killed before and after the decision, Kafka and PostgreSQL restarted);
// afterwards every transaction must have one outcome everywhere and the money must add up. It
// starts a Kafka broker and a PostgreSQL server of its own: the nemesis restarts them, which the
// other test files must not see.
import { expect, it } from 'vitest';
import { FAULT_KINDS, runChaos } from '../../scripts/chaos/run.mjs';
import { startStack } from '../../scripts/stack/stack.mjs';

it('a short chaos run with one fault of every kind ends with no violation', async () => {
  const report = (line: string): void => console.log(`[chaos] ${line}`);
  const stack = await startStack({ durable: false, crashSafeCommits: true, databaseUrl: undefined, report });
  let failed = true;
  try {
    const result = await runChaos(
      {
        transactions: 100,
        clients: 4,
        seed: 2,
        faults: FAULT_KINDS,
        faultsPerKind: 1,
        // Caps the run if a fault hangs. One of each takes about a minute and a half on a quiet
        // 2-core machine, mostly the two bank restarts (a restarted bank waits for Kafka to drop
        // its killed consumer) and the Kafka restart; several times that under other load.
        durationSeconds: 400,
        faultGapMs: [1_000, 2_000],
        bankNames: ['bank-a', 'bank-b', 'bank-c'],
      },
      stack,
      report,
      new AbortController().signal,
    );
    const summary = result.summary.join('\n');
    console.log(summary);
    expect(summary).toContain(`faults: ${FAULT_KINDS.length} of ${FAULT_KINDS.length} planned`);
    expect(result.harnessFailure, summary).toBeNull();
    expect(result.violations, summary).toEqual([]);
    expect(result.committed, summary).toBeGreaterThan(10);
    expect(result.aborted, summary).toBeGreaterThan(0);
    failed = false;
  } finally {
    await stack.stop({ keepLogs: failed });
    if (failed) console.log(`[chaos] server logs kept in ${stack.directory}`);
  }
}, 600_000);
