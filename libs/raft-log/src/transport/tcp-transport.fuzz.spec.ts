import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { RaftMessage } from '../core/types';
import type { RaftLogLogger } from '../support/logger';
import {
  CodecError,
  FRAME_BYTES_MAX,
  FRAME_LENGTH_BYTES,
  FrameType,
  HANDSHAKE_FRAME_BYTES_MAX,
  WIRE_VERSION,
  decodeFrame,
  decodeMessageFrame,
  encodeFrame,
  encodeMessageFrame,
} from './codec';
import { FrameReader } from './frame-reader';
import { handshakeProof, newNonce, toChallenge } from './handshake';
import { TcpTransport } from './tcp-transport';
import { sampleMessages } from './test-messages';

// Hostile peers against a live node: hundreds of connections with a wrong cluster secret, garbage,
// oversized or truncated frames, before and after a valid handshake, while a good peer keeps
// sending. Each bad connection must be dropped with a log line naming it, nothing it sent may
// reach the node's message handler (the core's step), and the good peer must keep being served.

const SECRET = new TextEncoder().encode('fuzz cluster secret of 32 bytes!');
const WRONG_SECRET = new TextEncoder().encode('not the secret, but long enough!');
const HOST = '127.0.0.1';
const SEED = 20_261_125;
const CASES = 300;

interface Logged {
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

const started: TcpTransport[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const transport of started.splice(0)) await transport.close();
});

async function startNode(
  nodeId: string,
): Promise<{ transport: TcpTransport; received: RaftMessage[]; logged: Logged[] }> {
  const logged: Logged[] = [];
  const logger: RaftLogLogger = {
    info: () => undefined,
    warn: (message, fields = {}) => logged.push({ message, fields }),
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
    handshakeTimeoutMs: 2_000,
  });
  started.push(transport);
  const received: RaftMessage[] = [];
  transport.onMessage((message) => received.push(message));
  return { transport, received, logged };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Connects; with a secret, completes the handshake as `nodeId` first (a wrong secret is refused). */
async function dial(
  port: number,
  secret: Uint8Array | null,
  nodeId = 'n9',
): Promise<{ socket: Socket; closed: Promise<void>; remote: string }> {
  const socket = connect({ host: HOST, port });
  sockets.push(socket);
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  // Read now: a socket the server already closed no longer knows its port.
  const remote = `${HOST}:${socket.localPort ?? 0}`;
  if (secret === null) {
    socket.resume(); // read and ignore the challenge
    return { socket, closed, remote };
  }
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
  return { socket, closed, remote };
}

const lengthPrefixed = (body: Buffer): Buffer => {
  const header = Buffer.alloc(FRAME_LENGTH_BYTES);
  header.writeUInt32LE(body.length, 0);
  return Buffer.concat([header, body]);
};

const oversizedPrefix = (limit: number, over: number): Buffer => {
  const header = Buffer.alloc(FRAME_LENGTH_BYTES);
  header.writeUInt32LE(Math.min(0xffff_ffff, limit + 1 + over), 0);
  return header;
};

/** A frame body (version, type, value) that the codec must refuse; checked against the codec itself. */
const refusedBody = fc
  .tuple(
    fc.constantFrom(WIRE_VERSION, WIRE_VERSION + 1, 0, 255),
    fc.constantFrom(1, 2, 3, 4, 0, 9),
    fc.uint8Array({ maxLength: 300 }),
  )
  .map(([version, type, body]) => Buffer.from([version, type, ...body]))
  .filter((frame) => {
    try {
      decodeMessageFrame(frame);
      return false;
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      return true;
    }
  });

type Attack =
  | { readonly kind: 'wrong secret' }
  | { readonly kind: 'garbage before handshake'; readonly bytes: Buffer }
  | { readonly kind: 'oversized before handshake'; readonly bytes: Buffer }
  | { readonly kind: 'truncated before handshake'; readonly bytes: Buffer }
  | { readonly kind: 'garbage frame after handshake'; readonly bytes: Buffer }
  | { readonly kind: 'random bytes after handshake'; readonly bytes: Buffer }
  | { readonly kind: 'oversized after handshake'; readonly bytes: Buffer }
  | { readonly kind: 'truncated after handshake'; readonly bytes: Buffer }
  | { readonly kind: 'forged sender after handshake'; readonly bytes: Buffer }
  | { readonly kind: 'handshake frame after handshake'; readonly bytes: Buffer };

const validFrame = fc
  .constantFrom(...Object.values(sampleMessages('n9', 'n1')))
  .map((message) => encodeMessageFrame(message));

