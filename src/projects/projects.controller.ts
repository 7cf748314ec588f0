import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Auth, Authenticated } from '../access/access.decorators.js';
import { Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { ErrorDialect } from '../common/errors/error-dialect.js';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto.js';
import { NEXT_PAGE_HEADERS, setNextPage } from '../common/http/link-header.js';
import { UuidParam } from '../common/http/uuid-param.js';
import {
  CreateProjectDto,
  DeletedDto,
  ListProjectsQueryDto,
  ProjectDto,
  UpdateProjectDto,
} from './dto/projects.dto.js';
import { ProjectsService } from './projects.service.js';
import { ConfirmsInvalidation } from '../verification/invalidation-confirmation.js';

/** Calyptia-style projects: errors in Calyptia's shape, `last` + `before` paging with a `Link` header. */
@ErrorDialect('calyptia')
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
  @ConfirmsInvalidation({ acrossInstances: false })
  @Authenticated({ permission: Permission.CreateProject })
  @ApiOperation({
    operationId: 'createProject',
    summary: 'Create a project',
    description: 'Only a token confined to no project may create projects. Names are unique and stored literally.',
  })
  @ApiBody({ type: CreateProjectDto, examples: { 'a project': { value: { name: 'my-project' } } } })
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
      'Global tokens see every project (or their scope); a project token sees its own project. Page with ' +
      '`last` (page size) and `before`: while more remain, `Link: <…?before=…>; rel="next"` names the next ' +
      'page (and `X-Next-Cursor` holds the same cursor, which `cursor` also accepts).',
  })
  @ApiOkResponse({ type: [ProjectDto], headers: NEXT_PAGE_HEADERS })
  async list(
    @Auth() caller: Principal,
    @Query() query: ListProjectsQueryDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ProjectDto[]> {
    const { items, next } = await this.service.list(caller, query);
    setNextPage(request, reply, next);
    return items;
  }

  @Get(':projectID')
  @Authenticated({ permission: Permission.ReadProject, projectParam: 'projectID' })
  @ApiOperation({
    operationId: 'project',
    summary: 'Get a project',
    description: "A project outside the caller's scope is 404, like an unknown one.",
  })
  @ApiOkResponse({ type: ProjectDto })
  get(@Auth() caller: Principal, @UuidParam('projectID') projectId: string): Promise<ProjectDto> {
    return this.service.get(caller, projectId);
  }

  @Patch(':projectID')
  @HttpCode(204)
  @ConfirmsInvalidation()
  @Authenticated({ permission: Permission.UpdateProject, projectParam: 'projectID' })
  @ApiOperation({ operationId: 'updateProject', summary: 'Rename a project (null or absent name: unchanged)' })
  @ApiNoContentResponse({ description: 'Updated' })
  @ApiConflictResponse({ description: 'A project with this name already exists', type: ErrorEnvelopeDto })
  update(
    @Auth() caller: Principal,
    @UuidParam('projectID') projectId: string,
    @Body() dto: UpdateProjectDto,
  ): Promise<void> {
    return this.service.update(caller, projectId, dto);
  }

  @Delete(':projectID')
  @ConfirmsInvalidation()
  @HttpCode(200)
  @Authenticated({ permission: Permission.DeleteProject, projectParam: 'projectID' })
  @ApiOperation({
    operationId: 'deleteProject',
    summary: 'Delete a project; its tokens are revoked at once',
    description:
      'Revokes every token of the project (and global tokens narrowed to it alone), then deletes it. The ' +
      "project's name is free again.",
  })
  @ApiOkResponse({ type: DeletedDto })
  remove(@Auth() caller: Principal, @UuidParam('projectID') projectId: string): Promise<DeletedDto> {
    return this.service.remove(caller, projectId);
  }
}
