import { Body, Controller, Get, HttpCode, Post, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Auth, Authenticated } from '../access/access.decorators.js';
import { Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { ErrorEnvelopeDto } from '../common/error-envelope.dto.js';
import { UuidParam } from '../common/uuid-param.js';
import { CreateProjectDto, ListProjectsQueryDto, ProjectDto } from './dto/projects.dto.js';
import { ProjectsService } from './projects.service.js';

@ApiTags('projects')
@ApiBadRequestResponse({
  description: 'Malformed JSON, unknown or invalid fields, malformed UUID',
  type: ErrorEnvelopeDto,
})
@Controller('v1/projects')
export class ProjectsController {
  constructor(private readonly service: ProjectsService) {}

  @Post()
  @HttpCode(201)
  @Authenticated({ permission: Permission.CreateProject })
  @ApiOperation({
    operationId: 'createProject',
    summary: 'Create a project',
    description: 'Only a token confined to no project may create projects.',
  })
  @ApiCreatedResponse({ type: ProjectDto })
  @ApiConflictResponse({ description: 'A project with this name already exists', type: ErrorEnvelopeDto })
  create(@Auth() caller: Principal, @Body() dto: CreateProjectDto): Promise<ProjectDto> {
    return this.service.create(caller, dto);
  }

  @Get()
  @Authenticated({ permission: Permission.ReadProject })
  @ApiOperation({
    operationId: 'projects',
    summary: 'List the projects the token may see, newest first',
    description:
      'Global tokens see every project (or their scope); a project token sees its own project. ' +
      'When more remain, the `X-Next-Cursor` response header holds the `cursor` of the next page.',
  })
  @ApiOkResponse({
    type: [ProjectDto],
    headers: {
      'X-Next-Cursor': { description: 'Cursor of the next page; absent on the last page', schema: { type: 'string' } },
    },
  })
  async list(
    @Auth() caller: Principal,
    @Query() query: ListProjectsQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ProjectDto[]> {
    const { items, next } = await this.service.list(caller, query);
    if (next) reply.header('X-Next-Cursor', next);
    return items;
  }

  @Get(':projectID')
  @Authenticated({ permission: Permission.ReadProject, projectParam: 'projectID' })
  @ApiOperation({ operationId: 'project', summary: 'Get a project' })
  @ApiOkResponse({ type: ProjectDto })
  get(@Auth() caller: Principal, @UuidParam('projectID') projectId: string): Promise<ProjectDto> {
    return this.service.get(caller, projectId);
  }
}
