import type { CoordinatorEnvironment } from '../config/environment';
import type { HistoryModuleOptions } from '../history/history.module';
import type { TransportOptions } from '../transport/transport-options';
import type { StartupAddresses } from './member-addresses';

/**
 * Every timing and size the coordinator runs with, derived from its environment in one place so
 * that their relationships can be read (and checked) together.
 */
export interface ClusterSettings {
  /** Base URL of every member's HTTP API, for forwarding requests to the leader. */
  readonly httpUrls: Readonly<Record<string, string>>;
  /** Raft and HTTP addresses of the nodes VERDICT_PEERS names; see resolveAddresses. */
  readonly startupAddresses: StartupAddresses;
  readonly raftListenHost: string;
  /** One Raft tick. Election timeout = electionTicks ticks (randomised up to twice that). */
  readonly tickIntervalMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly snapshotEveryEntries: number;
  /** How often the engine hears the clock: deadlines and re-sends are this precise. */
  readonly engineTickIntervalMs: number;
  readonly transport: TransportOptions;
  readonly history: HistoryModuleOptions;
}

export function clusterSettings(environment: CoordinatorEnvironment): ClusterSettings {
  const httpUrls: Record<string, string> = {};
  for (const peer of environment.peers) {
    httpUrls[peer.nodeId] =
      environment.peerHttpUrls[peer.nodeId] ?? `http://${peer.host}:${environment.httpPort}`;
  }
  const startupAddresses: Record<string, { raftAddress: string; httpUrl: string }> = {};
  for (const peer of environment.peers) {
    startupAddresses[peer.nodeId] = {
      raftAddress: `${peer.host}:${peer.raftPort}`,
      httpUrl: httpUrls[peer.nodeId] ?? `http://${peer.host}:${environment.httpPort}`,
    };
  }
  return {
    httpUrls,
    startupAddresses,
    raftListenHost: '0.0.0.0',
    // 50 ms ticks, elections after 500–1000 ms of silence, heartbeats every 100 ms: fast failover
    // while a loaded 2-core machine still delivers heartbeats well inside the timeout.
    tickIntervalMs: 50,
    electionTicks: 10,
    heartbeatTicks: 2,
    snapshotEveryEntries: environment.snapshotEveryEntries,
    engineTickIntervalMs: 25,
    transport: {
      nodeId: environment.nodeId,
      brokers: environment.kafkaBrokers,
      connectionTimeoutMs: 3_000,
      requestTimeoutMs: 10_000,
      produceTimeoutMs: 5_000,
      retries: 5,
      retryDelayMs: 100,
      retryDelayMsMax: 2_000,
      sendQueueMessagesMax: 100_000,
      sendBatchBytesMax: 4 * 1024 * 1024,
      decisionLingerMs: environment.decisionLingerMs,
      consumer: {
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 1_000,
        rebalanceTimeoutMs: 10_000,
        // Only an idle fetch lasts this long: the broker answers a waiting fetch as soon as a reply
        // is appended. Each idle fetch costs the broker: three nodes at 5 ms and two participants
        // at 50 ms kept an idle one at 0.43 of a core here, at 500 ms and 500 ms about 0.05.
        maxWaitTimeMs: 500,
        // Every fetch costs a follower a request and its broker an answer: at 800 transactions/s
        // reading each reply as it came was about half of a follower's CPU.
        followerReadIntervalMs: 1_000,
        // A node that starts late must still see replies sent before its consumer joined.
        fromBeginning: true,
      },
      topics: { numPartitions: 1, replicationFactor: 1 },
      breakers: {
        failuresToOpen: 5,
        resetTimeoutMs: 10_000,
        // Above the default prepare timeout, so a slow but healthy participant can close it.
        probeTimeoutMs: 35_000,
      },
    },
    history: {
      database: {
        url: environment.databaseUrl,
        poolSize: 4,
        connectTimeoutMs: 3_000,
        statementTimeoutMs: 10_000,
        reconnectDelayMs: 250,
        reconnectDelayMsMax: 5_000,
        applicationName: `verdict-coordinator-${environment.nodeId}`,
      },
      archiver: {
        capacity: 100_000,
        batchSizeMax: 500,
        // At 900 transactions/s, writing as soon as the previous write returned made batches of
        // about 5; 50 ms makes them about 45.
        lingerMs: 50,
        retryDelayMs: 200,
        retryDelayMsMax: 5_000,
      },
    },
  };
}
