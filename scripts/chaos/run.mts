// One chaos run: three coordinator processes and three demo banks on a given stack, C clients
// making random transfers between banks while a seeded nemesis kills, pauses and partitions
// coordinator nodes, kills banks at aimed moments and restarts Kafka and PostgreSQL; then
// everything is healed and the outcome is checked from the bank databases and the coordinator's
// API (never from logs). Shared by `npm run chaos` (scripts/chaos/cli.mts) and
// test/integration/chaos.test.ts.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  CoordinatorCluster,
  SERVICE_KEY,
  type CoordinatorNode,
} from '../../test/support/coordinator-cluster.js';
import { DemoProcess } from '../../test/integration/participant/demo-process.js';
import { createDatabase, withClient } from '../stack/databases.mjs';
import type { Stack } from '../stack/stack.mjs';
import { errorMessage, sleep } from '../stack/support.mjs';
import {
  judge,
  type Leg,
  type Ledger,
  type Reported,
  type TransactionView,
  type Violation,
} from './judge.mjs';
import { PeerNetwork, type CutMode } from './peer-network.mjs';

/** CoordinatorCluster builds dist/; the banks run from the same build. */
const DIST = fileURLToPath(new URL('../../dist', import.meta.url));
export const FAULT_KINDS = [
  'leader-kill',
  'follower-kill',
  'two-nodes-kill',
  'leader-pause',
  'partition',
  'partition-oneway',
  'bank-kill',
  'bank-kill-after-decision',
  'kafka-restart',
  'postgres-restart',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** What a run needs of the stack: where it is, and the power to restart its servers. */
export type ChaosStack = Pick<Stack, 'connection' | 'kafka' | 'postgres'>;
const ACCOUNTS_PER_BANK = 4;
const OPENING_BALANCE = 100_000;
/** More than all the money there is: the debited bank must vote NO. */
const UNPAYABLE_AMOUNT = 10_000_000;
const UNPAYABLE_SHARE = 0.1;
/** The coordinator aborts a transaction not decided by then, so a stuck one cannot block a run. */
const TRANSFER_TIMEOUT_MS = 10_000;
const HTTP_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 1_000;
/** A client's pause after a transfer that did not commit, so an outage is not a busy loop. */
const RETRY_PAUSE_MS = 500;
const READY_TIMEOUT_MS = 120_000;
/**
 * A restarted bank serves HTTP only once its consumer rejoined the group, after Kafka gave up on
 * the killed instance; on a loaded 2-core machine that can take a minute.
 */
const BANK_READY_TIMEOUT_MS = 180_000;
/** Healing: every decision delivered, every prepared transaction resolved. */
const QUIESCENCE_TIMEOUT_MS = 120_000;
const PREPARED_SAMPLE_MS = 500;
/** A fault is named next to a violating transaction when it ran this close to it. */
const FAULT_CONTEXT_MS = 10_000;
/** How long an aimed bank kill looks for its moment before it kills the bank anyway. */
const AIM_TIMEOUT_MS = 15_000;
const AIM_POLL_MS = 20;
/** A bank frozen with a transaction prepared: the coordinator decides it by its deadline. */
const DECISION_WAIT_MS = TRANSFER_TIMEOUT_MS + 5_000;
const KAFKA_READY_TIMEOUT_MS = 120_000;
/** Before each fault: the cluster has a leader again after the previous one. */
const LEADER_BEFORE_FAULT_MS = 180_000;
const NODES_BACK_TIMEOUT_MS = 300_000;
/** How long after a fault healed a new leader is still waited for. */
const ELECTION_WAIT_MS = 10_000;

export interface ChaosOptions {
  readonly transactions: number;
  readonly clients: number;
  readonly seed: number;
  readonly faults: readonly FaultKind[];
  /** Upper bound on the workload, in seconds; the fault schedule covers it. */
  readonly durationSeconds: number;
  /**
   * Exactly this many faults of every chosen kind, in a seeded order; the workload then goes on
   * past `transactions` until the last one has run. Undefined: kinds drawn at random until the
   * duration is covered.
   */
  readonly faultsPerKind: number | undefined;
  /** Shortest and longest pause between the end of one fault and the start of the next. */
  readonly faultGapMs: readonly [number, number];
  /** Participant (and Kafka topic) names: unique per run when runs share a broker. */
  readonly bankNames: readonly string[];
}

export interface PlannedFault {
  readonly index: number;
  readonly kind: FaultKind;
  /**
   * Quiet time before it, after the previous fault healed: faults run one after another, so the
   * system gets to make progress between them however long a restart takes.
   */
  readonly quietMs: number;
  /** How long the process stays down or stopped. */
  readonly downMs: number;
  /** Which follower or bank, as a fraction of the candidates (the roles are known only then). */
  readonly pick: number;
  /** Which shape: which links a partition cuts, which nodes survive two-nodes-kill. */
  readonly variant: number;
  /** SIGKILL (not SIGTERM) of Kafka, immediate (not fast) PostgreSQL shutdown, dropped (not stalled) links. */
  readonly hard: boolean;
}

interface ExecutedFault extends PlannedFault {
  target: string;
  startedMs: number;
  endedMs: number;
  /** From the fault (for two-nodes-kill: from the restart) until a leader was there again. */
  election: Election | null;
  /** When every coordinator node followed one leader again after it: the next fault waits for that. */
  healedMs: number;
  /** Aimed bank kills: whether the moment aimed at was found before AIM_TIMEOUT_MS. */
  aimed: boolean | null;
}

/**
 * What a client does: `transfer` asks a bank to move money to another bank (two participants);
 * `three-bank` begins a transaction at a coordinator node itself, a debit in one bank and credits
 * in the two others, and commits it; `one-request` does the same with begin and commit in one
 * request; `client-abort` begins, enlists two or three banks one by one and aborts; `abort-race`
 * begins with two or three banks and sends commit and abort at once.
 */
export const SHAPES = ['transfer', 'three-bank', 'one-request', 'client-abort', 'abort-race'] as const;
type Shape = (typeof SHAPES)[number];
/** Cumulative shares of the shapes above, drawn per transfer. */
const SHAPE_SHARES: readonly (readonly [Shape, number])[] = [
  ['transfer', 0.55],
  ['three-bank', 0.7],
  ['one-request', 0.8],
  ['client-abort', 0.9],
  ['abort-race', 1],
];
/** Nodes a one-request client tries, the same Idempotency-Key each time, before it gives up. */
const ONE_REQUEST_TRIES = 3;

interface Attempt {
  readonly client: number;
  readonly shape: Shape;
  readonly legs: readonly Leg[];
  /** The debit is more than all the money there is: the debited bank must vote NO. */
  readonly unpayable: boolean;
  readonly startedMs: number;
  endedMs: number;
  reported: Reported;
  txId: string | null;
  detail: string;
  /** Two answers about one transaction that cannot both be true (commit and abort both won). */
  contradiction: string | null;
}

interface Bank {
  readonly name: string;
  readonly databaseUrl: string;
  readonly observer: pg.Pool;
  readonly coordinatorUrl: string;
  /** Beside the coordinator nodes' logs, appended to by every process of this bank. */
  readonly logFile: string;
  process: DemoProcess;
}

export interface ChaosResult {
  readonly transactions: number;
  readonly committed: number;
  readonly aborted: number;
  readonly violations: readonly Violation[];
  /** Why the faults stopped before the plan ended, if the nemesis failed; the run then fails too. */
  readonly harnessFailure: string | null;
  /** The summary, ending with the `chaos: …` line. */
  readonly summary: readonly string[];
}

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The whole fault schedule, from the seed alone: what replays when the seed is given again. */
export function planFaults(options: ChaosOptions): PlannedFault[] {
  const random = seededRandom(options.seed);
  const plan: PlannedFault[] = [];
  const draw = (kind: FaultKind): PlannedFault => {
    const [shortestGap, longestGap] = options.faultGapMs;
    const quietMs = Math.round(shortestGap + random() * (longestGap - shortestGap));
    const [shortestDown, longestDown] = DOWN_MS[kind];
    const downMs = Math.round(shortestDown + random() * (longestDown - shortestDown));
    return {
      index: plan.length + 1,
      kind,
      quietMs,
      downMs,
      pick: random(),
      variant: random(),
      hard: random() < 0.5,
    };
  };
  if (options.faultsPerKind !== undefined) {
    const kinds = options.faults.flatMap((kind) =>
      Array.from({ length: options.faultsPerKind ?? 0 }, () => kind),
    );
    // Fisher-Yates: every order equally likely, so each kind meets every other kind before and after it.
    for (let index = kinds.length - 1; index > 0; index -= 1) {
      const other = Math.floor(random() * (index + 1));
      [kinds[index], kinds[other]] = [kinds[other] as FaultKind, kinds[index] as FaultKind];
    }
    for (const kind of kinds) plan.push(draw(kind));
    return plan;
  }
  // Long enough for any workload: each fault takes at least its quiet time and its downtime.
  let at = 0;
  while (options.faults.length > 0) {
    const kind = options.faults[Math.floor(random() * options.faults.length)] as FaultKind;
    const fault = draw(kind);
    at += fault.quietMs + fault.downMs;
    if (at >= options.durationSeconds * 1000) break;
    plan.push(fault);
  }
  return plan;
}

/**
 * Shortest and longest downtime of each kind. A pause and a partition outlast the 0.5-1 s
 * election timeout (cluster-settings.ts) so that they force an election.
 */
const DOWN_MS: Readonly<Record<FaultKind, readonly [number, number]>> = {
  'leader-kill': [500, 3_500],
  'follower-kill': [500, 3_500],
  'two-nodes-kill': [1_000, 4_000],
  'leader-pause': [2_000, 4_000],
  partition: [2_000, 5_000],
  'partition-oneway': [2_000, 5_000],
  'bank-kill': [500, 3_500],
  'bank-kill-after-decision': [500, 3_500],
  'kafka-restart': [0, 3_000],
  'postgres-restart': [500, 3_000],
};

export function describeFault(fault: PlannedFault): string {
  return (
    `#${fault.index} ${fault.kind} after ${fault.quietMs} ms quiet, down ${fault.downMs} ms ` +
    `(pick ${fault.pick.toFixed(3)}, variant ${fault.variant.toFixed(3)}${fault.hard ? ', hard' : ''})`
  );
}

/** Starts everything on `stack`, runs the workload and the nemesis, heals, checks; stops it all. */
export async function runChaos(
  options: ChaosOptions,
  stack: ChaosStack,
  say: (line: string) => void,
  stop: AbortSignal,
  /** Ends the run early but checked: no new faults or transfers, then heal and check as usual. */
  windDown: AbortSignal = new AbortController().signal,
): Promise<ChaosResult> {
  if (options.faults.includes('postgres-restart') && stack.postgres.restart === undefined) {
    throw new Error(
      'postgres-restart needs the PostgreSQL server the run starts itself: unset DATABASE_URL or leave the fault out',
    );
  }
  const plan = planFaults(options);
  say(`fault schedule (${plan.length} planned):`);
  for (const fault of plan) say(`  ${describeFault(fault)}`);

  if (options.faults.includes('postgres-restart')) {
    // A crash of the server process loses nothing with fsync off (the kernel keeps what was
    // written), but with synchronous_commit off it loses commits it already reported: no
    // transaction protocol survives that, so the run refuses such a server. (An earlier run set it
    // with ALTER SYSTEM, which the stack's command-line flag silently outranked.)
    const setting = await withClient(stack.connection.databaseUrl, async (client) => {
      const result = await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
      return result.rows[0]?.synchronous_commit;
    });
    if (setting === 'off') {
      throw new Error(
        'postgres-restart needs synchronous_commit on: start the stack with crashSafeCommits, or leave the fault out',
      );
    }
  }
  const runId = Date.now().toString(36);
  const historyUrl = await createDatabase(stack.connection.databaseUrl, `chaos_history_${runId}`);
  const network = await PeerNetwork.start(['n1', 'n2', 'n3']);
  const cluster = await CoordinatorCluster.start({
    kafkaBrokers: stack.connection.kafkaBrokers,
    databaseUrl: historyUrl,
    nodeEnvironment: (node, nodes) => network.nodeEnvironment(node, nodes),
  });
  const banks: Bank[] = [];
  // Children die with us even when we are ended before the `finally` below can stop them.
  const killAll = (): void => {
    for (const node of cluster.nodes) node.process?.kill('SIGKILL');
    for (const bank of banks) bank.process.child.kill('SIGKILL');
  };
  process.on('exit', killAll);
  const paused = new Set<CoordinatorNode>();
  // Every node's and bank's log is kept unless the run ends checked and clean.
  let clean = false;
  try {
    for (const [position, name] of options.bankNames.entries()) {
      const databaseUrl = await createDatabase(
        stack.connection.databaseUrl,
        `chaos_${name.replaceAll('-', '_')}_${runId}`.toLowerCase(),
      );
      // Each bank talks to a different node, so a coordinator fault hits one bank's begin path.
      const coordinatorUrl = cluster.nodes[position % cluster.nodes.length]?.url ?? '';
      const bank: Omit<Bank, 'process'> = {
        name,
        databaseUrl,
        observer: observerPool(databaseUrl),
        coordinatorUrl,
        logFile: join(cluster.directory, `${name}.log`),
      };
      const started = await startBank(bank, stack);
      banks.push({ ...bank, process: started });
    }
    await cluster.waitForLeader(READY_TIMEOUT_MS);
    const accounts: { bank: Bank; account: string }[] = [];
    for (const bank of banks) {
      for (let index = 1; index <= ACCOUNTS_PER_BANK; index += 1) {
        const account = `acct-${index}`;
        const opened = await post(`${bank.process.url}/accounts`, {
          id: account,
          openingBalance: OPENING_BALANCE,
        });
        if (opened.status !== 201) throw new Error(`opening ${bank.name}/${account}: ${opened.status}`);
        accounts.push({ bank, account });
      }
    }

    const started = Date.now();
    const now = (): number => Date.now() - started;
    const attempts: Attempt[] = [];
    const faults: ExecutedFault[] = [];
    const exits: string[] = [];
    const prepared = new Map<string, { first: number; last: number }>();
    let workloadDone = false;
    let nemesisDone = false;
    const sampling = samplePrepared(banks, prepared, () => workloadDone || stop.aborted);

    say(`workload: ${options.transactions} transfers by ${options.clients} clients`);
    windDown.addEventListener('abort', () =>
      say('winding down: no new faults or transfers; then heal and check'),
    );
    const workload = runWorkload(
      options,
      accounts,
      cluster,
      attempts,
      now,
      () => nemesisDone,
      stop,
      windDown,
    ).finally(() => {
      workloadDone = true;
    });
    // A nemesis that fails (a server that will not come back) ends the faults, not the run: the
    // transfers stop, everything is healed and what ran is checked, so a long soak keeps its evidence.
    let nemesisFailure: string | null = null;
    const nemesis = runNemesis(
      plan,
      { cluster, banks, stack, network, paused },
      faults,
      exits,
      now,
      () => workloadDone || windDown.aborted,
      say,
    )
      .catch((error: unknown) => {
        nemesisFailure = `the nemesis failed after fault #${faults.at(-1)?.index ?? 0}: ${errorMessage(error)}`;
        say(`${nemesisFailure}; winding down: no new transfers, then heal and check`);
      })
      .finally(() => {
        nemesisDone = true;
      });
    await Promise.all([workload, nemesis]);
    await sampling;
    if (stop.aborted) throw new Error('stopped');

    say('healing: every process running, every link up, waiting for quiescence');
    network.heal();
    for (const node of paused) node.process?.kill('SIGCONT');
    paused.clear();
    for (const node of cluster.nodes) if (node.process === null) cluster.startNode(node);
    for (const bank of banks)
      if (bank.process.child.exitCode !== null || bank.process.child.signalCode !== null) {
        bank.process = await startBank(bank, stack);
      }
    const check = await checkOutcome(cluster, banks, attempts, say);
    const result = summarize(options, plan, attempts, faults, exits, prepared, check, nemesisFailure);
    clean = result.violations.length === 0 && result.harnessFailure === null;
    return result;
  } finally {
    network.heal();
    for (const node of paused) node.process?.kill('SIGCONT');
    for (const bank of banks) bank.process.child.kill('SIGCONT');
    await Promise.all(banks.map((bank) => bank.process.stop()));
    await cluster.stop({ keep: !clean });
    if (!clean) say(`the coordinator nodes' and banks' logs are kept in ${cluster.directory}`);
    await network.close();
    await Promise.all(banks.map((bank) => bank.observer.end()));
    process.off('exit', killAll);
  }
}

function observerPool(databaseUrl: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  // An idle connection the server ends (it stops at the end of a run) must not crash the run;
  // queries still fail with their own errors.
  pool.on('error', () => undefined);
  return pool;
}

function startBank(bank: Omit<Bank, 'process'>, stack: ChaosStack): Promise<DemoProcess> {
  return DemoProcess.start(
    DIST,
    {
      VERDICT_PARTICIPANT_NAME: bank.name,
      KAFKA_BROKERS: stack.connection.kafkaBrokers.join(','),
      DATABASE_URL: bank.databaseUrl,
      VERDICT_COORDINATOR_URL: bank.coordinatorUrl,
      VERDICT_API_KEY: SERVICE_KEY,
      LOG_LEVEL: 'warn',
    },
    BANK_READY_TIMEOUT_MS,
    bank.logFile,
  );
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function post(
  url: string,
  body: unknown,
  stop?: AbortSignal,
  apiKey?: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...(apiKey !== undefined && { authorization: `Bearer ${apiKey}` }),
      ...headers,
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    // Ctrl-C must not wait for a transfer stuck behind a fault.
    signal: AbortSignal.any([AbortSignal.timeout(HTTP_TIMEOUT_MS), ...(stop === undefined ? [] : [stop])]),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
}

function problemCode(answer: Answer): string {
  return typeof answer.body['code'] === 'string' ? answer.body['code'] : '';
}

/** `decision.outcome` of a transaction the coordinator answered with, or null. */
function decidedOutcome(answer: Answer): 'COMMIT' | 'ABORT' | null {
  const decision = answer.body['decision'];
  const outcome =
    typeof decision === 'object' && decision !== null
      ? (decision as Record<string, unknown>)['outcome']
      : undefined;
  return outcome === 'COMMIT' || outcome === 'ABORT' ? outcome : null;
}

/** Nothing listening: the process is down and cannot have begun anything. */
function refused(error: unknown): boolean {
  return error instanceof Error && (error.cause as { code?: unknown } | undefined)?.code === 'ECONNREFUSED';
}

/** What the clients share: where to send, what to move, and the seeded draws. */
interface Workload {
  readonly accounts: readonly { bank: Bank; account: string }[];
  readonly cluster: CoordinatorCluster;
  readonly random: () => number;
  readonly stop: AbortSignal;
}

function drawShape(random: () => number): Shape {
  const draw = random();
  return SHAPE_SHARES.find(([, upTo]) => draw < upTo)?.[0] ?? 'transfer';
}

/**
 * A debit in one bank and a credit in each of one or two others; the credits add up to the debit.
 * One in ten debits more than all the money there is, which the debited bank must refuse.
 */
function drawLegs(shape: Shape, workload: Workload): { from: Bank; legs: Leg[]; unpayable: boolean } {
  const { accounts, random } = workload;
  const pick = <T,>(candidates: readonly T[]): T => {
    const chosen = candidates[Math.floor(random() * candidates.length)];
    if (chosen === undefined) throw new Error('transfers need three banks with accounts');
    return chosen;
  };
  const banks =
    shape === 'transfer' ? 2 : shape === 'three-bank' || shape === 'one-request' ? 3 : random() < 0.5 ? 2 : 3;
  const from = pick(accounts);
  const credited: { bank: Bank; account: string }[] = [];
  while (credited.length < banks - 1) {
    credited.push(
      pick(
        accounts.filter((each) => each.bank !== from.bank && credited.every((to) => to.bank !== each.bank)),
      ),
    );
  }
  const unpayable = random() < UNPAYABLE_SHARE;
  const amount = unpayable ? UNPAYABLE_AMOUNT : 2 + Math.floor(random() * (OPENING_BALANCE / 20));
  const share = Math.floor(amount / credited.length);
  return {
    from: from.bank,
    unpayable,
    legs: [
      { bank: from.bank.name, account: from.account, delta: -amount },
      ...credited.map((to, position) => ({
        bank: to.bank.name,
        account: to.account,
        delta: position === 0 ? amount - share * (credited.length - 1) : share,
      })),
    ],
  };
}

/** The demo bank's own transfer API: it begins the transaction and commits it. */
async function runTransfer(attempt: Attempt, from: Bank, stop: AbortSignal): Promise<void> {
  const [debit, credit] = attempt.legs;
  if (debit === undefined || credit === undefined) throw new Error('a transfer has two legs');
  const answer = await post(
    // A restarted bank listens on a new port.
    `${from.process.url}/transfers`,
    {
      fromAccount: debit.account,
      toBank: credit.bank,
      toAccount: credit.account,
      amount: credit.delta,
      timeoutMs: TRANSFER_TIMEOUT_MS,
    },
    stop,
  );
  attempt.txId = typeof answer.body['txId'] === 'string' ? answer.body['txId'] : null;
  const code = problemCode(answer);
  attempt.reported =
    answer.status === 201
      ? 'COMMIT'
      : code === 'TRANSFER_ABORTED'
        ? 'ABORT'
        : code === 'TRANSFER_IN_DOUBT'
          ? 'IN_DOUBT'
          : attempt.txId === null
            ? 'NOT_STARTED'
            : 'NO_ANSWER';
  attempt.detail = `HTTP ${answer.status} ${code}`;
}

/**
 * The harness as a service of its own, talking to a random coordinator node (followers forward to
 * the leader): three-bank commits, aborts after enlisting, and commit racing abort.
 */
async function runAtCoordinator(attempt: Attempt, workload: Workload): Promise<void> {
  const { cluster, random, stop } = workload;
  const node = cluster.nodes[Math.floor(random() * cluster.nodes.length)];
  if (node === undefined) throw new Error('no coordinator node');
  const participants = attempt.legs.map((leg) => ({
    name: leg.bank,
    payload:
      leg.delta < 0
        ? { debit: { account: leg.account, amount: -leg.delta } }
        : { credit: { account: leg.account, amount: leg.delta } },
  }));
  if (attempt.shape === 'one-request') {
    await runOneRequest(attempt, workload, participants);
    return;
  }
  const enlistOneByOne = attempt.shape === 'client-abort';
  const begun = await post(
    `${node.url}/v1/transactions`,
    {
      timeoutMs: TRANSFER_TIMEOUT_MS,
      metadata: { kind: attempt.shape },
      ...(!enlistOneByOne && { participants }),
    },
    stop,
    SERVICE_KEY,
  );
  if (begun.status !== 201 || typeof begun.body['id'] !== 'string') {
    attempt.reported = 'NOT_STARTED';
    attempt.detail = `begin at ${node.nodeId}: HTTP ${begun.status} ${problemCode(begun)}`;
    return;
  }
  const txId = begun.body['id'];
  attempt.txId = txId;
  const path = `${node.url}/v1/transactions/${txId}`;
  // A call that gets no answer (its node killed or cut off mid-call) is a null answer, not an end.
  const settle = async (step: Promise<Answer>): Promise<Answer | null> => step.catch(() => null);
  if (attempt.shape === 'three-bank') {
    const committed = await settle(post(`${path}/commit`, undefined, stop, SERVICE_KEY));
    attempt.reported = (committed?.status === 200 ? decidedOutcome(committed) : null) ?? 'NO_ANSWER';
    attempt.detail = `commit at ${node.nodeId}: ${committed === null ? 'no answer' : `HTTP ${committed.status} ${problemCode(committed)}`}`;
    return;
  }
  if (enlistOneByOne) {
    for (const participant of participants) {
      const enlisted = await settle(post(`${path}/participants`, participant, stop, SERVICE_KEY));
      // The abort below is sent anyway: it is what this client wants whatever got enlisted.
      if (enlisted?.status !== 201) {
        attempt.detail = `enlist ${participant.name}: ${enlisted === null ? 'no answer' : `HTTP ${enlisted.status} ${problemCode(enlisted)}`}; `;
        break;
      }
    }
  }
  const [committed, aborted] = await Promise.all([
    attempt.shape === 'abort-race'
      ? settle(post(`${path}/commit`, undefined, stop, SERVICE_KEY))
      : Promise.resolve(null),
    settle(post(`${path}/abort`, undefined, stop, SERVICE_KEY)),
  ]);
  const commitSaid = committed?.status === 200 ? decidedOutcome(committed) : null;
  const abortWon = aborted?.status === 200;
  if (abortWon && commitSaid === 'COMMIT') {
    attempt.contradiction = 'commit answered COMMIT and abort answered 200 for the same transaction';
  }
  attempt.reported = abortWon ? 'ABORT' : (commitSaid ?? 'NO_ANSWER');
  const said = (step: string, answer: Answer | null): string =>
    `${step} ${answer === null ? 'no answer' : `HTTP ${answer.status} ${problemCode(answer)}`}`;
  attempt.detail +=
    `at ${node.nodeId}: ` +
    (attempt.shape === 'abort-race' ? `${said('commit', committed)}, ` : '') +
    said('abort', aborted);
}

/**
 * Begin with commit, as a careful service sends it: with an Idempotency-Key, and again to another
 * node when no answer came, so that the answer names the one transaction the key began.
 */
async function runOneRequest(
  attempt: Attempt,
  workload: Workload,
  participants: readonly { name: string; payload: unknown }[],
): Promise<void> {
  const { cluster, random, stop } = workload;
  const key = `chaos-${attempt.client}-${Math.floor(random() * 2 ** 48).toString(36)}`;
  const body = {
    timeoutMs: TRANSFER_TIMEOUT_MS,
    metadata: { kind: attempt.shape },
    participants,
    commit: 'decision',
  };
  for (let tries = 1; tries <= ONE_REQUEST_TRIES && !stop.aborted; tries += 1) {
    const node = cluster.nodes[Math.floor(random() * cluster.nodes.length)];
    if (node === undefined) throw new Error('no coordinator node');
    const answer = await post(`${node.url}/v1/transactions`, body, stop, SERVICE_KEY, {
      'idempotency-key': key,
    }).catch(() => null);
    attempt.detail += `try ${tries} at ${node.nodeId}: ${answer === null ? 'no answer' : `HTTP ${answer.status} ${problemCode(answer)}`}; `;
    if (answer === null || answer.status === 503) continue;
    if (answer.status === 201 && typeof answer.body['id'] === 'string') {
      attempt.txId = answer.body['id'];
      attempt.reported = decidedOutcome(answer) ?? 'NO_ANSWER';
    } else if (attempt.txId === null) {
      attempt.reported = 'NOT_STARTED';
    }
    return;
  }
}

async function runWorkload(
  options: ChaosOptions,
  accounts: readonly { bank: Bank; account: string }[],
  cluster: CoordinatorCluster,
  attempts: Attempt[],
  now: () => number,
  nemesisDone: () => boolean,
  stop: AbortSignal,
  windDown: AbortSignal,
): Promise<void> {
  // Its own sequence, so the nemesis's draws do not depend on how many transfers were made.
  const workload: Workload = { accounts, cluster, random: seededRandom(options.seed ^ 0x5bd1e995), stop };
  const deadline = options.durationSeconds * 1000;
  // Transfers refused before a transaction began (bank or its coordinator node down) are tried
  // again and not counted: N is the number of transactions the system had to get right.
  let begun = 0;
  // With a fixed number of faults per kind, every one of them runs under load.
  const enough = (): boolean =>
    windDown.aborted ||
    (begun >= options.transactions && (options.faultsPerKind === undefined || nemesisDone()));
  const client = async (clientIndex: number): Promise<void> => {
    while (!enough() && now() < deadline && !stop.aborted) {
      begun += 1;
      const shape = drawShape(workload.random);
      const { from, legs, unpayable } = drawLegs(shape, workload);
      const attempt: Attempt = {
        client: clientIndex,
        shape,
        legs,
        unpayable,
        startedMs: now(),
        endedMs: 0,
        reported: 'NO_ANSWER',
        txId: null,
        detail: '',
        contradiction: null,
      };
      attempts.push(attempt);
      try {
        if (shape === 'transfer') await runTransfer(attempt, from, stop);
        else await runAtCoordinator(attempt, workload);
      } catch (error) {
        // The process died mid-request or is down: whatever it started is found in the databases.
        attempt.detail += errorMessage(error);
        if (refused(error) && attempt.txId === null) attempt.reported = 'NOT_STARTED';
      }
      if (attempt.reported === 'NOT_STARTED') begun -= 1;
      attempt.endedMs = now();
      // Also after an ABORT: while a participant's breaker is open every transaction naming it
      // aborts at once, and a client going straight on would fill the run with those.
      if (attempt.reported !== 'COMMIT') await sleep(RETRY_PAUSE_MS);
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, index) => client(index + 1)));
}

/** What a node says of the cluster, or null when it does not answer in time. */
async function clusterStatus(
  node: CoordinatorNode,
): Promise<{ role: string; leaderId: string | null } | null> {
  try {
    const response = await fetch(`${node.url}/v1/cluster`, {
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    return response.ok ? ((await response.json()) as { role: string; leaderId: string | null }) : null;
  } catch {
    return null;
  }
}

async function clusterRole(node: CoordinatorNode): Promise<string | null> {
  return (await clusterStatus(node))?.role ?? null;
}

/** The first of `candidates` to call itself leader, polled every 100 ms until `timeoutMs`. */
async function leaderAmong(
  candidates: () => readonly CoordinatorNode[],
  timeoutMs: number,
): Promise<CoordinatorNode | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const nodes = candidates();
    const roles = await Promise.all(nodes.map(clusterRole));
    const leader = nodes.find((_, position) => roles[position] === 'LEADER');
    if (leader !== undefined) return leader;
    await sleep(100);
  }
  return null;
}

interface Targets {
  readonly cluster: CoordinatorCluster;
  readonly banks: Bank[];
  readonly stack: ChaosStack;
  readonly network: PeerNetwork;
  /** Coordinator nodes under SIGSTOP, to be woken when the run ends early. */
  readonly paused: Set<CoordinatorNode>;
}

/** What one fault did: its target, and when a leader was there again if it measured that. */
interface Outcome {
  readonly target: string;
  readonly election: Election | null;
  readonly aimed: boolean | null;
}

interface Election {
  readonly ms: number;
  readonly leaderId: string;
}

async function runNemesis(
  plan: readonly PlannedFault[],
  targets: Targets,
  faults: ExecutedFault[],
  /** Processes that ended without the nemesis ending them. */
  exits: string[],
  now: () => number,
  workloadDone: () => boolean,
  say: (line: string) => void,
): Promise<void> {
  const { cluster } = targets;
  for (const fault of plan) {
    const quietUntil = now() + fault.quietMs;
    while (now() < quietUntil && !workloadDone()) await sleep(100);
    if (workloadDone()) return;
    const leader = await leaderAmong(
      () => cluster.nodes.filter((node) => node.process !== null),
      LEADER_BEFORE_FAULT_MS,
    );
    if (leader === null) throw new Error(`no coordinator leader before fault #${fault.index}`);
    const startedMs = now();
    const outcome = await injectFault(fault, leader, targets);
    const endedMs = now();
    // Every fault restarts what it ended: a process down now ended by itself, which is worth
    // telling (a crash on a lost connection) and must not leave the rest of the run without it.
    for (const node of cluster.nodes) {
      if (node.process !== null) continue;
      exits.push(`${node.nodeId} after fault #${fault.index}`);
      say(
        `${node.nodeId} exited by itself after fault #${fault.index}; restarting it (log: ${node.logFile})`,
      );
      cluster.startNode(node);
    }
    for (const bank of targets.banks) {
      if (bank.process.child.exitCode === null && bank.process.child.signalCode === null) continue;
      exits.push(`${bank.name} after fault #${fault.index}`);
      say(
        `${bank.name} exited by itself after fault #${fault.index}; restarting it:\n${bank.process.output.join('').slice(-2_000)}`,
      );
      bank.process = await startBank(bank, targets.stack);
    }
    // A restarted node takes seconds to boot (minutes on a starved machine; it answers HTTP
    // before its Raft member runs): a next fault before it follows the leader would take the
    // majority away, and its long outage would be two faults', not one's.
    if (!(await allFollowOneLeader(cluster, NODES_BACK_TIMEOUT_MS))) {
      say(
        `not every coordinator node follows a leader ${NODES_BACK_TIMEOUT_MS} ms after fault #${fault.index}`,
      );
    }
    const executed: ExecutedFault = { ...fault, ...outcome, startedMs, endedMs, healedMs: now() };
    faults.push(executed);
    say(
      `fault ${describeFault(fault)} on ${executed.target}: ${seconds(startedMs)}-${seconds(endedMs)}, ` +
        `all nodes following one leader at ${seconds(executed.healedMs)}` +
        (executed.election === null
          ? ''
          : `, ${executed.election.leaderId} leader after ${executed.election.ms} ms`),
    );
  }
}

/** Injects one fault, waits its downtime, and heals it. */
async function injectFault(fault: PlannedFault, leader: CoordinatorNode, targets: Targets): Promise<Outcome> {
  const { cluster, banks, stack, network, paused } = targets;
  const followers = cluster.nodes.filter((node) => node !== leader);
  const others = (except: readonly CoordinatorNode[]) => () =>
    cluster.nodes.filter((node) => !except.includes(node) && node.process !== null && !paused.has(node));
  switch (fault.kind) {
    case 'bank-kill':
    case 'bank-kill-after-decision': {
      const bank = banks[Math.floor(fault.pick * banks.length)];
      if (bank === undefined) throw new Error('no bank to kill');
      const aim = await killBankAimed(bank, leader, cluster, fault.kind === 'bank-kill-after-decision');
      await sleep(fault.downMs);
      bank.process = await startBank(bank, stack);
      return { target: `${bank.name} (${aim.moment})`, election: null, aimed: aim.hit };
    }
    case 'kafka-restart':
      await stack.kafka.restart({
        hard: fault.hard,
        downMs: fault.downMs,
        readyTimeoutMs: KAFKA_READY_TIMEOUT_MS,
      });
      return { target: `Kafka (${fault.hard ? 'SIGKILL' : 'SIGTERM'})`, election: null, aimed: null };
    case 'postgres-restart': {
      const restart = stack.postgres.restart;
      if (restart === undefined) throw new Error('this PostgreSQL server cannot be restarted');
      await restart({ immediate: fault.hard, downMs: fault.downMs });
      return {
        target: `PostgreSQL, history and banks (${fault.hard ? 'immediate' : 'fast'} shutdown)`,
        election: null,
        aimed: null,
      };
    }
    case 'two-nodes-kill': {
      // Which node survives: the leader in about a third of the faults, a follower otherwise.
      const survivor = cluster.nodes[Math.floor(fault.variant * cluster.nodes.length)];
      const killed = cluster.nodes.filter((node) => node !== survivor);
      await Promise.all(killed.map((node) => cluster.kill(node)));
      await sleep(fault.downMs);
      for (const node of killed) cluster.startNode(node);
      return {
        target: killed.map((node) => node.nodeId + (node === leader ? ' (leader)' : '')).join(' and '),
        election: await measureElection(others([]), Date.now(), 0),
        aimed: null,
      };
    }
    case 'partition':
    case 'partition-oneway': {
      const { links, isolatesLeader } = partitionLinks(fault, leader, followers);
      const mode: CutMode = fault.hard ? 'drop' : 'stall';
      const faultedAt = Date.now();
      for (const [from, to] of links) network.cut(from.nodeId, to.nodeId, mode);
      // Only a leader cut off from its followers (in either direction) makes way for a new one.
      const election = isolatesLeader
        ? measureElection(others([leader]), faultedAt, fault.downMs)
        : Promise.resolve(null);
      await sleep(fault.downMs);
      network.heal();
      return {
        target: `${links.map(([from, to]) => `${from.nodeId}->${to.nodeId}`).join(' ')} ${mode} (leader ${leader.nodeId})`,
        election: await election,
        aimed: null,
      };
    }
    case 'leader-kill':
    case 'follower-kill':
    case 'leader-pause': {
      const target =
        fault.kind === 'follower-kill' ? followers[Math.floor(fault.pick * followers.length)] : leader;
      if (target === undefined) throw new Error('no coordinator node to fault');
      const faultedAt = Date.now();
      if (fault.kind === 'leader-pause') {
        target.process?.kill('SIGSTOP');
        paused.add(target);
      } else {
        await cluster.kill(target);
      }
      // Any working node counts, the old leader too once it is back: how long the cluster had none.
      const election =
        fault.kind === 'follower-kill'
          ? Promise.resolve(null)
          : measureElection(others([]), faultedAt, fault.downMs);
      await sleep(fault.downMs);
      if (fault.kind === 'leader-pause') {
        target.process?.kill('SIGCONT');
        paused.delete(target);
      } else {
        cluster.startNode(target);
      }
      return { target: target.nodeId, election: await election, aimed: null };
    }
  }
}

/**
 * Milliseconds from `faultedAt` until one of `candidates` calls itself leader, and which; bounded,
 * because a short fault may end before anyone else runs for leader.
 */
async function measureElection(
  candidates: () => readonly CoordinatorNode[],
  faultedAt: number,
  downMs: number,
): Promise<Election | null> {
  const elected = await leaderAmong(candidates, downMs + ELECTION_WAIT_MS);
  return elected === null ? null : { ms: Date.now() - faultedAt, leaderId: elected.nodeId };
}

/** Whether every coordinator node names the same leader within `timeoutMs`. */
async function allFollowOneLeader(cluster: CoordinatorCluster, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const statuses = await Promise.all(cluster.nodes.map(clusterStatus));
    const leaders = new Set(statuses.map((status) => status?.leaderId ?? null));
    if (leaders.size === 1 && !leaders.has(null)) return true;
    await sleep(100);
  }
  return false;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

type Link = readonly [CoordinatorNode, CoordinatorNode];

/**
 * The directed links a partition cuts. Both ways: the leader alone against the rest, or one pair
 * of nodes. One way: the leader's links to every follower (it cannot be heard), every
 * follower's link to the leader (it cannot hear), or one directed link.
 */
export function partitionLinks(
  fault: Pick<PlannedFault, 'kind' | 'pick' | 'variant'>,
  leader: CoordinatorNode,
  followers: readonly CoordinatorNode[],
): { links: Link[]; isolatesLeader: boolean } {
  const nodes = [leader, ...followers];
  const pairs: Link[] = nodes.flatMap((from, position) =>
    nodes.slice(position + 1).map((to): Link => [from, to]),
  );
  const pair = pairs[Math.floor(fault.pick * pairs.length)];
  if (pair === undefined) throw new Error('a partition needs two nodes');
  if (fault.kind === 'partition') {
    if (fault.variant < 0.5) {
      return {
        links: followers.flatMap((follower): Link[] => [
          [leader, follower],
          [follower, leader],
        ]),
        isolatesLeader: true,
      };
    }
    return { links: [pair, [pair[1], pair[0]]], isolatesLeader: false };
  }
  if (fault.variant < 1 / 3) {
    return { links: followers.map((follower): Link => [leader, follower]), isolatesLeader: true };
  }
  if (fault.variant < 2 / 3) {
    return { links: followers.map((follower): Link => [follower, leader]), isolatesLeader: true };
  }
  return { links: [fault.pick < 0.5 ? pair : [pair[1], pair[0]]], isolatesLeader: false };
}

/** Where a bank kill landed, as the coordinator saw the transaction aimed at. */
interface Aim {
  /** Whether the moment aimed at was found. */
  readonly hit: boolean;
  readonly moment: string;
}

/**
 * kill -9 of `bank` at an aimed moment. The bank is frozen (SIGSTOP) as soon as it holds a
 * prepared transaction, so it can neither finish nor acknowledge it, and the coordinator is asked
 * what it knows: `afterDecision` false kills it while that transaction has no decision yet
 * (between PREPARE and the decision), true waits until the decision is durable and kills it
 * before it could acknowledge. When no moment is found in time it is killed anyway.
 */
async function killBankAimed(
  bank: Bank,
  leader: CoordinatorNode,
  cluster: CoordinatorCluster,
  afterDecision: boolean,
): Promise<Aim> {
  const deadline = Date.now() + AIM_TIMEOUT_MS;
  const child = bank.process.child;
  try {
    while (Date.now() < deadline) {
      const gids = await preparedGids(bank).catch(() => []);
      if (gids.length === 0) {
        await sleep(AIM_POLL_MS);
        continue;
      }
      child.kill('SIGSTOP');
      const txIds = gids.map((gid) => gid.slice(-36));
      const decidedBy = Date.now() + (afterDecision ? DECISION_WAIT_MS : 0);
      do {
        const views = await Promise.all(txIds.map((txId) => transactionView(cluster, leader, txId)));
        for (const [position, view] of views.entries()) {
          if (view === null) continue;
          const branch = view.participants.find((participant) => participant.name === bank.name);
          const outcome = view.decision?.outcome;
          if (!afterDecision && outcome === undefined) {
            await bank.process.kill9();
            return { hit: true, moment: `prepared ${txIds[position] ?? '?'}, undecided` };
          }
          if (afterDecision && outcome !== undefined && branch?.ack === false) {
            await bank.process.kill9();
            return {
              hit: true,
              moment: `prepared ${txIds[position] ?? '?'}, decided ${outcome}, not acknowledged`,
            };
          }
        }
        if (Date.now() >= decidedBy) break;
        await sleep(100);
      } while (Date.now() < decidedBy);
      child.kill('SIGCONT');
      await sleep(AIM_POLL_MS);
    }
    await bank.process.kill9();
    return {
      hit: false,
      moment: `no ${afterDecision ? 'decided' : 'undecided'} prepared transaction found in time`,
    };
  } finally {
    child.kill('SIGCONT');
  }
}

/** The coordinator's view of one transaction, or null when it cannot say right now. */
async function transactionView(
  cluster: CoordinatorCluster,
  node: CoordinatorNode,
  txId: string,
): Promise<TransactionView | null> {
  try {
    const answer = await cluster.request<TransactionView>(node, 'GET', `/v1/transactions/${txId}`);
    return answer.status === 200 ? answer.body : null;
  } catch {
    return null;
  }
}

async function samplePrepared(
  banks: readonly Bank[],
  prepared: Map<string, { first: number; last: number }>,
  done: () => boolean,
): Promise<void> {
  while (!done()) {
    // The server is down for a moment during a PostgreSQL restart: that sample is skipped.
    const gids = await Promise.all(banks.map((bank) => preparedGids(bank).catch(() => [])));
    for (const gid of gids.flat()) {
      const seen = prepared.get(gid);
      if (seen === undefined) prepared.set(gid, { first: Date.now(), last: Date.now() });
      else seen.last = Date.now();
    }
    await sleep(PREPARED_SAMPLE_MS);
  }
}

async function preparedGids(bank: Bank): Promise<string[]> {
  const result = await bank.observer.query<{ gid: string }>(
    'SELECT gid FROM pg_prepared_xacts WHERE database = current_database()',
  );
  return result.rows.map((row) => row.gid);
}

async function readLedger(bank: Bank): Promise<Ledger> {
  const [entries, known, balances, sums, prepared] = await Promise.all([
    bank.observer.query<{ tx_id: string; account_id: string; amount: string }>(
      'SELECT tx_id, account_id, amount FROM ledger_entries WHERE tx_id IS NOT NULL',
    ),
    bank.observer.query<{ tx_id: string }>(
      'SELECT tx_id FROM transaction_claims UNION SELECT tx_id FROM aborted_transactions',
    ),
    bank.observer.query<{ id: string; balance: string }>('SELECT id, balance FROM accounts'),
    bank.observer.query<{ account_id: string; total: string }>(
      'SELECT account_id, sum(amount) AS total FROM ledger_entries GROUP BY account_id',
    ),
    preparedGids(bank),
  ]);
  const rows = new Map<string, Map<string, number>>();
  for (const row of entries.rows) {
    const byAccount = rows.get(row.tx_id) ?? new Map<string, number>();
    byAccount.set(row.account_id, (byAccount.get(row.account_id) ?? 0) + Number(row.amount));
    rows.set(row.tx_id, byAccount);
  }
  return {
    rows,
    known: new Set([...known.rows.map((row) => row.tx_id), ...rows.keys()]),
    balances: new Map(balances.rows.map((row) => [row.id, Number(row.balance)])),
    ledgerSums: new Map(sums.rows.map((row) => [row.account_id, Number(row.total)])),
    prepared,
  };
}

interface Checked {
  readonly views: Map<string, TransactionView | null>;
  readonly violations: Violation[];
  readonly quiescenceMs: number;
}

async function checkOutcome(
  cluster: CoordinatorCluster,
  banks: readonly Bank[],
  attempts: readonly Attempt[],
  say: (line: string) => void,
): Promise<Checked> {
  const healedAt = Date.now();
  const views = new Map<string, TransactionView | null>();
  // Reads answered with neither 200 nor 404 (no leader, history down, a 500): asked again on the
  // next round, and reported as what they are if that never changes. A 404 alone means "unknown".
  const unanswered = new Map<string, number>();
  let ledgers: Ledger[];
  // Quiescence: nothing prepared anywhere and every transaction finished at the coordinator.
  for (;;) {
    ledgers = await Promise.all(banks.map(readLedger));
    const txIds = new Set<string>(ledgers.flatMap((ledger) => [...ledger.known]));
    for (const attempt of attempts) if (attempt.txId !== null) txIds.add(attempt.txId);
    const leader = await cluster.waitForLeader(30_000);
    for (const txId of txIds) {
      const view = views.get(txId);
      if (view !== undefined && view !== null && ['COMMITTED', 'ABORTED'].includes(view.state)) continue;
      const answer = await cluster.requestRetrying<TransactionView>(
        leader,
        'GET',
        `/v1/transactions/${txId}`,
      );
      if (answer.status === 200 || answer.status === 404) {
        views.set(txId, answer.status === 200 ? answer.body : null);
        unanswered.delete(txId);
      } else {
        unanswered.set(txId, answer.status);
      }
    }
    // No record (404) is final: presumed aborted. A bank still holding it prepared counts below.
    const unfinished =
      unanswered.size +
      [...views.values()].filter((view) => view !== null && !['COMMITTED', 'ABORTED'].includes(view.state))
        .length;
    const prepared = ledgers.reduce((total, ledger) => total + ledger.prepared.length, 0);
    if ((unfinished === 0 && prepared === 0) || Date.now() - healedAt > QUIESCENCE_TIMEOUT_MS) {
      say(`quiescence: ${unfinished} unfinished at the coordinator, ${prepared} prepared in the banks`);
      break;
    }
    await sleep(1_000);
  }

  const violations = judge({
    bankNames: banks.map((bank) => bank.name),
    ledgers,
    views,
    unanswered,
    attempts,
    openingTotal: banks.length * ACCOUNTS_PER_BANK * OPENING_BALANCE,
  });
  return { views, violations, quiescenceMs: Date.now() - healedAt };
}

/** Why transfers were refused, most frequent first: an outage shows which path it hit. */
function refusals(attempts: readonly Attempt[]): string {
  const counts = new Map<string, number>();
  for (const attempt of attempts) {
    if (attempt.reported === 'NOT_STARTED') counts.set(attempt.detail, (counts.get(attempt.detail) ?? 0) + 1);
  }
  const sorted = [...counts].sort((left, right) => right[1] - left[1]);
  return sorted.length === 0 ? 'none' : sorted.map(([detail, count]) => `${count}x ${detail}`).join('; ');
}

/** The coordinator's ABORT reasons, most frequent first, with ids and numbers folded. */
function abortReasons(views: readonly (TransactionView | null)[]): string {
  const counts = new Map<string, number>();
  for (const view of views) {
    if (view?.decision?.outcome !== 'ABORT') continue;
    const reason = view.decision.reason
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<txId>')
      .replace(/\d+/g, 'N');
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  const sorted = [...counts].sort((left, right) => right[1] - left[1]);
  return sorted.length === 0 ? 'none' : sorted.map(([reason, count]) => `${count}x ${reason}`).join('; ');
}

/** Per shape: transactions begun, and how many of them the coordinator committed and aborted. */
function byShape(attempts: readonly Attempt[], views: ReadonlyMap<string, TransactionView | null>): string {
  return SHAPES.map((shape) => {
    const begun = attempts.filter((each) => each.shape === shape && each.txId !== null);
    const decided = (outcome: string): number =>
      begun.filter((each) => views.get(each.txId ?? '')?.decision?.outcome === outcome).length;
    return `${shape} ${begun.length} (${decided('COMMIT')} committed, ${decided('ABORT')} aborted)`;
  }).join(', ');
}

function summarize(
  options: ChaosOptions,
  plan: readonly PlannedFault[],
  attempts: readonly Attempt[],
  faults: readonly ExecutedFault[],
  exits: readonly string[],
  prepared: ReadonlyMap<string, { first: number; last: number }>,
  checked: Checked,
  nemesisFailure: string | null,
): ChaosResult {
  const views = [...checked.views.values()];
  const committed = views.filter((view) => view?.decision?.outcome === 'COMMIT').length;
  const aborted = views.filter((view) => view?.decision?.outcome === 'ABORT').length;
  const unrecorded = views.filter((view) => view === null).length;
  const byReport = (reported: Reported): number =>
    attempts.filter((each) => each.reported === reported).length;
  const byKind = FAULT_KINDS.filter((kind) => options.faults.includes(kind))
    .map((kind) => {
      const ofKind = faults.filter((fault) => fault.kind === kind);
      const aimed = ofKind.filter((fault) => fault.aimed !== null);
      const hits = aimed.filter((fault) => fault.aimed === true).length;
      return `${kind} ${ofKind.length}${aimed.length === 0 ? '' : ` (${hits} on target)`}`;
    })
    .join(', ');
  const elections = faults.filter((fault) => fault.election !== null);
  const longest = elections.reduce<ExecutedFault | null>(
    (worst, fault) =>
      worst === null || (fault.election?.ms ?? 0) > (worst.election?.ms ?? 0) ? fault : worst,
    null,
  );
  const inDoubt = Math.max(0, ...[...prepared.values()].map((seen) => seen.last - seen.first));
  const lines = [
    `client attempts: ${attempts.length} (answered COMMIT ${byReport('COMMIT')}, ABORT ${byReport('ABORT')}, ` +
      `IN_DOUBT ${byReport('IN_DOUBT')}, refused before starting ${byReport('NOT_STARTED')}, no answer ${byReport('NO_ANSWER')})`,
    `refused before starting: ${refusals(attempts)}`,
    `begun by shape, with the coordinator's decision: ${byShape(attempts, checked.views)}`,
    `transactions known to the coordinator or a bank: ${checked.views.size} (committed ${committed}, aborted ${aborted}, ` +
      `presumed aborted without a record at the coordinator ${unrecorded})`,
    `why the coordinator aborted: ${abortReasons(views)}`,
    `faults: ${faults.length} of ${plan.length} planned (${byKind})`,
    `longest leader election: ${longest === null ? 'none measured' : `${longest.election?.ms ?? 0} ms after fault #${longest.index} ${longest.kind} on ${longest.target}`} ` +
      `(${elections.length} measured; from the fault, or for two-nodes-kill from the restart, until a node called itself leader)`,
    `longest a transaction stayed prepared in a bank: ${prepared.size === 0 ? 'none seen' : `~${inDoubt} ms`} ` +
      `(sampled every ${PREPARED_SAMPLE_MS} ms, ${prepared.size} prepared transactions seen)`,
    `quiescence after healing: ${checked.quiescenceMs} ms`,
    `processes that ended by themselves: ${exits.length === 0 ? 'none' : exits.join(', ')}`,
    ...(nemesisFailure === null ? [] : [`HARNESS FAILURE: ${nemesisFailure}`]),
  ];
  for (const violation of checked.violations) {
    lines.push(`VIOLATION ${violation.txId ?? '(global)'}: ${violation.what}`);
    const attempt = attempts.find((each) => each.txId !== null && each.txId === violation.txId);
    if (attempt === undefined) continue;
    lines.push(
      `  client ${attempt.client}, ${attempt.shape}: ${attempt.legs.map((leg) => `${leg.bank}/${leg.account} ${leg.delta}`).join(', ')}, ` +
        `${seconds(attempt.startedMs)}-${seconds(attempt.endedMs)}, ${attempt.detail}`,
    );
    for (const fault of faults) {
      if (
        fault.endedMs + FAULT_CONTEXT_MS >= attempt.startedMs &&
        fault.startedMs - FAULT_CONTEXT_MS <= attempt.endedMs
      ) {
        lines.push(
          `  near fault ${describeFault(fault)} on ${fault.target}: ${seconds(fault.startedMs)}-${seconds(fault.endedMs)}`,
        );
      }
    }
  }
  lines.push(
    `chaos: ${checked.views.size} transactions, ${committed} committed, ${aborted} aborted, ${checked.violations.length} violations`,
  );
  return {
    transactions: checked.views.size,
    committed,
    aborted,
    violations: checked.violations,
    harnessFailure: nemesisFailure,
    summary: lines,
  };
}
