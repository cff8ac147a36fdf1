import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId } from '../core/types';
import { CodecError } from './codec';

// Mutual authentication with a shared cluster secret, before any Raft message flows:
//
//   server -> client   challenge { nodeId: server, nonce: serverNonce }
//   client -> server   hello     { nodeId: client, nonce: clientNonce, proof: HMAC(hello | both ids | both nonces) }
//   server -> client   welcome   { proof: HMAC(welcome | both ids | both nonces) }
//
// Fresh nonces on both sides make a recorded handshake useless for a replay; the direction label
// stops a server's proof being reflected back as a client's. Proofs are compared in constant time.

const NONCE_BYTES = 32;
/** HMAC-SHA256 keys shorter than this are guessable; reject them at configuration time. */
export const CLUSTER_SECRET_BYTES_MIN = 16;

export interface Challenge {
  readonly nodeId: NodeId;
  readonly nonce: Uint8Array;
}

export interface Hello {
  readonly nodeId: NodeId;
  readonly nonce: Uint8Array;
  readonly proof: Uint8Array;
}

export interface Welcome {
  readonly proof: Uint8Array;
}

export interface HandshakeTranscript {
  readonly serverNodeId: NodeId;
  readonly clientNodeId: NodeId;
  readonly serverNonce: Uint8Array;
  readonly clientNonce: Uint8Array;
}

export function newNonce(): Uint8Array {
  return new Uint8Array(randomBytes(NONCE_BYTES));
}

export function handshakeProof(
  secret: Uint8Array,
  direction: 'hello' | 'welcome',
  transcript: HandshakeTranscript,
): Uint8Array {
  const hmac = createHmac('sha256', secret);
  for (const field of [
    `verdict-raft-${direction}`,
    transcript.serverNodeId,
    transcript.clientNodeId,
    transcript.serverNonce,
    transcript.clientNonce,
  ]) {
    // Length-prefixed, so that ("ab", "c") and ("a", "bc") never hash alike.
    const bytes = typeof field === 'string' ? Buffer.from(field, 'utf8') : field;
    const length = Buffer.alloc(4);
    length.writeUInt32LE(bytes.length, 0);
    hmac.update(length);
    hmac.update(bytes);
  }
  return new Uint8Array(hmac.digest());
}

export function proofMatches(expected: Uint8Array, received: Uint8Array): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}

function field<T>(body: unknown, name: string, check: (value: unknown) => value is T, frame: string): T {
  const value =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  if (!check(value)) throw new CodecError(`${frame} frame has no valid ${name}`);
  return value;
}

const isNodeId = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= 256;
const isNonce = (value: unknown): value is Uint8Array =>
  value instanceof Uint8Array && value.length === NONCE_BYTES;
const isProof = (value: unknown): value is Uint8Array => value instanceof Uint8Array && value.length === 32;

export function toChallenge(body: unknown): Challenge {
  return {
    nodeId: field(body, 'nodeId', isNodeId, 'challenge'),
    nonce: field(body, 'nonce', isNonce, 'challenge'),
  };
}

export function toHello(body: unknown): Hello {
  return {
    nodeId: field(body, 'nodeId', isNodeId, 'hello'),
    nonce: field(body, 'nonce', isNonce, 'hello'),
    proof: field(body, 'proof', isProof, 'hello'),
  };
}

export function toWelcome(body: unknown): Welcome {
  return { proof: field(body, 'proof', isProof, 'welcome') };
}
