// The operator CLI as operators run it: the real `bin/verdict.mjs` in a child process against
// three real coordinator processes, the real broker and PostgreSQL, and participants on the real
// SDK. Every error case is produced by the cluster itself (a closed port, two killed nodes, a
// service key on an operator route, a decided transaction), never faked.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/stack/ports.mjs';
import {
  CoordinatorCluster,
  eventually,
  OPERATOR_KEY,
  SERVICE_KEY,
  type CoordinatorNode,
} from '../support/coordinator-cluster';
import { startScriptedParticipant, type ScriptedParticipant } from '../support/scripted-participant';
import { createDatabase, kafkaBrokers, uniqueName, type TestDatabase } from '../support/stack';

const root = join(__dirname, '..', '..');
const bin = join(root, 'bin', 'verdict.mjs');
const EXIT = {
  ok: 0,
  usage: 2,
  unreachable: 3,
  unavailable: 4,
  unauthenticated: 5,
  forbidden: 6,
  notFound: 7,
  conflict: 8,
  rejected: 9,
};

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface RunOptions {
  /** VERDICT_URL; null leaves it unset. Default: the current leader. */
  readonly server?: string | null;
  /** VERDICT_API_KEY; null leaves it unset. Default: the operator key. */
  readonly apiKey?: string | null;
  /** The program and arguments before the CLI's own (default: this Node and bin/verdict.mjs). */
  readonly command?: readonly string[];
  readonly path?: string;
}

/** Runs the CLI without blocking this process: the participants live in its event loop. */
function verdict(args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  const environment: Record<string, string | undefined> = { ...process.env };
  delete environment['VERDICT_URL'];
  delete environment['VERDICT_API_KEY'];
  const server = options.server === undefined ? leaderUrl : options.server;
  const apiKey = options.apiKey === undefined ? OPERATOR_KEY : options.apiKey;
  if (server !== null) environment['VERDICT_URL'] = server;
  if (apiKey !== null) environment['VERDICT_API_KEY'] = apiKey;
  if (options.path !== undefined) environment['PATH'] = options.path;
  const [program = process.execPath, ...prefix] = options.command ?? [process.execPath, bin];
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...prefix, ...args], {
      cwd: root,
      env: environment,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The run's exit code, with its output in the failure message when it is not the expected one. */
function expectExit(run: CliRun, code: number): void {
  expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(code);
}

interface TxJson {
  id: string;
  state: string;
  decision: {
    outcome: string;
    raftIndex: number;
    raftTerm: number;
    reason: string;
    resolvedBy: string | null;
  } | null;
  participants: { name: string; vote: string | null; ack: boolean; attempts: number }[];
  timeline?: { kind: string; detail: string; actor: string | null }[];
}

let database: TestDatabase;
let cluster: CoordinatorCluster;
let bankA: ScriptedParticipant;
let leaderUrl: string;
/** Enlisted but never started: it never votes and never acknowledges, so its transactions stay live. */
const ghost = uniqueName('ghost');
/** VERDICT_STUCK_AFTER_MS for the nodes: the stuck transaction is stuck seconds after it prepares. */
const STUCK_AFTER_MS = 3_000;
let committedTx: string;
let stuckTx: string;
const commitCall = new AbortController();

async function leader(): Promise<CoordinatorNode> {
  const node = await cluster.waitForLeader(30_000);
  leaderUrl = node.url;
  return node;
}

beforeAll(async () => {
  database = await createDatabase('cli');
  cluster = await CoordinatorCluster.start({
    kafkaBrokers: kafkaBrokers(),
    databaseUrl: database.url,
    environment: { VERDICT_STUCK_AFTER_MS: String(STUCK_AFTER_MS) },
  });
  bankA = await startScriptedParticipant(uniqueName('bank-a'), kafkaBrokers());
  const node = await cluster.waitForLeader(60_000);
  leaderUrl = node.url;

  const begun = await cluster.requestRetrying<TxJson>(node, 'POST', '/v1/transactions', {
    participants: [{ name: bankA.name, payload: {} }],
    metadata: { orderId: 'ord-1' },
  });
  expect(begun.status, JSON.stringify(begun.body)).toBe(201);
  committedTx = begun.body.id;
  const committed = await cluster.request<TxJson>(
    node,
    'POST',
    `/v1/transactions/${committedTx}/commit?wait=completion`,
  );
  expect(committed.body.decision?.outcome).toBe('COMMIT');

  const stuck = await cluster.requestRetrying<TxJson>(node, 'POST', '/v1/transactions', {
    timeoutMs: 600_000,
    participants: [
      { name: bankA.name, payload: {} },
      { name: ghost, payload: {} },
    ],
  });
  expect(stuck.status, JSON.stringify(stuck.body)).toBe(201);
  stuckTx = stuck.body.id;
  // Puts the transaction in PREPARING; the call itself answers only once a decision exists (or
  // with a 503 if leadership moves meanwhile), so it is left running and cancelled at the end.
  void fetch(`${node.url}/v1/transactions/${stuckTx}/commit`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SERVICE_KEY}` },
    signal: commitCall.signal,
  }).then(
    (response) => response.body?.cancel().catch(() => undefined),
    () => undefined,
  );
  await eventually(
    async () => {
      const view = await cluster.request<TxJson>(node, 'GET', `/v1/transactions/${stuckTx}`);
      const voted = view.body.participants.find((participant) => participant.name === bankA.name)?.vote;
      return view.body.state === 'PREPARING' && voted === 'YES' ? true : undefined;
    },
    20_000,
    `${stuckTx} PREPARING with bank-a's YES`,
  );
}, 180_000);

