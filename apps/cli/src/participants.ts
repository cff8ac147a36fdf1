// `verdict participants`: one row per participant from the public API: the leader's breakers and
// when it last read a reply from each participant (GET /v1/cluster), and the participants of the
// newest transactions (GET /v1/transactions).
import type { Breaker, ClusterParticipant, Transaction } from './api';

/** As the coordinator counts them (cluster stats): prepare sent, not every participant done. */
const IN_DOUBT_STATES = new Set(['PREPARING', 'COMMITTING', 'ABORTING']);

export interface ParticipantSummary {
  readonly name: string;
  /** null when the leader has no breaker for it (never sent a command since it took over). */
  readonly breaker: { readonly state: string; readonly since: string } | null;
  /** Sampled transactions it is enlisted in that are PREPARING, COMMITTING or ABORTING. */
  readonly inDoubt: number;
  /** Sampled transactions it is enlisted in that the coordinator reports stuck. */
  readonly stuck: number;
  /** Newest `ackedAt` of this participant among the sampled transactions. */
  readonly lastAckAt: string | null;
  /**
   * When the node last read a reply (vote, ack or outcome query) from it; null if never since that
   * node started, or if the coordinator is too old to say.
   */
  readonly lastSeenAt: string | null;
}

export function summarizeParticipants(
  breakers: readonly Breaker[],
  seen: readonly ClusterParticipant[],
  transactions: readonly Transaction[],
): ParticipantSummary[] {
  const byName = new Map<
    string,
    {
      breaker: ParticipantSummary['breaker'];
      inDoubt: number;
      stuck: number;
      lastAckAt: string | null;
      lastSeenAt: string | null;
    }
  >();
  const entry = (name: string) => {
    let found = byName.get(name);
    if (found === undefined) {
      found = { breaker: null, inDoubt: 0, stuck: 0, lastAckAt: null, lastSeenAt: null };
      byName.set(name, found);
    }
    return found;
  };
  for (const breaker of breakers)
    entry(breaker.participant).breaker = { state: breaker.state, since: breaker.since };
  for (const participant of seen) entry(participant.name).lastSeenAt = participant.lastSeenAt;
  for (const tx of transactions) {
    for (const participant of tx.participants) {
      const summary = entry(participant.name);
      if (IN_DOUBT_STATES.has(tx.state)) summary.inDoubt += 1;
      if (tx.stuck !== null) summary.stuck += 1;
      const acked = participant.ackedAt;
      if (
        acked !== null &&
        (summary.lastAckAt === null || Date.parse(acked) > Date.parse(summary.lastAckAt))
      ) {
        summary.lastAckAt = acked;
      }
    }
  }
  return [...byName.entries()]
    .map(([name, summary]) => ({ name, ...summary }))
    .sort((left, right) => left.name.localeCompare(right.name));
}
