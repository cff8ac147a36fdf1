import { describe, expect, it } from 'vitest';
import type { ClusterStatus, Transaction } from './api';
import { summarizeParticipants } from './participants';
import {
  renderClusterStatus,
  renderParticipants,
  renderTimeline,
  renderTransaction,
  renderTransactionList,
} from './render';

const NOW = new Date('2026-11-25T13:10:00.000Z');
const PLAIN = { now: NOW, width: null };

const stuck: Transaction = {
  id: '0193a5c4-0000-7000-8000-000000000001',
  state: 'PREPARING',
  decision: null,
  participants: [
    {
      name: 'bank-a',
      vote: 'YES',
      voteReason: null,
      ack: false,
      ackedAt: null,
      attempts: 1,
      lastError: null,
      breaker: 'CLOSED',
    },
    {
      name: 'bank-b',
      vote: null,
      voteReason: null,
      ack: false,
      ackedAt: null,
      attempts: 14,
      lastError: 'no vote before the deadline',
      breaker: 'OPEN',
    },
  ],
  createdAt: '2026-11-25T13:07:50.000Z',
  deadline: '2026-11-25T13:08:20.000Z',
  metadata: { orderId: 'ord-1042' },
  stuck: {
    since: '2026-11-25T13:08:20.000Z',
    reason: 'prepared at bank-a, no vote from bank-b before the deadline',
  },
  finishedAt: null,
};

const resolved: Transaction = {
  ...stuck,
  id: '0193a5c4-0000-7000-8000-000000000002',
  state: 'ABORTING',
  decision: {
    outcome: 'ABORT',
    raftIndex: 57,
    raftTerm: 2,
    reason: 'bank-b is being rebuilt',
    resolvedBy: 'operator:0a1b2c3d4e5f',
    decidedAt: '2026-11-25T13:09:00.000Z',
  },
  stuck: null,
  metadata: {},
  timeline: [
    {
      at: '2026-11-25T13:07:50.000Z',
      kind: 'BEGIN',
      participant: null,
      detail: 'begun with 2 participants',
      raftIndex: 50,
      raftTerm: 2,
      actor: null,
    },
    {
      at: '2026-11-25T13:07:50.120Z',
      kind: 'PREPARE_SENT',
      participant: 'bank-b',
      detail: 'PREPARE sent, attempt 1',
      raftIndex: null,
      raftTerm: null,
      actor: null,
    },
    {
      at: '2026-11-25T13:09:00.000Z',
      kind: 'DECISION',
      participant: null,
      detail: 'ABORT: bank-b is being rebuilt',
      raftIndex: 57,
      raftTerm: 2,
      actor: 'operator:0a1b2c3d4e5f',
    },
  ],
};

const committed: Transaction = {
  ...stuck,
  id: '0193a5c4-0000-7000-8000-000000000003',
  state: 'COMMITTED',
  decision: {
    outcome: 'COMMIT',
    raftIndex: 42,
    raftTerm: 2,
    reason: 'all participants voted YES',
    resolvedBy: null,
    decidedAt: '2026-11-25T13:01:00.000Z',
  },
  participants: [
    {
      name: 'bank-a',
      vote: 'YES',
      voteReason: null,
      ack: true,
      ackedAt: '2026-11-25T13:01:00.100Z',
      attempts: 1,
      lastError: null,
      breaker: 'CLOSED',
    },
  ],
  createdAt: '2026-11-25T13:00:59.000Z',
  stuck: null,
  finishedAt: '2026-11-25T13:01:00.100Z',
};

