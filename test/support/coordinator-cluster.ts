// A real coordinator cluster for tests: N `node dist/apps/coordinator/src/main.js` processes on
// free ports with their own data directories, which a test can kill, pause and restart.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePorts } from '../../scripts/stack/ports.mjs';

const root = join(__dirname, '..', '..');
// VERDICT_DIST_DIR (scripts/build.mjs) builds and runs from another folder than dist/.
const mainScript = join(
  resolve(root, process.env['VERDICT_DIST_DIR'] || 'dist'),
  'apps',
  'coordinator',
  'src',
  'main.js',
);

export const SERVICE_KEY = 'service-key-0123456789abcdef';
export const OPERATOR_KEY = 'operator-key-0123456789abcdef';
const CLUSTER_SECRET = 'cluster-secret-0123456789abcdef';

let built = false;

/** Compiles apps and libs once per test process, so the processes run the code under test. */
export function buildOnce(): void {
  if (built) return;
  const run = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], {
    cwd: root,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`npm run build failed:\n${run.stdout}\n${run.stderr}`);
  built = true;
}

export interface CoordinatorNode {
  readonly nodeId: string;
  readonly httpPort: number;
  readonly raftPort: number;
  readonly url: string;
  readonly dataDirectory: string;
  readonly logFile: string;
  process: ChildProcess | null;
}

export interface HttpResult<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export interface ClusterOptions {
  readonly size?: number;
  readonly kafkaBrokers: readonly string[];
  readonly databaseUrl: string;
  /** Extra environment for every node. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Environment of one node, over the rest (e.g. its own VERDICT_PEERS, through proxies). */
  readonly nodeEnvironment?: (
    node: CoordinatorNode,
    nodes: readonly CoordinatorNode[],
  ) => Readonly<Record<string, string>>;
}

export class CoordinatorCluster {
  /** Environment of nodes added with `addNode`, over everything else. */
  private readonly addedEnvironment = new Map<string, Readonly<Record<string, string>>>();

  private constructor(
    private readonly members: CoordinatorNode[],
    private readonly environment: Readonly<Record<string, string>>,
    /** Data and logs of every node; deleted by `stop` unless kept. */
    readonly directory: string,
    private readonly nodeEnvironment: ClusterOptions['nodeEnvironment'],
  ) {}

  /** Every node: the founding ones, then those added with `addNode`. */
  get nodes(): readonly CoordinatorNode[] {
    return this.members;
  }

  /**
   * A new node on free ports with its own data directory, not started: `startNode` it. It gets
   * the cluster's environment (so VERDICT_PEERS names the founding nodes) plus `environment`,
   * e.g. `{ VERDICT_JOIN: 'true' }` to join the running cluster.
   */
  async addNode(
    nodeId: string,
    environment: Readonly<Record<string, string>> = {},
  ): Promise<CoordinatorNode> {
    if (this.members.some((node) => node.nodeId === nodeId)) throw new Error(`${nodeId} already exists`);
    const [httpPort = 0, raftPort = 0] = await freePorts(2);
    const dataDirectory = join(this.directory, nodeId);
    mkdirSync(dataDirectory, { recursive: true });
    const node: CoordinatorNode = {
      nodeId,
      httpPort,
      raftPort,
      url: `http://127.0.0.1:${httpPort}`,
      dataDirectory,
      logFile: join(this.directory, `${nodeId}.log`),
      process: null,
    };
    this.members.push(node);
    this.addedEnvironment.set(nodeId, environment);
    return node;
  }

  static async start(options: ClusterOptions): Promise<CoordinatorCluster> {
    buildOnce();
    const size = options.size ?? 3;
    const ports = await freePorts(size * 2);
    const directory = mkdtempSync(join(tmpdir(), 'verdict-cluster-'));
    chmodSync(directory, 0o755);
    const nodes: CoordinatorNode[] = [];
    for (let position = 0; position < size; position += 1) {
      const nodeId = `n${position + 1}`;
      const httpPort = ports[position * 2] ?? 0;
      const raftPort = ports[position * 2 + 1] ?? 0;
      const dataDirectory = join(directory, nodeId);
      mkdirSync(dataDirectory, { recursive: true });
      nodes.push({
        nodeId,
        httpPort,
        raftPort,
        url: `http://127.0.0.1:${httpPort}`,
        dataDirectory,
        logFile: join(directory, `${nodeId}.log`),
        process: null,
      });
    }
    const environment: Record<string, string> = {
      VERDICT_PEERS: nodes.map((node) => `${node.nodeId}=127.0.0.1:${node.raftPort}`).join(','),
      VERDICT_PEER_HTTP_URLS: nodes.map((node) => `${node.nodeId}=${node.url}`).join(','),
      VERDICT_CLUSTER_SECRET: CLUSTER_SECRET,
      VERDICT_API_KEYS: `${SERVICE_KEY}:service,${OPERATOR_KEY}:operator`,
      KAFKA_BROKERS: options.kafkaBrokers.join(','),
      DATABASE_URL: options.databaseUrl,
      LOG_LEVEL: 'info',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      ...options.environment,
    };
    const cluster = new CoordinatorCluster(nodes, environment, directory, options.nodeEnvironment);
    for (const node of nodes) cluster.startNode(node);
    return cluster;
  }

