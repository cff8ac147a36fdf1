// Fuzzes both Kafka consumers with malformed messages while real transactions run: the replies
// topic read by a real three-node coordinator cluster, and the command topic of a participant on
// the real SDK. Every bad message must be parked on the dead-letter topic with its reason (once
// by each coordinator node, once by the participant), no consumer may stop, and the transactions
// running meanwhile must all end the same way everywhere. Every message our own code wrote during
// the run is checked against the AsyncAPI document's JSON Schemas.
import { CompressionTypes, type IHeaders, type Message, type Producer } from 'kafkajs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_TOPIC,
  decodeCommand,
  decodeReply,
  encodeMessage,
  HEADER_MESSAGE_TYPE,
  HEADER_TRACEPARENT,
  MESSAGE_BYTES_MAX,
  participantTopic,
  REPLIES_TOPIC,
  uuidv7,
  type DeadLetter,
  type ProtocolMessage,
} from '@verdict/protocol';
import { asyncApiValidators } from '../../libs/protocol/src/testing/asyncapi-validators';
import { CoordinatorCluster, eventually, type CoordinatorNode } from '../support/coordinator-cluster';
import { startScriptedParticipant, type ScriptedParticipant } from '../support/scripted-participant';
import { createDatabase, createKafka, kafkaBrokers, uniqueName, type TestDatabase } from '../support/stack';

const SEED = 20_261_125;
const BAD_REPLIES = 1_200;
const BAD_COMMANDS = 1_000;
/** Valid commands whose Kafka headers are broken: answered, never parked, never fatal. */
const BAD_HEADER_COMMANDS = 20;
const OVERSIZED_EACH = 4;
const TRANSACTIONS = 40;
const CLIENTS = 4;

let database: TestDatabase;
let cluster: CoordinatorCluster;
let bankA: ScriptedParticipant;
let bankB: ScriptedParticipant;
let producer: Producer;
const validators = asyncApiValidators();
const marker = uniqueName('fuzz');

/** Everything read back from the topics during the run. */
const letters: DeadLetter[] = [];

function headerText(header: IHeaders[string]): string | undefined {
  const first = Array.isArray(header) ? header[0] : header;
  return first?.toString();
}
const observed: { topic: string; key: string | null; value: Buffer | null; headers: IHeaders }[] = [];
let stopReaders: () => Promise<void> = () => Promise.resolve();

beforeAll(async () => {
  database = await createDatabase('fuzz');
  cluster = await CoordinatorCluster.start({ kafkaBrokers: kafkaBrokers(), databaseUrl: database.url });
  bankA = await startScriptedParticipant(uniqueName('fuzz-a'), kafkaBrokers());
  bankB = await startScriptedParticipant(uniqueName('fuzz-b'), kafkaBrokers());
  // Generous: three processes start on a 2-core machine that other test runs may share.
  await cluster.waitForLeader(150_000);
  const kafka = createKafka('fuzz-test');
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const reader = kafka.consumer({ groupId: uniqueName('fuzz-reader'), maxBytesPerPartition: 4 << 20 });
  await reader.connect();
  await reader.subscribe({
    topics: [DEAD_LETTER_TOPIC, REPLIES_TOPIC, participantTopic(bankA.name), participantTopic(bankB.name)],
    fromBeginning: true,
  });
  await reader.run({
    eachMessage: ({ topic, message }) => {
      const key = message.key?.toString('utf8') ?? null;
      if (topic === DEAD_LETTER_TOPIC) {
        const letter = JSON.parse(message.value?.toString('utf8') ?? 'null') as DeadLetter | null;
        if (letter?.key?.startsWith(marker) === true) letters.push(letter);
      } else if (key?.startsWith(marker) !== true) {
        observed.push({ topic, key, value: message.value, headers: message.headers ?? {} });
      }
      return Promise.resolve();
    },
  });
  stopReaders = () => reader.disconnect();
}, 300_000);

afterAll(async () => {
  await stopReaders();
  await producer?.disconnect();
  await Promise.all([bankA?.handle.stop(), bankB?.handle.stop()]);
  await cluster?.stop();
  await database?.drop();
});

