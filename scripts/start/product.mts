// `npm start`: the whole product on one machine. Builds, starts the local stack (durable), three
// coordinator nodes and two demo banks as child processes, shows a few transfers, prints where
// everything is, and runs until Ctrl-C. Everything it keeps lives in `.verdict/` in the clone.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, databaseUrl, withClient } from '../stack/databases.mjs';
import { freePorts } from '../stack/ports.mjs';
import { type Stack, startStack } from '../stack/stack.mjs';
import { errorMessage, settlesWithin, sleep } from '../stack/support.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Named in README.md and git-ignored. */
export const DATA_DIRECTORY = join(ROOT, '.verdict');
const NODE_IDS = ['n1', 'n2', 'n3'] as const;
const BANKS = [
  { name: 'bank-a', database: 'bank_a', accounts: [{ id: 'alice', openingBalance: 100_000 }] },
  { name: 'bank-b', database: 'bank_b', accounts: [{ id: 'bob', openingBalance: 50_000 }] },
] as const;
const HISTORY_DATABASE = 'verdict';
/** Leader election and the banks' first Kafka join take seconds; a loaded machine, many more. */
const READY_TIMEOUT_MS = 120_000;
/** After SIGTERM: a leader hands over leadership and a bank's consumer leaves its group. */
const CHILD_STOP_TIMEOUT_MS = 10_000;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const PARENT_POLL_MS = 500;

export const USAGE = `usage: npm start [-- --fresh]

Builds Verdict, starts Kafka and PostgreSQL, three coordinator nodes and two demo banks (bank-a,
bank-b) on free ports, makes a few transfers, prints where everything is, and runs until Ctrl-C,
which stops everything. Data and logs are kept in .verdict/ for the next start.

  --fresh  delete .verdict/ first: a new cluster, new databases and new API keys
  --help   this text`;

export interface StartArguments {
  readonly fresh: boolean;
  readonly help: boolean;
}

export function parseStartArguments(argv: readonly string[]): StartArguments {
  let fresh = false;
  let help = false;
  for (const argument of argv) {
    if (argument === '--fresh') fresh = true;
    else if (argument === '--help' || argument === '-h') help = true;
    else throw new Error(`unknown argument "${argument}"\n\n${USAGE}`);
  }
  return { fresh, help };
}

/** Kept in `.verdict/secrets.json`: the Raft log is bound to the cluster secret. */
interface Secrets {
  readonly clusterSecret: string;
  readonly serviceKey: string;
  readonly operatorKey: string;
}

interface Child {
  readonly name: string;
  readonly logFile: string;
  readonly process: ChildProcess;
  readonly exited: Promise<string>;
}

interface CoordinatorNode {
  readonly nodeId: string;
  readonly httpPort: number;
  readonly raftPort: number;
  readonly url: string;
}

class StopRequested extends Error {}

