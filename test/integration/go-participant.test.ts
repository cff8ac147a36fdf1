// The Go participant (examples/go-participant), built with the machine's Go and run as a real
// process, takes part in transactions of a real three-node coordinator cluster beside a TypeScript
// participant on the SDK. It shares no code with ours: only the wire contract of
// docs/participants.md. Checked from the Go service's own state (GET /state), the TypeScript
// service's memory and the coordinator's API: every transaction ends the same way at both, also
// when the Go process is killed (SIGKILL) while it holds transactions prepared and is restarted.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Consumer, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_TOPIC, REPLIES_TOPIC, participantTopic } from '@verdict/protocol';
import {
  startParticipant,
  type ParticipantHandle,
  type PrepareRequest,
  type PrepareResult,
} from '@verdict/participant';
import { createDatabase, createKafka, kafkaBrokers, uniqueName, type TestDatabase } from '../support/stack';
import {
  CoordinatorCluster,
  eventually,
  SERVICE_KEY,
  sleep,
  type HttpResult,
} from '../support/coordinator-cluster';
import { ScriptedService, type ScriptedWork } from '../support/scripted-participant';
import { asyncApiValidators } from '../../libs/protocol/src/testing/asyncapi-validators';

const ROOT = join(__dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'go-participant');
const OPENING_BALANCE = 1_000_000;

interface TxView {
  id: string;
  state: string;
  decision: { outcome: 'COMMIT' | 'ABORT'; reason: string } | null;
  participants: { name: string; vote: string | null; ack: boolean }[];
}

interface GoTxRecord {
  txId: string;
  state: 'PREPARED' | 'REFUSED' | 'READ_ONLY' | 'COMMITTED' | 'ABORTED';
  vote?: string;
  reason?: string;
  term: number;
  account?: string;
  amount?: number;
  resolvedBy?: 'command' | 'rest';
}

interface GoState {
  participant: string;
  accounts: Record<string, { balance: number; held: number; available: number }>;
  transactions: Record<string, GoTxRecord>;
}

/** The machine's Go: on PATH, or where the official archive installs it. */
function goBinary(): string {
  for (const candidate of ['go', '/usr/local/go/bin/go']) {
    if (spawnSync(candidate, ['version'], { encoding: 'utf8' }).status === 0) return candidate;
  }
  throw new Error(
    'go-participant test: the Go toolchain (1.26 or newer) is needed to build examples/go-participant; ' +
      'put `go` on PATH (or install it in /usr/local/go) and run again',
  );
}

/** `go build` into a fresh folder; the modules come from go.mod and go.sum (read-only). */
function buildGoParticipant(directory: string): string {
  const binary = join(directory, 'go-participant');
  const build = spawnSync(goBinary(), ['build', '-mod=readonly', '-buildvcs=false', '-o', binary, '.'], {
    cwd: EXAMPLE,
    encoding: 'utf8',
    env: { ...process.env, GOTOOLCHAIN: 'local' },
    timeout: 300_000,
  });
  if (build.status !== 0) {
    throw new Error(
      `go build in examples/go-participant failed (${build.status}):\n${build.stdout}\n${build.stderr}`,
    );
  }
  return binary;
}

/** The Go participant as an OS process that the test can SIGKILL and start again on the same store. */
class GoProcess {
  private child: ChildProcess | null = null;
  url = '';

  constructor(
    private readonly binary: string,
    private readonly environment: Readonly<Record<string, string>>,
    private readonly logFile: string,
  ) {}

