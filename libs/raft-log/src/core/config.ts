import { assert } from './assert';
import type { Rng } from './rng';
import type { NodeId } from './types';

// Named limits. Each configurable knob has a ceiling here so that a typo in a config file cannot
// make one message or one queue unbounded.

/** Entries in one appendEntries message. */
export const APPEND_ENTRIES_MAX = 1024;
/** Payload bytes in one appendEntries message (one entry larger than this still goes alone). */
export const APPEND_BYTES_MAX = 4 << 20;
/** appendEntries messages in flight to one follower in replicate state. */
export const INFLIGHT_MESSAGES_MAX = 256;
/** Bytes of snapshot data in one installSnapshot message. */
export const SNAPSHOT_CHUNK_BYTES_MAX = 4 << 20;
/** Proposed but uncommitted entries a leader accepts before it answers `overloaded`. */
export const UNCOMMITTED_ENTRIES_MAX = 1 << 16;
/** ReadIndex requests a leader holds while it confirms its leadership. */
export const PENDING_READS_MAX = 1 << 12;
/** Upper bound of the election timeout in ticks; the randomised timeout is in [electionTicks, 2 * electionTicks). */
export const ELECTION_TICKS_MAX = 10_000;

// A heartbeat per election timeout is not enough: one lost heartbeat would cost the leader.
assert(ELECTION_TICKS_MAX > 2, 'ELECTION_TICKS_MAX must leave room for two heartbeats');
// Entries are never split, so the per-message byte cap must fit at least one maximal chunk.
assert(SNAPSHOT_CHUNK_BYTES_MAX <= APPEND_BYTES_MAX, 'a snapshot chunk must fit the append byte budget');
// One full append batch must fit what a leader may hold uncommitted, or a batch could never fill.
assert(
  APPEND_ENTRIES_MAX <= UNCOMMITTED_ENTRIES_MAX,
  'APPEND_ENTRIES_MAX must not exceed UNCOMMITTED_ENTRIES_MAX',
);

export interface RaftConfig {
  readonly nodeId: NodeId;
  /** Base election timeout in ticks; each timeout is drawn from [electionTicks, 2 * electionTicks). */
  readonly electionTicks: number;
  /** Leader heartbeat interval in ticks. Must be below electionTicks / 2. */
  readonly heartbeatTicks: number;
  /** Campaign with a PreVote round first, so a node that rejoins cannot bump everyone's term. */
  readonly preVote: boolean;
  /** A leader that has not heard from a quorum for an election timeout steps down; followers honour a leader lease. */
  readonly checkQuorum: boolean;
  readonly appendEntriesMax: number;
  readonly appendBytesMax: number;
  readonly inflightMessagesMax: number;
  readonly snapshotChunkBytes: number;
  readonly uncommittedEntriesMax: number;
  readonly rng: Rng;
}

export type RaftConfigInput = Pick<RaftConfig, 'nodeId' | 'rng'> &
  Partial<Omit<RaftConfig, 'nodeId' | 'rng'>>;

export const RAFT_CONFIG_DEFAULTS = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  appendEntriesMax: 64,
  appendBytesMax: 1 << 20,
  inflightMessagesMax: 16,
  snapshotChunkBytes: 1 << 20,
  uncommittedEntriesMax: 4096,
} as const satisfies Omit<RaftConfig, 'nodeId' | 'rng'>;

/** Fills defaults and rejects a bad setting, naming the field, its value and the allowed range. */
export function validateConfig(input: RaftConfigInput): RaftConfig {
  const config: RaftConfig = { ...RAFT_CONFIG_DEFAULTS, ...input };
  const inRange = (field: keyof RaftConfig, value: number, min: number, max: number): void => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`raft config ${field} = ${value}: must be an integer in [${min}, ${max}]`);
    }
  };
  if (typeof config.nodeId !== 'string' || config.nodeId.length === 0) {
    throw new RangeError(`raft config nodeId = ${JSON.stringify(config.nodeId)}: must be a non-empty string`);
  }
  inRange('electionTicks', config.electionTicks, 3, ELECTION_TICKS_MAX);
  inRange('heartbeatTicks', config.heartbeatTicks, 1, ELECTION_TICKS_MAX);
  if (config.heartbeatTicks * 2 >= config.electionTicks) {
    throw new RangeError(
      `raft config heartbeatTicks = ${config.heartbeatTicks}: must be below electionTicks / 2 = ${config.electionTicks / 2}`,
    );
  }
  inRange('appendEntriesMax', config.appendEntriesMax, 1, APPEND_ENTRIES_MAX);
  inRange('appendBytesMax', config.appendBytesMax, 1, APPEND_BYTES_MAX);
  inRange('inflightMessagesMax', config.inflightMessagesMax, 1, INFLIGHT_MESSAGES_MAX);
  inRange('snapshotChunkBytes', config.snapshotChunkBytes, 1, SNAPSHOT_CHUNK_BYTES_MAX);
  inRange('uncommittedEntriesMax', config.uncommittedEntriesMax, 1, UNCOMMITTED_ENTRIES_MAX);
  return config;
}
