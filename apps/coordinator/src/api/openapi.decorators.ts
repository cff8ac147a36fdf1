import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ProblemDto } from './dto/response.dto';
import { PROBLEM_CONTENT_TYPE, PROBLEM_KINDS, type ProblemCode } from './problem';

/** Codes any leader-bound route can answer, besides its own. */
const LEADER_ROUTE_CODES: readonly ProblemCode[] = [
  'UNAUTHENTICATED',
  'VALIDATION_FAILED',
  'NO_LEADER',
  'LEADER_UNREACHABLE',
  'LEADER_TIMEOUT',
];

/**
 * Documents the problem responses of a route: one entry per status, listing the codes a client
 * may see under it, each with the `application/problem+json` schema.
 */
export function ApiProblems(...codes: readonly ProblemCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of new Set([...LEADER_ROUTE_CODES, ...codes])) {
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
