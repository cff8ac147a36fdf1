import { describe, expect, it } from 'vitest';
import { loadEnvironment } from './environment';

const valid = {
  VERDICT_NODE_ID: 'n2',
  VERDICT_PEERS: 'n1=coordinator-1:7000, n2=coordinator-2:7000,n3=10.0.0.3:7001',
  VERDICT_HTTP_PORT: '8080',
  VERDICT_RAFT_PORT: '7000',
  VERDICT_DATA_DIR: '/var/lib/verdict',
  VERDICT_CLUSTER_SECRET: 'a-cluster-secret-of-some-length',
  VERDICT_API_KEYS: 'service-key-0123456789:service,operator-key-0123456789:operator',
  KAFKA_BROKERS: 'kafka:9092',
  DATABASE_URL: 'postgres://verdict:s3cret@postgres:5432/verdict',
};

const errorOf = (env: NodeJS.ProcessEnv): string => {
  try {
    loadEnvironment(env);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('expected loadEnvironment to throw');
};

describe('coordinator environment', () => {
  it('parses a complete environment into typed configuration', () => {
    expect(loadEnvironment(valid)).toEqual({
      nodeId: 'n2',
      peers: [
        { nodeId: 'n1', host: 'coordinator-1', raftPort: 7000 },
        { nodeId: 'n2', host: 'coordinator-2', raftPort: 7000 },
        { nodeId: 'n3', host: '10.0.0.3', raftPort: 7001 },
      ],
      join: false,
      peerHttpUrls: {},
      httpPort: 8080,
      raftPort: 7000,
      dataDirectory: '/var/lib/verdict',
      clusterSecret: 'a-cluster-secret-of-some-length',
      apiKeys: [
        { key: 'service-key-0123456789', role: 'service' },
        { key: 'operator-key-0123456789', role: 'operator' },
      ],
      kafkaBrokers: ['kafka:9092'],
      databaseUrl: 'postgres://verdict:s3cret@postgres:5432/verdict',
      logLevel: 'info',
      stuckAfterMs: 60_000,
      snapshotEveryEntries: 10_000,
      decisionLingerMs: 3,
    });
  });

  it('VERDICT_STUCK_AFTER_MS: whole milliseconds from 1 s to 24 h, 60 s when unset', () => {
    expect(loadEnvironment({ ...valid, VERDICT_STUCK_AFTER_MS: '3000' }).stuckAfterMs).toBe(3_000);
    expect(loadEnvironment({ ...valid, VERDICT_STUCK_AFTER_MS: '86400000' }).stuckAfterMs).toBe(86_400_000);
    for (const bad of ['999', '86400001', '2.5', '-5000', '3s', '', '1e4']) {
      expect(errorOf({ ...valid, VERDICT_STUCK_AFTER_MS: bad })).toContain(
        `VERDICT_STUCK_AFTER_MS=${JSON.stringify(bad)}: must be whole milliseconds from 1000 to 86400000 (1 s to 24 h), e.g. 60000`,
      );
    }
  });

  it('VERDICT_SNAPSHOT_EVERY_ENTRIES: whole entries from 10 to 100,000,000, 10,000 when unset', () => {
    expect(loadEnvironment({ ...valid, VERDICT_SNAPSHOT_EVERY_ENTRIES: '50' }).snapshotEveryEntries).toBe(50);
    expect(
      loadEnvironment({ ...valid, VERDICT_SNAPSHOT_EVERY_ENTRIES: '100000000' }).snapshotEveryEntries,
    ).toBe(100_000_000);
    for (const bad of ['9', '100000001', '0', '2.5', '-50', '1e4', '']) {
      expect(errorOf({ ...valid, VERDICT_SNAPSHOT_EVERY_ENTRIES: bad })).toContain(
        `VERDICT_SNAPSHOT_EVERY_ENTRIES=${JSON.stringify(bad)}: must be a whole number of entries from 10 to 100000000, e.g. 10000`,
      );
    }
  });

  it('VERDICT_DECISION_LINGER_MS: whole milliseconds from 0 to 1000, 3 when unset', () => {
    expect(loadEnvironment({ ...valid, VERDICT_DECISION_LINGER_MS: '0' }).decisionLingerMs).toBe(0);
    expect(loadEnvironment({ ...valid, VERDICT_DECISION_LINGER_MS: '1000' }).decisionLingerMs).toBe(1_000);
    for (const bad of ['1001', '-1', '2.5', '3ms', '']) {
      expect(errorOf({ ...valid, VERDICT_DECISION_LINGER_MS: bad })).toContain(
        `VERDICT_DECISION_LINGER_MS=${JSON.stringify(bad)}: must be whole milliseconds from 0 (send at once) to 1000, e.g. 3`,
      );
    }
  });

  it('VERDICT_JOIN=true lets a node absent from VERDICT_PEERS start, to be added at run time', () => {
    const joining = { ...valid, VERDICT_NODE_ID: 'n4', VERDICT_RAFT_PORT: '7004' };
    expect(errorOf(joining)).toContain('or set VERDICT_JOIN=true to join a running cluster');
    expect(loadEnvironment({ ...joining, VERDICT_JOIN: 'true' })).toMatchObject({ nodeId: 'n4', join: true });
    expect(errorOf({ ...joining, VERDICT_JOIN: 'yes' })).toContain(
      'VERDICT_JOIN="yes": must be true (start empty',
    );
  });

  it('takes peer HTTP URLs for nodes that share a host, and only for known peers', () => {
    expect(
      loadEnvironment({
        ...valid,
        VERDICT_PEER_HTTP_URLS: 'n1=http://127.0.0.1:8081/,n3=http://127.0.0.1:8083',
      }).peerHttpUrls,
    ).toEqual({ n1: 'http://127.0.0.1:8081', n3: 'http://127.0.0.1:8083' });
    expect(errorOf({ ...valid, VERDICT_PEER_HTTP_URLS: 'n9=http://127.0.0.1:8089' })).toContain(
      'names n9, not in VERDICT_PEERS (n1, n2, n3)',
    );
    expect(errorOf({ ...valid, VERDICT_PEER_HTTP_URLS: 'n1=ftp://host' })).toContain(
      'must be a comma-separated list of <nodeId>=<http URL>',
    );
  });

  it('lists every bad variable with its value and the allowed range', () => {
    const message = errorOf({
      ...valid,
      VERDICT_HTTP_PORT: '99999',
      LOG_LEVEL: 'verbose',
      KAFKA_BROKERS: 'kafka',
    });
    expect(message).toContain('the coordinator environment is invalid');
    expect(message).toContain('VERDICT_HTTP_PORT="99999": must be an integer from 1 to 65535');
    expect(message).toContain('LOG_LEVEL="verbose": must be one of fatal, error, warn, info, debug, trace');
    expect(message).toContain(
      'KAFKA_BROKERS="kafka": entry 1 ("kafka") is wrong: must be a comma-separated list of host:port',
    );
  });

  it('names variables that are missing and says what they should hold', () => {
    const { VERDICT_DATA_DIR: _dataDirectory, DATABASE_URL: _databaseUrl, ...rest } = valid;
    const message = errorOf(rest);
    expect(message).toMatch(/VERDICT_DATA_DIR=\(not set\): is required: a directory/);
    expect(message).toMatch(/DATABASE_URL=\(not set\): is required: a URL like postgres:\/\//);
  });

  it('rejects a malformed peer entry and says which one', () => {
    expect(errorOf({ ...valid, VERDICT_PEERS: 'n1=coordinator-1:7000,n2=coordinator-2' })).toContain(
      'entry 2 ("n2=coordinator-2") is wrong: must be a comma-separated list of 1 to 7 <nodeId>=<host>:<raftPort>',
    );
  });

  it('requires this node among the voters, each voter once, and distinct ports', () => {
    expect(errorOf({ ...valid, VERDICT_NODE_ID: 'n4' })).toContain(
      'VERDICT_NODE_ID="n4": must be one of the voters in VERDICT_PEERS (n1, n2, n3)',
    );
    expect(errorOf({ ...valid, VERDICT_PEERS: 'n1=a:1,n2=b:1,n1=c:1' })).toContain(
      'lists node n1 more than once',
    );
    expect(errorOf({ ...valid, VERDICT_RAFT_PORT: '8080' })).toContain(
      'VERDICT_RAFT_PORT="8080": must differ from VERDICT_HTTP_PORT',
    );
  });

  it('never prints secrets, only their length', () => {
    const message = errorOf({
      ...valid,
      VERDICT_CLUSTER_SECRET: 'short',
      VERDICT_API_KEYS: 'tiny-key:service',
      DATABASE_URL: 'mysql://verdict:s3cret@db/verdict',
    });
    expect(message).toContain(
      'VERDICT_CLUSTER_SECRET=(hidden, 5 characters): must be at least 16 characters',
    );
    expect(message).toContain('VERDICT_API_KEYS=(hidden, 16 characters)');
    expect(message).toContain('DATABASE_URL="mysql://verdict:***@db/verdict"');
    expect(message).not.toMatch(/short|tiny-key|s3cret/);
  });

  it('rejects an API key role other than service or operator', () => {
    const message = errorOf({
      ...valid,
      VERDICT_API_KEYS: 'an-api-key-0123456789:operator,an-api-key-9876543210:admin',
    });
    expect(message).toContain(
      'VERDICT_API_KEYS=(hidden, 58 characters): entry 2 is wrong: must be a comma-separated list of <key>:<role> with role service or operator',
    );
    expect(message).not.toContain('an-api-key');
  });
});
