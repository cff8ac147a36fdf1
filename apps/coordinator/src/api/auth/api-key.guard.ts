import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { Role } from '../coordinator.port';
import { makeProblem, ProblemException } from '../problem';
import { ApiKeys, roleSatisfies } from './api-keys';
import { PUBLIC_ROUTE, REQUIRED_ROLE, rememberActor } from './auth.decorators';

const BEARER = /^Bearer +(\S+) *$/i;

/** Global guard: every Nest route needs a key unless marked `@Public()`. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeys,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_ROUTE, targets) === true) return true;

    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (token === undefined) {
      throw unauthenticated('send an API key as "Authorization: Bearer <key>"', 'Bearer realm="verdict"');
    }
    const actor = this.apiKeys.authenticate(token);
    if (actor === null) {
      throw unauthenticated(
        'the API key is not one this cluster accepts; check VERDICT_API_KEYS',
        'Bearer realm="verdict", error="invalid_token"',
      );
    }
    const required = this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, targets) ?? 'service';
    if (!roleSatisfies(actor.role, required)) {
      throw new ProblemException(
        makeProblem(
          'FORBIDDEN',
          `this route needs a key with role ${required}; the key sent has role ${actor.role}`,
          {
            requiredRole: required,
          },
        ),
      );
    }
    rememberActor(request, actor);
    return true;
  }
}

function unauthenticated(detail: string, challenge: string): ProblemException {
  return new ProblemException(makeProblem('UNAUTHENTICATED', detail), { 'WWW-Authenticate': challenge });
}
