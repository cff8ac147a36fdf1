import { z } from 'zod';
import { STUCK_AFTER_MS_DEFAULT } from '../engine/limits';
import { DECISION_LINGER_MS_MAX } from '../transport/transport-options';

// Everything the coordinator reads from its environment, and nothing else: the docker-compose
// check (test/unit/docker-compose.spec.ts) holds the compose file to the keys of this schema.

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
const API_KEY_ROLES = ['service', 'operator'] as const;
/** Short keys and secrets can be guessed; 16 characters of a random token is the floor. */
const SECRET_LENGTH_MIN = 16;
const NODE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const NODE_ID_RULE =
  'lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters';
// A hostname or IPv4 address; IPv6 literals would need brackets and nothing here uses them.
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
/** Raft needs a majority: more than 7 voters only slows every commit down. */
const VOTERS_MAX = 7;
/**
 * Below a second, a transaction waiting out one ordinary re-send backoff would already count as
 * stuck; above a day, a stuck transaction would go unnoticed for too long to be worth showing.
 */
const STUCK_AFTER_MS_MIN = 1_000;
const STUCK_AFTER_MS_MAX = 86_400_000;
/**
 * Under load one Raft entry holds many transactions' records, so 10,000 entries are minutes of
 * traffic; a snapshot of a full idempotency table is ~20 MB, written in the background.
 */
const SNAPSHOT_EVERY_ENTRIES_DEFAULT = 10_000;
const SNAPSHOT_EVERY_ENTRIES_MIN = 10;
const SNAPSHOT_EVERY_ENTRIES_MAX = 100_000_000;
/**
 * Long enough for the next PREPAREs to come along under load (transport-options.ts), short next to
 * what a commit waiting for completion waits anyway; a participant holds its locks that much longer.
 */
const DECISION_LINGER_MS_DEFAULT = 3;

export type LogLevel = (typeof LOG_LEVELS)[number];
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

export interface Peer {
  readonly nodeId: string;
  readonly host: string;
  readonly raftPort: number;
}

export interface CoordinatorEnvironment {
  readonly nodeId: string;
  /**
   * Founding the cluster: every voter, this node included. Joining (`join`): the members to reach
   * until the leader's configuration arrives; this node need not be listed.
   */
  readonly peers: readonly Peer[];
  /**
   * Start as a new member of a running cluster: empty log, no election, wait for the leader (an
   * operator's POST /v1/cluster/members) to add it. A restart keeps the replicated configuration.
   */
  readonly join: boolean;
  /**
   * Base URL of a peer's HTTP API where it differs from `http://<peer host>:<VERDICT_HTTP_PORT>`
   * (several nodes on one host); followers forward writes there when that peer leads.
   */
  readonly peerHttpUrls: Readonly<Record<string, string>>;
  readonly httpPort: number;
  readonly raftPort: number;
  readonly dataDirectory: string;
  readonly clusterSecret: string;
  readonly apiKeys: readonly { readonly key: string; readonly role: ApiKeyRole }[];
  readonly kafkaBrokers: readonly string[];
  readonly databaseUrl: string;
  readonly logLevel: LogLevel;
  /** A transaction in PREPARING, COMMITTING or ABORTING longer than this is shown as stuck. */
  readonly stuckAfterMs: number;
  /** Each node snapshots its state once per this many applied Raft entries, and compacts its log. */
  readonly snapshotEveryEntries: number;
  /** How long a COMMIT or ABORT may wait for the next PREPAREs to share a produce request. */
  readonly decisionLingerMs: number;
}

const required = (rule: string) => z.string({ error: `is required: ${rule}` });

const port = (rule: string) =>
  required(rule).transform((text, context) => {
    const value = Number(text);
    if (!/^\d{1,5}$/.test(text) || value < 1 || value > 65_535) {
      context.addIssue({ code: 'custom', message: `must be ${rule}` });
      return z.NEVER;
    }
    return value;
  });

