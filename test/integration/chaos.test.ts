// A short `npm run chaos` run on the stack of the global setup: three coordinator processes and
// three bank processes, random transfers between banks while the leader and a follower are
// killed, the leader is paused past the election timeout and a bank is killed -9; afterwards
// every transaction must have one outcome everywhere and the money must add up.
import { expect, inject, it } from 'vitest';
import { FAULT_KINDS, runChaos } from '../../scripts/chaos/run.mjs';
import { uniqueName } from '../support/stack';

it('a short chaos run with every kind of fault ends with no violation', async () => {
  const result = await runChaos(
    {
      transactions: 100,
      clients: 4,
      // Its first four faults are one of each kind: follower, leader pause, leader, bank.
      seed: 2,
      faults: FAULT_KINDS,
      // Caps the workload when faults slow it down (a bank takes ~8 s to restart).
      durationSeconds: 75,
      faultGapMs: [3_000, 5_000],
      // Own participant names: the broker is shared with other test files.
      bankNames: ['bank-a', 'bank-b', 'bank-c'].map((name) => uniqueName(name)),
    },
    inject('stack'),
    (line) => console.log(`[chaos] ${line}`),
    new AbortController().signal,
  );
  const summary = result.summary.join('\n');
  console.log(summary);
  expect(result.violations, summary).toEqual([]);
  expect(result.committed, summary).toBeGreaterThan(10);
  expect(result.aborted, summary).toBeGreaterThan(0);
}, 300_000);
