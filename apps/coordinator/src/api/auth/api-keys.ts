import { hash, timingSafeEqual } from 'node:crypto';
import { ROLES, type Actor, type Role } from '../coordinator.port';

/** Short keys can be guessed; 16 characters of a random token is the floor. */
export const API_KEY_LENGTH_MIN = 16;

const ENV_VARIABLE = 'VERDICT_API_KEYS';

interface KeyEntry {
  readonly digest: Buffer;
  readonly actor: Actor;
}

/**
 * The API keys this node accepts, each with its role. Built once from configuration
 * (`VERDICT_API_KEYS=key:role,key:role`); keys are kept only as SHA-256 digests, and a lookup
 * compares the digest of the presented key with every configured one in constant time, so
 * neither the answer's timing nor a heap dump gives a key away.
 */
export class ApiKeys {
  private readonly entries: readonly KeyEntry[];

  constructor(keys: readonly { readonly key: string; readonly role: Role }[]) {
    const seen = new Set<string>();
    this.entries = keys.map(({ key, role }, position) => {
      if (key.length < API_KEY_LENGTH_MIN) {
        throw new Error(
          `${ENV_VARIABLE} entry ${position + 1} (role ${role}): the key has ${key.length} characters; use at least ${API_KEY_LENGTH_MIN}`,
        );
      }
      const digest = sha256(key);
      const hex = digest.toString('hex');
      if (seen.has(hex)) {
        throw new Error(
          `${ENV_VARIABLE} entry ${position + 1}: the same key is listed twice; give each key one role`,
        );
      }
      seen.add(hex);
      return { digest, actor: { name: `${role}:${hex.slice(0, 12)}`, role } };
    });
  }

  /** Parses `key:role,key:role` (whitespace around entries ignored). */
  static parse(value: string): ApiKeys {
    const keys = value
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '')
      .map((entry, position) => {
        const separator = entry.lastIndexOf(':');
        const key = separator < 0 ? '' : entry.slice(0, separator);
        const role = separator < 0 ? '' : entry.slice(separator + 1);
        if (key === '' || !isRole(role)) {
          throw new Error(
            `${ENV_VARIABLE} entry ${position + 1} must look like <key>:<role> with role one of ${ROLES.join(', ')}`,
          );
        }
        return { key, role };
      });
    return new ApiKeys(keys);
  }

  get size(): number {
    return this.entries.length;
  }

  /** The actor a presented key belongs to, or null. Takes the same time for every key. */
  authenticate(presented: string): Actor | null {
    const digest = sha256(presented);
    let found: Actor | null = null;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, digest)) found = entry.actor;
    }
    return found;
  }
}

/** operator ⊇ service: an operator key may do anything a service key may. */
export function roleSatisfies(held: Role, required: Role): boolean {
  return held === 'operator' || held === required;
}

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Every request is authenticated: the one-shot `hash` costs a quarter less than a Hash object. */
function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}
