// Membership at run time on real coordinator processes: a fourth node started in join mode is
// added (learner, then voter), the founding leader removes itself, and the cluster keeps
// committing transactions from scripted participants throughout, also with a node of the new
// configuration killed; the joined node restarts from its own replicated configuration.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, kafkaBrokers, uniqueName, type TestDatabase } from '../support/stack';
import {
  CoordinatorCluster,
  eventually,
  OPERATOR_KEY,
  sleep,
  type CoordinatorNode,
} from '../support/coordinator-cluster';
import { startScriptedParticipant, type ScriptedParticipant } from '../support/scripted-participant';

interface MemberBody {
  nodeId: string;
  role: string;
  matchIndex: number | null;
  lag: number | null;
  lastContactMs: number | null;
  httpUrl: string | null;
}

interface ClusterBody {
  nodeId: string;
  role: string;
  leaderId: string | null;
  appliedIndex: number;
  members: MemberBody[];
  stats: { committed: number; aborted: number; inDoubt: number; oldestInDoubtMs: number | null };
}

interface ProblemBody {
  code: string;
  detail: string;
}

let database: TestDatabase;
let cluster: CoordinatorCluster;
let bankA: ScriptedParticipant;
let bankB: ScriptedParticipant;

/** Closed-loop clients that begin and commit transactions on whichever node leads. */
class Workload {
  committed: string[] = [];
  failures: string[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];

