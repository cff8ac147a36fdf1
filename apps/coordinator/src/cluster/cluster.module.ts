import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  FileSnapshotStore,
  RaftNode,
  SegmentedLogStore,
  TcpTransport,
  Xoshiro128,
  type Membership,
  type RaftLogLogger,
} from '@verdict/raft-log';
import { COORDINATOR } from '../api/coordinator.port';
import type { CoordinatorEnvironment } from '../config/environment';
import { Archiver } from '../history/archiver';
import { HistoryModule } from '../history/history.module';
import { HISTORY_STORE, type HistoryStore } from '../history/history-store';
import { CoordinatorMetrics } from '../observability/metrics';
import { READINESS } from '../observability/readiness.port';
import type { TransactionTracing } from '../observability/tracing-transactions';
import { ParticipantBreakers } from '../transport/participant-breakers';
import { PARTICIPANT_CHANNEL, type ParticipantChannel } from '../transport/participant-channel';
import { TracingParticipantChannel } from '../transport/tracing-participant-channel';
import { TransportModule } from '../transport/transport.module';
import { CoordinatorHost } from './coordinator-host';
import { clusterSettings, type ClusterSettings } from './cluster-settings';
import { raftPeers, recordableAddresses, resolveAddresses } from './member-addresses';

/**
 * A caught-up follower wins within one election round (~100 ms); when the whole cluster stops at
 * once nobody takes over, and waiting longer would only delay the stop.
 */
const SHUTDOWN_TRANSFER_TIMEOUT_MS = 1_500;
const ENVIRONMENT = Symbol('verdict:CoordinatorEnvironment');
const SETTINGS = Symbol('verdict:ClusterSettings');
/** Exit status of a coordinator whose Raft member stopped after a failure (EX_SOFTWARE). */
const EXIT_RAFT_FAILURE = 70;

function raftLogger(logger: Logger): RaftLogLogger {
  return {
    info: (message, fields) => logger.log({ msg: message, ...fields }),
    warn: (message, fields) => logger.warn({ msg: message, ...fields }),
  };
}

/**
 * Starts this node's Raft member once the app is wired, and stops it last: on shutdown a leader
 * first hands leadership to a caught-up follower, so a rolling restart costs no election timeout.
 */
