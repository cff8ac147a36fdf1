import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from './auth/auth.decorators';
import { COORDINATOR, type CoordinatorPort } from './coordinator.port';
import { toClusterStatusDto, toMemberInput } from './dto/mappers';
import { AddMemberDto, LeadershipTransferDto, NodeIdParam } from './dto/request.dto';
import { ClusterStatusDto } from './dto/response.dto';
import { ApiProblems, LEADER_BOUND, WITH_BODY } from './openapi.decorators';

@ApiTags('cluster')
@Controller('v1/cluster')
export class ClusterController {
  constructor(@Inject(COORDINATOR) private readonly coordinator: CoordinatorPort) {}

  @Get()
  @ApiOperation({
    summary: "This node's view of the cluster",
    description: 'Answered locally, also by followers.',
  })
  @ApiOkResponse({ type: ClusterStatusDto })
  @ApiProblems()
  status(): Promise<ClusterStatusDto> {
    return this.coordinator.clusterStatus().then(toClusterStatusDto);
  }

  @Post('leadership-transfer')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({
    summary: 'Hand leadership to another node (operator)',
    description: 'For rolling restarts.',
  })
  @ApiOkResponse({ type: ClusterStatusDto })
  @ApiProblems(...LEADER_BOUND, ...WITH_BODY, 'FORBIDDEN', 'CLUSTER_CHANGE_REJECTED')
  transferLeadership(@Body() body: LeadershipTransferDto): Promise<ClusterStatusDto> {
    return this.coordinator.transferLeadership(body.to).then(toClusterStatusDto);
  }

  @Post('members')
  @Roles('operator')
  @ApiOperation({
    summary: 'Add a voting member (operator)',
    description: 'Answers once the new configuration is durable.',
  })
  @ApiCreatedResponse({ type: ClusterStatusDto })
  @ApiProblems(...LEADER_BOUND, ...WITH_BODY, 'FORBIDDEN', 'CLUSTER_CHANGE_REJECTED')
  addMember(@Body() body: AddMemberDto): Promise<ClusterStatusDto> {
    return this.coordinator.addMember(toMemberInput(body)).then(toClusterStatusDto);
  }

  @Delete('members/:nodeId')
  @Roles('operator')
  @ApiOperation({
    summary: 'Remove a member (operator)',
    description: 'Answers once the new configuration is durable.',
  })
  @ApiOkResponse({ type: ClusterStatusDto })
  @ApiProblems(...LEADER_BOUND, 'FORBIDDEN', 'MEMBER_NOT_FOUND', 'CLUSTER_CHANGE_REJECTED')
  removeMember(@Param() { nodeId }: NodeIdParam): Promise<ClusterStatusDto> {
    return this.coordinator.removeMember(nodeId).then(toClusterStatusDto);
  }
}
