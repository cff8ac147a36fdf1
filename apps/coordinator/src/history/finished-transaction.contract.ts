// Compile-time contract, checked by `tsc --noEmit`: what the engine's `archive` effect carries is
// what the history stores, and what the history reads back (apart from `decision.cause`, a plain
// string here) is an engine record. Either line stops compiling when the two types drift apart.
import type { FinishedTransactionRecord } from '../engine/effects';
import type { FinishedTransaction } from './finished-transaction';

type Holds<Condition extends true> = Condition;

export type EngineRecordIsArchivable = Holds<
  FinishedTransactionRecord extends FinishedTransaction ? true : false
>;
export type ArchivedRecordIsEngineShaped = Holds<
  Omit<FinishedTransaction, 'decision'> extends Omit<FinishedTransactionRecord, 'decision'> ? true : false
>;
