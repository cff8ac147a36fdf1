import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ProblemDto } from './dto/response.dto';
import { PROBLEM_CONTENT_TYPE, PROBLEM_KINDS, type ProblemCode } from './problem';

/** Any authenticated route. */
const ALWAYS: readonly ProblemCode[] = ['UNAUTHENTICATED', 'INTERNAL'];

/** A route the coordinator serves on the leader only: a follower forwards it or fails. */
export const LEADER_BOUND: readonly ProblemCode[] = [
  'VALIDATION_FAILED',
  'NO_LEADER',
  'LEADER_UNREACHABLE',
  'LEADER_TIMEOUT',
];

/** A route that takes a JSON body. */
export const WITH_BODY: readonly ProblemCode[] = [
  'MALFORMED_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
];

/**
 * Documents the problem responses of a route: one entry per status, listing the codes a client
 * may see under it, each with the `application/problem+json` schema.
 */
export function ApiProblems(...codes: readonly ProblemCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of new Set([...ALWAYS, ...codes])) {
    const status = PROBLEM_KINDS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ApiBearerAuth(),
    ApiExtraModels(ProblemDto),
    ...[...byStatus].map(([status, statusCodes]) =>
      ApiResponse({
        status,
        description: statusCodes.map((code) => `${code}: ${PROBLEM_KINDS[code].title}`).join('; '),
        content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: getSchemaPath(ProblemDto) } } },
      }),
    ),
  );
}
