import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppendEntries, RaftMessage } from '../core/types';
import type { RaftLogLogger } from '../support/logger';
import {
  FRAME_BYTES_MAX,
  FrameType,
  HANDSHAKE_FRAME_BYTES_MAX,
  decodeFrame,
  encodeFrame,
  encodeMessageFrame,
} from './codec';
import { FrameReader } from './frame-reader';
import { handshakeProof, newNonce, toChallenge } from './handshake';
import { TcpTransport, TransportConfigError, type TcpTransportOptions } from './tcp-transport';
import { sampleEntries, sampleMessages } from './test-messages';

const SECRET = new TextEncoder().encode('test cluster secret, 32 bytes..!');
const HOST = '127.0.0.1';

interface Node {
  transport: TcpTransport;
  received: RaftMessage[];
  warnings: { message: string; fields: Readonly<Record<string, unknown>> }[];
}

const started: TcpTransport[] = [];
const sockets: Socket[] = [];

async function startNode(nodeId: string, overrides: Partial<TcpTransportOptions> = {}): Promise<Node> {
  const warnings: Node['warnings'] = [];
  const logger: RaftLogLogger = {
    info: () => undefined,
    warn: (message, fields = {}) => warnings.push({ message, fields }),
  };
  const transport = await TcpTransport.start({
    nodeId,
    listenHost: HOST,
    listenPort: 0,
    peers: {},
    clusterSecret: SECRET,
    logger,
    reconnectDelayMsMin: 10,
    reconnectDelayMsMax: 100,
    ...overrides,
  });
  started.push(transport);
  const received: RaftMessage[] = [];
  transport.onMessage((message) => received.push(message));
  return { transport, received, warnings };
}

const addressOf = (node: Node): string => `${HOST}:${node.transport.address().port}`;

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function pair(): Promise<[Node, Node]> {
  const n1 = await startNode('n1');
  const n2 = await startNode('n2');
  n1.transport.setPeers({ n2: addressOf(n2) });
  n2.transport.setPeers({ n1: addressOf(n1) });
  return [n1, n2];
}

/** A hand-driven client: completes the handshake as `nodeId` (or not), then writes raw bytes. */
async function rawClient(
  port: number,
  secret: Uint8Array,
  nodeId = 'n9',
): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect({ host: HOST, port });
  sockets.push(socket);
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const reader = new FrameReader(HANDSHAKE_FRAME_BYTES_MAX);
  const clientNonce = newNonce();
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        const { type, body } = decodeFrame(frame);
        if (type === FrameType.challenge) {
          const challenge = toChallenge(body);
          const transcript = {
            serverNodeId: challenge.nodeId,
            clientNodeId: nodeId,
            serverNonce: challenge.nonce,
            clientNonce,
          };
          const proof = handshakeProof(secret, 'hello', transcript);
          socket.write(encodeFrame(FrameType.hello, { nodeId, nonce: clientNonce, proof }));
        }
        if (type === FrameType.welcome) resolve();
      }
    });
    void closed.then(resolve);
  });
  return { socket, closed };
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const transport of started.splice(0)) await transport.close();
});

