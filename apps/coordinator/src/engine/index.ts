// The pure 2PC engine: commands in, effects out. No I/O, no clock, no randomness, no framework.
export * from './assert';
export * from './commands';
export * from './effects';
export * from './entries';
export { isoTime, transition, txState, type Transition } from './engine';
export * from './limits';
export * from './queries';
export * from './snapshot';
export { createEngineState, type EngineState } from './state';
export * from './types';