const attacks: fc.Arbitrary<Attack> = fc.oneof(
  fc.constant({ kind: 'wrong secret' as const }),
  fc
    .uint8Array({ minLength: 1, maxLength: 3_000 })
    .map((bytes) => ({ kind: 'garbage before handshake' as const, bytes: Buffer.from(bytes) })),
  fc.nat(1 << 30).map((over) => ({
    kind: 'oversized before handshake' as const,
    bytes: oversizedPrefix(HANDSHAKE_FRAME_BYTES_MAX, over),
  })),
  fc
    .tuple(
      fc.nat(),
      fc.constant(
        encodeFrame(FrameType.hello, { nodeId: 'n9', nonce: newNonce(), proof: new Uint8Array(32) }),
      ),
    )
    .map(([cut, frame]) => ({
      kind: 'truncated before handshake' as const,
      bytes: frame.subarray(0, 1 + (cut % (frame.length - 1))),
    })),
  refusedBody.map((body) => ({
    kind: 'garbage frame after handshake' as const,
    bytes: lengthPrefixed(body),
  })),
  fc
    .uint8Array({ minLength: 1, maxLength: 3_000 })
    .map((bytes) => ({ kind: 'random bytes after handshake' as const, bytes: Buffer.from(bytes) })),
  fc.nat(1 << 30).map((over) => ({
    kind: 'oversized after handshake' as const,
    bytes: oversizedPrefix(FRAME_BYTES_MAX, over),
  })),
  fc.tuple(validFrame, fc.nat()).map(([frame, cut]) => ({
    kind: 'truncated after handshake' as const,
    bytes: frame.subarray(0, 1 + (cut % (frame.length - 1))),
  })),
  fc
    .constantFrom(sampleMessages('n8', 'n1').timeoutNow, sampleMessages('n9', 'n2').appendEntries)
    .map((message) => ({
      kind: 'forged sender after handshake' as const,
      bytes: encodeMessageFrame(message),
    })),
  fc.constant({
    kind: 'handshake frame after handshake' as const,
    bytes: encodeFrame(FrameType.hello, { nodeId: 'n9', nonce: newNonce(), proof: new Uint8Array(32) }),
  }),
);

describe('TcpTransport under hostile peers', () => {
  it(`drops ${CASES} bad connections with a log line each; nothing reaches the handler; a good peer is still served`, async () => {
    const n1 = await startNode('n1');
    const good = await startNode('n2');
    good.transport.setPeers({ n1: `${HOST}:${n1.transport.address().port}` });
    n1.transport.setPeers({ n2: `${HOST}:${good.transport.address().port}` });
    let sent = 0;
    const sendGood = (): void => {
      sent += 1;
      good.transport.send({ ...sampleMessages('n2', 'n1').timeoutNow, term: sent });
    };
    const ticker = setInterval(sendGood, 5);
    const port = n1.transport.address().port;
    const cases = fc.sample(attacks, { numRuns: CASES, seed: SEED });
    const dropped: { kind: string; remote: string }[] = [];
    try {
      // A few at a time, as a scan or a broken peer would arrive.
      for (let start = 0; start < cases.length; start += 10) {
        await Promise.all(
          cases.slice(start, start + 10).map(async (attack) => {
            const afterHandshake = attack.kind.endsWith('after handshake');
            const { socket, closed, remote } = await dial(
              port,
              attack.kind === 'wrong secret' ? WRONG_SECRET : afterHandshake ? SECRET : null,
            );
            dropped.push({ kind: attack.kind, remote });
            if ('bytes' in attack) socket.end(attack.bytes);
            await closed;
          }),
        );
      }
      const unlogged = (): { kind: string; remote: string }[] =>
        dropped.filter(({ remote }) => !n1.logged.some(({ fields }) => fields['remote'] === remote));
      await waitFor(() => unlogged().length === 0, 'a log line for every bad connection').catch(
        (error: Error) => {
          throw new Error(`${error.message}; missing: ${JSON.stringify(unlogged().slice(0, 10))}`);
        },
      );
    } finally {
      clearInterval(ticker);
    }
    // The good peer kept its connection and every message it sent arrived, in order, and nothing else.
    await waitFor(() => n1.received.length === sent, 'the good peer’s messages');
    expect(n1.received.map((message) => [message.from, message.term])).toEqual(
      Array.from({ length: sent }, (_, index) => ['n2', index + 1]),
    );
    expect(good.transport.stats().peers['n1']?.connected).toBe(true);
    expect(good.logged.filter(({ message }) => /lost/.test(message))).toEqual([]);
    const byKind = new Map<string, number>();
    for (const { kind } of dropped) byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    const reasons = new Set(n1.logged.map(({ fields }) => String(fields['reason']).replace(/\d+/g, 'N')));
    console.log(
      `raft transport fuzz (seed ${SEED}): ${dropped.length} bad connections dropped, each logged; ` +
        `${[...byKind].map(([kind, count]) => `${kind} ${count}`).join(', ')}; ` +
        `${sent} good messages delivered meanwhile; ${reasons.size} distinct reasons`,
    );
  }, 60_000);
});
