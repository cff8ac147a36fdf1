// Starts, talks to, kills and restarts raft-process.ts children. Shared by the real-process tests
// and `npm run bench:raft`. Every child is tracked so `stopAll()` can always kill what is left.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { MembershipChange } from '../../src/core/membership';
import type { Membership, NodeId } from '../../src/core/types';
import type {
  BenchLoad,
  BenchLoadResult,
  ControlOutput,
  ControlRequest,
  LogWriteStats,
  ProcessConfig,
} from './raft-process';

// This file runs under Vitest (CommonJS-typed, no import.meta) and under the SWC loader as ESM (no
// __dirname), so paths are taken from the working directory: the repo root for both Vitest and npm.
const RAFT_LOG = join(process.cwd(), 'libs', 'raft-log');
const PROGRAM = join(RAFT_LOG, 'test', 'process', 'raft-process.ts');
const LOADER = join(RAFT_LOG, 'sim-loader.mjs');

export interface NodeStatus {
  readonly role: string;
  readonly term: number;
  readonly leaderId: NodeId | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly snapshotIndex: number;
  readonly lastIndex: number;
  readonly membership: Membership;
}

type Request = ControlRequest extends infer R ? (R extends ControlRequest ? Omit<R, 'id'> : never) : never;
type LogLine = Extract<ControlOutput, { event: 'log' }>;

/** A running raft-process child and its control channel. */
export class ProcessNode {
  readonly logs: LogLine[] = [];
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  readonly exited: Promise<number | null>;

  private constructor(
    readonly nodeId: NodeId,
    private readonly child: ChildProcess,
    private stderr: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    void this.exited.then((code) => {
      const error = new Error(
        `${nodeId} exited (code ${code}) with requests pending; stderr: ${this.stderr}`,
      );
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    });
  }

  static async spawn(config: ProcessConfig, nodeArgs: readonly string[]): Promise<ProcessNode> {
    if (!existsSync(PROGRAM)) throw new Error(`${PROGRAM} not found: run from the repository root`);
    const child = spawn(
      process.execPath,
      [...nodeArgs, '--import', LOADER, PROGRAM, JSON.stringify(config)],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const node = new ProcessNode(config.nodeId, child, '');
    // A request written to a child that has just been killed fails with EPIPE: the write's own
    // callback rejects that request, and the exit handler the others. Unheard, the stream's
    // 'error' event would crash the test run instead.
    child.stdin?.on('error', () => undefined);
    child.stderr?.on('data', (chunk: Buffer) => {
      node.stderr += chunk.toString();
    });
    const started = new Promise<void>((resolve, reject) => {
      void node.exited.then((code) =>
        reject(new Error(`${config.nodeId} exited at start (code ${code}): ${node.stderr}`)),
      );
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        const output = JSON.parse(line) as ControlOutput;
        if (output.event === 'started') resolve();
        else if (output.event === 'log') node.logs.push(output);
        else node.settle(output);
      });
    });
    await started;
    return node;
  }

  request<T>(request: Request): Promise<T> {
    const id = this.nextId;
    this.nextId += 1;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (value) => resolve(value as T), reject });
      this.child.stdin?.write(`${JSON.stringify({ ...request, id })}\n`, (error) => {
        if (error === null || error === undefined || !this.pending.delete(id)) return;
        reject(new Error(`${this.nodeId} did not take request ${request.op}: ${error.message}`));
      });
    });
  }

  propose(data: string): Promise<{ index: number; term: number }> {
    return this.request({ op: 'propose', data });
  }

  status(): Promise<NodeStatus> {
    return this.request({ op: 'status' });
  }

  appliedLog(): Promise<string[]> {
    return this.request({ op: 'log' });
  }

  stats(): Promise<LogWriteStats> {
    return this.request({ op: 'stats' });
  }

  changeMembership(change: MembershipChange): Promise<{ index: number }> {
    return this.request({ op: 'membership', change });
  }

  runLoad(load: BenchLoad): Promise<BenchLoadResult> {
    return this.request({ op: 'bench', load });
  }

  /** Graceful: the node closes its store, then the process exits. */
  async close(): Promise<void> {
    await this.request({ op: 'close' });
    await this.exited;
  }

  /** A crash: no chance to flush anything. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  private settle(output: Extract<ControlOutput, { event: 'reply' }>): void {
    const waiter = this.pending.get(output.id);
    if (waiter === undefined) return;
    this.pending.delete(output.id);
    if (output.ok) waiter.resolve(output.result);
    else waiter.reject(new Error(output.error));
  }
}

export interface ProcessClusterOptions {
  readonly snapshotEveryEntries?: number;
  readonly tickIntervalMs?: number;
  /** Extra Node flags for every child, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
}

/** Nodes with fixed ports and data directories, so any of them can be killed and restarted. */
export class ProcessCluster {
  readonly nodes = new Map<NodeId, ProcessNode>();
  private readonly ports = new Map<NodeId, number>();
  private seed = 1;

