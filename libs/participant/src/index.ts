// The participant SDK's public API. docs/participants.md explains the protocol it implements.
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
export {
  startOpenTelemetry,
  tracesRequested,
  type OpenTelemetryHandle,
  type OpenTelemetryOptions,
} from './opentelemetry';
export type { ParticipantKafkaOptions, ParticipantOptions } from './options';
export { startParticipant, type ParticipantHandle } from './participant';
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
  VERDICT_PARTICIPANT_OPTIONS,
  VerdictParticipantModule,
  type VerdictParticipantAsyncOptions,
} from './nest/participant.module';