  async start(): Promise<void> {
    if (this.child !== null) throw new Error('the Go participant is already running');
    const child = spawn(this.binary, [], {
      env: { ...process.env, ...this.environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const log = createWriteStream(this.logFile, { flags: 'a' });
    child.stderr.pipe(log);
    let buffered = '';
    const started = new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        log.write(chunk);
        buffered += chunk.toString();
        for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 1);
          const parsed = JSON.parse(line) as { msg?: string; http?: string };
          if (parsed.msg === 'participant started' && parsed.http !== undefined) resolve(parsed.http);
        }
      });
      child.once('exit', (code, signal) =>
        reject(
          new Error(`the Go participant exited (${code ?? signal}) before it started:\n${this.logTail()}`),
        ),
      );
    });
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    this.url = await Promise.race([
      started,
      new Promise<never>((_resolve, reject) =>
        setTimeout(
          () => reject(new Error(`the Go participant did not start in 60 s:\n${this.logTail()}`)),
          60_000,
        ),
      ),
    ]);
  }

  /** SIGKILL: no deferred close runs; only what the store fsynced survives. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async state(): Promise<GoState> {
    const response = await fetch(`${this.url}/state`, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`GET /state answered ${response.status}`);
    return (await response.json()) as GoState;
  }

  logTail(lines = 30): string {
    return existsSync(this.logFile)
      ? readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n')
      : '';
  }
}

/**
 * The TypeScript participant: the scripted service of the coordinator tests, plus `hold: true` in
 * its work, which keeps its vote back until the test releases it, so that a transaction stays
 * undecided while the Go participant has already voted YES. The SDK waits for a batch's commands
 * before it reads on, so a held PREPARE also holds back the ones behind it.
 */
class HoldingService extends ScriptedService {
  private readonly held = new Map<string, () => void>();

  override async prepare(request: PrepareRequest): Promise<PrepareResult> {
    if ((request.work as { hold?: boolean } | null)?.hold === true) {
      await new Promise<void>((resolve) => this.held.set(request.txId, resolve));
    }
    return super.prepare(request);
  }

  isHolding(txId: string): boolean {
    return this.held.has(txId);
  }

  release(txId: string): void {
    const resolve = this.held.get(txId);
    if (resolve === undefined) throw new Error(`the TypeScript participant holds no PREPARE of ${txId}`);
    this.held.delete(txId);
    resolve();
  }
}

let workDirectory: string;
let database: TestDatabase;
let cluster: CoordinatorCluster;
let goParticipant: GoProcess;
let tsService: HoldingService;
let tsHandle: ParticipantHandle;
const goName = uniqueName('go-bank');
const tsName = uniqueName('ts-bank');

