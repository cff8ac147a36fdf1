import { createServer, connect, type Server, type Socket } from 'node:net';
import type { NodeId, RaftMessage } from '../core/types';
import { assert } from '../core/assert';
import type { RaftLogLogger } from '../support/logger';
import {
  CodecError,
  FRAME_BYTES_MAX,
  FrameType,
  HANDSHAKE_FRAME_BYTES_MAX,
  decodeFrame,
  decodeMessageFrame,
  encodeFrame,
  encodeMessageFrame,
} from './codec';
import { FrameReader } from './frame-reader';
import {
  CLUSTER_SECRET_BYTES_MIN,
  handshakeProof,
  newNonce,
  proofMatches,
  toChallenge,
  toHello,
  toWelcome,
  type HandshakeTranscript,
} from './handshake';
import type { PeerTransport } from './peer-transport';

/** Ceiling for the per-peer queue setting: a typo in a config file cannot make it unbounded. */
export const OUTBOUND_QUEUE_MESSAGES_MAX = 65_536;
/**
 * Bytes a socket may hold in user space before we stop writing to it and let our own queue (which
 * drops the oldest) absorb the rest. Kernel buffers come on top.
 */
export const SOCKET_BUFFERED_BYTES_MAX = 2 * 1024 * 1024;

export const TCP_TRANSPORT_DEFAULTS = {
  /** Above the core's INFLIGHT_MESSAGES_MAX, so drops happen only when a peer is down or slow. */
  outboundQueueMessages: 1024,
  reconnectDelayMsMin: 50,
  reconnectDelayMsMax: 2000,
  handshakeTimeoutMs: 5000,
} as const;

export interface TcpTransportOptions {
  readonly nodeId: NodeId;
  readonly listenHost: string;
  /** 0 picks a free port (tests); read it back with `address()`. */
  readonly listenPort: number;
  /** Where to reach each peer, `host:port`. A proxy address works: peers are checked by secret, not address. */
  readonly peers: Readonly<Record<NodeId, string>>;
  /** Shared by every node of the cluster; at least CLUSTER_SECRET_BYTES_MIN bytes. */
  readonly clusterSecret: Uint8Array;
  readonly logger: RaftLogLogger;
  readonly outboundQueueMessages?: number;
  readonly reconnectDelayMsMin?: number;
  readonly reconnectDelayMsMax?: number;
  readonly handshakeTimeoutMs?: number;
}

export interface PeerLinkStats {
  readonly connected: boolean;
  readonly sentMessages: number;
  /** Dropped because the queue was full (oldest first) or the peer is unknown. */
  readonly droppedMessages: number;
  readonly queuedMessages: number;
}

export interface TcpTransportStats {
  readonly peers: Readonly<Record<NodeId, PeerLinkStats>>;
  readonly receivedMessages: number;
  /** Inbound connections dropped for a failed handshake, a garbage, oversized or truncated frame. */
  readonly rejectedConnections: number;
  readonly unknownPeerDrops: number;
}

/** A setting outside its allowed range; the message names the field, the value and the range. */
export class TransportConfigError extends Error {
  override readonly name = 'TransportConfigError';
}

interface Settings {
  readonly nodeId: NodeId;
  readonly clusterSecret: Uint8Array;
  readonly logger: RaftLogLogger;
  readonly outboundQueueMessages: number;
  readonly reconnectDelayMsMin: number;
  readonly reconnectDelayMsMax: number;
  readonly handshakeTimeoutMs: number;
}

/**
 * Raft over TCP. Each node dials one outbound connection per peer and sends on it only; it
 * receives on the connections its peers dial in. Every connection starts with the mutual
 * handshake in handshake.ts; until it succeeds nothing but small handshake frames is read, and
 * nothing reaches the message handler.
 */
export class TcpTransport implements PeerTransport {
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<Socket>();
  private handler: ((message: RaftMessage) => void) | null = null;
  private closed = false;
  private receivedMessages = 0;
  private rejectedConnections = 0;
  private unknownPeerDrops = 0;
  private readonly unknownPeersLogged = new Set<NodeId>();

  private constructor(
    private readonly settings: Settings,
    private readonly server: Server,
  ) {}

