export * from './archiver';
export * from './finished-transaction';
export * from './history-database';
export * from './history-store';
export * from './history.module';