  node(nodeId: string): CoordinatorNode {
    const node = this.nodes.find((each) => each.nodeId === nodeId);
    if (node === undefined) throw new Error(`no node ${nodeId} in this cluster`);
    return node;
  }

  startNode(node: CoordinatorNode): void {
    if (node.process !== null) throw new Error(`${node.nodeId} is already running`);
    const log = createWriteStream(node.logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['--enable-source-maps', mainScript], {
      cwd: root,
      env: {
        ...process.env,
        ...this.environment,
        ...this.nodeEnvironment?.(node, this.nodes),
        ...this.addedEnvironment.get(node.nodeId),
        VERDICT_NODE_ID: node.nodeId,
        VERDICT_HTTP_PORT: String(node.httpPort),
        VERDICT_RAFT_PORT: String(node.raftPort),
        VERDICT_DATA_DIR: node.dataDirectory,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    child.once('exit', () => {
      if (node.process === child) node.process = null;
    });
    node.process = child;
  }

  /** SIGKILL: the process gets no chance to flush, hand over or say goodbye. */
  async kill(node: CoordinatorNode): Promise<void> {
    const child = node.process;
    if (child === null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Waits until one running node reports itself leader and every running node agrees on it. */
  async waitForLeader(timeoutMs = 30_000): Promise<CoordinatorNode> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      const running = this.nodes.filter((node) => node.process !== null);
      const statuses = await Promise.all(
        running.map(async (node) => {
          try {
            const result = await this.request<{ role: string; leaderId: string | null }>(
              node,
              'GET',
              '/v1/cluster',
              undefined,
              SERVICE_KEY,
            );
            return result.status === 200 ? result.body : null;
          } catch {
            return null;
          }
        }),
      );
      const leaders = new Set(statuses.map((status) => status?.leaderId ?? null));
      const leaderId = [...leaders][0];
      const leader = running.find(
        (node, position) => node.nodeId === leaderId && statuses[position]?.role === 'LEADER',
      );
      if (leaders.size === 1 && leader !== undefined) {
        const ready = await this.request(leader, 'GET', '/health/ready').catch(() => null);
        if (ready?.status === 200) return leader;
      }
      last = JSON.stringify(statuses);
      await sleep(100);
    }
    throw new Error(`no leader within ${timeoutMs} ms; last statuses ${last}; logs in ${this.directory}`);
  }

  async request<T = unknown>(
    node: CoordinatorNode,
    method: string,
    path: string,
    body?: unknown,
    apiKey: string | null = SERVICE_KEY,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<HttpResult<T>> {
    const response = await fetch(`${node.url}${path}`, {
      method,
      headers: {
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...(apiKey !== null && { authorization: `Bearer ${apiKey}` }),
        ...headers,
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text === '' ? null : JSON.parse(text)) as T,
      headers: response.headers,
    };
  }

  /**
   * What a well-behaved client does: on 503 (no leader yet, leadership just moved) wait the
   * Retry-After and ask again, for at most `timeoutMs`.
   */
  async requestRetrying<T = unknown>(
    node: CoordinatorNode,
    method: string,
    path: string,
    body?: unknown,
    apiKey: string | null = SERVICE_KEY,
    timeoutMs = 15_000,
  ): Promise<HttpResult<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = await this.request<T>(node, method, path, body, apiKey);
      if (result.status !== 503 || Date.now() > deadline) return result;
      await sleep(Number(result.headers.get('retry-after') ?? '1') * 1000);
    }
  }

  /** The tail of a node's log, for failure messages. */
  logTail(node: CoordinatorNode, lines = 40): string {
    try {
      return readFileSync(node.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Kills every node; deletes their data and logs unless `keep` or VERDICT_KEEP_TEST_DATA is set. */
  async stop({ keep = false }: { keep?: boolean } = {}): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.kill(node)));
    if (!keep && process.env['VERDICT_KEEP_TEST_DATA'] === undefined)
      rmSync(this.directory, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(100);
  }
  throw new Error(
    `${what} did not happen within ${timeoutMs} ms${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}
