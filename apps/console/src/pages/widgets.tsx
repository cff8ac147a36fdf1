import type { BreakerState, ParticipantStatus, TxState } from '../api';

export function StateBadge(props: { state: TxState }) {
  return <span class={`state state-${props.state.toLowerCase()}`}>{props.state}</span>;
}

export function BreakerBadge(props: { state: BreakerState }) {
  return (
    <span class={`breaker breaker-${props.state.toLowerCase()}`}>
      breaker {props.state.replace('_', '-')}
    </span>
  );
}

/** "bank-a YES ✓": the participant, its vote (or "no vote") and whether it acknowledged. */
export function VoteChip(props: { participant: ParticipantStatus }) {
  const { participant } = props;
  const vote = participant.vote ?? 'no vote';
  return (
    <span
      class={`chip vote-${(participant.vote ?? 'none').toLowerCase()}`}
      title={participant.voteReason ?? ''}
    >
      {participant.name} <b>{vote}</b>
      {participant.ack && <span title="acknowledged the decision"> ✓</span>}
    </span>
  );
}
