// One chaos run: three coordinator processes and three demo banks on a given stack, C clients
// making random transfers between banks while a seeded nemesis kills and pauses processes; then
// everything is healed and the outcome is checked from the bank databases and the coordinator's
// API (never from logs). Shared by `npm run chaos` (scripts/chaos/cli.mts) and
// test/integration/chaos.test.ts.
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  CoordinatorCluster,
  SERVICE_KEY,
  type CoordinatorNode,
} from '../../test/support/coordinator-cluster.js';
import { DemoProcess } from '../../test/integration/participant/demo-process.js';
import { createDatabase } from '../stack/databases.mjs';
import type { StackConnection } from '../stack/stack.mjs';
import { errorMessage, sleep } from '../stack/support.mjs';

/** CoordinatorCluster builds dist/; the banks run from the same build. */
const DIST = fileURLToPath(new URL('../../dist', import.meta.url));
export const FAULT_KINDS = ['leader-kill', 'follower-kill', 'leader-pause', 'bank-kill'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
const ACCOUNTS_PER_BANK = 2;
const OPENING_BALANCE = 100_000;
/** More than all the money there is: the debited bank must vote NO. */
const UNPAYABLE_AMOUNT = 10_000_000;
const UNPAYABLE_SHARE = 0.1;
/** The coordinator aborts a transaction not decided by then, so a stuck one cannot block a run. */
const TRANSFER_TIMEOUT_MS = 10_000;
const HTTP_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 1_000;
/** A client's pause after a failed transfer, so an outage is not a busy loop. */
const RETRY_PAUSE_MS = 500;
const READY_TIMEOUT_MS = 120_000;
/** Healing: every decision delivered, every prepared transaction resolved. */
const QUIESCENCE_TIMEOUT_MS = 120_000;
const PREPARED_SAMPLE_MS = 500;
/** A fault is named next to a violating transaction when it ran this close to it. */
const FAULT_CONTEXT_MS = 10_000;

export interface ChaosOptions {
  readonly transactions: number;
  readonly clients: number;
  readonly seed: number;
  readonly faults: readonly FaultKind[];
  /** Upper bound on the workload, in seconds; the fault schedule covers it. */
  readonly durationSeconds: number;
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
}

interface ExecutedFault extends PlannedFault {
  target: string;
  startedMs: number;
  endedMs: number;
  electionMs: number | null;
}

type Reported = 'COMMIT' | 'ABORT' | 'IN_DOUBT' | 'NOT_STARTED' | 'NO_ANSWER';

interface Attempt {
  readonly client: number;
  readonly from: { readonly bank: string; readonly account: string };
  readonly to: { readonly bank: string; readonly account: string };
  readonly amount: number;
  readonly startedMs: number;
  endedMs: number;
  reported: Reported;
  txId: string | null;
  detail: string;
}

interface TransactionView {
  readonly state: string;
  readonly decision: { readonly outcome: string } | null;
  readonly participants: readonly { readonly name: string }[];
}

interface Bank {
  readonly name: string;
  readonly url: string;
  readonly databaseUrl: string;
  readonly observer: pg.Pool;
  readonly coordinatorUrl: string;
  process: DemoProcess;
}

export interface Violation {
  readonly txId: string | null;
  readonly what: string;
}

export interface ChaosResult {
  readonly transactions: number;
  readonly committed: number;
  readonly aborted: number;
  readonly violations: readonly Violation[];
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
  const [shortestGap, longestGap] = options.faultGapMs;
  const plan: PlannedFault[] = [];
  // Long enough for any workload: each fault takes at least its quiet time and its downtime.
  let at = 0;
  for (;;) {
    const quietMs = Math.round(shortestGap + random() * (longestGap - shortestGap));
    // Drawn even when no fault kind is enabled, so --faults does not shift the other draws.
    const kind = options.faults[Math.floor(random() * options.faults.length)];
    // A pause must outlast the ~1.5 s election timeout to force an election.
    const downMs = Math.round(kind === 'leader-pause' ? 2_000 + random() * 2_000 : 500 + random() * 3_000);
    const pick = random();
    at += quietMs + downMs;
    if (at >= options.durationSeconds * 1000) return plan;
    if (kind !== undefined) plan.push({ index: plan.length + 1, kind, quietMs, downMs, pick });
  }
}

export function describeFault(fault: PlannedFault): string {
  return `#${fault.index} ${fault.kind} after ${fault.quietMs} ms quiet, down ${fault.downMs} ms (pick ${fault.pick.toFixed(3)})`;
}

/** Starts everything on `stack`, runs the workload and the nemesis, heals, checks; stops it all. */
export async function runChaos(
  options: ChaosOptions,
  stack: StackConnection,
  say: (line: string) => void,
  stop: AbortSignal,
): Promise<ChaosResult> {
  const plan = planFaults(options);
  say(`fault schedule (${plan.length} planned):`);
  for (const fault of plan) say(`  ${describeFault(fault)}`);

  const runId = Date.now().toString(36);
  const historyUrl = await createDatabase(stack.databaseUrl, `chaos_history_${runId}`);
  const cluster = await CoordinatorCluster.start({
    kafkaBrokers: stack.kafkaBrokers,
    databaseUrl: historyUrl,
  });
  const banks: Bank[] = [];
  // Children die with us even when we are ended before the `finally` below can stop them.
  const killAll = (): void => {
    for (const node of cluster.nodes) node.process?.kill('SIGKILL');
    for (const bank of banks) bank.process.child.kill('SIGKILL');
  };
  process.on('exit', killAll);
  const paused = new Set<CoordinatorNode>();
  try {
    for (const [position, name] of options.bankNames.entries()) {
      const databaseUrl = await createDatabase(
        stack.databaseUrl,
        `chaos_${name.replaceAll('-', '_')}_${runId}`.toLowerCase(),
      );
      // Each bank talks to a different node, so a coordinator fault hits one bank's begin path.
      const coordinatorUrl = cluster.nodes[position % cluster.nodes.length]?.url ?? '';
      const bank: Omit<Bank, 'process'> = {
        name,
        url: '',
        databaseUrl,
        observer: observerPool(databaseUrl),
        coordinatorUrl,
      };
      const started = await startBank(bank, stack);
      banks.push({ ...bank, url: started.url, process: started });
    }
    await cluster.waitForLeader(READY_TIMEOUT_MS);
    const accounts: { bank: Bank; account: string }[] = [];
    for (const bank of banks) {
      for (let index = 1; index <= ACCOUNTS_PER_BANK; index += 1) {
        const account = `acct-${index}`;
        const opened = await post(`${bank.url}/accounts`, { id: account, openingBalance: OPENING_BALANCE });
        if (opened.status !== 201) throw new Error(`opening ${bank.name}/${account}: ${opened.status}`);
        accounts.push({ bank, account });
      }
    }

    const started = Date.now();
    const now = (): number => Date.now() - started;
    const attempts: Attempt[] = [];
    const faults: ExecutedFault[] = [];
    const prepared = new Map<string, { first: number; last: number }>();
    let workloadDone = false;
    const sampling = samplePrepared(banks, prepared, () => workloadDone || stop.aborted);

    say(`workload: ${options.transactions} transfers by ${options.clients} clients`);
    const workload = runWorkload(options, accounts, attempts, now, stop).finally(() => {
      workloadDone = true;
    });
    const nemesis = runNemesis(plan, cluster, banks, stack, faults, paused, now, () => workloadDone, say);
    await Promise.all([workload, nemesis]);
    await sampling;
    if (stop.aborted) throw new Error('stopped');

    say('healing: every process running, waiting for quiescence');
    for (const node of paused) node.process?.kill('SIGCONT');
    paused.clear();
    for (const node of cluster.nodes) if (node.process === null) cluster.startNode(node);
    for (const bank of banks)
      if (bank.process.child.exitCode !== null || bank.process.child.signalCode !== null) {
        bank.process = await startBank(bank, stack);
      }
    const check = await checkOutcome(cluster, banks, attempts, say);
    return summarize(options, attempts, faults, prepared, check);
  } finally {
    for (const node of paused) node.process?.kill('SIGCONT');
    await Promise.all(banks.map((bank) => bank.process.stop()));
    await cluster.stop();
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

function startBank(bank: Omit<Bank, 'process'>, stack: StackConnection): Promise<DemoProcess> {
  return DemoProcess.start(DIST, {
    VERDICT_PARTICIPANT_NAME: bank.name,
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    DATABASE_URL: bank.databaseUrl,
    VERDICT_COORDINATOR_URL: bank.coordinatorUrl,
    VERDICT_API_KEY: SERVICE_KEY,
    LOG_LEVEL: 'warn',
  });
}

async function post(
  url: string,
  body: unknown,
  stop?: AbortSignal,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    // Ctrl-C must not wait for a transfer stuck behind a fault.
    signal: AbortSignal.any([AbortSignal.timeout(HTTP_TIMEOUT_MS), ...(stop === undefined ? [] : [stop])]),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
}

async function runWorkload(
  options: ChaosOptions,
  accounts: readonly { bank: Bank; account: string }[],
  attempts: Attempt[],
  now: () => number,
  stop: AbortSignal,
): Promise<void> {
  // Its own sequence, so the nemesis's draws do not depend on how many transfers were made.
  const random = seededRandom(options.seed ^ 0x5bd1e995);
  const deadline = options.durationSeconds * 1000;
  // Transfers refused before a transaction began (bank or its coordinator node down) are tried
  // again and not counted: N is the number of transactions the system had to get right.
  let begun = 0;
  const client = async (clientIndex: number): Promise<void> => {
    while (begun < options.transactions && now() < deadline && !stop.aborted) {
      begun += 1;
      const from = accounts[Math.floor(random() * accounts.length)];
      const others = accounts.filter((each) => each.bank !== from?.bank);
      const to = others[Math.floor(random() * others.length)];
      if (from === undefined || to === undefined) throw new Error('transfers need two banks');
      const amount =
        random() < UNPAYABLE_SHARE ? UNPAYABLE_AMOUNT : 1 + Math.floor(random() * (OPENING_BALANCE / 20));
      const attempt: Attempt = {
        client: clientIndex,
        from: { bank: from.bank.name, account: from.account },
        to: { bank: to.bank.name, account: to.account },
        amount,
        startedMs: now(),
        endedMs: 0,
        reported: 'NO_ANSWER',
        txId: null,
        detail: '',
      };
      attempts.push(attempt);
      try {
        const answer = await post(
          `${from.bank.url}/transfers`,
          {
            fromAccount: from.account,
            toBank: to.bank.name,
            toAccount: to.account,
            amount,
            timeoutMs: TRANSFER_TIMEOUT_MS,
          },
          stop,
        );
        attempt.txId = typeof answer.body['txId'] === 'string' ? answer.body['txId'] : null;
        const code = typeof answer.body['code'] === 'string' ? answer.body['code'] : '';
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
      } catch (error) {
        // The bank died mid-request or is down: whatever it started is found in the databases.
        attempt.detail = errorMessage(error);
        // Nothing listening: the bank is down and cannot have begun anything.
        if (
          error instanceof Error &&
          (error.cause as { code?: unknown } | undefined)?.code === 'ECONNREFUSED'
        ) {
          attempt.reported = 'NOT_STARTED';
        }
      }
      if (attempt.reported === 'NOT_STARTED') begun -= 1;
      attempt.endedMs = now();
      if (attempt.reported !== 'COMMIT' && attempt.reported !== 'ABORT') await sleep(RETRY_PAUSE_MS);
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, index) => client(index + 1)));
}

async function clusterRole(node: CoordinatorNode): Promise<string | null> {
  try {
    const response = await fetch(`${node.url}/v1/cluster`, {
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    return response.ok ? ((await response.json()) as { role: string }).role : null;
  } catch {
    return null;
  }
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

async function runNemesis(
  plan: readonly PlannedFault[],
  cluster: CoordinatorCluster,
  banks: Bank[],
  stack: StackConnection,
  faults: ExecutedFault[],
  paused: Set<CoordinatorNode>,
  now: () => number,
  workloadDone: () => boolean,
  say: (line: string) => void,
): Promise<void> {
  const live = (except: CoordinatorNode): CoordinatorNode[] =>
    cluster.nodes.filter((node) => node !== except && node.process !== null && !paused.has(node));
  for (const fault of plan) {
    const quietUntil = now() + fault.quietMs;
    while (now() < quietUntil && !workloadDone()) await sleep(100);
    if (workloadDone()) return;
    const leader = await leaderAmong(() => cluster.nodes.filter((node) => node.process !== null), 30_000);
    if (leader === null) throw new Error(`no coordinator leader before fault #${fault.index}`);
    const executed: ExecutedFault = { ...fault, target: '', startedMs: now(), endedMs: 0, electionMs: null };
    const down = sleep(fault.downMs);
    if (fault.kind === 'bank-kill') {
      const bank = banks[Math.floor(fault.pick * banks.length)];
      if (bank === undefined) throw new Error('no bank to kill');
      executed.target = bank.name;
      await bank.process.kill9();
      await down;
      bank.process = await startBank(bank, stack);
    } else {
      const followers = cluster.nodes.filter((node) => node !== leader);
      const target =
        fault.kind === 'follower-kill' ? followers[Math.floor(fault.pick * followers.length)] : leader;
      if (target === undefined) throw new Error('no coordinator node to fault');
      executed.target = target.nodeId;
      const faultedAt = Date.now();
      if (fault.kind === 'leader-pause') {
        target.process?.kill('SIGSTOP');
        paused.add(target);
      } else {
        await cluster.kill(target);
      }
      // Bounded: a short pause may end before anyone else runs for leader.
      const election =
        fault.kind === 'follower-kill'
          ? Promise.resolve()
          : leaderAmong(() => live(target), fault.downMs + 10_000).then((elected) => {
              if (elected !== null) executed.electionMs = Date.now() - faultedAt;
            });
      await down;
      if (fault.kind === 'leader-pause') {
        target.process?.kill('SIGCONT');
        paused.delete(target);
      } else {
        cluster.startNode(target);
      }
      await election;
    }
    executed.endedMs = now();
    faults.push(executed);
    say(
      `fault ${describeFault(fault)} on ${executed.target}: ${(executed.startedMs / 1000).toFixed(1)}s-${(executed.endedMs / 1000).toFixed(1)}s` +
        (executed.electionMs === null ? '' : `, new leader after ${executed.electionMs} ms`),
    );
  }
}

async function samplePrepared(
  banks: readonly Bank[],
  prepared: Map<string, { first: number; last: number }>,
  done: () => boolean,
): Promise<void> {
  while (!done()) {
    for (const gid of (await Promise.all(banks.map(preparedGids))).flat()) {
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

interface Ledger {
  /** tx id → account → amount, of the rows written by global transactions. */
  readonly rows: Map<string, Map<string, number>>;
  /** tx ids this bank has heard of: ledger rows, claims, recorded aborts. */
  readonly known: Set<string>;
  readonly balances: Map<string, number>;
  /** account → sum of all its ledger rows, opening deposit included. */
  readonly ledgerSums: Map<string, number>;
  readonly prepared: string[];
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
  let ledgers: Ledger[] = [];
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
      views.set(txId, answer.status === 200 ? answer.body : null);
    }
    const unfinished = [...views.values()].filter(
      (view) => view === null || !['COMMITTED', 'ABORTED'].includes(view.state),
    ).length;
    const prepared = ledgers.reduce((total, ledger) => total + ledger.prepared.length, 0);
    if ((unfinished === 0 && prepared === 0) || Date.now() - healedAt > QUIESCENCE_TIMEOUT_MS) {
      say(`quiescence: ${unfinished} unfinished at the coordinator, ${prepared} prepared in the banks`);
      break;
    }
    await sleep(1_000);
  }

  const violations: Violation[] = [];
  const bankIndex = new Map(banks.map((bank, position) => [bank.name, position]));
  const rowsOf = (bankName: string, txId: string): Map<string, number> | undefined =>
    ledgers[bankIndex.get(bankName) ?? -1]?.rows.get(txId);
  for (const [txId, view] of views) {
    if (view === null) {
      violations.push({ txId, what: 'the coordinator does not know it, but a bank or client does' });
      continue;
    }
    const withRows = view.participants.filter((participant) => rowsOf(participant.name, txId) !== undefined);
    const outcome = view.decision?.outcome ?? 'NONE';
    if (withRows.length !== 0 && withRows.length !== view.participants.length) {
      violations.push({
        txId,
        what: `not atomic: ledger rows in ${withRows.map((each) => each.name).join(', ')} only (coordinator: ${view.state}/${outcome})`,
      });
    }
    if (!['COMMITTED', 'ABORTED'].includes(view.state)) {
      violations.push({ txId, what: `never finished: coordinator state ${view.state}/${outcome}` });
    } else if ((outcome === 'COMMIT') !== withRows.length > 0) {
      violations.push({
        txId,
        what: `coordinator says ${outcome} but ledger rows are in ${withRows.length} of ${view.participants.length} banks`,
      });
    }
  }
  for (const attempt of attempts) {
    if (attempt.txId === null) continue;
    const debit = rowsOf(attempt.from.bank, attempt.txId)?.get(attempt.from.account);
    const credit = rowsOf(attempt.to.bank, attempt.txId)?.get(attempt.to.account);
    if (attempt.reported === 'COMMIT' && (debit !== -attempt.amount || credit !== attempt.amount)) {
      violations.push({
        txId: attempt.txId,
        what: `reported committed, but the ledgers hold debit ${String(debit)} / credit ${String(credit)} for ${attempt.amount}`,
      });
    }
    if (attempt.reported === 'ABORT' && (debit !== undefined || credit !== undefined)) {
      violations.push({ txId: attempt.txId, what: 'reported aborted, but ledger rows exist' });
    }
    const outcome = views.get(attempt.txId)?.decision?.outcome;
    if ((attempt.reported === 'COMMIT' || attempt.reported === 'ABORT') && outcome !== attempt.reported) {
      violations.push({
        txId: attempt.txId,
        what: `the bank reported ${attempt.reported}, the coordinator says ${String(outcome)}`,
      });
    }
  }
  let total = 0;
  for (const [position, ledger] of ledgers.entries()) {
    const bank = banks[position]?.name ?? '?';
    for (const gid of ledger.prepared)
      violations.push({ txId: null, what: `${bank}: still prepared: ${gid}` });
    for (const [account, balance] of ledger.balances) {
      total += balance;
      if (balance < 0)
        violations.push({ txId: null, what: `${bank}/${account}: negative balance ${balance}` });
      if (ledger.ledgerSums.get(account) !== balance) {
        violations.push({
          txId: null,
          what: `${bank}/${account}: balance ${balance} but its ledger rows sum to ${String(ledger.ledgerSums.get(account))}`,
        });
      }
    }
  }
  const opening = banks.length * ACCOUNTS_PER_BANK * OPENING_BALANCE;
  if (total !== opening)
    violations.push({ txId: null, what: `money not conserved: ${total} instead of ${opening}` });
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

function summarize(
  options: ChaosOptions,
  attempts: readonly Attempt[],
  faults: readonly ExecutedFault[],
  prepared: ReadonlyMap<string, { first: number; last: number }>,
  checked: Checked,
): ChaosResult {
  const views = [...checked.views.values()];
  const committed = views.filter((view) => view?.decision?.outcome === 'COMMIT').length;
  const aborted = views.filter((view) => view?.decision?.outcome === 'ABORT').length;
  const byReport = (reported: Reported): number =>
    attempts.filter((each) => each.reported === reported).length;
  const byKind = FAULT_KINDS.filter((kind) => options.faults.includes(kind))
    .map((kind) => `${kind} ${faults.filter((fault) => fault.kind === kind).length}`)
    .join(', ');
  const elections = faults.flatMap((fault) => (fault.electionMs === null ? [] : [fault.electionMs]));
  const inDoubt = Math.max(0, ...[...prepared.values()].map((seen) => seen.last - seen.first));
  const lines = [
    `client attempts: ${attempts.length} (bank answered COMMIT ${byReport('COMMIT')}, ABORT ${byReport('ABORT')}, ` +
      `IN_DOUBT ${byReport('IN_DOUBT')}, refused before starting ${byReport('NOT_STARTED')}, no answer ${byReport('NO_ANSWER')})`,
    `refused before starting: ${refusals(attempts)}`,
    `transactions known to the coordinator or a bank: ${checked.views.size} (committed ${committed}, aborted ${aborted})`,
    `faults: ${faults.length} (${byKind})`,
    `longest leader election: ${elections.length === 0 ? 'none measured' : `${Math.max(...elections)} ms`} ` +
      `(${elections.length} elections; from the fault until another node called itself leader)`,
    `longest a transaction stayed prepared in a bank: ${prepared.size === 0 ? 'none seen' : `~${inDoubt} ms`} ` +
      `(sampled every ${PREPARED_SAMPLE_MS} ms, ${prepared.size} prepared transactions seen)`,
    `quiescence after healing: ${checked.quiescenceMs} ms`,
  ];
  for (const violation of checked.violations) {
    lines.push(`VIOLATION ${violation.txId ?? '(global)'}: ${violation.what}`);
    const attempt = attempts.find((each) => each.txId !== null && each.txId === violation.txId);
    if (attempt === undefined) continue;
    lines.push(
      `  client ${attempt.client}: ${attempt.from.bank}/${attempt.from.account} -> ${attempt.to.bank}/${attempt.to.account} ` +
        `${attempt.amount}, ${(attempt.startedMs / 1000).toFixed(1)}s-${(attempt.endedMs / 1000).toFixed(1)}s, ${attempt.detail}`,
    );
    for (const fault of faults) {
      if (
        fault.endedMs + FAULT_CONTEXT_MS >= attempt.startedMs &&
        fault.startedMs - FAULT_CONTEXT_MS <= attempt.endedMs
      ) {
        lines.push(
          `  near fault ${describeFault(fault)} on ${fault.target}: ${(fault.startedMs / 1000).toFixed(1)}s-${(fault.endedMs / 1000).toFixed(1)}s`,
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
    summary: lines,
  };
}
