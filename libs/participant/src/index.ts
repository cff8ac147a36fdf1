export { ConcurrencyLimit, KeyedSerializer } from './concurrency';
export { CommandHandler, type Handled } from './command-handler';
export {
  CoordinatorClient,
  CoordinatorRejectedError,
  CoordinatorUnavailableError,
  type BeginRequest,
  type CoordinatorClientOptions,
} from './coordinator-client';
export {
  enlistFromHeaders,
  InvalidTransactionHeaderError,
  TRANSACTION_HEADER,
  transactionIdFrom,
  type IncomingHeaders,
} from './enlist';
export { jsonLineLogger } from './logger';
export { participantSettings, type ParticipantKafkaOptions, type ParticipantOptions } from './options';
export { Participant, startParticipant, type ParticipantHandle } from './participant';
export { ParticipantMemory, planCommand, type Plan, type TxMemory, type VoteRecord } from './promises';
export type {
  DecisionRequest,
  ParticipantLogger,
  ParticipantService,
  PrepareRequest,
  PrepareResult,
} from './service';
export {
  Enlist,
  EnlistInterceptor,
  type EnlistableRequest,
  type EnlistPayload,
} from './nest/enlist.interceptor';
export {
  ParticipantLifecycle,
  VERDICT_PARTICIPANT_OPTIONS,
  VerdictParticipantModule,
  type VerdictParticipantAsyncOptions,
} from './nest/participant.module';