/** `npm start`; resolves with the process exit code. */
export async function runProduct(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let options: StartArguments;
  try {
    options = parseStartArguments(argv);
  } catch (error) {
    console.error(errorMessage(error));
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }

  // Listening from the start: a Ctrl-C during start-up must still stop what has started. Kept for
  // the whole run: npm forwards the terminal's SIGINT, so it comes twice, and the default action
  // of the second would kill us before the children have stopped.
  let stopReason: string | undefined;
  let watchParent: NodeJS.Timeout | undefined;
  const stopRequested = new Promise<string>((resolve) => {
    const request = (reason: string): void => {
      stopReason ??= reason;
      resolve(stopReason);
    };
    for (const name of SIGNALS) process.on(name, () => request(`received ${name}`));
    // npm runs us under `sh -c`, and a SIGTERM sent to npm kills that shell without passing the
    // signal on: a parent that goes away is a request to stop too, or everything would run on.
    const parent = process.ppid;
    watchParent = setInterval(() => {
      if (process.ppid !== parent) request('the parent process (npm) ended');
    }, PARENT_POLL_MS);
  });
  const checkStop = (): void => {
    if (stopReason !== undefined) throw new StopRequested(stopReason);
  };
  const say = (line: string): void => console.log(`start: ${line}`);
  const startedAt = Date.now();
  const children: Child[] = [];
  // Children run in their own process groups (so Ctrl-C reaches only us and we stop them in
  // order); if this process dies without stopping them, this is the last chance to.
  const killChildrenOnExit = (): void => {
    for (const child of children) child.process.kill('SIGKILL');
  };
  process.on('exit', killChildrenOnExit);
  let stack: Stack | undefined;
  let exitCode = 0;

  try {
    if (options.fresh) {
      say(`--fresh: deleting ${DATA_DIRECTORY}`);
      await rm(DATA_DIRECTORY, { recursive: true, force: true });
    }
    const logDirectory = join(DATA_DIRECTORY, 'logs');
    await mkdir(logDirectory, { recursive: true });
    // As root, PostgreSQL runs as the `postgres` user and must be able to enter this folder.
    await chmod(DATA_DIRECTORY, 0o755);
    const secrets = await loadSecrets(join(DATA_DIRECTORY, 'secrets.json'));

    say(`building into dist/ (log: ${join(logDirectory, 'build.log')})`);
    build(join(logDirectory, 'build.log'));
    checkStop();

    const databaseFromEnvironment = env['DATABASE_URL'];
    stack = await startStack({
      durable: true,
      databaseUrl:
        databaseFromEnvironment === undefined || databaseFromEnvironment === ''
          ? undefined
          : databaseFromEnvironment,
      report: say,
      directory: join(DATA_DIRECTORY, 'stack'),
    });
    checkStop();
    const serverUrl = stack.connection.databaseUrl;
    const kafkaBrokers = stack.connection.kafkaBrokers.join(',');
    const historyUrl = await ensureDatabase(serverUrl, HISTORY_DATABASE);
    const bankUrls = await Promise.all(BANKS.map((bank) => ensureDatabase(serverUrl, bank.database)));

    const ports = await freePorts(NODE_IDS.length * 2 + BANKS.length);
    const nodes: CoordinatorNode[] = NODE_IDS.map((nodeId, position) => {
      const httpPort = ports[position * 2] ?? 0;
      return {
        nodeId,
        httpPort,
        raftPort: ports[position * 2 + 1] ?? 0,
        url: `http://127.0.0.1:${httpPort}`,
      };
    });
    const coordinatorEnvironment = {
      VERDICT_PEERS: nodes.map((node) => `${node.nodeId}=127.0.0.1:${node.raftPort}`).join(','),
      VERDICT_PEER_HTTP_URLS: nodes.map((node) => `${node.nodeId}=${node.url}`).join(','),
      VERDICT_CLUSTER_SECRET: secrets.clusterSecret,
      VERDICT_API_KEYS: `${secrets.serviceKey}:service,${secrets.operatorKey}:operator`,
      KAFKA_BROKERS: kafkaBrokers,
      DATABASE_URL: historyUrl,
      LOG_LEVEL: 'info',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
    };
    for (const node of nodes) {
      const dataDirectory = join(DATA_DIRECTORY, 'coordinator', node.nodeId);
      await mkdir(dataDirectory, { recursive: true });
      children.push(
        startChild(
          node.nodeId,
          join(logDirectory, `${node.nodeId}.log`),
          'dist/apps/coordinator/src/main.js',
          {
            ...coordinatorEnvironment,
            VERDICT_NODE_ID: node.nodeId,
            VERDICT_HTTP_PORT: String(node.httpPort),
            VERDICT_RAFT_PORT: String(node.raftPort),
            VERDICT_DATA_DIR: dataDirectory,
          },
        ),
      );
    }
    const banks = BANKS.map((bank, position) => {
      const port = ports[NODE_IDS.length * 2 + position] ?? 0;
      children.push(
        startChild(
          bank.name,
          join(logDirectory, `${bank.name}.log`),
          'dist/apps/participant-demo/src/main.js',
          {
            VERDICT_PARTICIPANT_NAME: bank.name,
            VERDICT_HTTP_PORT: String(port),
            KAFKA_BROKERS: kafkaBrokers,
            DATABASE_URL: bankUrls[position] ?? '',
            // Any node will do: followers forward writes to the leader.
            VERDICT_COORDINATOR_URL: nodes[position % nodes.length]?.url ?? '',
            VERDICT_API_KEY: secrets.serviceKey,
            LOG_LEVEL: 'info',
            KAFKAJS_NO_PARTITIONER_WARNING: '1',
          },
        ),
      );
      return { ...bank, url: `http://127.0.0.1:${port}` };
    });

    say(`waiting for a coordinator leader and both banks (logs in ${logDirectory})`);
    const leader = await waitFor(
      () => findLeader(nodes, secrets.serviceKey),
      READY_TIMEOUT_MS,
      'a coordinator leader',
      checkStop,
      children,
    );
    for (const bank of banks) {
      await waitFor(
        async () => ((await getJson(`${bank.url}/accounts`)).status === 200 ? true : undefined),
        READY_TIMEOUT_MS,
        `${bank.name} to serve HTTP`,
        checkStop,
        children,
      );
    }
    say(`ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; leader ${leader.nodeId}`);

    for (const bank of banks) {
      for (const account of bank.accounts) {
        const opened = await postJson(`${bank.url}/accounts`, account);
        const existed = opened.status === 409;
        if (opened.status !== 201 && !existed) {
          throw new Error(
            `opening ${account.id} in ${bank.name}: ${opened.status} ${JSON.stringify(opened.body)}`,
          );
        }
        say(`account ${account.id} in ${bank.name}: ${existed ? 'found from an earlier start' : 'opened'}`);
      }
    }
    const [bankA, bankB] = banks;
    if (bankA === undefined || bankB === undefined) throw new Error('two banks expected');
    const transfers = [
      { via: bankA, body: { fromAccount: 'alice', toBank: 'bank-b', toAccount: 'bob', amount: 2_500 } },
      { via: bankB, body: { fromAccount: 'bob', toBank: 'bank-a', toAccount: 'alice', amount: 1_000 } },
      // More than alice has: bank-a votes NO and nothing moves anywhere.
      { via: bankA, body: { fromAccount: 'alice', toBank: 'bank-b', toAccount: 'bob', amount: 100_000_000 } },
    ];
    console.log('\nDemo transfers (amounts in cents), each one global transaction over both banks:');
    for (const transfer of transfers) {
      const { fromAccount, toBank, toAccount, amount } = transfer.body;
      const result = await postJson(`${transfer.via.url}/transfers`, transfer.body);
      const body = result.body as { txId?: string; outcome?: string; code?: string; detail?: string };
      const what = `${transfer.via.name}/${fromAccount} -> ${toBank}/${toAccount} ${amount}`;
      console.log(
        result.status === 201
          ? `  ${what}: ${body.outcome ?? '?'} (tx ${body.txId ?? '?'})`
          : `  ${what}: HTTP ${result.status} ${body.code ?? ''}: ${body.detail ?? JSON.stringify(body)}`,
      );
    }
    console.log('Balances:');
    for (const bank of banks) {
      for (const account of bank.accounts) {
        const found = await getJson(`${bank.url}/accounts/${account.id}`);
        console.log(`  ${bank.name}/${account.id}: ${String((found.body as { balance?: number }).balance)}`);
      }
    }
    checkStop();

    printDirectory(nodes, leader, banks, secrets, stack, logDirectory);
    say(`up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s. Ctrl-C stops everything.`);

    const outcome = await Promise.race([
      stopRequested.then((reason) => ({ failed: false, reason })),
      stack.ended.then((reason) => ({ failed: true, reason })),
      ...children.map((child) =>
        child.exited.then((status) => ({
          failed: true,
          reason: `${child.name} ended by itself (${status}); see ${child.logFile}`,
        })),
      ),
    ]);
    say(`${outcome.reason}; stopping`);
    if (outcome.failed) exitCode = 1;
  } catch (error) {
    if (error instanceof StopRequested) {
      say(`${error.message} while starting; stopping`);
    } else {
      console.error(`start: ${errorMessage(error)}`);
      exitCode = 1;
    }
  }

  const stoppingAt = Date.now();
  // Banks first, so no transfer is started while the coordinators go; then the coordinators;
  // then Kafka and PostgreSQL, which everything else needed to shut down cleanly.
  await stopChildren(children.filter((child) => !NODE_IDS.some((nodeId) => nodeId === child.name)));
  await stopChildren(children.filter((child) => NODE_IDS.some((nodeId) => nodeId === child.name)));
  await stack?.stop({ keepLogs: true });
  process.off('exit', killChildrenOnExit);
  clearInterval(watchParent);
  say(
    `stopped in ${((Date.now() - stoppingAt) / 1000).toFixed(1)} s; data and logs kept in ${DATA_DIRECTORY}`,
  );
  return exitCode;
}

