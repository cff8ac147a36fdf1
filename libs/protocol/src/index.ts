// For its effect alone: kafkajs's request queues stop re-arming a 1 ms timer while idle.
import './kafka-request-queue';

export * from './asyncapi';
export * from './codec';
export * from './dead-letter';
export * from './ids';
export * from './messages';
export * from './topics';
export * from './kafka-compression';
export * from './kafka-consumer-keeper';
export * from './produce-chunks';
export * from './offset-commits';
export * from './kafka-partitioner';
