import { describe, expect, it } from 'vitest';
import {
  decodeMemberAddress,
  encodeMemberAddress,
  raftPeers,
  recordableAddresses,
  resolveAddresses,
} from './member-addresses';

const n4 = { raftAddress: '10.0.0.4:7400', httpUrl: 'http://10.0.0.4:8080' };
const startup = {
  n1: { raftAddress: '10.0.0.1:7400', httpUrl: 'http://10.0.0.1:8080' },
  n2: { raftAddress: '10.0.0.2:7400', httpUrl: 'http://10.0.0.2:8080' },
};

describe('member addresses', () => {
  it('round-trip through the string the Raft membership records', () => {
    expect(decodeMemberAddress(encodeMemberAddress(n4))).toEqual(n4);
    expect(decodeMemberAddress('10.0.0.4:7400')).toBeNull();
    expect(decodeMemberAddress('{"raft":1}')).toBeNull();
  });

  it("this node's environment wins for the nodes it names; replicated addresses fill in the others", () => {
    const membership = {
      voters: ['n1', 'n2'],
      learners: ['n4'],
      addresses: {
        n1: encodeMemberAddress({ raftAddress: 'as-the-leader-sees-it:7400', httpUrl: 'http://elsewhere' }),
        n4: encodeMemberAddress(n4),
      },
    };
    const resolved = resolveAddresses(membership, startup);
    expect(Object.fromEntries(resolved)).toEqual({ n1: startup.n1, n2: startup.n2, n4 });
    expect(raftPeers(resolved, 'n2')).toEqual({ n1: '10.0.0.1:7400', n4: '10.0.0.4:7400' });
  });

  it('a removed node is no longer a peer even if the environment still names it', () => {
    const resolved = resolveAddresses({ voters: ['n2'], learners: [] }, startup);
    expect(raftPeers(resolved, 'n2')).toEqual({});
    expect([...resolved.keys()]).toEqual(['n2']);
  });

  it('a node waiting to join (no membership yet) reaches the members the environment lists', () => {
    const resolved = resolveAddresses({ voters: [], learners: [] }, startup);
    expect(raftPeers(resolved, 'n4')).toEqual({ n1: '10.0.0.1:7400', n2: '10.0.0.2:7400' });
  });

  it('only members with both addresses known are recorded with a change', () => {
    const resolved = resolveAddresses(
      { voters: ['n1', 'n3'], learners: [] },
      { ...startup, n3: { raftAddress: 'x:1' } },
    );
    expect(recordableAddresses(resolved)).toEqual({ n1: encodeMemberAddress(startup.n1) });
  });
});