@Injectable()
class RaftLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Cluster');
  private node: RaftNode | null = null;

  constructor(
    @Inject(ENVIRONMENT) private readonly environment: CoordinatorEnvironment,
    @Inject(SETTINGS) private readonly settings: ClusterSettings,
    private readonly host: CoordinatorHost,
    private readonly metrics: CoordinatorMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { environment, settings } = this;
    const logger = raftLogger(this.logger);
    const clusterId = createHash('sha256').update(environment.clusterSecret).digest('hex').slice(0, 16);
    const voters = environment.peers.map((peer) => peer.nodeId);
    // A founding node starts from the configured voters and their addresses; a joining one from
    // nothing: it never campaigns and waits for the leader's configuration (README of raft-log's
    // core). Either way, once the log holds a configuration, that is what counts.
    const bootstrapMembership: Membership = environment.join
      ? { voters: [], learners: [] }
      : {
          voters,
          learners: [],
          addresses: recordableAddresses(
            resolveAddresses({ voters, learners: [] }, settings.startupAddresses),
          ),
        };
    const transport = await TcpTransport.start({
      nodeId: environment.nodeId,
      listenHost: settings.raftListenHost,
      listenPort: environment.raftPort,
      peers: raftPeers(resolveAddresses(bootstrapMembership, settings.startupAddresses), environment.nodeId),
      clusterSecret: Buffer.from(environment.clusterSecret, 'utf8'),
      logger,
    });
    const logStore = new SegmentedLogStore({
      directory: join(environment.dataDirectory, 'log'),
      nodeId: environment.nodeId,
      clusterId,
      logger,
    });
    this.metrics.countRaftLogSyncs(() => logStore.stats().datasyncs);
    this.node = await RaftNode.start({
      raft: {
        nodeId: environment.nodeId,
        // Seeded per node so election timeouts differ between nodes but replay within one.
        rng: new Xoshiro128(
          Number.parseInt(createHash('sha256').update(environment.nodeId).digest('hex').slice(0, 8), 16),
        ),
        electionTicks: settings.electionTicks,
        heartbeatTicks: settings.heartbeatTicks,
      },
      bootstrapMembership,
      logStore,
      snapshotStore: new FileSnapshotStore({
        directory: join(environment.dataDirectory, 'snapshots'),
        logger,
      }),
      transport,
      stateMachine: this.host,
      logger,
      tickIntervalMs: settings.tickIntervalMs,
      snapshotEveryEntries: settings.snapshotEveryEntries,
      nodeAddresses: settings.httpUrls,
      // Fail-stop: a process whose Raft member stopped would keep answering HTTP while taking no
      // part in the cluster. Ending it lets the supervisor restart it from the durable log.
      onFailure: (error) => {
        this.logger.fatal(`${error.message}: exiting so that this node restarts from its log`);
        process.exit(EXIT_RAFT_FAILURE);
      },
    });
    this.node.onMembershipChange((membership) => transport.setPeers(this.host.membershipChanged(membership)));
    await this.host.attach(this.node);
    const { membership } = this.node.status();
    this.logger.log(
      membership.voters.length === 0
        ? `raft member ${environment.nodeId} started to join: waiting for the leader to add it (POST /v1/cluster/members)`
        : `raft member ${environment.nodeId} started; voters ${membership.voters.join(', ')}`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    const node = this.node;
    if (node === null) return;
    this.node = null;
    if (node.status().role === 'leader') {
      try {
        const status = await this.host.transferLeadership(undefined, SHUTDOWN_TRANSFER_TIMEOUT_MS);
        this.logger.log(`handed leadership to ${status.leaderId ?? 'nobody'} before shutdown`);
      } catch (error) {
        this.logger.warn(`leadership transfer before shutdown failed: ${(error as Error).message}`);
      }
    }
    this.host.detach();
    await node.close();
  }
}

/**
 * The cluster host: one Raft member carrying the 2PC engine, with Kafka transport and the
 * PostgreSQL history. Exports COORDINATOR and READINESS for the HTTP edge.
 */
@Module({})
export class ClusterModule {
  /** `tracing` is null when traces are off: the channel is then used as it is. */
  static forRoot(
    environment: CoordinatorEnvironment,
    metrics: CoordinatorMetrics,
    tracing: TransactionTracing | null = null,
  ): DynamicModule {
    const settings = clusterSettings(environment);
    return {
      module: ClusterModule,
      imports: [TransportModule.forRoot(settings.transport), HistoryModule.forRoot(settings.history)],
      providers: [
        { provide: ENVIRONMENT, useValue: environment },
        { provide: SETTINGS, useValue: settings },
        { provide: CoordinatorMetrics, useValue: metrics },
        {
          provide: CoordinatorHost,
          inject: [PARTICIPANT_CHANNEL, ParticipantBreakers, Archiver, HISTORY_STORE],
          useFactory: (
            channel: ParticipantChannel,
            breakers: ParticipantBreakers,
            archiver: Archiver,
            history: HistoryStore,
          ): CoordinatorHost => {
            const logger = new Logger('Coordinator');
            return new CoordinatorHost({
              nodeId: environment.nodeId,
              startupAddresses: settings.startupAddresses,
              channel: tracing === null ? channel : new TracingParticipantChannel(channel, tracing),
              ...(tracing !== null && { tracing }),
              breakers,
              archiver,
              history,
              metrics,
              logger: {
                log: (message, context) => logger.log({ msg: message, ...context }),
                warn: (message, context) => logger.warn({ msg: message, ...context }),
                error: (message, context) => logger.error({ msg: message, ...context }),
              },
              clock: Date.now,
              tickIntervalMs: settings.engineTickIntervalMs,
              stuckAfterMs: environment.stuckAfterMs,
            });
          },
        },
        RaftLifecycle,
        { provide: COORDINATOR, useExisting: CoordinatorHost },
        { provide: READINESS, useExisting: CoordinatorHost },
      ],
      exports: [COORDINATOR, READINESS],
    };
  }
}