// ---------------------------------------------------------------------------------------------
// The generator: a seeded stream of messages that must not decode, one kind at a time.

type Direction = 'reply' | 'command';

function validMessage(direction: Direction, participant: string, pick: number): ProtocolMessage {
  const envelope = {
    v: 1,
    txId: uuidv7(),
    participant,
    term: 2,
    attempt: 1,
    sentAt: new Date().toISOString(),
  } as const;
  if (direction === 'command') {
    const deadline = new Date(Date.now() + 5_000).toISOString();
    return [
      {
        ...envelope,
        type: 'PREPARE',
        payload: { work: { debit: 1 }, deadline, participants: [participant] },
      },
      { ...envelope, type: 'COMMIT', payload: {} },
      { ...envelope, type: 'ABORT', payload: { reason: 'fuzz' } },
    ][pick % 3] as ProtocolMessage;
  }
  return [
    { ...envelope, type: 'VOTE', payload: { vote: 'YES' } },
    { ...envelope, type: 'ACK', payload: { outcome: 'COMMIT' } },
    { ...envelope, type: 'OUTCOME_QUERY', term: 0, payload: {} },
  ][pick % 3] as ProtocolMessage;
}

const wrongValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  fc.constantFrom(-1, 1.5, 2 ** 60, '', 'Bank A', 'MAYBE', '2026-13-45T99:00:00Z', 'not-a-uuid'),
);
const FIELDS = ['v', 'type', 'txId', 'participant', 'term', 'attempt', 'sentAt', 'payload'] as const;
const PAYLOAD_FIELDS = ['vote', 'reason', 'outcome', 'deadline', 'participants', 'onePhase', 'work'] as const;

/** What a generated message is, for the printed counts. */
type Kind =
  | 'truncated'
  | 'random bytes'
  | 'not an object'
  | 'deeply nested'
  | 'wrong type'
  | 'missing field'
  | 'unknown field'
  | 'wrong version'
  | 'wrong topic'
  | 'wrong addressee'
  | 'invalid utf-8'
  | 'empty'
  | 'oversized';

interface Bad {
  readonly kind: Kind;
  readonly value: Buffer | null;
}

function badMessage(direction: Direction, participant: string): fc.Arbitrary<Bad> {
  const valid = fc.nat(2).map((pick) => validMessage(direction, participant, pick));
  const json = (kind: Kind, body: unknown): Bad => ({ kind, value: Buffer.from(JSON.stringify(body)) });
  const kinds: fc.Arbitrary<Bad>[] = [
    fc.tuple(valid, fc.double({ min: 0, max: 1, noNaN: true })).map(([message, cut]) => {
      const bytes = encodeMessage(message);
      return { kind: 'truncated', value: bytes.subarray(0, 1 + Math.floor(cut * (bytes.length - 2))) };
    }),
    fc.uint8Array({ minLength: 1, maxLength: 2_000 }).map((bytes) => ({
      kind: 'random bytes' as const,
      value: Buffer.from(bytes),
    })),
    fc
      .oneof(fc.integer(), fc.string(), fc.array(fc.integer()), fc.constant(null), fc.boolean())
      .map((body) => json('not an object', body)),
    fc.integer({ min: 1_000, max: 50_000 }).map((depth) => ({
      kind: 'deeply nested' as const,
      value: Buffer.from(`${'{"v":'.repeat(depth)}1${'}'.repeat(depth)}`),
    })),
    fc.tuple(valid, fc.boolean(), fc.nat(99), wrongValue).map(([message, inPayload, which, value]) => {
      const body = structuredClone(message) as unknown as Record<string, unknown>;
      const target = inPayload ? (body['payload'] as Record<string, unknown>) : body;
      const names = inPayload ? PAYLOAD_FIELDS : FIELDS;
      target[names[which % names.length] ?? 'v'] = value;
      return json('wrong type', body);
    }),
    fc.tuple(valid, fc.nat(99)).map(([message, which]) => {
      const body = structuredClone(message) as unknown as Record<string, unknown>;
      delete body[FIELDS[which % FIELDS.length] ?? 'v'];
      return json('missing field', body);
    }),
    fc
      .tuple(valid, fc.string({ minLength: 1, maxLength: 12 }), wrongValue)
      .map(([message, name, value]) => json('unknown field', { ...message, [`x-${name}`]: value })),
    fc
      .tuple(valid, fc.constantFrom(0, 2, 99, -1, '1', 1.0001, null, true))
      .map(([message, v]) => json('wrong version', { ...message, v })),
    fc
      .nat(2)
      .map((pick) =>
        json('wrong topic', validMessage(direction === 'reply' ? 'command' : 'reply', participant, pick)),
      ),
    fc.tuple(valid, fc.nat(200)).map(([message, at]) => {
      const bytes = encodeMessage(message);
      const position = Math.min(bytes.length - 3, 20 + (at % Math.max(1, bytes.length - 23)));
      const broken = Buffer.concat([
        bytes.subarray(0, position),
        Buffer.from([0xff, 0xfe, 0xc3]),
        bytes.subarray(position),
      ]);
      return { kind: 'invalid utf-8' as const, value: broken };
    }),
    fc.constantFrom<Bad>({ kind: 'empty', value: null }, { kind: 'empty', value: Buffer.alloc(0) }),
  ];
  if (direction === 'command') {
    kinds.push(
      fc.nat(2).map((pick) => json('wrong addressee', validMessage('command', 'someone-else', pick))),
    );
  }
  // A wrong value can happen to be a right one (any `work`, any string as `reason`): those are not sent.
  return fc.oneof(...kinds).filter((bad) => isRefused(direction, participant, bad));
}