describe('renderTransactionList', () => {
  it('one row per transaction, a participant per line, the stuck reason last', () => {
    expect(renderTransactionList({ items: [stuck, committed], nextCursor: null }, PLAIN))
      .toMatchInlineSnapshot(`
      "ID                                    STATE      AGE     PARTICIPANTS      DECISION    STUCK
      0193a5c4-0000-7000-8000-000000000001  PREPARING  2m 10s  bank-a YES        -           prepared at bank-a, no vote from bank-b before the deadline
                                                               bank-b no vote
      0193a5c4-0000-7000-8000-000000000003  COMMITTED  9m 1s   bank-a YES acked  COMMIT @42  -

      2 shown, 1 stuck."
    `);
  });

  it('says more exist, and how to get them', () => {
    const text = renderTransactionList({ items: [committed], nextCursor: 'abc' }, PLAIN);
    expect(text).toContain('More match: raise --limit or pass --cursor abc');
  });

  it('wraps the stuck reason to the terminal width', () => {
    const text = renderTransactionList({ items: [stuck], nextCursor: null }, { now: NOW, width: 110 });
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(110);
    const unwrapped = renderTransactionList({ items: [stuck], nextCursor: null }, PLAIN);
    expect(text.split('\n').length).toBeGreaterThan(unwrapped.split('\n').length);
    const [header = '', ...rows] = text.split('\n').slice(0, -2);
    const column = header.indexOf('STUCK');
    const reason = rows.map((row) => row.slice(column).trim()).join(' ');
    expect(reason).toBe(stuck.stuck?.reason);
  });

  it('an empty page', () => {
    expect(renderTransactionList({ items: [], nextCursor: null }, PLAIN)).toBe('No transactions match.');
  });
});

describe('renderTransaction', () => {
  it('a resolved transaction: the decision names the operator; the timeline its Raft positions', () => {
    expect(renderTransaction(resolved, PLAIN)).toMatchInlineSnapshot(`
      "Transaction 0193a5c4-0000-7000-8000-000000000002
        state     ABORTING
        created   2026-11-25 13:07:50.000Z (2m 10s ago)
        deadline  2026-11-25 13:08:20.000Z
        decision  ABORT at Raft index 57 (term 2) by operator:0a1b2c3d4e5f: bank-b is being rebuilt (decided 2026-11-25 13:09:00.000Z)
        finished  not yet
        metadata  -

      Participants
        NAME    VOTE  ACK  ATTEMPTS  BREAKER  LAST ERROR
        bank-a  YES   no   1         CLOSED   -
        bank-b  none  no   14        OPEN     no vote before the deadline

      Timeline
        AT (UTC)                  SINCE BEGIN  EVENT         PARTICIPANT  DETAIL                                                     RAFT
        2026-11-25 13:07:50.000Z  +0ms         BEGIN         -            begun with 2 participants                                  index 50, term 2
        2026-11-25 13:07:50.120Z  +120ms       PREPARE_SENT  bank-b       PREPARE sent, attempt 1                                    -
        2026-11-25 13:09:00.000Z  +1m 10s      DECISION      -            ABORT: bank-b is being rebuilt (by operator:0a1b2c3d4e5f)  index 57, term 2"
    `);
  });

  it('a stuck one says why; a node without timelines says so', () => {
    const text = renderTransaction(stuck, PLAIN);
    expect(text).toContain(
      'stuck     prepared at bank-a, no vote from bank-b before the deadline (since 2026-11-25 13:08:20.000Z)',
    );
    expect(text).toContain('(this coordinator node does not report timelines; it predates them)');
  });
});

describe('renderTimeline', () => {
  it('an empty timeline', () => {
    expect(renderTimeline([])).toBe('  (no events recorded)');
  });
});

const leaderStatus: ClusterStatus = {
  nodeId: 'n1',
  role: 'LEADER',
  term: 2,
  leaderId: 'n1',
  commitIndex: 60,
  appliedIndex: 60,
  members: [
    {
      nodeId: 'n1',
      role: 'LEADER',
      matchIndex: 60,
      lag: 0,
      lastContactMs: 0,
      httpUrl: 'http://127.0.0.1:8081',
    },
    {
      nodeId: 'n2',
      role: 'FOLLOWER',
      matchIndex: 58,
      lag: 2,
      lastContactMs: 40,
      httpUrl: 'http://127.0.0.1:8082',
    },
  ],
  breakers: [{ participant: 'bank-b', state: 'OPEN', since: '2026-11-25T13:08:30.000Z' }],
  stats: { committed: 10, aborted: 2, inDoubt: 1, oldestInDoubtMs: 130_000 },
};

