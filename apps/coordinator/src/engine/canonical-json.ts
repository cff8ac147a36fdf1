import { assert } from './assert';
import type { JsonValue } from './types';

// Canonical JSON: object keys sorted by UTF-16 code unit, no whitespace, only finite numbers.
// The same value gives the same bytes on every node and in every version of V8, which is what
// the Raft log, snapshots and `encode(decode(bytes)) === bytes` rely on.

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Nesting limit for free-form values (participant work): a bound on the recursion below. */
export const JSON_DEPTH_MAX = 32;

export function canonicalStringify(value: unknown): string {
  // Only a value that cannot be encoded fails the fast path: walk it again to say where and why.
  return stringify(value, 0) ?? stringifyExplaining(value, '$', 0);
}

/**
 * The common case, without building the path of every field (that was half the cost); null when
 * the value is not canonical-encodable.
 */
function stringify(value: unknown, depth: number): string | null {
  if (depth > JSON_DEPTH_MAX) return null;
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : null;
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let text = '[';
        for (let index = 0; index < value.length; index += 1) {
          const item = stringify(value[index], depth + 1);
          if (item === null) return null;
          text += index > 0 ? `,${item}` : item;
        }
        return `${text}]`;
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let text = '{';
      for (let index = 0; index < keys.length; index += 1) {
        const key = keys[index] as string;
        const field = stringify(record[key], depth + 1);
        if (field === null) return null;
        text += `${index > 0 ? ',' : ''}${JSON.stringify(key)}:${field}`;
      }
      return `${text}}`;
    }
    default:
      return null;
  }
}

function stringifyExplaining(value: unknown, path: string, depth: number): string {
  assert(depth <= JSON_DEPTH_MAX, `${path} is nested deeper than ${JSON_DEPTH_MAX} levels`);
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      assert(Number.isFinite(value), `${path} is ${value}; only finite numbers are JSON`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        const items = value.map((item: unknown, index) =>
          stringifyExplaining(item, `${path}[${index}]`, depth + 1),
        );
        return `[${items.join(',')}]`;
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      const fields: string[] = [];
      for (const key of keys) {
        const field = record[key];
        assert(field !== undefined, `${path}.${key} is undefined; use null for an absent value`);
        fields.push(`${JSON.stringify(key)}:${stringifyExplaining(field, `${path}.${key}`, depth + 1)}`);
      }
      return `{${fields.join(',')}}`;
    }
    default:
      assert(false, `${path} is a ${typeof value}, which JSON cannot carry`);
  }
}

export function encodeCanonical(value: unknown): Uint8Array {
  return encoder.encode(canonicalStringify(value));
}

export function decodeJson(bytes: Uint8Array, what: string): unknown {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    assert(false, `${what} is not valid UTF-8 (${bytes.length} bytes)`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    assert(false, `${what} is not JSON: ${(error as Error).message}`);
  }
}

/** Free-form values (participant work) are checked, on decode, to be canonical-encodable. */
export function isJsonValue(value: unknown, depth = 0): value is JsonValue {
  if (depth > JSON_DEPTH_MAX) return false;
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isJsonValue(item, depth + 1));
  if (typeof value === 'object') {
    return Object.values(value as Record<string, unknown>).every((item) => isJsonValue(item, depth + 1));
  }
  return false;
}

/** Two JSON values are equal when their canonical forms are (enlisting twice with the same work). */
export function jsonEquals(left: JsonValue, right: JsonValue): boolean {
  return canonicalStringify(left) === canonicalStringify(right);
}
