// The network between coordinator nodes, made of small TCP proxies so that the chaos run can
// partition it without root: node A is told that peer B lives at the proxy of the link A→B,
// which forwards to B. A link carries every connection A dials to B: Raft (A's outbound Raft
// connection, which carries A's messages to B; B answers on its own link B→A) and HTTP (a
// follower forwarding a client's request to the leader).
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { CoordinatorNode } from '../../test/support/coordinator-cluster.js';

/**
 * How a cut link behaves, both as TCP does under a real partition:
 * - `stall`: nothing moves; open connections keep their bytes and deliver them late, after the
 *   heal (TCP retransmits what the partition swallowed); new connections hang until the heal.
 * - `drop`: open connections break (as when TCP gives up on them), new ones hang and are
 *   broken at the heal, so the nodes must reconnect.
 */
export type CutMode = 'stall' | 'drop';

interface Connection {
  readonly client: Socket;
  /** null until it is forwarded: a connection made while the link is cut waits. */
  upstream: Socket | null;
}

class LinkProxy {
  private readonly connections = new Set<Connection>();
  private cutMode: CutMode | null = null;
  /** The port this link forwards to; known once the nodes' ports are. */
  target: number | null = null;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async listen(): Promise<LinkProxy> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, resolve);
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('a proxy without a TCP port');
    const proxy = new LinkProxy(server, address.port);
    server.on('connection', (client) => proxy.onConnection(client));
    return proxy;
  }

  cut(mode: CutMode): void {
    this.cutMode = mode;
    for (const connection of this.connections) {
      if (mode === 'drop') this.disconnect(connection);
      else {
        connection.client.pause();
        connection.upstream?.pause();
      }
    }
  }

  heal(): void {
    const mode = this.cutMode;
    this.cutMode = null;
    for (const connection of this.connections) {
      if (connection.upstream === null) {
        if (mode === 'drop') this.disconnect(connection);
        else this.forward(connection);
      } else {
        connection.client.resume();
        connection.upstream.resume();
      }
    }
  }

  async close(): Promise<void> {
    for (const connection of this.connections) this.disconnect(connection);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: Socket): void {
    client.setNoDelay(true);
    client.on('error', () => undefined); // 'close' follows
    const connection: Connection = { client, upstream: null };
    this.connections.add(connection);
    client.once('close', () => this.disconnect(connection));
    // A cut link accepts and stays silent, as a partition does: the dialler's own timeouts run.
    client.pause();
    if (this.cutMode === null) this.forward(connection);
  }

  private forward(connection: Connection): void {
    const { client } = connection;
    if (this.target === null) {
      this.disconnect(connection);
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: this.target, noDelay: true });
    connection.upstream = upstream;
    upstream.on('error', () => undefined); // 'close' follows
    upstream.once('close', () => this.disconnect(connection));
    pipe(client, upstream, () => this.cutMode === null);
    pipe(upstream, client, () => this.cutMode === null);
    client.resume();
  }

  private disconnect(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    connection.client.destroy();
    connection.upstream?.destroy();
  }
}

/** Forwards by hand, not with stream.pipe(), which resumes a source the link holds paused. */
function pipe(from: Socket, to: Socket, flowing: () => boolean): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => {
    if (flowing()) from.resume();
  });
}

/** One proxy per direction and protocol between every two nodes. */
export class PeerNetwork {
  private constructor(
    /** `from→to` → the Raft and HTTP proxies of that link. */
    private readonly links: ReadonlyMap<string, { readonly raft: LinkProxy; readonly http: LinkProxy }>,
  ) {}

  static async start(nodeIds: readonly string[]): Promise<PeerNetwork> {
    const links = new Map<string, { raft: LinkProxy; http: LinkProxy }>();
    for (const from of nodeIds) {
      for (const to of nodeIds) {
        if (from !== to)
          links.set(linkName(from, to), { raft: await LinkProxy.listen(), http: await LinkProxy.listen() });
      }
    }
    return new PeerNetwork(links);
  }

  /** VERDICT_PEERS and VERDICT_PEER_HTTP_URLS of `node`: every other node behind its link's proxy. */
  nodeEnvironment(node: CoordinatorNode, nodes: readonly CoordinatorNode[]): Record<string, string> {
    const peers: string[] = [];
    const httpUrls: string[] = [];
    for (const peer of nodes) {
      if (peer === node) {
        peers.push(`${peer.nodeId}=127.0.0.1:${peer.raftPort}`);
        httpUrls.push(`${peer.nodeId}=${peer.url}`);
        continue;
      }
      const link = this.link(node.nodeId, peer.nodeId);
      link.raft.target = peer.raftPort;
      link.http.target = peer.httpPort;
      peers.push(`${peer.nodeId}=127.0.0.1:${link.raft.port}`);
      httpUrls.push(`${peer.nodeId}=http://127.0.0.1:${link.http.port}`);
    }
    return { VERDICT_PEERS: peers.join(','), VERDICT_PEER_HTTP_URLS: httpUrls.join(',') };
  }

  /** Cuts what `from` sends to `to`; what `to` sends to `from` still arrives. */
  cut(from: string, to: string, mode: CutMode): void {
    const link = this.link(from, to);
    link.raft.cut(mode);
    link.http.cut(mode);
  }

  /** Every link carries traffic again. */
  heal(): void {
    for (const link of this.links.values()) {
      link.raft.heal();
      link.http.heal();
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.links.values()].flatMap((link) => [link.raft.close(), link.http.close()]));
  }

  private link(from: string, to: string): { readonly raft: LinkProxy; readonly http: LinkProxy } {
    const link = this.links.get(linkName(from, to));
    if (link === undefined) throw new Error(`no link ${linkName(from, to)} in the peer network`);
    return link;
  }
}

const linkName = (from: string, to: string): string => `${from}→${to}`;
