// Topic names are part of the wire contract: a participant in any language subscribes to them.

/** Replies from every participant (VOTE, ACK, OUTCOME_QUERY). Every coordinator node reads it. */
export const REPLIES_TOPIC = 'verdict.coordinator.replies';

/** Where a consumer parks a message it cannot parse, with the reason, instead of crashing. */
export const DEAD_LETTER_TOPIC = 'verdict.dead-letter';

const PARTICIPANT_TOPIC_PREFIX = 'verdict.participant.';

/**
 * Participant names become part of a Kafka topic name, so they use the safe subset of Kafka's
 * topic alphabet: lowercase letters, digits and dashes, starting with a letter or digit.
 */
export const PARTICIPANT_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const PARTICIPANT_NAME_RULE =
  'lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters';

export function isParticipantName(name: string): boolean {
  return PARTICIPANT_NAME_PATTERN.test(name);
}

/** The topic a coordinator sends PREPARE, COMMIT and ABORT on for one participant. */
export function participantTopic(participant: string): string {
  if (!isParticipantName(participant)) {
    throw new Error(`participant name "${participant}" is invalid: use ${PARTICIPANT_NAME_RULE}`);
  }
  return PARTICIPANT_TOPIC_PREFIX + participant;
}

/** The participant a command topic belongs to, or null when the topic is not one. */
export function participantOfTopic(topic: string): string | null {
  if (!topic.startsWith(PARTICIPANT_TOPIC_PREFIX)) return null;
  const participant = topic.slice(PARTICIPANT_TOPIC_PREFIX.length);
  return isParticipantName(participant) ? participant : null;
}
