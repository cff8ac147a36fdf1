// Public API of @verdict/raft-log. Append exports; keep the pure core under './core/...'.
export * from './core/assert';
export * from './core/config';
export * from './core/membership';
export * from './core/raft';
export * from './core/ready';
export * from './core/rng';
export * from './core/types';
export * from './support/logger';
export * from './storage/log-store';
export * from './storage/memory-log-store';
export * from './storage/segmented-log-store';
export * from './storage/snapshot-store';
export * from './transport/peer-transport';
export * from './transport/codec';
export * from './transport/tcp-transport';
export * from './transport/memory-transport';
export * from './node/raft-node';