async function loadSecrets(file: string): Promise<Secrets> {
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as Secrets;
  const token = (): string => randomBytes(18).toString('base64url');
  const secrets: Secrets = {
    clusterSecret: token(),
    serviceKey: `service-${token()}`,
    operatorKey: `operator-${token()}`,
  };
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

function build(logFile: string): void {
  const log = openSync(logFile, 'w');
  try {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], {
      cwd: ROOT,
      stdio: ['ignore', log, log],
    });
    if (run.status !== 0)
      throw new Error(`the build failed (exit code ${String(run.status)}); see ${logFile}`);
  } finally {
    closeSync(log);
  }
}

/** The database `name` on the server, created on the first start and found on later ones. */
async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const exists = await withClient(serverUrl, async (client) => {
    const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return result.rowCount === 1;
  });
  return exists ? databaseUrl(serverUrl, name) : createDatabase(serverUrl, name);
}

function startChild(
  name: string,
  logFile: string,
  script: string,
  environment: Readonly<Record<string, string>>,
): Child {
  const log = openSync(logFile, 'a');
  try {
    const child = spawn(process.execPath, ['--enable-source-maps', join(ROOT, script)], {
      cwd: ROOT,
      env: { ...process.env, ...environment },
      stdio: ['ignore', log, log],
      detached: true,
    });
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) =>
        resolve(signal === null ? `exit code ${String(code)}` : `killed by ${signal}`),
      );
    });
    return { name, logFile, process: child, exited };
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(log);
  }
}

