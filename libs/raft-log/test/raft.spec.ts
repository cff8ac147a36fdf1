import { describe, expect, it } from 'vitest';
import { InvariantViolation } from '../src/core/assert';
import { RaftCore, type RestoreState } from '../src/core/raft';
import { Xoshiro128 } from '../src/core/rng';

const encoder = new TextEncoder();

function bootstrap(voters: readonly string[]): RestoreState {
  return {
    hardState: { term: 0, votedFor: null, commitIndex: 0 },
    snapshot: {
      metadata: { index: 0, term: 0, membership: { voters, learners: [] } },
      data: new Uint8Array(0),
    },
    entries: [],
  };
}

function singleNodeLeader(options: { uncommittedEntriesMax?: number } = {}): RaftCore {
  const core = new RaftCore({ nodeId: 'n1', rng: new Xoshiro128(1), ...options });
  core.restore(bootstrap(['n1']));
  core.campaign();
  return core;
}

/** Runs the host loop until quiet; returns how many Readies it handled. */
function drain(core: RaftCore): number {
  let handled = 0;
  for (let ready = core.ready(); ready !== null; ready = core.ready()) {
    core.advance(ready);
    handled += 1;
  }
  return handled;
}

describe('RaftCore Ready contract', () => {
  it('a single voter elects itself at once and commits its noop only after persisting it', () => {
    const core = singleNodeLeader();
    expect(core.status().role).toBe('leader');
    const first = core.ready();
    expect(first?.entriesToPersist.map((entry) => entry.kind)).toEqual(['noop']);
    expect(first?.entriesToApply).toEqual([]);
    expect(first?.mustSync).toBe(true);
    expect(core.status().commitIndex).toBe(0);
    if (first === null) throw new Error('expected a Ready');
    core.advance(first);
    // Our own entry counts towards the quorum only once the host says it is durable.
    expect(core.status().commitIndex).toBe(1);
    expect(core.ready()?.entriesToApply.map((entry) => entry.index)).toEqual([1]);
  });

  it('holds one Ready at a time; work done meanwhile comes in the next one', () => {
    const core = singleNodeLeader();
    const first = core.ready();
    if (first === null) throw new Error('expected a Ready');
    const proposed = core.propose(encoder.encode('x'));
    expect(proposed).toEqual({ ok: true, index: 2, term: 1 });
    expect(core.ready()).toBeNull();
    core.advance(first);
    const second = core.ready();
    expect(second?.entriesToPersist.map((entry) => entry.index)).toEqual([2]);
    expect(second?.truncateFromIndex).toBeNull();
  });

  it('voteGranted leaves in the same Ready as the hard state that records it, with mustSync', () => {
    const core = new RaftCore({ nodeId: 'n2', rng: new Xoshiro128(2) });
    core.restore(bootstrap(['n1', 'n2', 'n3']));
    drain(core);
    core.step({
      kind: 'requestVote',
      from: 'n1',
      to: 'n2',
      term: 1,
      preVote: false,
      lastLogIndex: 0,
      lastLogTerm: 0,
      leadershipTransfer: false,
    });
    const ready = core.ready();
    expect(ready?.hardState).toEqual({ term: 1, votedFor: 'n1', commitIndex: 0 });
    expect(ready?.mustSync).toBe(true);
    expect(ready?.messages).toEqual([
      { kind: 'requestVoteResponse', from: 'n2', to: 'n1', term: 1, preVote: false, voteGranted: true },
    ]);
  });

  it('refuses proposals beyond the uncommitted budget with a reason', () => {
    const core = singleNodeLeader({ uncommittedEntriesMax: 2 });
    expect(core.propose(encoder.encode('a')).ok).toBe(true);
    expect(core.propose(encoder.encode('b'))).toMatchObject({ ok: false, reason: 'overloaded' });
  });

  it('asserts programmer errors with the values named', () => {
    const core = new RaftCore({ nodeId: 'n1', rng: new Xoshiro128(1) });
    expect(() => core.tick()).toThrow('node n1 used before restore()');
    core.restore(bootstrap(['n1', 'n2']));
    expect(() => core.restore(bootstrap(['n1']))).toThrow(InvariantViolation);
    expect(() => core.step({ kind: 'timeoutNow', from: 'n2', to: 'n9', term: 1 })).toThrow(
      'message for n9 stepped into n1',
    );
    const ready = core.ready();
    if (ready === null) throw new Error('expected a Ready');
    expect(() => core.advance({ ...ready })).toThrow('node n1 advanced a Ready it did not hand out last');
  });

  it('rejects a snapshot whose membership differs from the config entries it covers', () => {
    const core = singleNodeLeader();
    drain(core);
    const wrong = { index: 1, term: 1, membership: { voters: ['n1', 'n2'], learners: [] } };
    expect(() => core.snapshotTaken({ metadata: wrong, data: new Uint8Array(0) })).toThrow(
      'snapshot at 1 has membership {"voters":["n1","n2"],"learners":[]}, but the log says {"voters":["n1"],"learners":[]}',
    );
  });

  it("a snapshot the host took is ignored when the leader's snapshot overtook it during the save", () => {
    const membership = { voters: ['n1', 'n2', 'n3'], learners: [] };
    const follower = new RaftCore({ nodeId: 'n2', rng: new Xoshiro128(2) });
    follower.restore(bootstrap(membership.voters));
    const entries = [1, 2, 3].map((index) => ({
      index,
      term: 1,
      kind: 'command' as const,
      data: encoder.encode(`e${index}`),
    }));
    follower.step({
      kind: 'appendEntries',
      from: 'n1',
      to: 'n2',
      term: 1,
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries,
      leaderCommit: 3,
      readRound: 0,
    });
    drain(follower);
    expect(follower.status().appliedIndex).toBe(3);
    // The host snapshots at 3 and, while it writes the file, the leader's snapshot at 10 arrives.
    const own = { metadata: { index: 3, term: 1, membership }, data: encoder.encode('own') };
    const leaders = { index: 10, term: 1, membership };
    follower.step({
      kind: 'installSnapshot',
      from: 'n1',
      to: 'n2',
      term: 1,
      metadata: leaders,
      offset: 0,
      chunk: encoder.encode('leader'),
      done: true,
    });
    follower.snapshotTaken(own);
    expect(follower.status().snapshotIndex).toBe(10);
    const ready = follower.ready();
    expect(ready?.snapshot?.metadata).toEqual(leaders);
    expect(ready?.messages).toMatchObject([
      { kind: 'installSnapshotResponse', snapshotIndex: 10, done: true },
    ]);
  });

  it('ReadIndex on a single voter answers at the commitIndex once the term has committed an entry', () => {
    const core = singleNodeLeader();
    drain(core);
    expect(core.readIndex('r1')).toEqual({ ok: true });
    expect(core.ready()?.readStates).toEqual([{ requestId: 'r1', index: 1 }]);
  });
});
