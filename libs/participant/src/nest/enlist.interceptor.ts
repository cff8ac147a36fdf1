import {
  applyDecorators,
  BadRequestException,
  HttpException,
  Inject,
  Injectable,
  ServiceUnavailableException,
  SetMetadata,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Observable } from 'rxjs';
import {
  CoordinatorClient,
  CoordinatorRejectedError,
  CoordinatorUnavailableError,
} from '../coordinator-client';
import { enlistFromHeaders, InvalidTransactionHeaderError, type IncomingHeaders } from '../enlist';
import type { ParticipantOptions } from '../options';
import { VERDICT_PARTICIPANT_OPTIONS } from './tokens';

/** The request as far as enlisting cares: its headers, and where the transaction id is left. */
export interface EnlistableRequest {
  headers: IncomingHeaders;
  verdictTxId?: string;
}

export type EnlistPayload = (request: EnlistableRequest) => unknown;

const ENLIST_PAYLOAD = Symbol('verdict:enlist-payload');

/**
 * On a route: when the request carries `Verdict-Transaction`, enlist this participant in that
 * transaction (with the payload built from the request) before the handler runs, and leave the id
 * on `request.verdictTxId`. Without the header the handler runs outside any transaction.
 */
export function Enlist(payload?: EnlistPayload): MethodDecorator & ClassDecorator {
  return applyDecorators(SetMetadata(ENLIST_PAYLOAD, payload ?? null), UseInterceptors(EnlistInterceptor));
}

@Injectable()
export class EnlistInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly coordinator: CoordinatorClient,
    @Inject(VERDICT_PARTICIPANT_OPTIONS) private readonly options: ParticipantOptions,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const request = context.switchToHttp().getRequest<EnlistableRequest>();
    const buildPayload = this.reflector.getAllAndOverride<EnlistPayload | null | undefined>(ENLIST_PAYLOAD, [
      context.getHandler(),
      context.getClass(),
    ]);
    const payload = buildPayload == null ? undefined : buildPayload(request);
    try {
      const txId = await enlistFromHeaders(request.headers, this.coordinator, {
        name: this.options.name,
        ...(payload === undefined ? {} : { payload }),
      });
      if (txId !== null) request.verdictTxId = txId;
    } catch (error) {
      throw toHttpException(error);
    }
    return next.handle();
  }
}

function toHttpException(error: unknown): unknown {
  if (error instanceof InvalidTransactionHeaderError) {
    return new BadRequestException({ code: 'INVALID_TRANSACTION_HEADER', message: error.message });
  }
  if (error instanceof CoordinatorUnavailableError) {
    return new ServiceUnavailableException({ code: 'COORDINATOR_UNAVAILABLE', message: error.message });
  }
  if (error instanceof CoordinatorRejectedError) {
    const code =
      typeof error.problem === 'object' && error.problem !== null && 'code' in error.problem
        ? error.problem.code
        : 'ENLIST_REFUSED';
    return new HttpException({ code, message: error.message }, error.status);
  }
  return error;
}