/**
 * `a,b,c` with blanks around entries ignored; each entry parsed by `entry` or reported, quoted
 * unless the list holds secrets.
 */
const list = <T>(rule: string, entry: (text: string) => T | undefined, secret = false) =>
  required(rule).transform((text, context) => {
    const entries = text
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '');
    if (entries.length === 0) {
      context.addIssue({ code: 'custom', message: `must be ${rule}` });
      return z.NEVER;
    }
    const parsed: T[] = [];
    for (const [position, part] of entries.entries()) {
      const value = entry(part);
      if (value === undefined) {
        context.addIssue({
          code: 'custom',
          message: `entry ${position + 1}${secret ? '' : ` ("${part}")`} is wrong: must be ${rule}`,
        });
        return z.NEVER;
      }
      parsed.push(value);
    }
    return parsed;
  });

const hostAndPort = (text: string): { host: string; port: number } | undefined => {
  const separator = text.lastIndexOf(':');
  const host = text.slice(0, separator);
  const portText = text.slice(separator + 1);
  const portNumber = Number(portText);
  if (separator < 0 || !HOST.test(host) || !/^\d{1,5}$/.test(portText)) return undefined;
  return portNumber >= 1 && portNumber <= 65_535 ? { host, port: portNumber } : undefined;
};

const PORT_RULE = 'an integer from 1 to 65535';
const BROKERS_RULE = 'a comma-separated list of host:port, e.g. kafka:9092';
const PEERS_RULE = `a comma-separated list of 1 to ${VOTERS_MAX} <nodeId>=<host>:<raftPort>, e.g. n1=coordinator-1:7000,n2=coordinator-2:7000`;
const PEER_HTTP_URLS_RULE =
  'a comma-separated list of <nodeId>=<http URL>, e.g. n1=http://127.0.0.1:8081,n2=http://127.0.0.1:8082';
const JOIN_RULE =
  'true (start empty and wait to be added to a running cluster) or false (found or rejoin the cluster in VERDICT_PEERS)';
const API_KEYS_RULE = `a comma-separated list of <key>:<role> with role ${API_KEY_ROLES.join(' or ')} and keys of at least ${SECRET_LENGTH_MIN} characters`;
const DATABASE_URL_RULE = 'a URL like postgres://user:password@host:5432/database';
const STUCK_AFTER_MS_RULE = `whole milliseconds from ${STUCK_AFTER_MS_MIN} to ${STUCK_AFTER_MS_MAX} (1 s to 24 h), e.g. 60000`;
const SNAPSHOT_EVERY_ENTRIES_RULE = `a whole number of entries from ${SNAPSHOT_EVERY_ENTRIES_MIN} to ${SNAPSHOT_EVERY_ENTRIES_MAX}, e.g. ${SNAPSHOT_EVERY_ENTRIES_DEFAULT}`;
const DECISION_LINGER_MS_RULE = `whole milliseconds from 0 (send at once) to ${DECISION_LINGER_MS_MAX}, e.g. ${DECISION_LINGER_MS_DEFAULT}`;

/** A decimal whole number from `min` to `max` (at most 9 digits), `fallback` when unset. */
const boundedInteger = (rule: string, min: number, max: number, fallback: number) =>
  z
    .string({ error: `must be ${rule}` })
    .default(String(fallback))
    .transform((text, context) => {
      const value = Number(text);
      if (!/^\d{1,9}$/.test(text) || value < min || value > max) {
        context.addIssue({ code: 'custom', message: `must be ${rule}` });
        return z.NEVER;
      }
      return value;
    });

const kafkaBrokersSchema = list(BROKERS_RULE, (text) => (hostAndPort(text) === undefined ? undefined : text));

const databaseUrlSchema = required(DATABASE_URL_RULE).refine(
  (text) => URL.canParse(text) && ['postgres:', 'postgresql:'].includes(new URL(text).protocol),
  { message: `must be ${DATABASE_URL_RULE}` },
);