  /** Validates the options, listens, and starts dialling every peer. */
  static async start(options: TcpTransportOptions): Promise<TcpTransport> {
    const settings = validateOptions(options);
    const server = createServer({ noDelay: true });
    const transport = new TcpTransport(settings, server);
    server.on('connection', (socket) => transport.onInboundConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) =>
        reject(
          new Error(
            `raft transport cannot listen on ${options.listenHost}:${options.listenPort}: ${error.message}`,
            {
              cause: error,
            },
          ),
        ),
      );
      server.listen({ host: options.listenHost, port: options.listenPort }, resolve);
    });
    server.on('error', (error) =>
      settings.logger.warn('raft transport server error', { error: error.message }),
    );
    transport.setPeers(options.peers);
    return transport;
  }

  /** The address actually listened on (the port is the chosen one when 0 was asked for). */
  address(): { host: string; port: number } {
    const address = this.server.address();
    assert(address !== null && typeof address === 'object', 'a listening TCP server has an address');
    return { host: address.address, port: address.port };
  }

  /** Replaces the peer set (membership change): new peers are dialled, removed ones closed. */
  setPeers(peers: Readonly<Record<NodeId, string>>): void {
    assert(!this.closed, 'setPeers after close');
    const wanted = new Map(Object.entries(peers).filter(([nodeId]) => nodeId !== this.settings.nodeId));
    for (const [nodeId, link] of this.links) {
      if (wanted.get(nodeId) !== link.address) {
        link.close();
        this.links.delete(nodeId);
      }
    }
    for (const [nodeId, address] of wanted) {
      if (this.links.has(nodeId)) continue;
      const link = new PeerLink(nodeId, address, parseAddress(nodeId, address), this.settings);
      this.links.set(nodeId, link);
      link.start();
    }
  }

  send(message: RaftMessage): void {
    if (this.closed) return;
    const link = this.links.get(message.to);
    if (link === undefined) {
      this.unknownPeerDrops += 1;
      if (!this.unknownPeersLogged.has(message.to)) {
        this.unknownPeersLogged.add(message.to);
        this.settings.logger.warn('dropping messages to a node with no configured address', {
          peer: message.to,
        });
      }
      return;
    }
    link.enqueue(message);
  }

  onMessage(handler: (message: RaftMessage) => void): void {
    this.handler = handler;
  }

  stats(): TcpTransportStats {
    const peers: Record<NodeId, PeerLinkStats> = {};
    for (const [nodeId, link] of this.links) peers[nodeId] = link.stats();
    return {
      peers,
      receivedMessages: this.receivedMessages,
      rejectedConnections: this.rejectedConnections,
      unknownPeerDrops: this.unknownPeerDrops,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    for (const socket of this.inbound) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onInboundConnection(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const { nodeId, clusterSecret, logger, handshakeTimeoutMs } = this.settings;
    this.inbound.add(socket);
    socket.setNoDelay(true);
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const reader = new FrameReader(HANDSHAKE_FRAME_BYTES_MAX);
    const serverNonce = newNonce();
    // Invariant: null until the hello proof checked out; then every message must come from it.
    let peerId: NodeId | null = null;
    let rejected = false;
    const reject = (reason: string): void => {
      if (rejected) return;
      rejected = true;
      this.rejectedConnections += 1;
      logger.warn('dropping inbound raft connection', { remote, peer: peerId, reason });
      socket.destroy();
    };
    const handshakeTimer = setTimeout(() => reject('handshake timed out'), handshakeTimeoutMs);
    socket.on('close', () => {
      clearTimeout(handshakeTimer);
      this.inbound.delete(socket);
      // A peer that hangs up mid-frame sent a truncated frame: say so, like any other bad frame.
      if (!rejected && reader.pendingBytes > 0) {
        reject(`connection closed in the middle of a frame (${reader.pendingBytes} bytes unread)`);
      }
    });
    socket.on('error', () => undefined); // 'close' follows; resets from departing peers are normal.
    socket.write(encodeFrame(FrameType.challenge, { nodeId, nonce: serverNonce }));

    socket.on('data', (chunk: Buffer) => {
      const messages: RaftMessage[] = [];
      try {
        for (const frame of reader.push(chunk)) {
          if (peerId !== null) {
            messages.push(this.checkInbound(decodeMessageFrame(frame), peerId));
            continue;
          }
          const { type, body } = decodeFrame(frame);
          if (type !== FrameType.hello)
            throw new CodecError(`expected a hello frame, got frame type ${type}`);
          const hello = toHello(body);
          const transcript: HandshakeTranscript = {
            serverNodeId: nodeId,
            clientNodeId: hello.nodeId,
            serverNonce,
            clientNonce: hello.nonce,
          };
          if (!proofMatches(handshakeProof(clusterSecret, 'hello', transcript), hello.proof)) {
            throw new CodecError(`node ${hello.nodeId} failed authentication (wrong cluster secret?)`);
          }
          peerId = hello.nodeId;
          clearTimeout(handshakeTimer);
          reader.frameBytesMax = FRAME_BYTES_MAX;
          socket.write(
            encodeFrame(FrameType.welcome, { proof: handshakeProof(clusterSecret, 'welcome', transcript) }),
          );
        }
      } catch (error) {
        if (!(error instanceof CodecError)) throw error;
        reject(error.message);
      }
      // Outside the try: an exception from the handler is the host's bug, not a bad frame.
      for (const message of messages) this.deliver(message);
    });
  }

  private checkInbound(message: RaftMessage, peerId: NodeId): RaftMessage {
    if (message.from !== peerId) {
      throw new CodecError(
        `message claims to be from ${message.from} on a connection authenticated as ${peerId}`,
      );
    }
    if (message.to !== this.settings.nodeId) {
      throw new CodecError(`message addressed to ${message.to} arrived at ${this.settings.nodeId}`);
    }
    return message;
  }

  private deliver(message: RaftMessage): void {
    if (this.closed || this.handler === null) return;
    this.receivedMessages += 1;
    this.handler(message);
  }
}

/** The outbound side of one peer: its queue, its connection and the reconnect schedule. */
class PeerLink {
  // Invariant: queue.length <= settings.outboundQueueMessages; oldest first.
  private queue: RaftMessage[] = [];
  // Invariant: authenticated implies socket !== null.
  private socket: Socket | null = null;
  private authenticated = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Consecutive failed connection attempts; drives the backoff. */
  private failures = 0;
  private flushScheduled = false;
  private waitingForDrain = false;
  private closed = false;
  /** Logged once per distinct failure, so a peer that stays down does not flood the log. */
  private lastLoggedFailure: string | null = null;
  private sentMessages = 0;
  private droppedMessages = 0;

  constructor(
    private readonly peerId: NodeId,
    readonly address: string,
    private readonly endpoint: { host: string; port: number },
    private readonly settings: Settings,
  ) {}

  start(): void {
    this.connect();
  }

  enqueue(message: RaftMessage): void {
    if (this.queue.length >= this.settings.outboundQueueMessages) {
      // Oldest first: a newer appendEntries or heartbeat supersedes it anyway.
      this.queue.shift();
      this.droppedMessages += 1;
    }
    this.queue.push(message);
    this.scheduleFlush();
  }

  stats(): PeerLinkStats {
    return {
      connected: this.authenticated,
      sentMessages: this.sentMessages,
      droppedMessages: this.droppedMessages,
      queuedMessages: this.queue.length,
    };
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
    this.queue = [];
  }

  /** Coalesces every send of this event-loop turn into one corked write. */
  private scheduleFlush(): void {
    if (this.flushScheduled || !this.authenticated || this.waitingForDrain) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const socket = this.socket;
    if (!this.authenticated || socket === null) return;
    let written = 0;
    socket.cork();
    while (written < this.queue.length && socket.writableLength < SOCKET_BUFFERED_BYTES_MAX) {
      const message = this.queue[written];
      assert(message !== undefined, 'queue has no holes');
      socket.write(encodeMessageFrame(message));
      written += 1;
    }
    socket.uncork();
    this.queue.splice(0, written);
    this.sentMessages += written;
    if (this.queue.length > 0) {
      this.waitingForDrain = true;
      socket.once('drain', () => {
        this.waitingForDrain = false;
        this.flush();
      });
    }
  }

  private connect(): void {
    const { nodeId, clusterSecret, handshakeTimeoutMs } = this.settings;
    const socket = connect({ host: this.endpoint.host, port: this.endpoint.port, noDelay: true });
    this.socket = socket;
    const reader = new FrameReader(HANDSHAKE_FRAME_BYTES_MAX);
    const clientNonce = newNonce();
    let transcript: HandshakeTranscript | null = null;
    let failure: string | null = null;
    const fail = (reason: string): void => {
      failure ??= reason;
      socket.destroy();
    };
    const handshakeTimer = setTimeout(() => fail('handshake timed out'), handshakeTimeoutMs);

    socket.on('error', (error) => fail(error.message));
    socket.on('close', () => {
      clearTimeout(handshakeTimer);
      const wasAuthenticated = this.authenticated;
      this.socket = null;
      this.authenticated = false;
      this.waitingForDrain = false;
      if (this.closed) return;
      const reason = failure ?? 'connection closed by peer';
      if (wasAuthenticated || reason !== this.lastLoggedFailure) {
        const what = wasAuthenticated ? 'raft peer connection lost' : 'raft peer unreachable';
        this.settings.logger.warn(`${what}; reconnecting with backoff`, {
          peer: this.peerId,
          address: this.address,
          reason,
        });
        this.lastLoggedFailure = reason;
      }
      this.scheduleReconnect();
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of reader.push(chunk)) {
          const { type, body } = decodeFrame(frame);
          if (transcript === null && type === FrameType.challenge) {
            const challenge = toChallenge(body);
            if (challenge.nodeId !== this.peerId) {
              throw new CodecError(
                `${this.address} answered as node ${challenge.nodeId}, expected ${this.peerId}`,
              );
            }
            transcript = {
              serverNodeId: this.peerId,
              clientNodeId: nodeId,
              serverNonce: challenge.nonce,
              clientNonce,
            };
            const proof = handshakeProof(clusterSecret, 'hello', transcript);
            socket.write(encodeFrame(FrameType.hello, { nodeId, nonce: clientNonce, proof }));
          } else if (transcript !== null && !this.authenticated && type === FrameType.welcome) {
            if (!proofMatches(handshakeProof(clusterSecret, 'welcome', transcript), toWelcome(body).proof)) {
              throw new CodecError(`node ${this.peerId} failed authentication (wrong cluster secret?)`);
            }
            clearTimeout(handshakeTimer);
            this.onAuthenticated();
          } else {
            throw new CodecError(`unexpected frame type ${type} on an outbound connection`);
          }
        }
      } catch (error) {
        if (!(error instanceof CodecError)) throw error;
        fail(error.message);
      }
    });
  }

  private onAuthenticated(): void {
    this.authenticated = true;
    this.failures = 0;
    this.lastLoggedFailure = null;
    this.settings.logger.info('raft peer connected', { peer: this.peerId, address: this.address });
    this.scheduleFlush();
  }

  /** Capped exponential backoff with jitter, so restarted peers are not hit by every node at once. */
  private scheduleReconnect(): void {
    const { reconnectDelayMsMin, reconnectDelayMsMax } = this.settings;
    const ceiling = Math.min(reconnectDelayMsMax, reconnectDelayMsMin * 2 ** Math.min(this.failures, 30));
    this.failures += 1;
    const delayMs = ceiling / 2 + Math.random() * (ceiling / 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closed) this.connect();
    }, delayMs);
  }
}

