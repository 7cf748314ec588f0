import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Auth, Authenticated } from '../access/access.decorators.js';
import { Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto.js';
import { AuditEventDto, ListAuditQueryDto } from './dto/audit.dto.js';
import { AuditService } from './audit.service.js';

@ApiTags('audit')
@ApiBadRequestResponse({ description: 'Unknown or invalid query parameters', type: ErrorEnvelopeDto })
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly service: AuditService) {}

  @Get()
  @Authenticated({ permission: Permission.ReadAudit })
  @ApiOperation({
    operationId: 'auditEvents',
    summary: 'The audit trail, newest first',
    description:
      'Who created, rotated, revoked, changed or deleted which token or project, when and from where, and ' +
      'failed authentications (aggregated per credential, client address and minute). A caller confined to ' +
      'projects sees only events about targets in its projects. When more remain, the `X-Next-Cursor` ' +
      'response header holds the `cursor` of the next page.',
  })
  @ApiOkResponse({
    type: [AuditEventDto],
    headers: {
      'X-Next-Cursor': { description: 'Cursor of the next page; absent on the last page', schema: { type: 'string' } },
    },
  })
  async list(
    @Auth() caller: Principal,
    @Query() query: ListAuditQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AuditEventDto[]> {
    const { items, next } = await this.service.list(caller, query);
    if (next) reply.header('X-Next-Cursor', next);
    return items;
  }
}
