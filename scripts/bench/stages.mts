// Where a commit call's time goes: its transaction's timeline (GET /v1/transactions/{id}), read
// after the level, cut at the events the coordinator records, with the load generator's own clock
// at both ends. Everything runs on one machine, so the server's timestamps and ours share a clock.
// The coordinator reads its clock before every request and reply batch it hands the engine, so a
// boundary is exact to the millisecond the timeline keeps. The stages are reported, never asserted.
import { summarize, type LatencySummary } from './stats.mjs';

// PREPARE leaves with the PREPARING proposal, so PREPARING's Raft commit runs alongside the vote
// round trip: `last VOTE → DECISION proposed` is what of that commit the round trip did not hide.
export const STAGES = [
  'request → PREPARE sent',
  'PREPARE sent → last VOTE',
  'last VOTE → DECISION proposed',
  'DECISION proposed → answer received',
] as const;

export type Stage = (typeof STAGES)[number];

export interface TimelineEvent {
  readonly at: string;
  readonly kind: string;
}

/** One committed transaction's commit call, on the epoch clock. */
export interface CommitCall {
  readonly sentAtMs: number;
  readonly answeredAtMs: number;
  readonly timeline: readonly TimelineEvent[];
}

/** Stage durations of one commit call; null when its timeline lacks an event a stage needs. */
export function commitStages(call: CommitCall): Record<Stage, number> | null {
  const times = (kind: string): number[] =>
    call.timeline.filter((event) => event.kind === kind).map((event) => Date.parse(event.at));
  const prepareSent = Math.min(...times('PREPARE_SENT'));
  const lastVote = Math.max(...times('VOTE'));
  const decision = times('DECISION')[0];
  if (decision === undefined || !Number.isFinite(prepareSent) || !Number.isFinite(lastVote)) return null;
  return {
    'request → PREPARE sent': prepareSent - call.sentAtMs,
    'PREPARE sent → last VOTE': lastVote - prepareSent,
    'last VOTE → DECISION proposed': decision - lastVote,
    'DECISION proposed → answer received': call.answeredAtMs - decision,
  };
}

export type StageSummary = Readonly<Record<Stage, LatencySummary | null>> & { readonly samples: number };

export function summarizeStages(calls: readonly CommitCall[]): StageSummary {
  const staged = calls.flatMap((call) => {
    const stages = commitStages(call);
    return stages === null ? [] : [stages];
  });
  const summary = Object.fromEntries(
    STAGES.map((stage) => [stage, summarize(staged.map((stages) => stages[stage]))]),
  ) as Record<Stage, LatencySummary | null>;
  return { ...summary, samples: staged.length };
}
