import { describe, expect, it } from 'vitest';
import { ApiKeys, roleSatisfies } from './api-keys';

const SERVICE = 'svc-aaaaaaaaaaaaaaaa';
const OPERATOR = 'ops:bbbbbbbbbbbbbbbb'; // a colon inside the key: the role follows the last one

describe('ApiKeys.parse (VERDICT_API_KEYS)', () => {
  it('maps each key to its role and a fingerprint that is not the key', () => {
    const keys = ApiKeys.parse(` ${SERVICE}:service , ${OPERATOR}:operator,`);
    expect(keys.size).toBe(2);
    const service = keys.authenticate(SERVICE);
    expect(service).toEqual({
      name: expect.stringMatching(/^service:[0-9a-f]{12}$/) as unknown,
      role: 'service',
    });
    expect(keys.authenticate(OPERATOR)?.role).toBe('operator');
    expect(keys.authenticate(`${SERVICE}x`)).toBeNull();
    expect(keys.authenticate('')).toBeNull();
  });

  it.each([
    ['no role', SERVICE, /entry 1 must look like <key>:<role>/],
    ['unknown role', `${SERVICE}:admin`, /role one of service, operator/],
    ['empty key', ':service', /entry 1 must look like/],
    ['short key', 'short:service', /entry 1 \(role service\): the key has 5 characters; use at least 16/],
    ['same key twice', `${SERVICE}:service,${SERVICE}:operator`, /entry 2: the same key is listed twice/],
  ])('rejects %s, naming the variable and never echoing the key', (_case, value, message) => {
    expect(() => ApiKeys.parse(value)).toThrow(message);
    expect(() => ApiKeys.parse(value)).toThrow(/VERDICT_API_KEYS/);
    try {
      ApiKeys.parse(value);
    } catch (error: unknown) {
      expect(String(error)).not.toContain(SERVICE);
    }
  });
});

describe('roleSatisfies', () => {
  it('operator ⊇ service', () => {
    expect(roleSatisfies('operator', 'service')).toBe(true);
    expect(roleSatisfies('operator', 'operator')).toBe(true);
    expect(roleSatisfies('service', 'service')).toBe(true);
    expect(roleSatisfies('service', 'operator')).toBe(false);
  });
});