async function stopChildren(children: readonly Child[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.process.exitCode !== null || child.process.signalCode !== null) return;
      child.process.kill('SIGTERM');
      if (!(await settlesWithin(child.exited, CHILD_STOP_TIMEOUT_MS))) {
        console.log(`start: ${child.name} did not stop within ${CHILD_STOP_TIMEOUT_MS} ms; sending SIGKILL`);
        child.process.kill('SIGKILL');
        await child.exited;
      }
    }),
  );
}

async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  checkStop: () => void,
  children: readonly Child[],
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    checkStop();
    const dead = children.find(
      (child) => child.process.exitCode !== null || child.process.signalCode !== null,
    );
    if (dead !== undefined) throw new Error(`${dead.name} exited while starting; see ${dead.logFile}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(250);
  }
}

/** The node every node names as leader, once it says so itself and is ready. */
async function findLeader(
  nodes: readonly CoordinatorNode[],
  apiKey: string,
): Promise<CoordinatorNode | undefined> {
  const statuses = await Promise.all(
    nodes.map(async (node) => {
      const result = await getJson(`${node.url}/v1/cluster`, apiKey).catch(() => undefined);
      return result?.status === 200 ? (result.body as { role: string; leaderId: string | null }) : undefined;
    }),
  );
  const leaderIds = new Set(statuses.map((status) => status?.leaderId));
  const [leaderId] = leaderIds;
  const position = nodes.findIndex((node) => node.nodeId === leaderId);
  const leader = nodes[position];
  if (leaderIds.size !== 1 || leader === undefined || statuses[position]?.role !== 'LEADER') return undefined;
  return (await getJson(`${leader.url}/health/ready`)).status === 200 ? leader : undefined;
}

async function getJson(url: string, apiKey?: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    headers: apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` },
    signal: AbortSignal.timeout(5_000),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    // A transfer waits for the decision: the prepare deadline (10 s) plus replication.
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

