// Three real coordinator processes (Raft over TCP, real files), the real broker, the real
// PostgreSQL history, and participants built on the real SDK. The one invariant is checked at the
// end of every scenario: every participant of a transaction ends with the same outcome, and
// COMMIT only where every participant voted YES.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_TOPIC, REPLIES_TOPIC } from '@verdict/protocol';
import { createDatabase, createKafka, kafkaBrokers, uniqueName, type TestDatabase } from '../support/stack';
import {
  CoordinatorCluster,
  eventually,
  OPERATOR_KEY,
  SERVICE_KEY,
  type CoordinatorNode,
} from '../support/coordinator-cluster';
import {
  startScriptedParticipant,
  type ScriptedParticipant,
  type ScriptedWork,
} from '../support/scripted-participant';

interface TxView {
  id: string;
  state: string;
  decision: { outcome: 'COMMIT' | 'ABORT'; raftIndex: number; raftTerm: number; reason: string } | null;
  participants: { name: string; vote: string | null; ack: boolean; attempts: number }[];
  timeline: { kind: string; participant: string | null; raftIndex: number | null; raftTerm: number | null }[];
}

let database: TestDatabase;
let cluster: CoordinatorCluster;
let bankA: ScriptedParticipant;
let bankB: ScriptedParticipant;
const begun: { txId: string; participants: ScriptedParticipant[] }[] = [];

beforeAll(async () => {
  database = await createDatabase('coordinator');
  cluster = await CoordinatorCluster.start({ kafkaBrokers: kafkaBrokers(), databaseUrl: database.url });
  bankA = await startScriptedParticipant(uniqueName('bank-a'), kafkaBrokers());
  bankB = await startScriptedParticipant(uniqueName('bank-b'), kafkaBrokers());
  await cluster.waitForLeader(60_000);
}, 120_000);

afterAll(async () => {
  await Promise.all([bankA?.handle.stop(), bankB?.handle.stop()]);
  await cluster?.stop();
  await database?.drop();
});

async function leader(): Promise<CoordinatorNode> {
  return cluster.waitForLeader(30_000);
}

function follower(leaderNode: CoordinatorNode): CoordinatorNode {
  const node = cluster.nodes.find((each) => each !== leaderNode && each.process !== null);
  if (node === undefined) throw new Error('no running follower');
  return node;
}

async function begin(
  node: CoordinatorNode,
  work: Readonly<Record<string, ScriptedWork>> = {},
  participants: ScriptedParticipant[] = [bankA, bankB],
): Promise<string> {
  const result = await cluster.requestRetrying<TxView>(node, 'POST', '/v1/transactions', {
    timeoutMs: 5_000,
    participants: participants.map((participant) => ({
      name: participant.name,
      payload: work[participant.name] ?? {},
    })),
  });
  expect(result.status, JSON.stringify(result.body)).toBe(201);
  begun.push({ txId: result.body.id, participants });
  return result.body.id;
}

/** Every participant reached the same outcome, and COMMIT only with every vote YES. */
async function expectAtomic(
  txId: string,
  participants: ScriptedParticipant[],
  outcome: 'COMMIT' | 'ABORT',
): Promise<void> {
  await eventually(
    () => {
      const outcomes = participants.map(
        (participant) => participant.service.branches.get(txId)?.outcome ?? null,
      );
      const voted = participants.map((participant) => participant.service.branches.get(txId)?.vote ?? null);
      // A NO voter, and one that never prepared, need no decision: presumed abort covers them.
      const settled = participants.every(
        (participant, position) =>
          outcomes[position] === outcome || (outcome === 'ABORT' && voted[position] !== 'YES'),
      );
      return Promise.resolve(settled ? true : undefined);
    },
    20_000,
    `every participant of ${txId} reaching ${outcome}`,
  );
  if (outcome === 'COMMIT') {
    for (const participant of participants) {
      expect(participant.service.branches.get(txId)?.vote).toBe('YES');
    }
  }
}

