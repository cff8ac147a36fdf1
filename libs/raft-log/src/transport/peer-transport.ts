import type { RaftMessage } from '../core/types';

/**
 * How Raft messages leave and arrive. Delivery is best effort: a message may be lost, delayed,
 * duplicated or reordered, and Raft's retries cover all of it, so `send` never waits or fails.
 */
export interface PeerTransport {
  /** Queues `message` for `message.to`; returns at once. Unknown peers and full queues drop it. */
  send(message: RaftMessage): void;
  /** The single consumer of inbound messages. Messages that arrive before it is set are dropped. */
  onMessage(handler: (message: RaftMessage) => void): void;
  /** Stops sending and receiving; pending messages are dropped. */
  close(): Promise<void>;
}