/** The decision the consumer will make, asked beforehand: only messages it must refuse are sent. */
function isRefused(direction: Direction, participant: string, bad: Bad): boolean {
  const decoded = direction === 'reply' ? decodeReply(bad.value) : decodeCommand(bad.value);
  return !decoded.ok || (direction === 'command' && decoded.message.participant !== participant);
}

/** Sends in produce requests of at most ~512 KiB: the broker refuses a record batch over ~1 MB. */
async function sendAll(
  topic: string,
  messages: readonly Message[],
  compression = CompressionTypes.None,
): Promise<void> {
  let chunk: Message[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (chunk.length > 0) await producer.send({ topic, acks: -1, compression, messages: chunk });
    chunk = [];
    bytes = 0;
  };
  for (const message of messages) {
    const size = message.value === null ? 0 : Buffer.byteLength(message.value ?? '');
    if (bytes + size > 512 * 1024) await flush();
    chunk.push(message);
    bytes += size;
  }
  await flush();
}

// ---------------------------------------------------------------------------------------------

interface Outcome {
  readonly expected: string;
  readonly decided: string;
  readonly reason: string;
}

interface TxView {
  id: string;
  decision: { outcome: 'COMMIT' | 'ABORT'; reason: string } | null;
}

/** Runs `count` transactions over both banks, every third with bank-b voting NO; returns their decisions. */
async function runTransactions(count: number): Promise<Map<string, Outcome>> {
  const results = new Map<string, Outcome>();
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < count) {
      const number = next;
      next += 1;
      const node: CoordinatorNode = await cluster.waitForLeader(30_000);
      const no = number % 3 === 2;
      const begun = await cluster.requestRetrying<TxView>(node, 'POST', '/v1/transactions', {
        timeoutMs: 15_000,
        participants: [
          { name: bankA.name, payload: {} },
          { name: bankB.name, payload: no ? { vote: 'NO' } : {} },
        ],
      });
      expect(begun.status, JSON.stringify(begun.body)).toBe(201);
      const decided = await cluster.requestRetrying<TxView>(
        node,
        'POST',
        `/v1/transactions/${begun.body.id}/commit`,
      );
      expect(decided.status, JSON.stringify(decided.body)).toBe(200);
      results.set(begun.body.id, {
        expected: no ? 'ABORT' : 'COMMIT',
        decided: decided.body.decision?.outcome ?? 'none',
        reason: decided.body.decision?.reason ?? '',
      });
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, () => client()));
  return results;
}