describe('a three-node coordinator cluster', () => {
  it('commits when every participant votes YES, durably before it answers', async () => {
    const node = await leader();
    const txId = await begin(node);
    const committed = await cluster.request<TxView>(node, 'POST', `/v1/transactions/${txId}/commit`);
    expect(committed.status).toBe(200);
    expect(committed.body.decision?.outcome).toBe('COMMIT');
    expect(committed.body.decision?.raftIndex).toBeGreaterThan(0);
    await expectAtomic(txId, [bankA, bankB], 'COMMIT');
    const finished = await eventually(
      async () => {
        const view = await cluster.request<TxView>(node, 'GET', `/v1/transactions/${txId}`);
        return view.body.state === 'COMMITTED' ? view.body : undefined;
      },
      20_000,
      'the transaction reading COMMITTED',
    );
    expect(finished.participants.map((participant) => participant.vote)).toEqual(['YES', 'YES']);
    // The timeline in order: BEGIN, … the DECISION at its Raft position, … both ACKs after it.
    const decided = committed.body.decision;
    const decisionAt = finished.timeline.findIndex((event) => event.kind === 'DECISION');
    const decision = finished.timeline[decisionAt];
    expect({
      first: finished.timeline[0]?.kind,
      decisionPosition: [decision?.raftIndex, decision?.raftTerm],
      acksAfterIt: finished.timeline
        .slice(decisionAt)
        .filter((event) => event.kind === 'ACK')
        .map((event) => event.participant)
        .sort(),
    }).toEqual({
      first: 'BEGIN',
      decisionPosition: [decided?.raftIndex, decided?.raftTerm],
      acksAfterIt: [bankA.name, bankB.name].sort(),
    });
  });

  it('aborts everywhere when one participant votes NO', async () => {
    const node = await leader();
    const txId = await begin(node, { [bankB.name]: { vote: 'NO' } });
    const decided = await cluster.request<TxView>(node, 'POST', `/v1/transactions/${txId}/commit`);
    expect(decided.status).toBe(200);
    expect(decided.body.decision?.outcome).toBe('ABORT');
    expect(decided.body.decision?.reason).toMatch(/NO/);
    await expectAtomic(txId, [bankA, bankB], 'ABORT');
  });

  it('waits for every acknowledgement with ?wait=completion', async () => {
    const node = await leader();
    const txId = await begin(node);
    const completed = await cluster.request<TxView>(
      node,
      'POST',
      `/v1/transactions/${txId}/commit?wait=completion`,
    );
    expect(completed.status).toBe(200);
    expect(completed.body.state).toBe('COMMITTED');
    expect(bankA.service.branches.get(txId)?.outcome).toBe('COMMIT');
    expect(bankB.service.branches.get(txId)?.outcome).toBe('COMMIT');
  });

  it('begins and commits in one request; the same request again answers the same decision', async () => {
    const node = await leader();
    const body = {
      timeoutMs: 5_000,
      participants: [bankA, bankB].map((participant) => ({ name: participant.name, payload: {} })),
      commit: 'completion',
    };
    const key = { 'idempotency-key': `one-request-${Date.now()}` };
    const first = await cluster.request<TxView>(node, 'POST', '/v1/transactions', body, SERVICE_KEY, key);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.state).toBe('COMMITTED');
    begun.push({ txId: first.body.id, participants: [bankA, bankB] });
    await expectAtomic(first.body.id, [bankA, bankB], 'COMMIT');
    const again = await cluster.request<TxView>(node, 'POST', '/v1/transactions', body, SERVICE_KEY, key);
    expect(again.status).toBe(201);
    expect({ id: again.body.id, decision: again.body.decision }).toEqual({
      id: first.body.id,
      decision: first.body.decision,
    });
  });

  it('lets a follower take writes by forwarding them to the leader', async () => {
    const node = follower(await leader());
    const txId = await begin(node);
    const committed = await cluster.request<TxView>(node, 'POST', `/v1/transactions/${txId}/commit`);
    expect(committed.status).toBe(200);
    expect(committed.body.decision?.outcome).toBe('COMMIT');
    await expectAtomic(txId, [bankA, bankB], 'COMMIT');
  });

  it('parks a malformed reply on the dead-letter topic and keeps committing', async () => {
    const node = await leader();
    const marker = uniqueName('garbage');
    const kafka = createKafka('test-garbage');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: REPLIES_TOPIC,
      acks: -1,
      messages: [{ key: marker, value: `{"v":1,"type":"VOTE"` }],
    });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: uniqueName('dead-letter-reader') });
    const parkedBy = new Set<string>();
    await consumer.connect();
    await consumer.subscribe({ topic: DEAD_LETTER_TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const parked = JSON.parse(message.value?.toString('utf8') ?? '{}') as {
          key?: string;
          parkedBy?: string;
        };
        if (parked.key === marker && parked.parkedBy !== undefined) parkedBy.add(parked.parkedBy);
        return Promise.resolve();
      },
    });
    try {
      // Every coordinator node reads the replies topic and parks what it cannot use; one copy proves it.
      await eventually(
        () => Promise.resolve(parkedBy.size >= 1 ? true : undefined),
        20_000,
        'the malformed reply reaching the dead-letter topic',
      );
      const txId = await begin(node);
      const committed = await cluster.request<TxView>(node, 'POST', `/v1/transactions/${txId}/commit`);
      expect(committed.body.decision?.outcome).toBe('COMMIT');
      await expectAtomic(txId, [bankA, bankB], 'COMMIT');
    } finally {
      await consumer.disconnect();
    }
  });

  it('answers the outcome endpoint, presuming abort for an unknown id', async () => {
    const node = await leader();
    const unknown = '01900000-0000-7000-8000-000000000000';
    const presumed = await cluster.request<{ outcome: string; presumed: boolean }>(
      node,
      'GET',
      `/v1/transactions/${unknown}/outcome`,
    );
    expect(presumed.status).toBe(200);
    expect(presumed.body).toMatchObject({ outcome: 'ABORT', presumed: true });
  });

  it('rejects bad requests with problem details: 401, 403, 400, 404, 409', async () => {
    const node = await leader();
    const noKey = await cluster.request(node, 'POST', '/v1/transactions', { participants: [] }, null);
    expect(noKey.status).toBe(401);
    const txId = await begin(node);
    const forbidden = await cluster.request(
      node,
      'POST',
      `/v1/admin/transactions/${txId}/resolve`,
      { outcome: 'abort', reason: 'testing roles' },
      SERVICE_KEY,
    );
    expect(forbidden.status).toBe(403);
    const invalid = await cluster.request<{ code: string }>(node, 'POST', '/v1/transactions', {
      participants: [{ name: 'Not A Valid Name' }],
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('VALIDATION_FAILED');
    const missing = await cluster.request<{ code: string }>(
      node,
      'GET',
      '/v1/transactions/01900000-0000-7000-8000-000000000001',
    );
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('TX_NOT_FOUND');
    await cluster.request(node, 'POST', `/v1/transactions/${txId}/commit`);
    const late = await cluster.request<{ code: string }>(
      node,
      'POST',
      `/v1/transactions/${txId}/participants`,
      {
        name: 'bank-c',
      },
    );
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('TX_NOT_ACTIVE');
  });

  it('lets an operator resolve an undecided transaction, never overriding a decision', async () => {
    const node = await leader();
    const txId = await begin(node, { [bankB.name]: { vote: 'SILENT' } }, [bankA, bankB]);
    const resolved = await cluster.request<TxView & { decision: { resolvedBy: string | null } }>(
      node,
      'POST',
      `/v1/admin/transactions/${txId}/resolve`,
      { outcome: 'abort', reason: 'bank-b is being repaired' },
      OPERATOR_KEY,
    );
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(200);
    expect(resolved.body.decision?.outcome).toBe('ABORT');
    expect(resolved.body.decision?.resolvedBy).not.toBeNull();
    const again = await cluster.request<{ code: string }>(
      node,
      'POST',
      `/v1/admin/transactions/${txId}/resolve`,
      { outcome: 'commit', reason: 'changed my mind' },
      OPERATOR_KEY,
    );
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('DECISION_EXISTS');
  });

  it('exports what it did as Prometheus metrics', async () => {
    const node = await leader();
    const txId = await begin(node);
    await cluster.request(node, 'POST', `/v1/transactions/${txId}/commit?wait=completion`);
    const metrics = await eventually(
      async () => {
        const response = await fetch(`${node.url}/metrics`);
        const text = await response.text();
        return /verdict_transaction_phase_duration_seconds_count\{[^}]*phase="commit_total"[^}]*\} [1-9]/.test(
          text,
        )
          ? text
          : undefined;
      },
      10_000,
      'commit_total observed in /metrics',
    );
    expect(metrics).toMatch(/verdict_transactions_total\{[^}]*outcome="commit"[^}]*\} [1-9]/);
    expect(metrics).toMatch(
      /verdict_transaction_phase_duration_seconds_count\{[^}]*phase="prepare"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(/verdict_raft_is_leader\{[^}]*\} 1/);
  });

  it('lets an operator re-drive an undecided transaction now instead of at the next backoff', async () => {
    const node = await leader();
    const ghost = uniqueName('ghost');
    const result = await cluster.requestRetrying<TxView>(node, 'POST', '/v1/transactions', {
      timeoutMs: 3_000,
      participants: [{ name: bankA.name }, { name: ghost }],
    });
    const txId = result.body.id;
    const commit = cluster.request<TxView>(node, 'POST', `/v1/transactions/${txId}/commit`);
    await eventually(
      async () => {
        const view = await cluster.request<TxView>(node, 'GET', `/v1/transactions/${txId}`);
        return view.body.state === 'PREPARING' ? true : undefined;
      },
      5_000,
      'the transaction preparing',
    );
    const retried = await cluster.request<TxView>(
      node,
      'POST',
      `/v1/admin/transactions/${txId}/retry`,
      undefined,
      OPERATOR_KEY,
    );
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(
      retried.body.participants.find((participant) => participant.name === ghost)?.attempts,
    ).toBeGreaterThanOrEqual(2);
    const decided = await commit;
    expect(decided.body.decision?.outcome).toBe('ABORT');
    await expectAtomic(txId, [bankA], 'ABORT');
  });

  it('opens a participant circuit after repeated prepare timeouts, then fails fast, then closes again', async () => {
    const node = await leader();
    const flaky = uniqueName('flaky');
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const begun = await cluster.requestRetrying<TxView>(node, 'POST', '/v1/transactions', {
        timeoutMs: 300,
        participants: [{ name: flaky }],
      });
      const decided = await cluster.request<TxView>(node, 'POST', `/v1/transactions/${begun.body.id}/commit`);
      expect(decided.body.decision?.outcome).toBe('ABORT');
    }
    const open = await eventually(
      async () => {
        const status = await cluster.request<{ breakers: { participant: string; state: string }[] }>(
          node,
          'GET',
          '/v1/cluster',
        );
        return status.body.breakers.find(
          (breaker) => breaker.participant === flaky && breaker.state === 'OPEN',
        );
      },
      5_000,
      `the circuit of ${flaky} opening`,
    );
    expect(open.state).toBe('OPEN');
    const failFast = await cluster.requestRetrying<TxView>(node, 'POST', '/v1/transactions', {
      timeoutMs: 10_000,
      participants: [{ name: flaky }],
    });
    const startedAt = Date.now();
    const refused = await cluster.request<TxView>(
      node,
      'POST',
      `/v1/transactions/${failFast.body.id}/commit`,
    );
    expect(refused.body.decision?.outcome).toBe('ABORT');
    expect(refused.body.decision?.reason).toMatch(/unavailable|circuit/);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    // The participant comes back; after the reset timeout a probe transaction closes the circuit.
    const revived = await startScriptedParticipant(flaky, kafkaBrokers());
    try {
      const closed = await eventually(
        async () => {
          const probe = await cluster.requestRetrying<TxView>(node, 'POST', '/v1/transactions', {
            timeoutMs: 5_000,
            participants: [{ name: flaky }],
          });
          const decided = await cluster.request<TxView>(
            node,
            'POST',
            `/v1/transactions/${probe.body.id}/commit`,
          );
          return decided.body.decision?.outcome === 'COMMIT' ? decided.body : undefined;
        },
        40_000,
        `a transaction with ${flaky} committing after its circuit closed`,
      );
      expect(closed.decision?.outcome).toBe('COMMIT');
    } finally {
      await revived.handle.stop();
    }
  }, 90_000);

  it('survives SIGKILL of the leader after the decision: the successor finishes it the same way', async () => {
    const oldLeader = await leader();
    const txIds: string[] = [];
    for (let count = 0; count < 5; count += 1) txIds.push(await begin(oldLeader));
    for (const txId of txIds) {
      const committed = await cluster.request<TxView>(oldLeader, 'POST', `/v1/transactions/${txId}/commit`);
      expect(committed.body.decision?.outcome).toBe('COMMIT');
    }
    await cluster.kill(oldLeader);
    const newLeader = await leader();
    expect(newLeader.nodeId).not.toBe(oldLeader.nodeId);
    for (const txId of txIds) {
      await expectAtomic(txId, [bankA, bankB], 'COMMIT');
      const view = await cluster.request<TxView>(newLeader, 'GET', `/v1/transactions/${txId}`);
      expect(view.body.decision?.outcome).toBe('COMMIT');
    }
    cluster.startNode(oldLeader);
  });

  it('survives SIGKILL of the leader before the decision: nothing is left prepared', async () => {
    const oldLeader = await leader();
    const txId = await begin(oldLeader);
    await cluster.kill(oldLeader);
    const newLeader = await leader();
    // The client retries its commit on the new leader; the transaction commits or aborts whole.
    const decided = await cluster.requestRetrying<TxView>(
      newLeader,
      'POST',
      `/v1/transactions/${txId}/commit`,
    );
    expect(decided.status).toBe(200);
    const outcome = decided.body.decision?.outcome;
    expect(outcome === 'COMMIT' || outcome === 'ABORT').toBe(true);
    await expectAtomic(txId, [bankA, bankB], outcome ?? 'ABORT');
    cluster.startNode(oldLeader);
  });

  it('hands leadership to a follower on SIGTERM before it stops', async () => {
    const oldLeader = await leader();
    const child = oldLeader.process;
    if (child === null) throw new Error('leader has no process');
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
    expect(cluster.logTail(oldLeader, 400)).toMatch(/handed leadership to n\d before shutdown/);
    const newLeader = await leader();
    expect(newLeader.nodeId).not.toBe(oldLeader.nodeId);
    cluster.startNode(oldLeader);
  });

  it('ends every transaction of this run the same way at every participant', async () => {
    await leader();
    for (const { txId, participants } of begun) {
      const outcomes = new Set(
        participants
          .map((participant) => participant.service.branches.get(txId)?.outcome ?? null)
          .filter((outcome) => outcome !== null),
      );
      expect(outcomes.size, `${txId} has outcomes ${[...outcomes].join(', ')}`).toBeLessThanOrEqual(1);
      if (outcomes.has('COMMIT')) {
        for (const participant of participants)
          expect(participant.service.branches.get(txId)?.vote).toBe('YES');
      }
    }
  });
});
