import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Actor, Role } from '../coordinator.port';

export const REQUIRED_ROLE = 'verdict:requiredRole';
export const PUBLIC_ROUTE = 'verdict:publicRoute';

/** The role a route needs; routes without it need `service`. */
export const Roles = (role: Role): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_ROLE, role);

/** No API key needed: probes and scrapers (health, metrics) carry none. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/**
 * Who made the request, as the guard authenticated it. Kept beside the request rather than on
 * it, so nothing a client sends can pose as it.
 */
const actors = new WeakMap<FastifyRequest, Actor>();

export function rememberActor(request: FastifyRequest, actor: Actor): void {
  actors.set(request, actor);
}

export const CurrentActor = createParamDecorator((_data: unknown, context: ExecutionContext): Actor => {
  const actor = actors.get(context.switchToHttp().getRequest<FastifyRequest>());
  // The guard runs before every handler; a handler without an actor means a route was made public by mistake.
  if (actor === undefined)
    throw new Error('CurrentActor used on a route the API key guard did not authenticate');
  return actor;
});
