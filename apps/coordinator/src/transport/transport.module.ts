import { ConfigurableModuleBuilder, Module } from '@nestjs/common';
import { CoordinatorMetrics } from '../observability/metrics';
import { KafkaParticipantChannel } from './kafka-participant-channel';
import { PARTICIPANT_CHANNEL } from './participant-channel';
import { ParticipantBreakers } from './participant-breakers';
import type { TransportOptions } from './transport-options';

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } = new ConfigurableModuleBuilder<TransportOptions>()
  .setClassMethodName('forRoot')
  .build();

/**
 * Kafka traffic to and from participants, and their circuit breakers. Exports the
 * `ParticipantChannel` port (token `PARTICIPANT_CHANNEL`) and `ParticipantBreakers`.
 *
 * `TransportModule.forRoot(options)` or `forRootAsync({ useFactory, inject })`. The channel
 * connects in `onModuleInit`, so the application does not start without a reachable broker.
 */
@Module({
  providers: [
    {
      provide: ParticipantBreakers,
      inject: [MODULE_OPTIONS_TOKEN],
      useFactory: (options: TransportOptions) => new ParticipantBreakers(options.breakers),
    },
    {
      provide: KafkaParticipantChannel,
      inject: [MODULE_OPTIONS_TOKEN, ParticipantBreakers, { token: CoordinatorMetrics, optional: true }],
      useFactory: (
        options: TransportOptions,
        breakers: ParticipantBreakers,
        metrics: CoordinatorMetrics | undefined,
      ) =>
        new KafkaParticipantChannel(options, breakers, {
          onRepliesConsumerRebuilt: () => metrics?.recordKafkaConsumerRebuild('replies'),
          onRepliesConsumerState: (up) => metrics?.setKafkaConsumerUp('replies', up),
          onProduceRequest: () => metrics?.recordKafkaProduceRequest(),
        }),
    },
    { provide: PARTICIPANT_CHANNEL, useExisting: KafkaParticipantChannel },
  ],
  exports: [PARTICIPANT_CHANNEL, ParticipantBreakers],
})
export class TransportModule extends ConfigurableModuleClass {}