async function expectAllSettled(results: Map<string, Outcome>): Promise<void> {
  for (const [txId, { expected, decided, reason }] of results) {
    // A NO vote always aborts. A YES/YES transaction commits, unless its prepare deadline passed on
    // this loaded machine: an abort then is a correct, consistent outcome, and is counted.
    if (expected === 'ABORT' || !/deadline|timed out|timeout/i.test(reason))
      expect(decided, `${txId}: ${reason}`).toBe(expected);
  }
  await eventually(
    () => {
      const pending = [...results].filter(([txId, { decided }]) =>
        [bankA, bankB].some((bank) => {
          const branch = bank.service.branches.get(txId);
          // A NO voter needs no decision (presumed abort); everyone else must apply the decision.
          return branch?.vote !== 'NO' && branch?.outcome !== decided;
        }),
      );
      return Promise.resolve(pending.length === 0 ? true : undefined);
    },
    60_000,
    'every participant applying the decision of every transaction',
  );
}

describe('Kafka fuzz', () => {
  it('parks every malformed reply and command with its reason while transactions keep committing', async () => {
    const commandTopic = participantTopic(bankA.name);
    const replies = fc.sample(badMessage('reply', bankA.name), { numRuns: BAD_REPLIES, seed: SEED });
    const commands = fc.sample(badMessage('command', bankA.name), { numRuns: BAD_COMMANDS, seed: SEED + 1 });
    // Over the 1 MiB limit: only a compressed batch gets such a record past the broker.
    const oversized = (): Bad[] =>
      Array.from({ length: OVERSIZED_EACH }, (_, index) => ({
        kind: 'oversized',
        value: Buffer.alloc(MESSAGE_BYTES_MAX + 1 + index * 100_000, index % 2 === 0 ? '{' : ' '),
      }));
    const badReplies = replies.map((bad, index) => ({ ...bad, key: `${marker}-r-${index}` }));
    const badCommands = commands.map((bad, index) => ({ ...bad, key: `${marker}-c-${index}` }));
    const bigReplies = oversized().map((bad, index) => ({ ...bad, key: `${marker}-R-${index}` }));
    const bigCommands = oversized().map((bad, index) => ({ ...bad, key: `${marker}-C-${index}` }));

    // Valid commands with broken headers: a trace header is advice, never a reason to stall.
    const badHeaders: Message[] = Array.from({ length: BAD_HEADER_COMMANDS }, (_, index) => {
      const message = validMessage('command', bankA.name, 0);
      const headers: IHeaders =
        [
          // kafkajs cannot write a null header value (other clients can: the SDK's unit test covers it).
          { [HEADER_TRACEPARENT]: Buffer.alloc(0) },
          { [HEADER_TRACEPARENT]: Buffer.from([0xff, 0x00, 0xfe]) },
          { [HEADER_TRACEPARENT]: ['00-bad', 'also bad'] },
          { [HEADER_MESSAGE_TYPE]: 'VOTE', [HEADER_TRACEPARENT]: 'x'.repeat(10_000) },
        ][index % 4] ?? {};
      return { key: message.txId, value: encodeMessage(message), headers };
    });

    const startedAt = Date.now();
    const transactions = runTransactions(TRANSACTIONS);
    // Awaited below; this only keeps an early failure of the test from leaving it unhandled.
    transactions.catch(() => undefined);
    await Promise.all([
      sendAll(REPLIES_TOPIC, badReplies),
      sendAll(commandTopic, badCommands),
      sendAll(REPLIES_TOPIC, bigReplies, CompressionTypes.GZIP),
      sendAll(commandTopic, bigCommands, CompressionTypes.GZIP),
      sendAll(commandTopic, badHeaders),
    ]);
    const sentReplies = badReplies.length + bigReplies.length;
    const sentCommands = badCommands.length + bigCommands.length;

    const parkedBy = (who: string): Set<string> =>
      new Set(letters.filter((letter) => letter.parkedBy === who).map((letter) => letter.key ?? ''));
    const nodes = cluster.nodes.map((node) => `coordinator ${node.nodeId}`);
    await eventually(
      () => {
        const done =
          nodes.every((who) => parkedBy(who).size >= sentReplies) &&
          parkedBy(`participant ${bankA.name}`).size >= sentCommands;
        return Promise.resolve(done ? true : undefined);
      },
      120_000,
      `every bad message parked (so far ${letters.length} letters)`,
    );
    const results = await transactions;
    // After the fuzz: every consumer still reads, so new transactions still commit.
    for (const [txId, result] of await runTransactions(6)) results.set(txId, result);
    await expectAllSettled(results);

    // Exactly what was sent, once per consumer (a re-read batch may repeat a letter; the set does not).
    for (const who of nodes) {
      expect(parkedBy(who)).toEqual(new Set([...badReplies, ...bigReplies].map((bad) => bad.key)));
    }
    expect(parkedBy(`participant ${bankA.name}`)).toEqual(
      new Set([...badCommands, ...bigCommands].map((bad) => bad.key)),
    );
    for (const letter of letters) {
      expect(validators.check('DeadLetter', letter), JSON.stringify(letter).slice(0, 500)).toBeNull();
      expect(letter.reason.length).toBeGreaterThan(0);
    }
    for (const node of cluster.nodes) expect(node.process, `${node.nodeId} is running`).not.toBeNull();

    // Every message our code wrote meanwhile (commands, replies, OUTCOME_QUERY) matches the document.
    const ours = new Set([...results.keys(), ...badHeaders.map((message) => String(message.key))]);
    const inputs = new Set(badHeaders.map((message) => String(message.value)));
    const checked = new Map<string, number>();
    for (const { topic, key, value, headers } of observed) {
      if (topic === DEAD_LETTER_TOPIC || key === null || !ours.has(key)) continue;
      const body = JSON.parse(value?.toString('utf8') ?? 'null') as { type: string };
      // The test's own bad-header commands are its input, not something our code wrote.
      if (inputs.has(value?.toString('utf8') ?? '')) continue;
      const schema = validators.schemaNameOf(body.type);
      expect(validators.check(schema, body), `${topic} ${JSON.stringify(body)}`).toBeNull();
      const flatHeaders = Object.fromEntries(
        Object.entries(headers).map(([name, header]) => [name, headerText(header)]),
      );
      expect(
        validators.check(`${schema}Headers`, flatHeaders),
        `${topic} ${JSON.stringify(flatHeaders)}`,
      ).toBeNull();
      checked.set(body.type, (checked.get(body.type) ?? 0) + 1);
    }

    const byKind = new Map<string, number>();
    for (const bad of [...badReplies, ...bigReplies, ...badCommands, ...bigCommands]) {
      byKind.set(bad.kind, (byKind.get(bad.kind) ?? 0) + 1);
    }
    console.log(
      [
        `kafka fuzz (seed ${SEED}, ${Math.round((Date.now() - startedAt) / 1000)} s):`,
        `  sent ${sentReplies} bad replies to ${REPLIES_TOPIC} and ${sentCommands} bad commands to ${commandTopic} (${sentReplies + sentCommands} in all), plus ${BAD_HEADER_COMMANDS} valid commands with broken headers`,
        `  by kind: ${[...byKind].map(([kind, count]) => `${kind} ${count}`).join(', ')}`,
        ...nodes.map(
          (who) =>
            `  parked by ${who}: ${parkedBy(who).size} distinct (${letters.filter((l) => l.parkedBy === who).length} letters)`,
        ),
        `  parked by participant ${bankA.name}: ${parkedBy(`participant ${bankA.name}`).size} distinct`,
        `  transactions during and after: ${results.size} (${[...results.values()].filter((r) => r.decided === 'COMMIT').length} committed, ${[...results.values()].filter((r) => r.decided === 'ABORT').length} aborted, ${[...results.values()].filter((r) => r.expected !== r.decided).length} YES/YES aborted at their deadline), all consistent`,
        `  messages our code sent, valid against the AsyncAPI document: ${[...checked].map(([type, count]) => `${type} ${count}`).join(', ')}`,
      ].join('\n'),
    );
  }, 300_000);
});
