// The interaction environment behind testdata/*.txt (after etcd-io/raft's rafttest): a handful of
// cores, each with a SimDisk, a mailbox of messages and a printed trace of every Ready.
import type { RaftConfigInput } from '../src/core/config';
import type { MembershipChange } from '../src/core/membership';
import { RaftCore } from '../src/core/raft';
import type { Ready } from '../src/core/ready';
import { Xoshiro128 } from '../src/core/rng';
import type { Entry, Membership, NodeId, RaftMessage, Snapshot } from '../src/core/types';
import { SimDisk } from '../src/sim/disk';
import { describeMessage } from '../src/sim/simulator';

interface EnvNode {
  readonly nodeId: NodeId;
  readonly config: RaftConfigInput;
  core: RaftCore;
  disk: SimDisk;
  appliedIndex: number;
  appliedTerm: number;
  membership: Membership;
  running: boolean;
}

/** Keeps a loop from spinning forever on a core that never quiesces. */
const STABILIZE_ROUNDS_MAX = 200;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class InteractionEnv {
  private readonly nodes = new Map<NodeId, EnvNode>();
  private mailbox: RaftMessage[] = [];
  /** Directed links that drop messages: "from->to". */
  private readonly blocked = new Set<string>();
  private output: string[] = [];

  /** Runs one script command and returns its trace ("ok" when silent). */
  handle(line: string): string {
    this.output = [];
    const [command = '', ...words] = line.trim().split(/\s+/);
    const positional = words.filter((word) => !word.includes('='));
    const named = new Map(
      words.filter((word) => word.includes('=')).map((word) => word.split('=') as [string, string]),
    );
    switch (command) {
      case 'add-nodes':
        this.addNodes(Number(positional[0]), named);
        break;
      case 'add-spare':
        this.addSpare(positional[0] ?? '', named);
        break;
      case 'campaign':
        this.node(positional[0]).core.campaign();
        break;
      case 'tick':
        this.tick(positional, Number(named.get('count') ?? '1'));
        break;
      case 'propose':
        this.propose(positional[0], positional[1] ?? '');
        break;
      case 'propose-membership':
        this.proposeMembership(positional[0], positional[1] ?? '', positional[2] ?? '');
        break;
      case 'read-index': {
        const result = this.node(positional[0]).core.readIndex(positional[1] ?? '');
        this.print(result.ok ? 'ok: pending' : `refused ${result.reason}: ${result.detail}`);
        break;
      }
      case 'transfer-leadership': {
        const result = this.node(positional[0]).core.transferLeadership(positional[1] ?? '');
        this.print(result.ok ? 'ok: transferring' : `refused ${result.reason}: ${result.detail}`);
        break;
      }
      case 'process-ready':
        for (const nodeId of this.selected(positional)) this.processReady(this.node(nodeId));
        break;
      case 'deliver-msgs':
        this.deliver(positional, named.get('drop') === 'true', named.get('from'));
        break;
      case 'stabilize':
        this.stabilize(positional);
        break;
      case 'partition':
        this.partition(words.join(' '));
        break;
      case 'heal':
        this.blocked.clear();
        break;
      case 'crash':
        this.crash(positional[0]);
        break;
      case 'restart':
        this.restart(this.node(positional[0]));
        break;
      case 'snapshot':
        this.snapshot(this.node(positional[0]));
        break;
      case 'status':
        for (const nodeId of this.selected(positional)) this.status(this.node(nodeId));
        break;
      case 'log':
        for (const nodeId of this.selected(positional)) this.printLog(this.node(nodeId));
        break;
      default:
        throw new Error(`unknown command ${command}`);
    }
    return this.output.length === 0 ? 'ok' : this.output.join('\n');
  }

  private addNodes(count: number, options: Map<string, string>): void {
    const voters = Array.from({ length: count }, (_, index) => `${this.nodes.size + index + 1}`);
    const membership: Membership = { voters, learners: [] };
    for (const nodeId of voters) this.createNode(nodeId, membership, options);
  }

  /** A machine that will join later: no membership, so it never campaigns until told. */
  private addSpare(nodeId: NodeId, options: Map<string, string>): void {
    this.createNode(nodeId, { voters: [], learners: [] }, options);
  }

  private createNode(nodeId: NodeId, membership: Membership, options: Map<string, string>): void {
    const flag = (name: string, fallback: boolean): boolean =>
      (options.get(name) ?? `${fallback}`) === 'true';
    const number = (name: string, fallback: number): number => Number(options.get(name) ?? fallback);
    const config: RaftConfigInput = {
      nodeId,
      rng: new Xoshiro128(Number(nodeId)),
      preVote: flag('prevote', true),
      checkQuorum: flag('checkquorum', true),
      electionTicks: number('election', 10),
      heartbeatTicks: number('heartbeat', 1),
      appendEntriesMax: number('append-max', 64),
      snapshotChunkBytes: number('chunk', 1024),
    };
    const bootstrap: Snapshot = { metadata: { index: 0, term: 0, membership }, data: new Uint8Array(0) };
    const node: EnvNode = {
      nodeId,
      config,
      core: new RaftCore(config),
      disk: new SimDisk(bootstrap),
      appliedIndex: 0,
      appliedTerm: 0,
      membership,
      running: false,
    };
    this.nodes.set(nodeId, node);
    this.restart(node);
  }

  private restart(node: EnvNode): void {
    node.core = new RaftCore(node.config);
    const state = node.disk.load();
    node.core.restore(state);
    node.appliedIndex = state.snapshot.metadata.index;
    node.appliedTerm = state.snapshot.metadata.term;
    node.membership = state.snapshot.metadata.membership;
    node.running = true;
  }

  private crash(nodeId: string | undefined): void {
    const node = this.node(nodeId);
    node.disk.crash(null, 0);
    node.running = false;
    this.mailbox = this.mailbox.filter(
      (message) => message.to !== node.nodeId && message.from !== node.nodeId,
    );
  }

  private tick(nodeIds: readonly string[], count: number): void {
    for (let round = 0; round < count; round += 1) {
      for (const nodeId of this.selected(nodeIds)) this.node(nodeId).core.tick();
    }
  }

  private propose(nodeId: string | undefined, data: string): void {
    const result = this.node(nodeId).core.propose(encoder.encode(data));
    this.print(
      result.ok
        ? `ok: index ${result.index} term ${result.term}`
        : `refused ${result.reason}: ${result.detail}`,
    );
  }

  private proposeMembership(nodeId: string | undefined, kind: string, target: string): void {
    if (kind !== 'addLearner' && kind !== 'promoteLearner' && kind !== 'removeNode')
      throw new Error(`bad change ${kind}`);
    const change: MembershipChange = { kind, nodeId: target };
    const result = this.node(nodeId).core.proposeMembership(change);
    this.print(
      result.ok
        ? `ok: index ${result.index} term ${result.term}`
        : `refused ${result.reason}: ${result.detail}`,
    );
  }

  /** Returns whether the node had a Ready. */
  private processReady(node: EnvNode): boolean {
    if (!node.running) return false;
    const ready = node.core.ready();
    if (ready === null) return false;
    this.print(`> ${node.nodeId} handling Ready`);
    this.describeReady(ready);
    node.disk.write(ready);
    // A partition or a crashed receiver drops messages as they leave, so nothing queued crosses
    // a partition after a heal or reaches a node after its restart.
    this.mailbox.push(...ready.messages.filter((message) => this.reachable(message)));
    if (ready.snapshot !== null) {
      node.appliedIndex = ready.snapshot.metadata.index;
      node.appliedTerm = ready.snapshot.metadata.term;
      node.membership = ready.snapshot.metadata.membership;
    }
    for (const entry of ready.entriesToApply) {
      node.appliedIndex = entry.index;
      node.appliedTerm = entry.term;
      if (entry.kind === 'config') node.membership = JSON.parse(decoder.decode(entry.data)) as Membership;
    }
    node.core.advance(ready);
    return true;
  }

  private describeReady(ready: Ready): void {
    const { roleState, hardState } = ready;
    if (roleState !== null) {
      this.print(`  role: ${roleState.role} term=${roleState.term} leader=${roleState.leaderId ?? 'none'}`);
    }
    if (hardState !== null) {
      this.print(
        `  hardState: term=${hardState.term} votedFor=${hardState.votedFor ?? 'none'} commit=${hardState.commitIndex}`,
      );
    }
    if (ready.snapshot !== null) {
      const { metadata } = ready.snapshot;
      this.print(
        `  snapshot: ${metadata.index}/${metadata.term} voters=${metadata.membership.voters.join(',')}`,
      );
    }
    if (ready.truncateFromIndex !== null) this.print(`  truncate from ${ready.truncateFromIndex}`);
    if (ready.entriesToPersist.length > 0)
      this.print(`  persist: ${describeEntries(ready.entriesToPersist)}`);
    if (ready.entriesToApply.length > 0) this.print(`  apply: ${describeEntries(ready.entriesToApply)}`);
    for (const message of ready.messages) {
      const lost = this.reachable(message) ? '' : ' (dropped)';
      this.print(`  send: ${describeMessage(message)}${lost}`);
    }
    for (const read of ready.readStates) this.print(`  read ${read.requestId} at index ${read.index}`);
    for (const requestId of ready.readsAborted) this.print(`  read ${requestId} aborted`);
    if (ready.mustSync) this.print('  mustSync');
  }

  /** Delivers queued messages to `recipients` (all when empty); drops them instead with drop=true. */
  private deliver(recipients: readonly string[], drop: boolean, from: string | undefined): number {
    const matches = (message: RaftMessage): boolean =>
      (recipients.length === 0 || recipients.includes(message.to)) &&
      (from === undefined || message.from === from);
    const chosen = this.mailbox.filter(matches);
    this.mailbox = this.mailbox.filter((message) => !matches(message));
    for (const message of chosen) {
      const target = this.nodes.get(message.to);
      if (drop || target === undefined || !target.running) {
        this.print(`dropped: ${describeMessage(message)}`);
        continue;
      }
      this.print(`${describeMessage(message)}`);
      target.core.step(message);
    }
    return chosen.length;
  }

  private reachable(message: RaftMessage): boolean {
    return (
      this.nodes.get(message.to)?.running === true && !this.blocked.has(`${message.from}->${message.to}`)
    );
  }

  private stabilize(nodeIds: readonly string[]): void {
    for (let round = 0; round < STABILIZE_ROUNDS_MAX; round += 1) {
      let busy = false;
      for (const nodeId of this.selected(nodeIds)) busy = this.processReady(this.node(nodeId)) || busy;
      busy = this.deliver(nodeIds, false, undefined) > 0 || busy;
      if (!busy) return;
    }
    throw new Error(`stabilize did not settle within ${STABILIZE_ROUNDS_MAX} rounds`);
  }

  /** `partition 1 2 / 3`: cut every link between the groups, both ways. `partition 1 -> 2`: one way. */
  private partition(spec: string): void {
    if (spec.includes('->')) {
      const [from = '', to = ''] = spec.split('->').map((part) => part.trim());
      this.blocked.add(`${from}->${to}`);
      return;
    }
    const groups = spec.split('/').map((group) => group.trim().split(/\s+/));
    for (const left of groups) {
      for (const right of groups) {
        if (left === right) continue;
        for (const a of left) for (const b of right) this.blocked.add(`${a}->${b}`);
      }
    }
  }

  private snapshot(node: EnvNode): void {
    const snapshot: Snapshot = {
      metadata: { index: node.appliedIndex, term: node.appliedTerm, membership: node.membership },
      data: encoder.encode(`state@${node.appliedIndex}`.padEnd(2500, '.')),
    };
    node.disk.saveSnapshot(snapshot);
    node.core.snapshotTaken(snapshot);
    this.print(`snapshot ${node.nodeId} at ${node.appliedIndex}/${node.appliedTerm}`);
  }

  private status(node: EnvNode): void {
    const status = node.core.status();
    this.print(
      `${node.nodeId}: ${status.role} term=${status.term} leader=${status.leaderId ?? 'none'} commit=${status.commitIndex} applied=${status.appliedIndex} last=${status.lastIndex} snapshot=${status.snapshotIndex} voters=${status.membership.voters.join(',')} learners=${status.membership.learners.join(',')}${node.running ? '' : ' (crashed)'}`,
    );
    for (const [peer, progress] of status.progress) {
      this.print(
        `  ${peer}: ${progress.state} match=${progress.matchIndex} next=${progress.nextIndex} inflight=${progress.inflight}`,
      );
    }
  }

  private printLog(node: EnvNode): void {
    const status = node.core.status();
    const entries: Entry[] = [];
    for (let index = status.snapshotIndex + 1; index <= status.lastIndex; index += 1) {
      const entry = node.core.entryAt(index);
      if (entry !== undefined) entries.push(entry);
    }
    this.print(
      `${node.nodeId}: snapshot=${status.snapshotIndex} ${entries.length === 0 ? '(no entries)' : describeEntries(entries)}`,
    );
  }

  private selected(nodeIds: readonly string[]): NodeId[] {
    return nodeIds.length > 0 ? [...nodeIds] : [...this.nodes.keys()];
  }

  private node(nodeId: string | undefined): EnvNode {
    const node = this.nodes.get(nodeId ?? '');
    if (node === undefined) throw new Error(`no node ${nodeId ?? '(missing)'}`);
    return node;
  }

  private print(line: string): void {
    this.output.push(line);
  }
}

function describeEntries(entries: readonly Entry[]): string {
  return entries
    .map((entry) => {
      const label = entry.kind === 'command' ? JSON.stringify(decoder.decode(entry.data)) : entry.kind;
      return `${entry.index}/${entry.term} ${label}`;
    })
    .join(', ');
}
