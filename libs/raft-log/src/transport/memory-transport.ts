import type { NodeId, RaftMessage } from '../core/types';
import { assert } from '../core/assert';
import { decodeMessageFrame, encodeMessageFrame, FRAME_LENGTH_BYTES } from './codec';
import type { PeerTransport } from './peer-transport';

/**
 * An in-process network for tests: every message goes through the wire codec (so nothing shares
 * buffers and everything sent is encodable) and is delivered on a later event-loop turn, like TCP.
 * Links can be cut to make partitions.
 */
export class MemoryNetwork {
  private readonly transports = new Map<NodeId, MemoryTransport>();
  // Invariant: holds both "a->b" and "b->a" for every cut pair.
  private readonly cutLinks = new Set<string>();

  connect(nodeId: NodeId): MemoryTransport {
    assert(!this.transports.has(nodeId), `node ${nodeId} is already on this network`);
    const transport = new MemoryTransport(nodeId, this);
    this.transports.set(nodeId, transport);
    return transport;
  }

  /** Drops every message between `a` and `b` in both directions until `heal`. */
  cut(a: NodeId, b: NodeId): void {
    this.cutLinks.add(`${a}->${b}`).add(`${b}->${a}`);
  }

  heal(a: NodeId, b: NodeId): void {
    this.cutLinks.delete(`${a}->${b}`);
    this.cutLinks.delete(`${b}->${a}`);
  }

  /** @internal used by MemoryTransport.send */
  route(message: RaftMessage): void {
    if (this.cutLinks.has(`${message.from}->${message.to}`)) return;
    const copy = decodeMessageFrame(encodeMessageFrame(message).subarray(FRAME_LENGTH_BYTES));
    setImmediate(() => this.transports.get(copy.to)?.deliver(copy));
  }

  /** @internal used by MemoryTransport.close */
  disconnect(nodeId: NodeId): void {
    this.transports.delete(nodeId);
  }
}

export class MemoryTransport implements PeerTransport {
  private handler: ((message: RaftMessage) => void) | null = null;
  private closed = false;

  constructor(
    readonly nodeId: NodeId,
    private readonly network: MemoryNetwork,
  ) {}

  send(message: RaftMessage): void {
    assert(message.from === this.nodeId, `node ${this.nodeId} sent a message from ${message.from}`);
    if (!this.closed) this.network.route(message);
  }

  onMessage(handler: (message: RaftMessage) => void): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    this.closed = true;
    this.network.disconnect(this.nodeId);
    return Promise.resolve();
  }

  /** @internal used by MemoryNetwork */
  deliver(message: RaftMessage): void {
    if (!this.closed) this.handler?.(message);
  }
}
