import type { Command } from '../commands';
import type { Effect } from '../effects';
import type { EngineState } from '../state';
import type { Outcome, TxId } from '../types';

/**
 * The commit-point check, run over every effect list every test and property produces: a COMMIT
 * or ABORT message leaves only after the transaction's DECISION entry came back committed, and
 * always carries that decision's outcome. It watches the committed entries a cluster hands its
 * engines, so one audit serves every engine of a simulated cluster (leaders come and go; the log
 * stays). A violation throws at once, failing the test that produced it, and is also counted.
 */
export class CommitPointAudit {
  /** The first DECISION in log order per transaction: its decision. */
  private readonly decisions = new Map<TxId, Outcome>();
  effectListsAudited = 0;
  phaseTwoSendsAudited = 0;

  constructor() {
    audits.push(this);
  }

  /** For an engine restored from a snapshot: the decisions it carries were committed entries. */
  learnFromSnapshot(state: EngineState): void {
    for (const tx of state.replicated.transactions.values()) {
      if (tx.decision !== null && !this.decisions.has(tx.txId))
        this.decisions.set(tx.txId, tx.decision.outcome);
    }
  }

  observe(command: Command, effects: readonly Effect[]): void {
    if (command.kind === 'entryCommitted' && command.entry.kind === 'DECISION') {
      const entry = command.entry;
      if (!this.decisions.has(entry.txId)) this.decisions.set(entry.txId, entry.outcome);
    }
    this.effectListsAudited += 1;
    for (const effect of effects) {
      if (effect.kind !== 'send' || effect.message.type === 'PREPARE') continue;
      this.phaseTwoSendsAudited += 1;
      const decision = this.decisions.get(effect.message.txId);
      if (decision === undefined) {
        throw new Error(
          `commit point violated: ${effect.message.type} for ${effect.message.txId} sent to ${effect.participant} ` +
            `before any DECISION entry for it was committed (command ${command.kind})`,
        );
      }
      if (decision !== effect.message.type) {
        throw new Error(
          `commit point violated: ${effect.message.type} for ${effect.message.txId} sent to ${effect.participant}, ` +
            `but the committed decision is ${decision} (command ${command.kind})`,
        );
      }
    }
  }
}

const audits: CommitPointAudit[] = [];

/** Every audit created in this test file so far. */
export function auditTotals(): { audits: number; effectLists: number; phaseTwoSends: number } {
  return {
    audits: audits.length,
    effectLists: audits.reduce((sum, audit) => sum + audit.effectListsAudited, 0),
    phaseTwoSends: audits.reduce((sum, audit) => sum + audit.phaseTwoSendsAudited, 0),
  };
}

/**
 * The last test of a spec file: every effect list the file's tests produced went through an
 * audit (which throws inside the test that broke the rule); this checks the audit really ran.
 * Vitest runs a file's tests in order, so it runs after all of them.
 */
export function itAuditedEveryEffectList(
  it: (name: string, body: () => void) => void,
  expect: (value: number) => { toBeGreaterThan(bound: number): void },
  minimum: { effectLists: number; phaseTwoSends: number },
): void {
  it('every COMMIT/ABORT sent by the tests above came after its DECISION entry was committed and matched it', () => {
    const totals = auditTotals();
    expect(totals.effectLists).toBeGreaterThan(minimum.effectLists);
    expect(totals.phaseTwoSends).toBeGreaterThan(minimum.phaseTwoSends);
  });
}