  constructor(clients: number) {
    for (let client = 0; client < clients; client += 1) this.loops.push(this.loop());
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const node = cluster.nodes.find((each) => each.process !== null && each.nodeId !== removedId);
      if (node === undefined) return;
      try {
        const begun = await cluster.requestRetrying<{ id: string }>(node, 'POST', '/v1/transactions', {
          timeoutMs: 10_000,
          participants: [
            { name: bankA.name, payload: {} },
            { name: bankB.name, payload: {} },
          ],
        });
        if (begun.status !== 201) {
          this.failures.push(`begin ${begun.status} ${JSON.stringify(begun.body)}`);
          await sleep(200);
          continue;
        }
        const decided = await cluster.requestRetrying<{ decision: { outcome: string } | null }>(
          node,
          'POST',
          `/v1/transactions/${begun.body.id}/commit`,
        );
        if (decided.status === 200 && decided.body.decision?.outcome === 'COMMIT') {
          this.committed.push(begun.body.id);
        } else {
          this.failures.push(`commit ${decided.status} ${JSON.stringify(decided.body)}`);
        }
      } catch (error) {
        // A node killed under a request: the client moves on to another node.
        this.failures.push(`request failed: ${(error as Error).message}`);
        await sleep(200);
      }
    }
  }

  /** Waits until `count` more transactions committed than when it was called. */
  async commitsMore(count: number, what: string): Promise<void> {
    const target = this.committed.length + count;
    await eventually(
      () => Promise.resolve(this.committed.length >= target ? true : undefined),
      90_000,
      `${count} more commits ${what} (failures so far: ${this.failures.slice(-3).join(' | ')})`,
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

let removedId: string | null = null;
let workload: Workload | null = null;

beforeAll(async () => {
  database = await createDatabase('membership');
  cluster = await CoordinatorCluster.start({ kafkaBrokers: kafkaBrokers(), databaseUrl: database.url });
  bankA = await startScriptedParticipant(uniqueName('bank-a'), kafkaBrokers());
  bankB = await startScriptedParticipant(uniqueName('bank-b'), kafkaBrokers());
  await cluster.waitForLeader(120_000);
}, 180_000);

afterAll(async () => {
  await workload?.stop();
  await Promise.all([bankA?.handle.stop(), bankB?.handle.stop()]);
  await cluster?.stop();
  await database?.drop();
});

async function status(node: CoordinatorNode): Promise<ClusterBody> {
  const result = await cluster.request<ClusterBody>(node, 'GET', '/v1/cluster');
  expect(result.status).toBe(200);
  return result.body;
}

const memberIds = (body: ClusterBody): string[] => body.members.map((member) => member.nodeId).sort();

async function expectAtomic(txIds: readonly string[]): Promise<void> {
  await eventually(
    () =>
      Promise.resolve(
        txIds.every((txId) =>
          [bankA, bankB].every(
            (bank) =>
              bank.service.branches.get(txId)?.outcome === 'COMMIT' &&
              bank.service.branches.get(txId)?.vote === 'YES',
          ),
        )
          ? true
          : undefined,
      ),
    30_000,
    'every committed transaction reaching COMMIT at both participants',
  );
}

describe('membership changes at run time', () => {
  it('adds a node started in join mode, removes the founding leader, and keeps committing through a kill and a restart', async () => {
    workload = new Workload(3);
    await workload.commitsMore(5, 'on the founding cluster');

    const founders = await status(await cluster.waitForLeader(60_000));
    expect(founders.stats.committed).toBeGreaterThanOrEqual(5);
    expect(founders.members.every((member) => member.httpUrl?.startsWith('http://127.0.0.1:'))).toBe(true);
    const followers = founders.members.filter((member) => member.role !== 'LEADER');
    expect(followers.every((member) => member.lastContactMs !== null && member.lastContactMs < 5_000)).toBe(
      true,
    );

    // n4 starts empty and waits: no election, no leader, not a member of anything yet.
    const leader = await cluster.waitForLeader(60_000);
    const n4 = await cluster.addNode('n4', { VERDICT_JOIN: 'true' });
    cluster.startNode(n4);
    const waiting = await eventually(
      async () => {
        const result = await cluster.request<ClusterBody>(n4, 'GET', '/v1/cluster');
        return result.status === 200 ? result.body : undefined;
      },
      // A fresh process on a loaded 2-core machine can take minutes before its HTTP API listens.
      300_000,
      'n4 to answer HTTP',
    );
    expect(waiting.members).toEqual([]);
    expect(waiting.leaderId).toBeNull();

    const n4Body = { nodeId: 'n4', raftAddress: `127.0.0.1:${n4.raftPort}`, httpUrl: n4.url };
    const invalid = await cluster.request<ProblemBody>(
      leader,
      'POST',
      '/v1/cluster/members',
      { ...n4Body, raftAddress: 'no port' },
      OPERATOR_KEY,
    );
    expect(invalid.status).toBe(400);
    const added = await cluster.request<ClusterBody>(
      leader,
      'POST',
      '/v1/cluster/members',
      n4Body,
      OPERATOR_KEY,
    );
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(memberIds(added.body)).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(added.body.members.find((member) => member.nodeId === 'n4')).toMatchObject({
      role: 'FOLLOWER',
      httpUrl: n4.url,
    });
    const again = await cluster.request<ProblemBody>(
      leader,
      'POST',
      '/v1/cluster/members',
      n4Body,
      OPERATOR_KEY,
    );
    expect(again.status).toBe(409);
    expect(again.body.detail).toContain('n4 is already a voter');
    const unknown = await cluster.request<ProblemBody>(
      leader,
      'DELETE',
      '/v1/cluster/members/n9',
      undefined,
      OPERATOR_KEY,
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('MEMBER_NOT_FOUND');

    // The new member learned the whole configuration, addresses included, from the log.
    const joined = await eventually(
      async () => {
        const body = await status(n4);
        return body.leaderId !== null && body.members.length === 4 ? body : undefined;
      },
      60_000,
      'n4 to know the leader and the four members',
    );
    expect(joined.members.find((member) => member.nodeId === 'n1')?.httpUrl).toBe(cluster.node('n1').url);
    await workload.commitsMore(5, 'with n4 a voter');

    // Remove n1 while it leads: it commits its own removal with n2..n4 and hands over.
    const n1 = cluster.node('n1');
    // A transfer can time out on a loaded machine (the target must win an election in 5 s): retry.
    await eventually(
      async () => {
        if ((await status(n1)).role === 'LEADER') return true;
        const moved = await cluster.request(
          await cluster.waitForLeader(60_000),
          'POST',
          '/v1/cluster/leadership-transfer',
          { to: 'n1' },
          OPERATOR_KEY,
        );
        expect([200, 409, 503]).toContain(moved.status);
        return undefined;
      },
      90_000,
      'n1 to take over leadership',
    );
    expect((await status(n1)).role).toBe('LEADER');
    // n1 hands over and forwards the removal; a leader elected a moment ago answers 503 with
    // Retry-After until it has caught up, which a client retries.
    const removed = await cluster.requestRetrying<ClusterBody>(
      n1,
      'DELETE',
      '/v1/cluster/members/n1',
      undefined,
      OPERATOR_KEY,
    );
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect(memberIds(removed.body)).toEqual(['n2', 'n3', 'n4']);
    removedId = 'n1';
    await eventually(
      async () => ((await status(n1)).role === 'LEADER' ? undefined : true),
      30_000,
      'n1 to step down after its removal',
    );
    // An operator stops a removed node; it takes no part any more.
    await cluster.kill(n1);
    const successor = await cluster.waitForLeader(60_000);
    expect(successor.nodeId).not.toBe('n1');
    expect(memberIds(await status(successor))).toEqual(['n2', 'n3', 'n4']);
    await workload.commitsMore(5, 'after n1 left');

    // A member of the new configuration dies (the joined one): two of three voters still commit.
    await cluster.kill(n4);
    await workload.commitsMore(5, 'with n4 down');

    // n4 restarts from its own log: it knows the members (n2, n3 from its environment and the
    // log, not n1) and catches up without being added again.
    cluster.startNode(n4);
    const leaderNow = await cluster.waitForLeader(90_000);
    await workload.commitsMore(3, 'after n4 restarted');
    const target = (await status(leaderNow)).appliedIndex;
    const rejoined = await eventually(
      async () => {
        const body = await status(n4);
        return body.appliedIndex >= target && body.leaderId !== null ? body : undefined;
      },
      90_000,
      'restarted n4 to catch up',
    );
    expect(memberIds(rejoined)).toEqual(['n2', 'n3', 'n4']);
    const fromLeader = await status(await cluster.waitForLeader(60_000));
    expect(fromLeader.members.find((member) => member.nodeId === 'n4')?.lastContactMs).toBeLessThan(5_000);

    await workload.stop();
    expect(workload.committed.length).toBeGreaterThanOrEqual(23);
    await expectAtomic(workload.committed);
  }, 900_000);

  it('refuses to add a node that does not answer, and takes it out again', async () => {
    const leader = await cluster.waitForLeader(60_000);
    const silent = await cluster.request<ProblemBody>(
      leader,
      'POST',
      '/v1/cluster/members',
      { nodeId: 'n5', raftAddress: '127.0.0.1:1', httpUrl: 'http://127.0.0.1:1' },
      OPERATOR_KEY,
    );
    expect(silent.status).toBe(409);
    expect(silent.body.code).toBe('CLUSTER_CHANGE_REJECTED');
    expect(silent.body.detail).toContain('n5 did not answer at 127.0.0.1:1');
    expect(memberIds(await status(leader))).toEqual(['n2', 'n3', 'n4']);
  }, 120_000);
});
