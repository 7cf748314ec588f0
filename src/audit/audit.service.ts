import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Principal } from '../access/principal.js';
import { decodeCursor, encodeCursor } from '../common/http/keyset-cursor.js';
import { currentOrigin, type RequestOrigin } from '../common/http/request-context.js';
import { parseSince } from '../common/time.js';
import { isUuid } from '../common/uuid.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { AuditAction } from './audit.actions.js';
import { type AuditInsert, AuditRepository, type AuditRow } from './audit.repository.js';
import type { AuditEventDto, ListAuditQueryDto } from './dto/audit.dto.js';

type AuditTargetType = 'token' | 'project' | 'tokens_file' | 'credential' | 'lookup' | 'webhook';

export interface AuditTarget {
  type: AuditTargetType;
  id: string | null;
  /** The project the target lies in, when exactly one (scoped readers see only their projects' events). */
  projectId?: string | null;
}

/** Plain facts about an action: counts, names, permission lists. Never a secret, hash or token. */
export type AuditDetails = Record<string, string | number | boolean | null | string[]>;

export interface AuditRecord {
  action: AuditAction;
  /** The caller, or its id (`cli`, `admin`, `file:<name>`, a token id). */
  actor: Principal | string;
  target?: AuditTarget;
  outcome?: 'success' | 'failure';
  details?: AuditDetails;
}

/** A token row as the audit trail describes it (no secret part of it is read). */
export interface AuditedToken {
  id: string;
  kind: string;
  projectId: string | null;
  scopeProjects: string[];
}

export function tokenTarget(row: AuditedToken): AuditTarget {
  const project = row.kind === 'project' ? row.projectId : row.scopeProjects.length === 1 ? row.scopeProjects[0] : null;
  return { type: 'token', id: row.id, projectId: project && isUuid(project) ? project : null };
}

export function projectTarget(id: string): AuditTarget {
  return { type: 'project', id, projectId: id };
}

export interface FailedAuthentication {
  /** The verdict: NOT_FOUND, EXPIRED, REVOKED, DISABLED, USED. */
  code: string;
  /** Id of the credential the token belongs to, when it was recognised (a revoked token, a disabled key). */
  credentialId: string | null;
  /** The non-secret lookup part of a well-formed database token, when there is one. */
  lookupId: string | null;
  projectId?: string | null;
}

/**
 * An action as observers see it once recorded (`onRecorded`): what was done to what, by whom, from
 * where. For a revocation, `cascade` lists the tokens revoked with the target (its descendants).
 */
export interface RecordedAction extends AuditRecord {
  actorId: string;
  origin: RequestOrigin;
  cascade?: readonly string[];
}

export type AuditObserver = (action: RecordedAction) => void;

interface PendingFailure {
  data: AuditInsert & { count: number; lastSeenAt: Date };
}

/** Failed authentications are counted in memory and written once a second, one row per key and minute. */
const FAILURE_FLUSH_MS = 1000;
/**
 * Distinct failed-authentication rows one instance starts per minute, whatever the number of client
 * addresses and credentials; past it, the minute's other attempts fold into one row per verdict (no
 * target, address `*`). So a flood adds at most this many rows plus one per verdict code a minute.
 */
const MAX_FAILURE_ROWS_PER_MINUTE = 100;
const DEFAULT_AUDIT_PAGE_SIZE = 100;

/**
 * The audit trail: one row per audited action, written by the services that perform them (features
 * call `record`; this module knows none of them). Where the request came from is taken from the
 * request context (client address, user agent, trace id). Writing an event never fails the action
 * it describes: an error is logged instead.
 */