const logLevelSchema = z
  .enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` })
  .default('info');

export const coordinatorEnvironmentSchema = z
  .object({
    VERDICT_NODE_ID: required(NODE_ID_RULE).regex(NODE_ID, { message: `must be ${NODE_ID_RULE}` }),
    VERDICT_PEERS: list(PEERS_RULE, (text): Peer | undefined => {
      const [nodeId = '', address = ''] = text.split('=', 2);
      const parsed = hostAndPort(address);
      return NODE_ID.test(nodeId) && parsed !== undefined
        ? { nodeId, host: parsed.host, raftPort: parsed.port }
        : undefined;
    }),
    VERDICT_PEER_HTTP_URLS: list(PEER_HTTP_URLS_RULE, (text): [string, string] | undefined => {
      const [nodeId = '', url = ''] = text.split('=', 2);
      return NODE_ID.test(nodeId) && URL.canParse(url) && ['http:', 'https:'].includes(new URL(url).protocol)
        ? [nodeId, url.replace(/\/+$/, '')]
        : undefined;
    }).optional(),
    VERDICT_JOIN: z
      .enum(['true', 'false'], { error: `must be ${JOIN_RULE}` })
      .default('false')
      .transform((text) => text === 'true'),
    VERDICT_HTTP_PORT: port(PORT_RULE),
    VERDICT_RAFT_PORT: port(PORT_RULE),
    VERDICT_DATA_DIR: required('a directory for the Raft log and snapshots of this node').min(1, {
      message: 'must be a directory for the Raft log and snapshots of this node',
    }),
    VERDICT_CLUSTER_SECRET: required(`a shared secret of at least ${SECRET_LENGTH_MIN} characters`).min(
      SECRET_LENGTH_MIN,
      { message: `must be at least ${SECRET_LENGTH_MIN} characters (the same on every node)` },
    ),
    VERDICT_API_KEYS: list(
      API_KEYS_RULE,
      (text) => {
        const separator = text.lastIndexOf(':');
        const key = text.slice(0, Math.max(separator, 0));
        const role = API_KEY_ROLES.find((candidate) => candidate === text.slice(separator + 1));
        return separator >= SECRET_LENGTH_MIN && role !== undefined ? { key, role } : undefined;
      },
      true,
    ),
    KAFKA_BROKERS: kafkaBrokersSchema,
    DATABASE_URL: databaseUrlSchema,
    LOG_LEVEL: logLevelSchema,
    VERDICT_STUCK_AFTER_MS: boundedInteger(
      STUCK_AFTER_MS_RULE,
      STUCK_AFTER_MS_MIN,
      STUCK_AFTER_MS_MAX,
      STUCK_AFTER_MS_DEFAULT,
    ),
    VERDICT_SNAPSHOT_EVERY_ENTRIES: boundedInteger(
      SNAPSHOT_EVERY_ENTRIES_RULE,
      SNAPSHOT_EVERY_ENTRIES_MIN,
      SNAPSHOT_EVERY_ENTRIES_MAX,
      SNAPSHOT_EVERY_ENTRIES_DEFAULT,
    ),
    VERDICT_DECISION_LINGER_MS: boundedInteger(
      DECISION_LINGER_MS_RULE,
      0,
      DECISION_LINGER_MS_MAX,
      DECISION_LINGER_MS_DEFAULT,
    ),
  })
  .superRefine((environment, context) => {
    const ids = environment.VERDICT_PEERS.map((peer) => peer.nodeId);
    if (ids.length > VOTERS_MAX) {
      context.addIssue({ code: 'custom', path: ['VERDICT_PEERS'], message: `must be ${PEERS_RULE}` });
    }
    const repeated = ids.filter((id, position) => ids.indexOf(id) !== position);
    if (repeated.length > 0) {
      context.addIssue({
        code: 'custom',
        path: ['VERDICT_PEERS'],
        message: `lists node ${repeated.join(', ')} more than once; each voter once`,
      });
    }
    if (!environment.VERDICT_JOIN && !ids.includes(environment.VERDICT_NODE_ID)) {
      context.addIssue({
        code: 'custom',
        path: ['VERDICT_NODE_ID'],
        message: `must be one of the voters in VERDICT_PEERS (${ids.join(', ')}), or set VERDICT_JOIN=true to join a running cluster`,
      });
    }
    const unknownPeers = (environment.VERDICT_PEER_HTTP_URLS ?? [])
      .map(([nodeId]) => nodeId)
      .filter((nodeId) => !ids.includes(nodeId));
    if (unknownPeers.length > 0) {
      context.addIssue({
        code: 'custom',
        path: ['VERDICT_PEER_HTTP_URLS'],
        message: `names ${unknownPeers.join(', ')}, not in VERDICT_PEERS (${ids.join(', ')})`,
      });
    }
    if (environment.VERDICT_HTTP_PORT === environment.VERDICT_RAFT_PORT) {
      context.addIssue({
        code: 'custom',
        path: ['VERDICT_RAFT_PORT'],
        message: 'must differ from VERDICT_HTTP_PORT',
      });
    }
  })
  .transform((environment): CoordinatorEnvironment => ({
    nodeId: environment.VERDICT_NODE_ID,
    peers: environment.VERDICT_PEERS,
    join: environment.VERDICT_JOIN,
    peerHttpUrls: Object.fromEntries(environment.VERDICT_PEER_HTTP_URLS ?? []),
    httpPort: environment.VERDICT_HTTP_PORT,
    raftPort: environment.VERDICT_RAFT_PORT,
    dataDirectory: environment.VERDICT_DATA_DIR,
    clusterSecret: environment.VERDICT_CLUSTER_SECRET,
    apiKeys: environment.VERDICT_API_KEYS,
    kafkaBrokers: environment.KAFKA_BROKERS,
    databaseUrl: environment.DATABASE_URL,
    logLevel: environment.LOG_LEVEL,
    stuckAfterMs: environment.VERDICT_STUCK_AFTER_MS,
    snapshotEveryEntries: environment.VERDICT_SNAPSHOT_EVERY_ENTRIES,
    decisionLingerMs: environment.VERDICT_DECISION_LINGER_MS,
  }));

/** Variables whose values never appear in an error message. */
const SECRETS = new Set(['VERDICT_CLUSTER_SECRET', 'VERDICT_API_KEYS']);

/** The coordinator's configuration, or an error naming every bad variable and what it must be. */
export function loadEnvironment(env: NodeJS.ProcessEnv = process.env): CoordinatorEnvironment {
  return parseEnvironment(coordinatorEnvironmentSchema, env, SECRETS, 'coordinator');
}

// The error lists every bad variable at once, with its value and its rule: fixing a deployment
// one variable per restart is slow.
function parseEnvironment<Output>(
  schema: z.ZodType<Output>,
  env: NodeJS.ProcessEnv,
  secrets: ReadonlySet<string>,
  application: string,
): Output {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '(environment)');
    return `  ${name}=${describeValue(name, env[name], secrets)}: ${issue.message}`;
  });
  throw new Error(`the ${application} environment is invalid:\n${[...new Set(lines)].join('\n')}`);
}

function describeValue(name: string, value: string | undefined, secrets: ReadonlySet<string>): string {
  if (value === undefined) return '(not set)';
  if (secrets.has(name)) return `(hidden, ${value.length} characters)`;
  if (name === 'DATABASE_URL' && URL.canParse(value)) {
    const url = new URL(value);
    if (url.password !== '') url.password = '***';
    return JSON.stringify(url.toString());
  }
  return JSON.stringify(value);
}