  private constructor(
    readonly directory: string,
    private readonly options: ProcessClusterOptions,
  ) {}

  static async create(options: ProcessClusterOptions = {}): Promise<ProcessCluster> {
    return new ProcessCluster(await mkdtemp(join(tmpdir(), 'verdict-raft-process-')), options);
  }

  /** Reserves a port and directory for each id; call before starting any of them. */
  async define(nodeIds: readonly NodeId[]): Promise<void> {
    for (const nodeId of nodeIds) this.ports.set(nodeId, await freePort());
  }

  addresses(): Record<NodeId, string> {
    return Object.fromEntries([...this.ports].map(([nodeId, port]) => [nodeId, `127.0.0.1:${port}`]));
  }

  dataDirectory(nodeId: NodeId): string {
    return join(this.directory, nodeId);
  }

  /** Starts (or restarts) `nodeId`; `voters` is the founding membership, empty for a joiner. */
  async start(nodeId: NodeId, voters: readonly NodeId[]): Promise<ProcessNode> {
    const port = this.ports.get(nodeId);
    if (port === undefined) throw new Error(`${nodeId} was not defined`);
    const node = await ProcessNode.spawn(
      {
        nodeId,
        directory: this.dataDirectory(nodeId),
        port,
        peers: this.addresses(),
        voters,
        snapshotEveryEntries: this.options.snapshotEveryEntries ?? 1_000_000,
        tickIntervalMs: this.options.tickIntervalMs ?? 20,
        seed: this.seed,
      },
      this.options.nodeArgs ?? [],
    );
    this.seed += 1;
    this.nodes.set(nodeId, node);
    return node;
  }

  node(nodeId: NodeId): ProcessNode {
    const node = this.nodes.get(nodeId);
    if (node === undefined) throw new Error(`${nodeId} is not running`);
    return node;
  }

  async kill(nodeId: NodeId): Promise<void> {
    await this.node(nodeId).kill();
    this.nodes.delete(nodeId);
  }

  async stop(nodeId: NodeId): Promise<void> {
    await this.node(nodeId).close();
    this.nodes.delete(nodeId);
  }

  /** The node every running member agrees leads, once they do. */
  async waitForLeader(timeoutMs = 20_000): Promise<ProcessNode> {
    return waitFor(`a leader among ${[...this.nodes.keys()].join(', ')}`, timeoutMs, async () => {
      const running = [...this.nodes.values()];
      const statuses = await Promise.all(running.map((node) => node.status()));
      const leaders = running.filter((_, position) => statuses[position]?.role === 'leader');
      const [leader] = leaders;
      if (leaders.length !== 1 || leader === undefined) return undefined;
      // Followers must know it too, or a client could be sent to a stale leader in the next step.
      return statuses.every((status) => status.leaderId === leader.nodeId) ? leader : undefined;
    });
  }

  /** Waits until every running node applied the same log, and returns it. */
  async waitForConvergence(timeoutMs = 20_000): Promise<string[]> {
    return waitFor(`${[...this.nodes.keys()].join(', ')} to apply the same log`, timeoutMs, async () => {
      const statuses = await Promise.all([...this.nodes.values()].map((node) => node.status()));
      const applied = new Set(statuses.map((status) => status.appliedIndex));
      if (applied.size !== 1) return undefined;
      const logs = await Promise.all([...this.nodes.values()].map((node) => node.appliedLog()));
      const [first] = logs;
      if (first === undefined || logs.some((log) => JSON.stringify(log) !== JSON.stringify(first)))
        return undefined;
      return first;
    });
  }

  /** Kills every child still running and removes the data. Safe to call twice. */
  async destroy(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((node) => node.kill()));
    this.nodes.clear();
    await rm(this.directory, { recursive: true, force: true });
  }
}

/** A port the OS just handed out; tiny race with other processes, acceptable in tests. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address !== 'object') throw new Error('no port assigned');
  return address.port;
}

/** Polls `probe` every 50 ms until it returns a value; throws after `timeoutMs` with the last error. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error: unknown) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