beforeAll(async () => {
  workDirectory = mkdtempSync(join(tmpdir(), 'verdict-go-participant-'));
  const binary = buildGoParticipant(workDirectory);
  database = await createDatabase('go_participant');
  cluster = await CoordinatorCluster.start({ kafkaBrokers: kafkaBrokers(), databaseUrl: database.url });
  tsService = new HoldingService();
  tsHandle = await startParticipant({
    name: tsName,
    service: tsService,
    kafka: {
      brokers: kafkaBrokers(),
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
      maxWaitTimeMs: 20,
    },
    // A held PREPARE must not turn into a NO by the SDK's own budget.
    prepareTimeoutMs: 120_000,
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  goParticipant = new GoProcess(
    binary,
    {
      VERDICT_PARTICIPANT_NAME: goName,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      VERDICT_COORDINATOR_URL: cluster.nodes.map((node) => node.url).join(','),
      VERDICT_API_KEY: SERVICE_KEY,
      VERDICT_HTTP_PORT: '0',
      VERDICT_STORE_FILE: join(workDirectory, 'store', `${goName}.jsonl`),
      VERDICT_ACCOUNTS: `alice=${OPENING_BALANCE}`,
      VERDICT_RECOVERY_INTERVAL_MS: '500',
      VERDICT_IN_DOUBT_AFTER_MS: '5000',
      VERDICT_OUTCOME_QUERY_WAIT_MS: '1000',
      VERDICT_KAFKA_SESSION_TIMEOUT_MS: '6000',
    },
    join(workDirectory, 'go-participant.log'),
  );
  await goParticipant.start();
  // Generous: on a loaded 2-core machine three Nest processes take long to start.
  await cluster.waitForLeader(180_000);
}, 600_000);

afterAll(async () => {
  await goParticipant?.kill();
  await tsHandle?.stop();
  await cluster?.stop();
  await database?.drop();
  if (workDirectory !== undefined && process.env['VERDICT_KEEP_TEST_DATA'] === undefined)
    rmSync(workDirectory, { recursive: true, force: true });
});

/**
 * What a patient client does: any node answers (followers forward to the leader); a 503 (no leader
 * right now), a 504 or a dropped connection is asked again, of the next node, until `timeoutMs`.
 * Begin, commit and reads are safe to repeat: commit is idempotent, a repeated begin only leaves an
 * unused transaction that aborts at its deadline.
 */
async function call<T>(
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 120_000,
): Promise<HttpResult<T>> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (let turn = 0; Date.now() < deadline; turn += 1) {
    const running = cluster.nodes.filter((node) => node.process !== null);
    const node = running[turn % Math.max(running.length, 1)];
    if (node !== undefined) {
      try {
        const result = await cluster.request<T>(node, method, path, body);
        if (result.status !== 503 && result.status !== 504) return result;
        last = `${node.nodeId}: ${result.status} ${JSON.stringify(result.body)}`;
      } catch (error) {
        last = `${node.nodeId}: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    await sleep(500);
  }
  throw new Error(`${method} ${path} got no answer within ${timeoutMs} ms; last: ${last}`);
}

/** Go's work: reserve `amount` from alice, or nothing (READ_ONLY). TS's work: a scripted vote. */
async function begin(
  goWork: { reserve?: { account: string; amount: number } },
  tsWork: ScriptedWork & { hold?: boolean },
  timeoutMs = 30_000,
): Promise<string> {
  const result = await call<TxView>('POST', '/v1/transactions', {
    timeoutMs,
    participants: [
      { name: goName, payload: goWork },
      { name: tsName, payload: tsWork },
    ],
  });
  expect(result.status, JSON.stringify(result.body)).toBe(201);
  return result.body.id;
}

async function commit(txId: string): Promise<'COMMIT' | 'ABORT'> {
  const result = await call<TxView>('POST', `/v1/transactions/${txId}/commit`);
  expect(result.status, JSON.stringify(result.body)).toBe(200);
  const outcome = result.body.decision?.outcome;
  if (outcome === undefined) throw new Error(`${txId}: commit answered without a decision`);
  return outcome;
}

async function view(txId: string): Promise<TxView> {
  const result = await call<TxView>('GET', `/v1/transactions/${txId}`);
  expect(result.status).toBe(200);
  return result.body;
}

/** How a transaction ended at the Go participant, or null while it is not settled there. */
function goEnding(record: GoTxRecord | undefined, decided: 'COMMIT' | 'ABORT'): 'COMMIT' | 'ABORT' | null {
  switch (record?.state) {
    case 'COMMITTED':
      return 'COMMIT';
    case 'ABORTED':
    case 'REFUSED':
      return 'ABORT';
    // A READ_ONLY voter gets no decision: it holds nothing, whatever the outcome.
    case 'READ_ONLY':
      return decided;
    default:
      return null;
  }
}

/** The same for the TypeScript participant: a NO voter gets no ABORT (presumed abort). */
function tsEnding(txId: string, decided: 'COMMIT' | 'ABORT'): 'COMMIT' | 'ABORT' | null {
  const branch = tsService.branches.get(txId);
  if (branch?.outcome !== undefined && branch.outcome !== null) return branch.outcome;
  if (branch?.vote === 'NO') return 'ABORT';
  if (branch?.vote === 'READ_ONLY') return decided;
  return null;
}

describe('the Go participant beside a TypeScript participant', () => {
  it('ends every transaction the same way as the TypeScript participant and the coordinator', async () => {
    const before = (await goParticipant.state()).accounts['alice']?.balance ?? Number.NaN;
    // A fifth where Go votes NO (alice cannot cover it), a fifth where TS votes NO, a tenth where
    // Go has nothing to do (READ_ONLY), the rest YES at both.
    const plans = Array.from({ length: 40 }, (_unused, index) => ({
      goWork:
        index % 10 === 3
          ? {}
          : { reserve: { account: 'alice', amount: index % 5 === 1 ? OPENING_BALANCE * 10 : 100 + index } },
      tsWork: { vote: index % 5 === 2 ? ('NO' as const) : ('YES' as const) },
      expected: index % 5 === 1 || index % 5 === 2 ? ('ABORT' as const) : ('COMMIT' as const),
    }));
    const decided: { txId: string; outcome: 'COMMIT' | 'ABORT'; amount: number }[] = [];
    // Four clients at once, so commands of different transactions interleave on both topics.
    const queue = [...plans];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let plan = queue.shift(); plan !== undefined; plan = queue.shift()) {
          const txId = await begin(plan.goWork, plan.tsWork);
          const outcome = await commit(txId);
          expect(outcome, `${txId} ${JSON.stringify(plan)}`).toBe(plan.expected);
          decided.push({ txId, outcome, amount: plan.goWork.reserve?.amount ?? 0 });
        }
      }),
    );

    const state = await eventually(
      async () => {
        const current = await goParticipant.state();
        const settled = decided.every(
          ({ txId, outcome }) =>
            goEnding(current.transactions[txId], outcome) !== null && tsEnding(txId, outcome) !== null,
        );
        return settled ? current : undefined;
      },
      90_000,
      'both participants settling every transaction',
    );
    for (const { txId, outcome } of decided) {
      const record = state.transactions[txId];
      expect(goEnding(record, outcome), `${txId} at Go: ${JSON.stringify(record)}`).toBe(outcome);
      expect(tsEnding(txId, outcome), `${txId} at TS`).toBe(outcome);
      if (outcome === 'COMMIT') {
        expect(record?.vote === 'YES' || record?.vote === 'READ_ONLY').toBe(true);
        expect(tsService.branches.get(txId)?.vote).toBe('YES');
      }
    }
    for (const { txId } of decided.filter(
      (each) => each.outcome === 'ABORT' && each.amount > OPENING_BALANCE,
    )) {
      expect(state.transactions[txId]?.reason).toMatch(/^insufficient funds in account alice/);
    }
    const committed = decided
      .filter((each) => each.outcome === 'COMMIT')
      .reduce((sum, each) => sum + each.amount, 0);
    expect(state.accounts['alice']).toEqual({
      balance: before - committed,
      held: 0,
      available: before - committed,
    });

    // The coordinator's side: the same decision, and every acknowledgement it needed arrived.
    for (const { txId, outcome } of decided) {
      const finished = await eventually(
        async () => {
          const current = await view(txId);
          return current.state === 'COMMITTED' || current.state === 'ABORTED' ? current : undefined;
        },
        90_000,
        `${txId} completing at the coordinator`,
      );
      expect(finished.decision?.outcome, JSON.stringify(finished)).toBe(outcome);
    }
    console.log(
      `go participant: ${decided.length} transactions, ${decided.filter((each) => each.outcome === 'COMMIT').length} committed, ` +
        `${decided.filter((each) => each.outcome === 'ABORT').length} aborted, the same at both participants`,
    );
  }, 480_000);

  it('killed while prepared and restarted, it asks for the outcome and applies the cluster decision', async () => {
    const replies = await watchTopic(REPLIES_TOPIC);
    try {
      const before = (await goParticipant.state()).accounts['alice']?.balance ?? Number.NaN;
      // The TypeScript participant holds its vote back, so both stay undecided while Go votes YES.
      const toCommit = await begin({ reserve: { account: 'alice', amount: 7 } }, { hold: true }, 120_000);
      const toAbort = await begin(
        { reserve: { account: 'alice', amount: 11 } },
        { hold: true, vote: 'NO' },
        120_000,
      );
      const outcomes = Promise.all([commit(toCommit), commit(toAbort)]);
      for (const txId of [toCommit, toAbort]) {
        await eventually(
          async () => {
            const current = await view(txId);
            const go = current.participants.find((participant) => participant.name === goName);
            return go?.vote === 'YES' ? true : undefined;
          },
          90_000,
          `the coordinator recording Go's YES for ${txId}`,
        );
      }
      const prepared = await goParticipant.state();
      expect(prepared.transactions[toCommit]?.state).toBe('PREPARED');
      expect(prepared.transactions[toAbort]?.state).toBe('PREPARED');
      expect(prepared.accounts['alice']?.held).toBe(18);

      await goParticipant.kill();
      const killedAt = Date.now();
      // The SDK hands commands over batch by batch, so the second PREPARE reaches the TypeScript
      // service only once the first is released.
      for (const txId of [toCommit, toAbort]) {
        await eventually(
          () => Promise.resolve(tsService.isHolding(txId) ? true : undefined),
          90_000,
          `the TypeScript participant holding the PREPARE of ${txId}`,
        );
        tsService.release(txId);
      }
      expect(await outcomes).toEqual(['COMMIT', 'ABORT']);

      await goParticipant.start();
      const recovered = await eventually(
        async () => {
          const current = await goParticipant.state();
          return current.transactions[toCommit]?.state === 'COMMITTED' &&
            current.transactions[toAbort]?.state === 'ABORTED'
            ? current
            : undefined;
        },
        120_000,
        `the restarted Go participant resolving its prepared transactions:\n${goParticipant.logTail()}`,
      );
      expect(recovered.accounts['alice']).toEqual({ balance: before - 7, held: 0, available: before - 7 });

      // It asked: an OUTCOME_QUERY for each after the restart, from the Go process.
      const queries = replies.messages
        .map((message) => message.body)
        .filter(
          (body) =>
            body['type'] === 'OUTCOME_QUERY' &&
            body['participant'] === goName &&
            Date.parse(String(body['sentAt'])) > killedAt,
        );
      expect(new Set(queries.map((query) => query['txId']))).toEqual(new Set([toCommit, toAbort]));
      for (const txId of [toCommit, toAbort]) {
        expect(['command', 'rest']).toContain(recovered.transactions[txId]?.resolvedBy);
      }

      // The coordinator got its ACKs and both transactions complete.
      for (const [txId, state] of [
        [toCommit, 'COMMITTED'],
        [toAbort, 'ABORTED'],
      ] as const) {
        await eventually(
          async () => ((await view(txId)).state === state ? true : undefined),
          120_000,
          `${txId} reaching ${state} at the coordinator`,
        );
      }
      // Everything the Go process wrote (votes, ACKs, queries of both tests so far) is what the
      // published AsyncAPI document describes, headers included.
      const fromGo = await eventually(
        () => {
          const mine = replies.messages.filter((message) => message.body['participant'] === goName);
          const types = new Set(mine.map((message) => message.body['type']));
          return Promise.resolve(
            types.has('VOTE') && types.has('ACK') && types.has('OUTCOME_QUERY') ? mine : undefined,
          );
        },
        10_000,
        'votes, ACKs and outcome queries from the Go participant on the replies topic',
      );
      expectPublishedShape(fromGo, 'reply');

      console.log(
        `go participant after SIGKILL: ${toCommit} COMMITTED (by ${recovered.transactions[toCommit]?.resolvedBy}), ` +
          `${toAbort} ABORTED (by ${recovered.transactions[toAbort]?.resolvedBy}), ${queries.length} OUTCOME_QUERY sent`,
      );
    } finally {
      await replies.stop();
    }
  }, 480_000);

  it('parks malformed commands on the dead-letter topic and ignores commands of a stale term', async () => {
    const letters = await watchTopic(DEAD_LETTER_TOPIC);
    const producer: Producer = createKafka('go-participant-test').producer();
    await producer.connect();
    try {
      const committedTx = await begin({ reserve: { account: 'alice', amount: 1 } }, { vote: 'YES' });
      expect(await commit(committedTx)).toBe('COMMIT');
      await eventually(
        async () =>
          (await goParticipant.state()).transactions[committedTx]?.state === 'COMMITTED' ? true : undefined,
        60_000,
        'the Go participant committing',
      );
      const before = await goParticipant.state();
      const term = before.transactions[committedTx]?.term ?? 0;
      expect(term).toBeGreaterThan(0);
      const envelope = (type: string, fields: Record<string, unknown>): string =>
        JSON.stringify({
          v: 1,
          type,
          txId: committedTx,
          participant: goName,
          term,
          attempt: 1,
          sentAt: new Date().toISOString(),
          payload: {},
          ...fields,
        });
      const topic = participantTopic(goName);
      const malformed = [
        '{"v":1,"type":"ABORT"',
        envelope('ABORT', { v: 2 }),
        envelope('ABORT', { extra: true }),
        envelope('VOTE', { payload: { vote: 'YES' } }),
      ];
      // A deposed leader's ABORT (term below the one recorded) first: ignored, neither applied nor parked.
      await producer.send({
        topic,
        acks: -1,
        messages: [
          { key: committedTx, value: envelope('ABORT', { term: term - 1 }) },
          ...malformed.map((value) => ({ key: committedTx, value })),
        ],
      });
      const parked = await eventually(
        () => {
          const mine = letters.messages
            .map((letter) => letter.body)
            .filter((letter) => letter['parkedBy'] === `participant ${goName} (go)`);
          return Promise.resolve(mine.length >= malformed.length ? mine : undefined);
        },
        60_000,
        'the malformed commands on the dead-letter topic',
      );
      expect(parked.map((letter) => Buffer.from(String(letter.valueBase64), 'base64').toString())).toEqual(
        malformed,
      );
      expect(parked.map((letter) => letter.reason)).toEqual([
        expect.stringContaining('envelope'),
        expect.stringContaining('protocol version 2'),
        expect.stringContaining('unknown field "extra"'),
        expect.stringContaining('"VOTE" is not a command'),
      ]);
      expect(parked.every((letter) => letter['sourceTopic'] === topic)).toBe(true);
      // Same partition, so the stale ABORT before them was handled already: it changed nothing.
      const after = await goParticipant.state();
      expect(after.transactions[committedTx]).toEqual(before.transactions[committedTx]);
      expect(after.accounts).toEqual(before.accounts);

      // The consumer goes on.
      const next = await begin({ reserve: { account: 'alice', amount: 2 } }, { vote: 'YES' });
      expect(await commit(next)).toBe('COMMIT');
      await eventually(
        async () =>
          (await goParticipant.state()).transactions[next]?.state === 'COMMITTED' ? true : undefined,
        60_000,
        'the Go participant committing after the malformed messages',
      );
    } finally {
      await producer.disconnect();
      await letters.stop();
    }
  }, 300_000);
});

