import type { ParticipantCommand, ParticipantReply } from '@verdict/protocol';

/** Injection token for the {@link ParticipantChannel} port. */
export const PARTICIPANT_CHANNEL = Symbol('ParticipantChannel');

export interface OutboundCommand {
  readonly participant: string;
  /** Invariant: `message.participant === participant`. */
  readonly message: ParticipantCommand;
  /** W3C trace context of the request that caused the command; a fresh trace when absent. */
  readonly traceparent?: string;
}

/**
 * How the coordinator talks to participants. Commands go out on `verdict.participant.<name>`,
 * keyed by txId; replies come in from `verdict.coordinator.replies`. Delivery is at least once
 * both ways: participants and the engine treat duplicates as harmless.
 */
export interface ParticipantChannel {
  /**
   * Sends every command in one produce request (and coalesces calls made while a request is
   * under way into the next one). Resolves when the broker has acknowledged all of them
   * (acks = all in-sync replicas); rejects when they could not be handed over, in which case
   * none or only some may have been written and the caller re-sends as usual.
   */
  send(commands: readonly OutboundCommand[]): Promise<void>;
  /**
   * Starts consuming replies and hands each consumer batch of valid ones to `handler`, in
   * partition order. Malformed messages are parked on the dead-letter topic with the reason.
   * Resolves once this node's consumer has joined its group. One handler per channel.
   */
  onReplies(handler: (replies: readonly ParticipantReply[]) => void): Promise<void>;
  /**
   * Whether this node leads. Only the leader acts on replies, so a follower's channel may hand
   * them over late and in bulk; a leader's hands each over as soon as it is read. A channel
   * starts as a leader's, so nothing waits unless asked to.
   */
  setLeading(leading: boolean): void;
  /** Creates the participants' command topics if missing; `send` does it on first use too. */
  ensureTopics(participants: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** `send` refused work because too much is already waiting for the broker. */
export class TransportBackpressureError extends Error {
  override readonly name = 'TransportBackpressureError';
}
