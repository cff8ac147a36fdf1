export * from './asyncapi';
export * from './codec';
export * from './dead-letter';
export * from './ids';
export * from './messages';
export * from './topics';
