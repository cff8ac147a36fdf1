import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { itAuditedEveryEffectList } from './test/audit';
import { type Action, Cluster } from './test/simulation';

// Random interleavings of requests, votes (YES, NO, READ_ONLY), duplicates, reordering, lost
// messages, deadlines, leader changes that lose uncommitted entries, breakers, operator
// resolutions and slow archiving; then faults stop and everything must end. Checked throughout:
// one outcome per transaction across all leaders, COMMIT only after every participant voted YES
// or READ_ONLY, every phase-two message matches the decision, requests answered exactly once,
// replicas agree; and at the end: every transaction ENDed, archived, no participant left prepared.
//
// Deterministic: fast-check runs from SEED. On failure it prints the seed and the path of the
// shrunk counterexample; replay with ENGINE_SIM_SEED=<seed> ENGINE_SIM_PATH=<path>.

const SEED = Number(process.env['ENGINE_SIM_SEED'] ?? 424242);
const RUNS = Number(process.env['ENGINE_SIM_RUNS'] ?? 300);
const PATH = process.env['ENGINE_SIM_PATH'];

const pick = fc.nat({ max: 1000 });
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('begin' as const),
      mask: fc.nat({ max: 15 }),
      timeoutMs: fc.integer({ min: 500, max: 20_000 }),
      key: fc.nat({ max: 3 }),
      // Half begin without commit: commit requests on live transactions hold PREPARING too.
      commit: fc.constantFrom(null, null, 'decision' as const, 'completion' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('enlist' as const), tx: pick, participant: fc.nat({ max: 3 }) }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('commit' as const),
      tx: pick,
      wait: fc.constantFrom('decision' as const, 'completion' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), tx: pick }) },
  {
    // Weighed up so that OPERATOR decisions stay common: a transaction begun with commit is not
    // live, so not resolvable, until its votes are in (engine.ts, holdBegin).
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('resolve' as const),
      tx: pick,
      outcome: fc.constantFrom('COMMIT' as const, 'ABORT' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retry' as const), tx: pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('outcomeOverRest' as const), tx: pick }) },
  {
    weight: 12,
    arbitrary: fc.record({ kind: fc.constant('deliverCommand' as const), pick, duplicate: fc.boolean() }),
  },
  {
    weight: 12,
    arbitrary: fc.record({ kind: fc.constant('deliverReply' as const), pick, duplicate: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('dropCommand' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('dropReply' as const), pick }) },
  {
    weight: 10,
    arbitrary: fc.record({ kind: fc.constant('raftCommit' as const), count: fc.integer({ min: 1, max: 4 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('leaderChange' as const),
      survivors: fc.nat({ max: 3 }),
      viaSnapshot: fc.boolean(),
      gap: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('elect' as const), viaSnapshot: fc.boolean() }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      advanceMs: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 1, max: 400 }) },
        { weight: 1, arbitrary: fc.integer({ min: 1000, max: 25_000 }) },
      ),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flush' as const), rotate: pick }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('participantDown' as const),
      participant: fc.nat({ max: 3 }),
      reportBreaker: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('participantUp' as const), participant: fc.nat({ max: 3 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('participantAsks' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('archiveDone' as const), pick }) },
);

/** Starts with a leader (elect) so that most runs get somewhere. */
const schedule = fc.tuple(fc.nat(), fc.array(action, { minLength: 1, maxLength: 200, size: 'max' }));

interface RunStats {
  runs: number;
  transactions: number;
  committed: number;
  aborted: number;
  leaderChanges: number;
  healRoundsMax: number;
  /** Decisions by cause: the generator must reach every way of deciding. */
  causes: Map<string, number>;
  /** DECISIONs right behind their own BEGIN and PREPARING: a held commit-at-begin, one round. */
  decidedWithBegin: number;
  /** DECISIONs right behind their own PREPARING alone: a live transaction's held PREPARING. */
  decidedWithPreparing: number;
}

function runOnce(seed: number, actions: readonly Action[], stats: RunStats): void {
  const cluster = new Cluster(seed);
  cluster.run({ kind: 'elect', viaSnapshot: false });
  for (const each of actions) cluster.run(each);
  stats.healRoundsMax = Math.max(stats.healRoundsMax, cluster.heal());
  cluster.checkFinalState();
  stats.runs += 1;
  stats.transactions += cluster.history.size;
  for (const decision of cluster.decisions.values()) {
    if (decision.outcome === 'COMMIT') stats.committed += 1;
    else stats.aborted += 1;
  }
  stats.leaderChanges += cluster.term - 1;
  cluster.log.forEach(({ entry, index }, position) => {
    if (entry.kind !== 'DECISION' || cluster.decisions.get(entry.txId)?.index !== index) return;
    stats.causes.set(entry.cause, (stats.causes.get(entry.cause) ?? 0) + 1);
    const [begin, preparing] = [cluster.log[position - 2]?.entry, cluster.log[position - 1]?.entry];
    if (preparing?.kind !== 'PREPARING' || preparing.txId !== entry.txId) return;
    if (begin?.kind === 'BEGIN' && begin.txId === entry.txId) stats.decidedWithBegin += 1;
    else stats.decidedWithPreparing += 1;
  });
}

describe('the engine in a simulated cluster', () => {
  const stats: RunStats = {
    runs: 0,
    transactions: 0,
    committed: 0,
    aborted: 0,
    leaderChanges: 0,
    healRoundsMax: 0,
    causes: new Map(),
    decidedWithBegin: 0,
    decidedWithPreparing: 0,
  };

  it(
    'keeps 2PC safety through faults, then finishes every transaction once faults stop',
    () => {
      console.log(`SEED=${SEED} RUNS=${RUNS}${PATH === undefined ? '' : ` PATH=${PATH}`}`);
      fc.assert(
        fc.property(schedule, ([seed, actions]) => runOnce(seed, actions, stats)),
        { seed: SEED, numRuns: RUNS, ...(PATH === undefined ? {} : { path: PATH }), endOnFailure: false },
      );
      console.log(
        `simulated ${stats.runs} runs: ${stats.transactions} transactions archived ` +
          `(${stats.committed} COMMIT, ${stats.aborted} ABORT), ${stats.leaderChanges} leader changes, ` +
          `liveness within ${stats.healRoundsMax} healing rounds; decisions by cause: ` +
          [...stats.causes].map(([cause, count]) => `${cause} ${count}`).join(', ') +
          `; ${stats.decidedWithBegin} decided in the entry of their BEGIN, ` +
          `${stats.decidedWithPreparing} in that of their PREPARING`,
      );
      // The generator must actually reach the interesting places.
      expect(stats.committed).toBeGreaterThan(RUNS / 3);
      expect(stats.aborted).toBeGreaterThan(RUNS);
      expect(stats.leaderChanges).toBeGreaterThan(RUNS / 2);
      expect(stats.decidedWithBegin).toBeGreaterThan(RUNS / 3);
      expect(stats.decidedWithPreparing).toBeGreaterThan(RUNS / 8);
      for (const cause of [
        'VOTES',
        'VOTED_NO',
        'DEADLINE',
        'CLIENT_ABORT',
        'PARTICIPANT_UNAVAILABLE',
        'OPERATOR',
      ]) {
        expect(stats.causes.get(cause), cause).toBeGreaterThan(RUNS / 30);
      }
      // About 2 s for 300 runs on a quiet machine; the limit is generous because CI machines are not quiet.
    },
    Math.max(120_000, RUNS * 400),
  );
});

itAuditedEveryEffectList(it, expect, { effectLists: 10_000, phaseTwoSends: 1_000 });
