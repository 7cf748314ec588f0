import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Auth, Authenticated } from '../../../access/access.decorators.js';
import { Permission } from '../../../access/permissions.js';
import type { Principal } from '../../../access/principal.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorDialect } from '../../../common/errors/error-dialect.js';
import { ErrorEnvelopeDto } from '../../../common/errors/error-envelope.dto.js';
import { NEXT_PAGE_HEADERS, setNextPage } from '../../../common/http/link-header.js';
import { UuidParam } from '../../../common/http/uuid-param.js';
import {
  CreateProjectTokenDto,
  ListProjectTokensQueryDto,
  ProjectTokenCreatedDto,
  ProjectTokenDto,
  UpdateProjectTokenDto,
} from './project-tokens.dto.js';
import { ProjectTokensMapper } from './project-tokens.mapper.js';
import { ConfirmsInvalidation } from '../../../verification/invalidation-confirmation.js';

const RENAME_EXAMPLE = { rename: { value: { name: 'renamed-token', permissions: ['read:*'] } } };
/** How many tokens created through the deleted one (recursively) were revoked with it. */
const REVOKED_HEADER = 'X-Revoked-Descendants';
const DELETED = {
  description: 'Deleted: the token, and every token created through it, no longer authenticates',
  headers: {
    [REVOKED_HEADER]: {
      description: 'How many tokens created through this one (recursively) were revoked with it',
      schema: { type: 'integer' as const },
    },
  },
};
const NO_TOKEN = { description: "No such token (or not in the caller's projects)", type: ErrorEnvelopeDto };
const NAME_TAKEN = { description: 'A token with this name already exists in the project', type: ErrorEnvelopeDto };

/**
 * Calyptia-style project tokens. The single-token routes live at `/v1/project_tokens/{tokenID}` and,
 * confined to one project, at `/v1/projects/{projectID}/tokens/{tokenID}`. Errors are in Calyptia's
 * shape (`{"error":"<message>","detail":…}`), as Calyptia's clients decode them.
 */
@ErrorDialect('calyptia')
@ApiTags('project tokens')
@ApiBadRequestResponse({
  description: 'Malformed JSON, unknown or invalid fields, malformed UUID',
  type: ErrorEnvelopeDto,
})
@Controller('v1')
export class ProjectTokensController {
  constructor(private readonly service: ProjectTokensMapper) {}

  @Post('projects/:projectID/tokens')
  @HttpCode(201)
  @Authenticated({ permission: Permission.CreateToken, projectParam: 'projectID' })
  @ApiOperation({
    operationId: 'createToken',
    summary: 'Create a token in a project (the secret is returned once, here)',
    description: 'The caller may grant only permissions it holds itself.',
  })
  @ApiBody({
    type: CreateProjectTokenDto,
    examples: { 'a token that creates': { value: { name: 'new-token', permissions: ['create:*'] } } },
  })
  @ApiCreatedResponse({ type: ProjectTokenCreatedDto })
  @ApiConflictResponse(NAME_TAKEN)
  create(
    @Auth() caller: Principal,
    @UuidParam('projectID') projectId: string,
    @Body() dto: CreateProjectTokenDto,
  ): Promise<ProjectTokenCreatedDto> {
    return this.service.create(caller, projectId, dto);
  }

