import { describe, expect, it } from 'vitest';
import {
  applyMembershipChange,
  decodeMembership,
  encodeMembership,
  withAddresses,
} from '../src/core/membership';

const encoder = new TextEncoder();
const founders = { voters: ['n1', 'n2', 'n3'], learners: [], addresses: { n1: 'a1', n2: 'a2', n3: 'a3' } };

describe('membership changes carry member addresses', () => {
  it('addLearner records the new address next to the others', () => {
    expect(applyMembershipChange(founders, { kind: 'addLearner', nodeId: 'n4', address: 'a4' })).toEqual({
      voters: ['n1', 'n2', 'n3'],
      learners: ['n4'],
      addresses: { n1: 'a1', n2: 'a2', n3: 'a3', n4: 'a4' },
    });
  });

  it('promoteLearner keeps the address; removeNode drops it', () => {
    const withLearner = applyMembershipChange(founders, { kind: 'addLearner', nodeId: 'n4', address: 'a4' });
    if (typeof withLearner === 'string') throw new Error(withLearner);
    const promoted = applyMembershipChange(withLearner, { kind: 'promoteLearner', nodeId: 'n4' });
    expect(promoted).toEqual({
      voters: ['n1', 'n2', 'n3', 'n4'],
      learners: [],
      addresses: { n1: 'a1', n2: 'a2', n3: 'a3', n4: 'a4' },
    });
    if (typeof promoted === 'string') throw new Error(promoted);
    expect(applyMembershipChange(promoted, { kind: 'removeNode', nodeId: 'n1' })).toEqual({
      voters: ['n2', 'n3', 'n4'],
      learners: [],
      addresses: { n2: 'a2', n3: 'a3', n4: 'a4' },
    });
  });

  it('a change may refresh the addresses of members; entries for non-members are dropped', () => {
    const legacy = { voters: ['n1', 'n2'], learners: [] };
    expect(
      applyMembershipChange(legacy, {
        kind: 'addLearner',
        nodeId: 'n3',
        address: 'a3',
        addresses: { n1: 'a1', n2: 'a2', stranger: 'x' },
      }),
    ).toEqual({ voters: ['n1', 'n2'], learners: ['n3'], addresses: { n1: 'a1', n2: 'a2', n3: 'a3' } });
  });

  it('refusals are unchanged by addresses', () => {
    expect(applyMembershipChange(founders, { kind: 'addLearner', nodeId: 'n1', address: 'other' })).toBe(
      'n1 is already a member',
    );
    expect(applyMembershipChange(founders, { kind: 'promoteLearner', nodeId: 'n9' })).toBe(
      'n9 is not a learner',
    );
  });

  it('config entries round-trip the addresses, and entries written before addresses existed still decode', () => {
    expect(decodeMembership(encodeMembership(founders))).toEqual(founders);
    expect(decodeMembership(encoder.encode('{"voters":["n1"],"learners":[]}'))).toEqual({
      voters: ['n1'],
      learners: [],
    });
    expect(() =>
      decodeMembership(encoder.encode('{"voters":["n1"],"learners":[],"addresses":{"n1":7}}')),
    ).toThrow(/addresses that are not a map/);
  });

  it('withAddresses keeps members only and leaves the field out when nothing is known', () => {
    expect(withAddresses({ voters: ['n1'], learners: [] }, { n2: 'a2' })).toEqual({
      voters: ['n1'],
      learners: [],
    });
  });
});