function printDirectory(
  nodes: readonly CoordinatorNode[],
  leader: CoordinatorNode,
  banks: readonly { name: string; database: string; url: string }[],
  secrets: Secrets,
  stack: Stack,
  logDirectory: string,
): void {
  const first = nodes[0]?.url ?? '';
  const lines = [
    '',
    'Coordinator (3 Raft nodes; any node answers, followers forward writes to the leader)',
    ...nodes.map(
      (node) =>
        `  ${node.nodeId}${node === leader ? ' (leader)' : '         '} REST ${node.url}/v1   ` +
        `OpenAPI UI ${node.url}/docs   status ${node.url}/v1/cluster   metrics ${node.url}/metrics   ` +
        `raft 127.0.0.1:${node.raftPort}`,
    ),
    `Operator console ${leader.url}/console  (sign in with the operator key below; every node serves it)`,
    `CLI  VERDICT_URL=${leader.url} VERDICT_API_KEY=${secrets.operatorKey} npx verdict tx list`,
    'Banks (demo participants)',
    ...banks.map((bank) => `  ${bank.name}  ${bank.url}  (GET /accounts, POST /accounts, POST /transfers)`),
    'API keys (Authorization: Bearer <key>; kept in .verdict/secrets.json)',
    `  service   ${secrets.serviceKey}`,
    `  operator  ${secrets.operatorKey}`,
    'Kafka and PostgreSQL',
    `  KAFKA_BROKERS=${stack.connection.kafkaBrokers.join(',')}`,
    `  DATABASE_URL=${stack.connection.databaseUrl}  (databases ${HISTORY_DATABASE}, ${banks.map((bank) => bank.database).join(', ')})`,
    'Data and logs',
    `  ${DATA_DIRECTORY} (npm start -- --fresh deletes it)`,
    `  logs: ${logDirectory}/{build,${[...NODE_IDS, ...banks.map((bank) => bank.name)].join(',')}}.log, ` +
      stack.logFiles.join(', '),
    'Try',
    `  curl -s -X POST ${banks[0]?.url ?? ''}/transfers -H 'content-type: application/json' \\`,
    `    -d '{"fromAccount":"alice","toBank":"bank-b","toAccount":"bob","amount":500}'`,
    `  curl -s -X POST ${first}/v1/transactions -H 'authorization: Bearer ${secrets.serviceKey}' \\`,
    `    -H 'content-type: application/json' -d '{"participants":[{"name":"bank-a","payload":{"debit":{"account":"alice","amount":100}}}]}'`,
    `  curl -s -X POST ${first}/v1/transactions/<id from the answer>/commit -H 'authorization: Bearer ${secrets.serviceKey}'`,
    '  # or begin and commit in one request:',
    `  curl -s -X POST ${first}/v1/transactions -H 'authorization: Bearer ${secrets.serviceKey}' -H 'idempotency-key: order-1' \\`,
    `    -H 'content-type: application/json' -d '{"participants":[{"name":"bank-a","payload":{"debit":{"account":"alice","amount":100}}}],"commit":"decision"}'`,
    `  curl -s ${first}/v1/transactions -H 'authorization: Bearer ${secrets.operatorKey}'`,
    '',
  ];
  console.log(lines.join('\n'));
}