  @Get('projects/:projectID/tokens')
  @Authenticated({ permission: Permission.ReadToken, projectParam: 'projectID' })
  @ApiOperation({
    operationId: 'tokens',
    summary: 'List the live tokens of a project, newest first (never secrets)',
    description:
      'Page with `last` (page size) and `before`: while more remain, `Link: <…?before=…>; rel="next"` names ' +
      'the next page (`X-Next-Cursor` holds the same cursor). Without `last`, the first ' +
      'KEYWARD_DEFAULT_PAGE_SIZE tokens (500 by default); `last` above 1000 is served as 1000.',
  })
  @ApiOkResponse({ type: [ProjectTokenDto], headers: NEXT_PAGE_HEADERS })
  async list(
    @Auth() caller: Principal,
    @UuidParam('projectID') projectId: string,
    @Query() query: ListProjectTokensQueryDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ProjectTokenDto[]> {
    const { items, next } = await this.service.list(caller, projectId, query);
    setNextPage(request, reply, next);
    return items;
  }

  @Get('project_tokens/:tokenID')
  @Authenticated({ permission: Permission.ReadToken })
  @ApiOperation({
    operationId: 'token',
    summary: 'Get a project token (never its secret)',
    description: "A token outside the caller's projects is 404, like an unknown one.",
  })
  @ApiOkResponse({ type: ProjectTokenDto })
  @ApiNotFoundResponse(NO_TOKEN)
  get(@Auth() caller: Principal, @UuidParam('tokenID') tokenId: string): Promise<ProjectTokenDto> {
    return this.service.get(caller, tokenId);
  }

  @Patch('project_tokens/:tokenID')
  @ConfirmsInvalidation()
  @HttpCode(204)
  @Authenticated({ permission: Permission.UpdateToken })
  @ApiOperation({
    operationId: 'updateToken',
    summary: 'Rename, re-permission, disable or enable a project token (null fields: unchanged)',
    description: 'The caller may grant only permissions it holds itself.',
  })
  @ApiBody({ type: UpdateProjectTokenDto, required: false, examples: RENAME_EXAMPLE })
  @ApiNoContentResponse({ description: 'Updated' })
  @ApiNotFoundResponse(NO_TOKEN)
  @ApiConflictResponse(NAME_TAKEN)
  update(
    @Auth() caller: Principal,
    @UuidParam('tokenID') tokenId: string,
    @Body() dto: UpdateProjectTokenDto,
  ): Promise<void> {
    return this.service.update(caller, tokenId, dto);
  }

  @Delete('project_tokens/:tokenID')
  @ConfirmsInvalidation()
  @HttpCode(204)
  @Authenticated({ permission: Permission.DeleteToken })
  @ApiOperation({
    operationId: 'deleteToken',
    summary: 'Delete (revoke) a project token, immediately',
    description: 'The token gets 401 at once and its name is free again.',
  })
  @ApiNoContentResponse(DELETED)
  @ApiNotFoundResponse(NO_TOKEN)
  async remove(
    @Auth() caller: Principal,
    @UuidParam('tokenID') tokenId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    reply.header(REVOKED_HEADER, String(await this.service.remove(caller, tokenId)));
  }

  @Get('projects/:projectID/tokens/:tokenID')
  @Authenticated({ permission: Permission.ReadToken, projectParam: 'projectID' })
  @ApiOperation({
    operationId: 'projectToken',
    summary: 'Get a token of this project (never its secret)',
    description: 'Same as `GET /v1/project_tokens/{tokenID}`, confined to one project.',
  })
  @ApiOkResponse({ type: ProjectTokenDto })
  @ApiNotFoundResponse(NO_TOKEN)
  getInProject(
    @Auth() caller: Principal,
    @UuidParam('projectID') projectId: string,
    @UuidParam('tokenID') tokenId: string,
  ): Promise<ProjectTokenDto> {
    return this.service.get(caller, tokenId, projectId);
  }

  @Patch('projects/:projectID/tokens/:tokenID')
  @ConfirmsInvalidation()
  @HttpCode(204)
  @Authenticated({ permission: Permission.UpdateToken, projectParam: 'projectID' })
  @ApiOperation({
    operationId: 'updateProjectToken',
    summary: 'Rename, re-permission, disable or enable a token of this project (null fields: unchanged)',
    description: 'Same as `PATCH /v1/project_tokens/{tokenID}`, confined to one project.',
  })
  @ApiBody({ type: UpdateProjectTokenDto, required: false, examples: RENAME_EXAMPLE })
  @ApiNoContentResponse({ description: 'Updated' })
  @ApiNotFoundResponse(NO_TOKEN)
  @ApiConflictResponse(NAME_TAKEN)
  updateInProject(
    @Auth() caller: Principal,
    @UuidParam('projectID') projectId: string,
    @UuidParam('tokenID') tokenId: string,
    @Body() dto: UpdateProjectTokenDto,
  ): Promise<void> {
    return this.service.update(caller, tokenId, dto, projectId);
  }

  @Delete('projects/:projectID/tokens/:tokenID')
  @ConfirmsInvalidation()
  @HttpCode(204)
  @Authenticated({ permission: Permission.DeleteToken, projectParam: 'projectID' })
  @ApiOperation({
    operationId: 'deleteProjectToken',
    summary: 'Delete (revoke) a token of this project',
    description: 'Same as `DELETE /v1/project_tokens/{tokenID}`, confined to one project.',
  })
  @ApiNoContentResponse(DELETED)
  @ApiNotFoundResponse(NO_TOKEN)
  async removeInProject(
    @Auth() caller: Principal,
    @UuidParam('projectID') projectId: string,
    @UuidParam('tokenID') tokenId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    reply.header(REVOKED_HEADER, String(await this.service.remove(caller, tokenId, projectId)));
  }
}