describe('TcpTransport over loopback', () => {
  it('delivers every message kind intact and in order', async () => {
    const [n1, n2] = await pair();
    const messages = Object.values(sampleMessages('n1', 'n2'));
    for (const message of messages) n1.transport.send(message);
    await waitFor(() => n2.received.length === messages.length, 'all kinds');
    expect(n2.received).toEqual(messages);
    n2.transport.send(sampleMessages('n2', 'n1').timeoutNow);
    await waitFor(() => n1.received.length === 1, 'the reply direction');
  });

  it('carries a large appendEntries (4 MiB of entries) in one frame', async () => {
    const [n1, n2] = await pair();
    const message: AppendEntries = {
      ...sampleMessages('n1', 'n2').appendEntries,
      entries: sampleEntries(1, 1024, 4096),
    };
    n1.transport.send(message);
    await waitFor(() => n2.received.length === 1, 'the large message');
    expect(n2.received[0]).toEqual(message);
  });

  it('reconnects after the peer restarts on the same address, delivering what was queued', async () => {
    const [n1, n2] = await pair();
    n1.transport.send(sampleMessages('n1', 'n2').timeoutNow);
    await waitFor(() => n2.received.length === 1, 'first message');
    const port = n2.transport.address().port;
    await n2.transport.close();
    await waitFor(() => n1.transport.stats().peers.n2?.connected === false, 'n1 to notice');
    n1.transport.send({ ...sampleMessages('n1', 'n2').timeoutNow, term: 8 });
    const restarted = await startNode('n2', { listenPort: port });
    await waitFor(() => restarted.received.length === 1, 'the queued message after restart');
    expect(restarted.received[0]?.term).toBe(8);
    expect(n1.warnings.some(({ message }) => /connection lost/.test(message))).toBe(true);
  });

  it('a peer with the wrong cluster secret is refused and never reaches the handler', async () => {
    const n1 = await startNode('n1');
    const impostor = await startNode('n2', {
      clusterSecret: new TextEncoder().encode('another secret of enough bytes!!'),
    });
    impostor.transport.setPeers({ n1: addressOf(n1) });
    impostor.transport.send(sampleMessages('n2', 'n1').timeoutNow);
    await waitFor(() => n1.transport.stats().rejectedConnections > 0, 'the rejection');
    expect(n1.warnings[0]?.fields.reason).toMatch(/node n2 failed authentication/);
    expect(impostor.transport.stats().peers.n1?.connected).toBe(false);
    expect(n1.received).toEqual([]);
  });

  it('garbage before the handshake drops the connection', async () => {
    const n1 = await startNode('n1');
    const socket = connect({ host: HOST, port: n1.transport.address().port });
    sockets.push(socket);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.resume(); // read (and ignore) the challenge, so the server's close is seen
    socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: raft\r\n\r\n'));
    await closed;
    expect(n1.warnings[0]?.message).toBe('dropping inbound raft connection');
    expect(n1.received).toEqual([]);
  });

  it('a connection that never completes the handshake is dropped at the handshake timeout', async () => {
    const n1 = await startNode('n1', { handshakeTimeoutMs: 100 });
    const socket = connect({ host: HOST, port: n1.transport.address().port });
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.resume();
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    expect(n1.warnings[0]?.fields.reason).toBe('handshake timed out');
  });

  it('a garbage frame after a valid handshake drops the connection', async () => {
    const n1 = await startNode('n1');
    const { socket, closed } = await rawClient(n1.transport.address().port, SECRET);
    const garbage = Buffer.from([5, 0, 0, 0, 1, FrameType.message, 0xff, 0xff, 0xff]);
    socket.write(garbage);
    await closed;
    expect(n1.warnings[0]?.fields.reason).toMatch(/unknown value tag 255/);
    expect(n1.received).toEqual([]);
  });

  it('an oversized frame is dropped from its length prefix, before buffering it', async () => {
    const n1 = await startNode('n1');
    const { socket, closed } = await rawClient(n1.transport.address().port, SECRET);
    const header = Buffer.alloc(4);
    header.writeUInt32LE(FRAME_BYTES_MAX + 1, 0);
    socket.write(header);
    await closed;
    expect(n1.warnings[0]?.fields.reason).toMatch(/exceeds the limit/);
  });

  it('a message claiming another sender than the authenticated one is dropped', async () => {
    const n1 = await startNode('n1');
    const { socket, closed } = await rawClient(n1.transport.address().port, SECRET, 'n2');
    socket.write(encodeMessageFrame(sampleMessages('n3', 'n1').timeoutNow));
    await closed;
    expect(n1.warnings[0]?.fields.reason).toMatch(/claims to be from n3 on a connection authenticated as n2/);
    expect(n1.received).toEqual([]);
  });

  it('backpressure: a peer that is down keeps only the newest messages, and drops are counted', async () => {
    const n1 = await startNode('n1', { outboundQueueMessages: 16 });
    n1.transport.setPeers({ n2: `${HOST}:1` });
    for (let term = 1; term <= 100; term += 1)
      n1.transport.send({ ...sampleMessages('n1', 'n2').timeoutNow, term });
    expect(n1.transport.stats().peers.n2).toMatchObject({
      connected: false,
      queuedMessages: 16,
      droppedMessages: 84,
    });
  });

  it('rejects bad settings naming the field', async () => {
    await expect(startNode('n1', { clusterSecret: new Uint8Array(4) })).rejects.toThrow(TransportConfigError);
    await expect(startNode('n1', { outboundQueueMessages: 0 })).rejects.toThrow(
      'outboundQueueMessages is 0; it must be an integer in [1, 65536]',
    );
    const n1 = await startNode('n1');
    expect(() => n1.transport.setPeers({ n2: 'no-port' })).toThrow('peers.n2 is "no-port"');
  });

  it('throughput: appendEntries of 64 x 256 B entries, and small messages', async () => {
    const [n1, n2] = await pair();
    n1.transport.send(sampleMessages('n1', 'n2').timeoutNow);
    await waitFor(() => n2.received.length === 1, 'connection');
    const batch: AppendEntries = {
      ...sampleMessages('n1', 'n2').appendEntries,
      entries: sampleEntries(1, 64, 256),
    };
    const measure = async (message: RaftMessage, count: number): Promise<number> => {
      const target = n2.received.length + count;
      const start = performance.now();
      // Bursts below the default queue bound, as a leader with bounded inflight windows sends them.
      for (let sent = 0; sent < count; sent += 512) {
        for (let index = 0; index < Math.min(512, count - sent); index += 1) n1.transport.send(message);
        await waitFor(
          () => n2.received.length >= target - count + sent + Math.min(512, count - sent),
          'burst',
        );
      }
      return count / ((performance.now() - start) / 1000);
    };
    const batchesPerSecond = await measure(batch, 1024);
    const smallPerSecond = await measure(sampleMessages('n1', 'n2').appendEntriesResponse, 10_240);
    console.log(
      `tcp transport: ${Math.round(batchesPerSecond * 64)} entries/s in appendEntries of 64 x 256 B ` +
        `(${Math.round(batchesPerSecond)} messages/s); ${Math.round(smallPerSecond)} small messages/s`,
    );
    expect(n1.transport.stats().peers.n2?.droppedMessages).toBe(0);
  });
});