interface WatchedMessage {
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
}

interface Watched {
  readonly messages: WatchedMessage[];
  stop(): Promise<void>;
}

/** Reads a topic from its beginning in a group of its own, keeping each JSON message and its headers. */
async function watchTopic(topic: string): Promise<Watched> {
  const consumer: Consumer = createKafka(uniqueName('go-watch')).consumer({
    groupId: uniqueName('go-watch-group'),
    maxWaitTimeInMs: 50,
  });
  const messages: WatchedMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachMessage: ({ message }) => {
      try {
        const body: unknown = JSON.parse(message.value?.toString() ?? 'null');
        // The fuzz tests write garbage to these topics too, `null` and bare numbers included.
        if (typeof body !== 'object' || body === null || Array.isArray(body)) return Promise.resolve();
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
        );
        messages.push({ body: body as Record<string, unknown>, headers });
      } catch {
        // Not JSON: not ours to judge here either.
      }
      return Promise.resolve();
    },
  });
  await joined;
  return { messages, stop: () => consumer.disconnect() };
}

/** Every message is checked against the published document, not against our code. */
const published = asyncApiValidators(
  JSON.parse(readFileSync(join(ROOT, 'docs', 'asyncapi.json'), 'utf8')) as Record<string, unknown>,
);

function expectPublishedShape(messages: readonly WatchedMessage[], kind: 'reply' | 'dead letter'): void {
  expect(messages.length).toBeGreaterThan(0);
  for (const { body, headers } of messages) {
    const schema = kind === 'dead letter' ? 'DeadLetter' : published.schemaNameOf(String(body['type']));
    expect(published.check(schema, body), JSON.stringify(body)).toBeNull();
    if (kind === 'reply')
      expect(published.check(`${schema}Headers`, headers), JSON.stringify(headers)).toBeNull();
  }
}
