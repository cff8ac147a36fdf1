import type { ParticipantReply } from '@verdict/protocol';
import type { TransactionTracing } from '../observability/tracing-transactions';
import type { OutboundCommand, ParticipantChannel } from './participant-channel';

/**
 * A {@link ParticipantChannel} that traces what passes through it: every outgoing command opens
 * (or continues) its participant's span and carries that span's traceparent; every VOTE and ACK
 * ends one. The engine and the Kafka channel stay unaware of tracing. Installed only when tracing
 * is on, so with it off a command costs nothing more.
 */
export class TracingParticipantChannel implements ParticipantChannel {
  constructor(
    private readonly inner: ParticipantChannel,
    private readonly tracing: TransactionTracing,
  ) {}

  send(commands: readonly OutboundCommand[]): Promise<void> {
    return this.inner.send(
      commands.map((command) => {
        const traceparent = this.tracing.commandSent(command.message);
        return traceparent === null ? command : { ...command, traceparent };
      }),
    );
  }

  onReplies(handler: (replies: readonly ParticipantReply[]) => void): Promise<void> {
    return this.inner.onReplies((replies) => {
      for (const reply of replies) this.tracing.replyReceived(reply);
      handler(replies);
    });
  }

  setLeading(leading: boolean): void {
    this.inner.setLeading(leading);
  }

  ensureTopics(participants: readonly string[]): Promise<void> {
    return this.inner.ensureTopics(participants);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
