import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { CurrentActor } from './auth/auth.decorators';
import { ROLES, type Actor, type Role } from './coordinator.port';
import { ApiProblems } from './openapi.decorators';

export class SessionDto {
  @ApiProperty({ enum: ROLES, description: 'What the key may do: operator adds the admin routes.' })
  role!: Role;

  @ApiProperty({
    example: 'operator:3f9a0c1d2e4b',
    description: 'How operator actions by this key are recorded: the role and a fingerprint, never the key.',
  })
  actor!: string;
}

/**
 * Who the presented key is. A client (the console, the CLI) asks once after login to decide
 * what to offer, instead of probing an operator route and reading a 403.
 */
@ApiTags('session')
@Controller('v1/session')
export class SessionController {
  @Get()
  @ApiOperation({ summary: 'The role of the API key sent', description: 'Answered locally by any node.' })
  @ApiOkResponse({ type: SessionDto })
  @ApiProblems()
  session(@CurrentActor() actor: Actor): SessionDto {
    return { role: actor.role, actor: actor.name };
  }
}