@Injectable()
export class AuditService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Audit');
  private failures = new Map<string, PendingFailure>();
  /** The rows started in the current minute (`minute`), for MAX_FAILURE_ROWS_PER_MINUTE. */
  private minute = -1;
  private readonly rowsThisMinute = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  /** Origin of events recorded outside any request (e.g. the CLI's user and host). */
  private fallbackOrigin: RequestOrigin | null = null;
  private readonly observers: AuditObserver[] = [];

  constructor(private readonly repo: AuditRepository) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FAILURE_FLUSH_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }

  /** Where events come from when no request is in progress (the CLI sets its user and host). */
  setFallbackOrigin(origin: RequestOrigin): void {
    this.fallbackOrigin = origin;
  }

  /**
   * Calls `observer` after every recorded action (not failed authentications), e.g. to announce token
   * events to webhooks. Observers must not throw or block: they are called synchronously.
   */
  onRecorded(observer: AuditObserver): void {
    this.observers.push(observer);
  }

  private notify(event: AuditRecord, origin: RequestOrigin, cascade?: readonly string[]): void {
    const actorId = typeof event.actor === 'string' ? event.actor : event.actor.id;
    for (const observer of this.observers) {
      try {
        observer({ ...event, actorId, origin, cascade });
      } catch (err) {
        this.logger.error(`audit observer failed on ${event.action}: ${(err as Error).message}`);
      }
    }
  }

  private origin(): RequestOrigin {
    return currentOrigin() ?? this.fallbackOrigin ?? { clientAddress: null, userAgent: null, traceId: null };
  }

  async record(event: AuditRecord, cascade?: readonly string[]): Promise<void> {
    const origin = this.origin();
    this.notify(event, origin, cascade);
    try {
      await this.repo.insert(this.rowOf(event, origin));
    } catch (err) {
      this.logger.error(`audit event ${event.action} not written: ${(err as Error).message}`);
    }
  }

  /** The stored row of one event, with the request it came from. */
  private rowOf(event: AuditRecord, origin: RequestOrigin) {
    return {
      action: event.action,
      actor: typeof event.actor === 'string' ? event.actor : event.actor.id,
      targetType: event.target?.type ?? null,
      targetId: event.target?.id ?? null,
      projectId: event.target?.projectId ?? null,
      clientAddress: origin.clientAddress,
      userAgent: origin.userAgent,
      traceId: origin.traceId,
      outcome: event.outcome ?? 'success',
      details: event.details ?? undefined,
    };
  }

  /**
   * Events recorded by the transaction of the change itself: `rows` (with the request's origin) for the
   * repository to write in that transaction, `announce()` for the observers once it has committed.
   */
  inTransaction(events: readonly AuditRecord[]): { rows: AuditInsert[]; announce: () => void } {
    const origin = this.origin();
    return {
      rows: events.map((event) => this.rowOf(event, origin)),
      announce: () => {
        for (const event of events) this.notify(event, origin);
      },
    };
  }

  /**
   * A revocation (or deletion) and its cascade: one event for the token named, with `cascade` = how many
   * tokens created through it were revoked with it, and one event per such descendant (`via` = the token
   * named), so that "who revoked X" finds cascaded tokens too. Nothing when nothing was revoked.
   */
  async recordRevocation(event: AuditRecord & { target: AuditTarget }, revokedIds: readonly string[]): Promise<void> {
    if (!revokedIds.length) return;
    const rootId = event.target.id;
    const descendants = revokedIds.filter((id) => id !== rootId);
    await this.record({ ...event, details: { ...event.details, cascade: descendants.length } }, descendants);
    if (!descendants.length) return;
    const origin = this.origin();
    try {
      await this.repo.insertMany(
        descendants.map((id) => ({
          action: event.action,
          actor: typeof event.actor === 'string' ? event.actor : event.actor.id,
          targetType: 'token',
          targetId: id,
          projectId: event.target.projectId ?? null,
          clientAddress: origin.clientAddress,
          userAgent: origin.userAgent,
          traceId: origin.traceId,
          outcome: 'success',
          details: { ...event.details, via: rootId },
        })),
      );
    } catch (err) {
      this.logger.error(`audit events of a cascade not written: ${(err as Error).message}`);
    }
  }

  /**
   * Counts a failed authentication (never awaited on the request path). Attempts are aggregated per
   * credential (or lookup id), client address, verdict and minute; one row each, with a `count`, at
   * most MAX_FAILURE_ROWS_PER_MINUTE such rows a minute (then one row per verdict for the rest).
   */
  failedAuthentication(f: FailedAuthentication): void {
    const origin = this.origin();
    const now = new Date();
    const minute = Math.floor(now.getTime() / 60_000);
    let target: AuditTarget = f.credentialId
      ? { type: isUuid(f.credentialId) ? 'token' : 'credential', id: f.credentialId, projectId: f.projectId ?? null }
      : { type: 'lookup', id: f.lookupId, projectId: null };
    let address = origin.clientAddress;
    let key = `auth.failed|${minute}|${f.code}|${target.type}:${target.id ?? '-'}|${address ?? '-'}`;
    if (minute !== this.minute) {
      this.minute = minute;
      this.rowsThisMinute.clear();
    }
    if (!this.rowsThisMinute.has(key)) {
      if (this.rowsThisMinute.size >= MAX_FAILURE_ROWS_PER_MINUTE) {
        // Under a flood of distinct keys, keep counting in one row per verdict and minute.
        target = { type: 'lookup', id: null, projectId: null };
        address = '*';
        key = `auth.failed|${minute}|${f.code}|*|*`;
      } else this.rowsThisMinute.add(key);
    }
    const pending = this.failures.get(key);
    if (pending) {
      pending.data.count++;
      pending.data.lastSeenAt = now;
      return;
    }
    this.failures.set(key, {
      data: {
        createdAt: now,
        lastSeenAt: now,
        count: 1,
        action: 'auth.failed',
        actor: 'anonymous',
        targetType: target.id ? target.type : null,
        targetId: target.id,
        projectId: target.projectId ?? null,
        clientAddress: address,
        userAgent: origin.userAgent,
        traceId: origin.traceId,
        outcome: f.code,
      },
    });
  }

  /** Writes the failed-authentication counts gathered so far. */
  async flush(): Promise<void> {
    if (!this.failures.size) return;
    const batch = this.failures;
    this.failures = new Map();
    for (const [key, { data }] of batch) {
      try {
        await this.repo.addToAggregate(key, data);
      } catch (err) {
        this.logger.error(`failed-authentication counts not written: ${(err as Error).message}`);
      }
    }
  }

  /**
   * One page of events, newest first. A caller confined to projects sees only events about targets in
   * those projects; events about global tokens, tokens files and unknown credentials need an unscoped
   * caller.
   */
  async list(caller: Principal, query: ListAuditQueryDto): Promise<{ items: AuditEventDto[]; next: string | null }> {
    const limit = query.limit ?? DEFAULT_AUDIT_PAGE_SIZE;
    const after = query.cursor
      ? decodeCursor(query.cursor, { field: 'cursor', message: 'cursor is not a value returned in X-Next-Cursor' })
      : undefined;
    const where: Prisma.AuditEventWhereInput[] = [];
    if (caller.projects !== null) where.push({ projectId: { in: caller.projects.filter((p) => isUuid(p)) } });
    if (query.token_id) where.push({ OR: [{ actor: query.token_id }, { targetId: query.token_id }] });
    if (query.action) where.push({ action: query.action });
    if (query.since) {
      const since = parseSince(query.since)!;
      where.push({ OR: [{ createdAt: { gte: since } }, { lastSeenAt: { gte: since } }] });
    }
    const rows = await this.repo.page({ AND: where }, limit + 1, after);
    const page = rows.slice(0, limit);
    return { items: page.map(toAuditEventDto), next: rows.length > limit ? encodeCursor(page[page.length - 1]) : null };
  }
}

function toAuditEventDto(row: AuditRow): AuditEventDto {
  return {
    id: row.id,
    time: row.createdAt.toISOString(),
    action: row.action as AuditAction,
    actor: row.actor,
    targetType: row.targetType,
    targetId: row.targetId,
    projectId: row.projectId,
    clientAddress: row.clientAddress,
    userAgent: row.userAgent,
    traceId: row.traceId,
    outcome: row.outcome,
    count: row.count,
    lastSeenAt: row.lastSeenAt ? row.lastSeenAt.toISOString() : null,
    details: (row.details as Record<string, unknown> | null) ?? null,
  };
}