function validateOptions(options: TcpTransportOptions): Settings {
  const integerIn = (field: string, value: number, min: number, max: number): number => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new TransportConfigError(`${field} is ${value}; it must be an integer in [${min}, ${max}]`);
    }
    return value;
  };
  integerIn('listenPort', options.listenPort, 0, 65_535);
  if (options.clusterSecret.length < CLUSTER_SECRET_BYTES_MIN) {
    throw new TransportConfigError(
      `clusterSecret is ${options.clusterSecret.length} bytes; use at least ${CLUSTER_SECRET_BYTES_MIN} random bytes`,
    );
  }
  const reconnectDelayMsMin = integerIn(
    'reconnectDelayMsMin',
    options.reconnectDelayMsMin ?? TCP_TRANSPORT_DEFAULTS.reconnectDelayMsMin,
    1,
    60_000,
  );
  return {
    nodeId: options.nodeId,
    clusterSecret: options.clusterSecret,
    logger: options.logger,
    outboundQueueMessages: integerIn(
      'outboundQueueMessages',
      options.outboundQueueMessages ?? TCP_TRANSPORT_DEFAULTS.outboundQueueMessages,
      1,
      OUTBOUND_QUEUE_MESSAGES_MAX,
    ),
    reconnectDelayMsMin,
    reconnectDelayMsMax: integerIn(
      'reconnectDelayMsMax',
      options.reconnectDelayMsMax ?? TCP_TRANSPORT_DEFAULTS.reconnectDelayMsMax,
      reconnectDelayMsMin,
      600_000,
    ),
    handshakeTimeoutMs: integerIn(
      'handshakeTimeoutMs',
      options.handshakeTimeoutMs ?? TCP_TRANSPORT_DEFAULTS.handshakeTimeoutMs,
      1,
      600_000,
    ),
  };
}

function parseAddress(nodeId: NodeId, address: string): { host: string; port: number } {
  const match = /^(.+):(\d{1,5})$/.exec(address);
  const host = match?.[1]?.replace(/^\[(.*)\]$/, '$1');
  const port = Number(match?.[2]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new TransportConfigError(
      `peers.${nodeId} is "${address}"; expected host:port with a port in [1, 65535]`,
    );
  }
  return { host, port };
}