afterAll(async () => {
  commitCall.abort();
  await bankA?.handle.stop();
  await cluster?.stop();
  await database?.drop();
});

// Each CLI run is a Node process start; on a busy 2-core machine a test of several runs needs minutes.
describe('verdict, the operator CLI, against a real three-node cluster', { timeout: 240_000 }, () => {
  it('--help works through npx and under whichever node is first on PATH', async () => {
    const npx = await verdict(['--help'], { command: ['npx', '--no-install', 'verdict'] });
    expectExit(npx, EXIT.ok);
    expect(npx.stdout).toContain('Usage: verdict');
    // Without node_modules/.bin on PATH, `node` is the system one (Node 20 on this machine): the
    // bin re-executes itself on the Node 24 that npm ci installed.
    const systemPath = (process.env['PATH'] ?? '')
      .split(':')
      .filter((entry) => !entry.includes('node_modules'))
      .join(':');
    const systemNode = await verdict(['--help'], { command: ['node', bin], path: systemPath });
    expectExit(systemNode, EXIT.ok);
    expect(systemNode.stdout).toContain('tx');
    // The SWC build that npm run build writes (the harness built it) runs too.
    const built = await verdict(['cluster', 'status', '--json'], {
      command: [process.execPath, join(root, 'dist', 'apps', 'cli', 'src', 'main.js')],
    });
    expectExit(built, EXIT.ok);
    expect((JSON.parse(built.stdout) as { leaderId: string }).leaderId).toBeTruthy();
  });

  it('tx list: a table for people, JSON for scripts, filters sent to the API', async () => {
    await leader();
    const table = await verdict(['tx', 'list']);
    expectExit(table, EXIT.ok);
    expect(table.stdout).toMatch(/^ID +STATE +AGE +PARTICIPANTS +DECISION +STUCK/);
    expect(table.stdout).toContain(committedTx);
    expect(table.stdout).toContain(stuckTx);
    expect(table.stderr).toBe('');

    const json = await verdict(['tx', 'list', '--json', '--limit', '10']);
    expectExit(json, EXIT.ok);
    const page = JSON.parse(json.stdout) as { items: TxJson[] };
    expect(page.items.map((item) => item.id)).toEqual(expect.arrayContaining([committedTx, stuckTx]));

    const filtered = await verdict(['tx', 'list', '--json', '--state', 'PREPARING', '--participant', ghost]);
    expectExit(filtered, EXIT.ok);
    expect((JSON.parse(filtered.stdout) as { items: TxJson[] }).items.map((item) => item.id)).toEqual([
      stuckTx,
    ]);

    const old = await verdict(['tx', 'list', '--json', '--older-than', '1h']);
    expectExit(old, EXIT.ok);
    expect((JSON.parse(old.stdout) as { items: TxJson[] }).items).toEqual([]);

    // Stuck means longer than STUCK_AFTER_MS in one phase: PREPARING since beforeAll, the ghost's
    // transaction is, and it is the only one.
    type StuckPage = { items: (TxJson & { stuck: { reason: string } | null })[] };
    const stuckItems = await eventually(
      async () => {
        const stuck = await verdict(['tx', 'list', '--stuck', '--json']);
        expectExit(stuck, EXIT.ok);
        const items = (JSON.parse(stuck.stdout) as StuckPage).items;
        return items.length > 0 ? items : undefined;
      },
      30_000,
      `${stuckTx} reported stuck`,
    );
    expect(stuckItems.map((item) => item.id)).toEqual([stuckTx]);
    expect(stuckItems[0]?.stuck?.reason).toContain(`waiting for vote from ${ghost}`);
  });

  it('tx show: the decision with its Raft position, the participants and the timeline', async () => {
    const json = await verdict(['tx', 'show', committedTx, '--json']);
    expectExit(json, EXIT.ok);
    const transaction = JSON.parse(json.stdout) as TxJson;
    expect(transaction.id).toBe(committedTx);
    const decision = transaction.decision;
    expect(decision?.outcome).toBe('COMMIT');

    const text = await verdict(['tx', 'show', committedTx]);
    expectExit(text, EXIT.ok);
    expect(text.stdout).toContain(`Transaction ${committedTx}`);
    expect(text.stdout).toContain(
      `COMMIT at Raft index ${decision?.raftIndex} (term ${decision?.raftTerm}) by the coordinator: ${decision?.reason}`,
    );
    expect(text.stdout).toContain('metadata  orderId=ord-1');
    expect(text.stdout).toMatch(new RegExp(`${bankA.name} +YES +yes `));
    const timeline = text.stdout.slice(text.stdout.indexOf('\nTimeline\n'));
    expect(timeline.length).toBeGreaterThan(0);
    if (transaction.timeline === undefined) {
      expect(timeline).toContain('does not report timelines');
    } else if (transaction.timeline.length === 0) {
      expect(timeline).toContain('(no events recorded)');
    } else {
      for (const event of transaction.timeline) expect(timeline).toContain(`${event.kind} `);
    }
  });

  it('tx retry: re-sends PREPARE to the participant that has not voted, with the reason on the timeline', async () => {
    const retried = await verdict(['tx', 'retry', stuckTx]);
    expectExit(retried, EXIT.ok);
    expect(retried.stdout).toMatch(
      new RegExp(`^Re-sent PREPARE for ${stuckTx} to ${ghost} \\(attempt \\d+\\)\\.`),
    );

    const why = `${ghost} was restarted`;
    const withReason = await verdict(['tx', 'retry', stuckTx, '--reason', why, '--json']);
    expectExit(withReason, EXIT.ok);
    const retries = (JSON.parse(withReason.stdout) as TxJson).timeline?.filter(
      (event) => event.kind === 'RETRY',
    );
    // The newest RETRY carries the reason; the one before it (same leader) has none.
    expect(retries?.at(-1)).toMatchObject({
      detail: expect.stringMatching(new RegExp(`; reason: ${why}$`)) as unknown,
    });
    expect(retries?.at(-1)?.actor).toMatch(/^operator:[0-9a-f]{12}$/);

    const tooLong = await verdict(['tx', 'retry', stuckTx, '--reason', 'x'.repeat(501)]);
    expectExit(tooLong, EXIT.rejected);
    expect(tooLong.stderr).toContain('reason');
  });

  it('tx resolve with a reason; show then names the decision, the operator and the reason', async () => {
    const reason = `${ghost} never answered; aborted by hand`;
    const resolved = await verdict(['tx', 'resolve', stuckTx, '--abort', '--reason', reason]);
    expectExit(resolved, EXIT.ok);
    expect(resolved.stdout).toMatch(
      new RegExp(
        `^Recorded for ${stuckTx}: ABORT at Raft index \\d+ \\(term \\d+\\) by operator:[0-9a-f]{12}: ${reason}`,
      ),
    );

    const shown = await verdict(['tx', 'show', stuckTx, '--json']);
    expectExit(shown, EXIT.ok);
    const transaction = JSON.parse(shown.stdout) as TxJson;
    expect(transaction.decision).toMatchObject({
      outcome: 'ABORT',
      reason,
      resolvedBy: expect.stringMatching(/^operator:/) as unknown,
    });
    const text = await verdict(['tx', 'show', stuckTx]);
    expect(text.stdout).toContain(`by ${transaction.decision?.resolvedBy}: ${reason}`);
    if (transaction.timeline !== undefined) {
      expect(
        transaction.timeline.some(
          (event) => event.kind === 'DECISION' && event.actor === transaction.decision?.resolvedBy,
        ),
      ).toBe(true);
      expect(text.stdout).toContain(`(by ${transaction.decision?.resolvedBy})`);
    }

    // The ghost never acknowledges: retry now re-sends the decision, not PREPARE.
    const retried = await verdict(['tx', 'retry', stuckTx]);
    expectExit(retried, EXIT.ok);
    expect(retried.stdout).toMatch(
      new RegExp(`^Re-sent ABORT for ${stuckTx} to .*${ghost} \\(attempt \\d+\\)`),
    );
  });

  it('409: resolving a decided transaction shows the recorded decision', async () => {
    const live = JSON.parse((await verdict(['tx', 'show', stuckTx, '--json'])).stdout) as TxJson;
    const again = await verdict(['tx', 'resolve', stuckTx, '--commit', '--reason', 'changed my mind']);
    expectExit(again, EXIT.conflict);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain(
      `already decided ABORT at Raft index ${live.decision?.raftIndex} (term ${live.decision?.raftTerm}) by ${live.decision?.resolvedBy}: ${live.decision?.reason}`,
    );

    // A finished transaction has left the live table; the CLI reads its decision from history.
    const finished = JSON.parse((await verdict(['tx', 'show', committedTx, '--json'])).stdout) as TxJson;
    const late = await verdict(['tx', 'resolve', committedTx, '--abort', '--reason', 'too late']);
    expectExit(late, EXIT.conflict);
    expect(late.stderr).toContain(
      `already decided COMMIT at Raft index ${finished.decision?.raftIndex} (term ${finished.decision?.raftTerm}) by the coordinator: ${finished.decision?.reason}`,
    );
  });

  it('participants: breakers and in-doubt transactions per participant', async () => {
    const json = await verdict(['participants', '--json']);
    expectExit(json, EXIT.ok);
    const { participants } = JSON.parse(json.stdout) as {
      participants: {
        name: string;
        breaker: { state: string } | null;
        inDoubt: number;
        lastAckAt: string | null;
        lastSeenAt: string | null;
      }[];
    };
    const byName = new Map(participants.map((participant) => [participant.name, participant]));
    expect(byName.get(ghost)?.inDoubt).toBe(1);
    expect(byName.get(bankA.name)?.lastAckAt).not.toBeNull();
    expect(byName.get(bankA.name)?.breaker?.state).toBe('CLOSED');
    // bank-a voted and acknowledged; the ghost never said a word.
    const bankASeen = Date.parse(byName.get(bankA.name)?.lastSeenAt ?? '');
    expect(bankASeen).toBeGreaterThan(Date.now() - 15 * 60_000);
    expect(bankASeen).toBeLessThanOrEqual(Date.now());
    expect(byName.get(ghost)?.lastSeenAt).toBeNull();

    const text = await verdict(['participants']);
    expectExit(text, EXIT.ok);
    expect(text.stdout).toMatch(/^PARTICIPANT +BREAKER +BREAKER SINCE +IN DOUBT +STUCK +LAST SEEN/);
    expect(text.stdout).toMatch(new RegExp(`${bankA.name} +CLOSED .* ago\\n`));
    expect(text.stdout).toMatch(new RegExp(`${ghost} +\\S+ .* -\\n`));
  });

  it('cluster status, asked of a follower too', async () => {
    const leaderNode = await leader();
    const json = await verdict(['cluster', 'status', '--json']);
    expectExit(json, EXIT.ok);
    const status = JSON.parse(json.stdout) as {
      nodeId: string;
      role: string;
      leaderId: string;
      members: unknown[];
    };
    expect(status).toMatchObject({ nodeId: leaderNode.nodeId, role: 'LEADER', leaderId: leaderNode.nodeId });
    expect(status.members).toHaveLength(3);

    const follower = cluster.nodes.find((node) => node !== leaderNode);
    const text = await verdict(['cluster', 'status'], { server: follower?.url ?? null });
    expectExit(text, EXIT.ok);
    expect(text.stdout).toContain(`leader        ${leaderNode.nodeId}`);
    expect(text.stdout).toMatch(/Members\n +NODE +ROLE +MATCH INDEX +LAG +LAST CONTACT +HTTP/);
  });

  it('cluster transfer-leader --to hands leadership over', async () => {
    const before = await leader();
    const target = cluster.nodes.find((node) => node !== before);
    if (target === undefined) throw new Error('no follower');
    const moved = await verdict(['cluster', 'transfer-leader', '--to', target.nodeId]);
    expectExit(moved, EXIT.ok);
    expect(moved.stdout).toMatch(
      new RegExp(`^Leadership moved from ${before.nodeId} to ${target.nodeId} \\(term \\d+\\)\\.`),
    );
    expect((await leader()).nodeId).toBe(target.nodeId);
  });

  it('401: no key, and a key the cluster does not accept', async () => {
    const missing = await verdict(['tx', 'list'], { apiKey: null });
    expectExit(missing, EXIT.unauthenticated);
    expect(missing.stderr).toContain('no API key given: set VERDICT_API_KEY (or pass --api-key)');

    const unknown = await verdict(['tx', 'list'], { apiKey: 'not-a-key-of-this-cluster-0123' });
    expectExit(unknown, EXIT.unauthenticated);
    expect(unknown.stderr).toContain(`the server at ${leaderUrl} refused the API key (401 UNAUTHENTICATED)`);
    expect(unknown.stdout).toBe('');
  });

  it('403: operator actions with a service key', async () => {
    const resolve = await verdict(['tx', 'resolve', stuckTx, '--abort', '--reason', 'x'], {
      apiKey: SERVICE_KEY,
    });
    expectExit(resolve, EXIT.forbidden);
    expect(resolve.stderr).toContain('This needs an API key with role operator.');
    const transfer = await verdict(['cluster', 'transfer-leader'], { apiKey: SERVICE_KEY });
    expectExit(transfer, EXIT.forbidden);
    // Reading is what a service key may do.
    expectExit(await verdict(['tx', 'show', stuckTx], { apiKey: SERVICE_KEY }), EXIT.ok);
  });

  it('404: a transaction nobody knows', async () => {
    const unknown = randomUUID();
    const shown = await verdict(['tx', 'show', unknown]);
    expectExit(shown, EXIT.notFound);
    expect(shown.stderr).toContain('not found (404 TX_NOT_FOUND)');
    expect(shown.stderr).toContain(unknown);
  });

  it('400: the server’s field errors, one per line', async () => {
    const badId = await verdict(['tx', 'show', 'not-a-uuid']);
    expectExit(badId, EXIT.rejected);
    expect(badId.stderr).toContain('the server rejected the request (400 VALIDATION_FAILED)');
    expect(badId.stderr).toMatch(/\n {2}txId: txId must be a UUID/);

    const badState = await verdict(['tx', 'list', '--state', 'SLEEPING']);
    expectExit(badState, EXIT.rejected);
    expect(badState.stderr).toMatch(/\n {2}state: /);

    const usage = await verdict(['tx', 'resolve', stuckTx, '--reason', 'x']);
    expectExit(usage, EXIT.usage);
  });

  it('unreachable: names the URL and what to check', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const run = await verdict(['tx', 'list'], { server: closed });
    expectExit(run, EXIT.unreachable);
    expect(run.stderr).toContain(`cannot reach the Verdict server at ${closed} (connection refused`);
    expect(run.stderr).toContain('--server or VERDICT_URL');
  });

  it('no leader: with two of three nodes killed, reads say to retry; status still answers', async () => {
    const leaderNode = await leader();
    const survivor = cluster.nodes.find((node) => node !== leaderNode);
    if (survivor === undefined) throw new Error('no follower');
    for (const node of cluster.nodes) if (node !== survivor) await cluster.kill(node);

    const list = await verdict(['tx', 'list'], { server: survivor.url });
    expectExit(list, EXIT.unavailable);
    expect(list.stderr).toMatch(/the cluster cannot answer now \(50[34] [A-Z_]+\): .*Retry in /);

    await eventually(
      async () => {
        const status = await verdict(['cluster', 'status'], { server: survivor.url });
        return status.code === EXIT.ok && status.stdout.includes('leader        none') ? true : undefined;
      },
      20_000,
      'the survivor reporting no leader',
    );
    const again = await verdict(['tx', 'show', stuckTx], { server: survivor.url });
    expectExit(again, EXIT.unavailable);
    expect(again.stderr).toContain('NO_LEADER');
  });
});
