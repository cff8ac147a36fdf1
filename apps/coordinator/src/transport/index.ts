export * from './kafka-participant-channel';
export * from './participant-breakers';
export * from './participant-channel';
export * from './transport-options';
export * from './transport.module';
