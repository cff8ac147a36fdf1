/** Injection token of the `ParticipantOptions` given to `VerdictParticipantModule`. */
export const VERDICT_PARTICIPANT_OPTIONS = Symbol('VERDICT_PARTICIPANT_OPTIONS');