describe('renderClusterStatus', () => {
  it('the leader, Raft progress, members and breakers', () => {
    expect(renderClusterStatus(leaderStatus, null)).toMatchInlineSnapshot(`
      "Cluster as node n1 (LEADER) sees it
        leader        n1
        term          2
        commit index  60
        applied index 60
        decisions     10 COMMIT, 2 ABORT since this node started
        in doubt      1 (oldest 2m 10s)

      Members
        NODE  ROLE      MATCH INDEX  LAG  LAST CONTACT  HTTP
        n1    LEADER    60           0    0ms ago       http://127.0.0.1:8081
        n2    FOLLOWER  58           2    40ms ago      http://127.0.0.1:8082

      Breakers
        PARTICIPANT  STATE  SINCE
        bank-b       OPEN   2026-11-25 13:08:30.000Z"
    `);
  });

  it('a follower without stats or URLs (an older node) still renders, and says where lag is known', () => {
    const { stats: _stats, ...withoutStats } = leaderStatus;
    const follower: ClusterStatus = {
      ...withoutStats,
      nodeId: 'n2',
      role: 'FOLLOWER',
      leaderId: null,
      members: [{ nodeId: 'n2', role: 'FOLLOWER', matchIndex: null, lag: null, lastContactMs: null }],
      breakers: [],
    };
    const text = renderClusterStatus(follower, null);
    expect(text).toContain('leader        none: no leader elected now');
    expect(text).toContain('(match index, lag and last contact are known on the leader only)');
    expect(text).toContain('none yet (a breaker appears once a participant was sent a command)');
    expect(text).not.toContain('in doubt');
  });
});

describe('participants', () => {
  it('joins the breakers and last-seen times with the participants of the sampled transactions', () => {
    const summaries = summarizeParticipants(
      leaderStatus.breakers,
      [
        { name: 'bank-a', lastSeenAt: '2026-11-25T13:09:58.000Z', breaker: null },
        { name: 'bank-c', lastSeenAt: '2026-11-25T12:10:00.000Z', breaker: 'CLOSED' },
      ],
      [stuck, resolved, committed],
    );
    expect(summaries).toEqual([
      {
        name: 'bank-a',
        breaker: null,
        inDoubt: 2,
        stuck: 1,
        lastAckAt: '2026-11-25T13:01:00.100Z',
        lastSeenAt: '2026-11-25T13:09:58.000Z',
      },
      {
        name: 'bank-b',
        breaker: { state: 'OPEN', since: '2026-11-25T13:08:30.000Z' },
        inDoubt: 2,
        stuck: 1,
        lastAckAt: null,
        lastSeenAt: null,
      },
      {
        name: 'bank-c',
        breaker: null,
        inDoubt: 0,
        stuck: 0,
        lastAckAt: null,
        lastSeenAt: '2026-11-25T12:10:00.000Z',
      },
    ]);
    expect(renderParticipants(summaries, 3, PLAIN)).toMatchInlineSnapshot(`
      "PARTICIPANT  BREAKER  BREAKER SINCE             IN DOUBT  STUCK  LAST SEEN
      bank-a       -        -                         2         1      2s ago
      bank-b       OPEN     2026-11-25 13:08:30.000Z  2         1      -
      bank-c       -        -                         0         0      1h ago

      IN DOUBT and STUCK count the newest 3 transactions. LAST SEEN is when the coordinator last read a reply (vote, ack or outcome query) from the participant; - if none since it started."
    `);
  });
});
