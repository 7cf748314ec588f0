import { scopesOfFileEntry } from '../../access/app-scopes.js';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { permissionsForAccess } from '../../access/permissions.js';
import { AuditService } from '../../audit/audit.service.js';
import { principal } from '../../access/principal.js';
import { type StaticEntry, StaticCredentials } from '../static-credentials.js';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/config.schema.js';
import { type TokensFileEntry, TokensFileError, parseTokensFile } from './tokens-file.parser.js';

/** The StaticCredentials group tokens-file entries live in. */
const FILE_GROUP = 'file';

export interface ReloadResult {
  entries: number;
  disabled: number;
}

/** Reads a tokens file, turning every I/O problem into a one-line TokensFileError. */
export async function readTokensFile(file: string): Promise<TokensFileEntry[]> {
  let text: string;
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw new TokensFileError(file, 'is a directory, not a JSON file');
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof TokensFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TokensFileError(file, 'does not exist');
    if (code === 'EACCES') throw new TokensFileError(file, 'cannot be read (permission denied)');
    throw new TokensFileError(file, `cannot be read (${(err as Error).message})`);
  }
  return parseTokensFile(text, file);
}

/**
 * Loads the operator's tokens file (KEYWARD_TOKENS_FILE / `--tokens FILE`) into StaticCredentials at
 * start, and again on SIGHUP. Secrets are turned into keyed digests right away (hashes are kept as given): no
 * secret is stored in the database or logged. A reload swaps the whole set at once; a bad file on
 * reload keeps the previous set, so requests never see a gap.
 */
@Injectable()
export class TokensFileService implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TokensFile');
  /** Absolute path of the file, or null when none is configured. */
  readonly file: string | null;
  private readonly adminToken: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly onSighup = () => {
    if (!this.file) {
      this.logger.log('SIGHUP received: no tokens file is configured, nothing to reload');
      return;
    }
    this.reload('SIGHUP').catch((err: unknown) => {
      const message = err instanceof TokensFileError ? err.message : String(err);
      this.logger.error(`tokens file not reloaded, the previous tokens stay in force: ${message}`);
    });
  };

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly statics: StaticCredentials,
    private readonly audit: AuditService,
  ) {
    this.file = config.KEYWARD_TOKENS_FILE ? resolve(config.KEYWARD_TOKENS_FILE) : null;
    this.adminToken = config.KEYWARD_ADMIN_TOKEN;
  }

  /** A missing or invalid file at start throws TokensFileError, which stops the start. */
  async onModuleInit(): Promise<void> {
    if (this.file) await this.reload('start');
  }

  onApplicationBootstrap(): void {
    process.on('SIGHUP', this.onSighup);
  }

  onApplicationShutdown(): void {
    process.off('SIGHUP', this.onSighup);
  }

  /**
   * Re-reads the file and swaps its entries in atomically. Throws TokensFileError (and changes nothing)
   * when the file is missing or invalid. Concurrent calls run one after the other.
   */
  reload(trigger: 'start' | 'SIGHUP' | 'call' = 'call'): Promise<ReloadResult> {
    const run = this.queue.then(() => this.audited(trigger));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Every reload, good or bad, is an audit event (actor `system`; the file's path is the target). */
  private async audited(trigger: string): Promise<ReloadResult> {
    const target = { type: 'tokens_file' as const, id: this.file };
    try {
      const result = await this.load();
      await this.audit.record({
        action: 'tokens_file.reload',
        actor: 'system',
        target,
        details: { trigger, ...result },
      });
      return result;
    } catch (err) {
      // TokensFileError messages name the file and the problem, never a secret (they are logged too).
      const error = err instanceof TokensFileError ? err.message : 'unexpected error';
      await this.audit.record({
        action: 'tokens_file.reload',
        actor: 'system',
        target,
        outcome: 'failure',
        details: { trigger, error },
      });
      throw err;
    }
  }

  private async load(): Promise<ReloadResult> {
    const file = this.file;
    if (!file) throw new Error('no tokens file is configured');
    const parsed = await readTokensFile(file);
    const clash = parsed.find((e) => e.secret !== undefined && e.secret === this.adminToken);
    if (clash) {
      // It would shadow (or be shadowed by) the bootstrap admin token.
      throw new TokensFileError(file, `${clash.where} has the same secret as KEYWARD_ADMIN_TOKEN: use a different one`);
    }
    const entries = parsed.map((e) => this.toStatic(e, file));
    this.statics.replace(FILE_GROUP, entries);
    const disabled = entries.filter((e) => !e.enabled).length;
    const hashed = entries.filter((e) => e.argon2Hash).length;
    this.logger.log(
      `tokens file reloaded: ${entries.length} entries (${disabled} disabled${hashed ? `, ${hashed} stored as argon2 hashes` : ''}) from ${file}`,
    );
    const unstubbed = parsed.filter((e) => e.hash !== undefined && e.stub === undefined).map((e) => e.where);
    if (unstubbed.length) {
      this.logger.warn(
        `${file}: ${unstubbed.join(', ')} ${unstubbed.length > 1 ? 'are argon2 hashes' : 'is an argon2 hash'} without a stub, ` +
          'so every presented token that matches nothing else costs an argon2 check (throttled per client address). ' +
          'Add "token_stub" (or "key_stub"): the first characters of the secret followed by "…", as `keyward token reset --hash-only` writes.',
      );
    }
    void this.warnIfReadableByOthers(file);
    return { entries: entries.length, disabled };
  }

  private toStatic(e: TokensFileEntry, file: string): StaticEntry {
    return {
      origin: file,
      enabled: e.enabled,
      ...(e.secret !== undefined
        ? { mac: this.statics.mac(e.secret) }
        : { argon2Hash: e.hash, ...(e.stub !== undefined ? { stubPrefix: e.stub } : {}) }),
      projectRefs: e.projects,
      principal: principal({
        source: 'file',
        id: `file:${e.name}`,
        name: e.name,
        kind: 'global',
        permissions: permissionsForAccess(e.access),
        // Confined entries see nothing until the verifier has resolved their projects to ids.
        projects: e.projects === null ? null : [],
        expiresAt: null,
        singleUse: false,
        parentId: null,
        flags: e.flags,
        scopes: scopesOfFileEntry(e.access, e.flags),
      }),
    };
  }

  private async warnIfReadableByOthers(file: string): Promise<void> {
    try {
      if ((await stat(file)).mode & 0o077) {
        this.logger.warn(`${file} is readable by other users: consider chmod 600`);
      }
    } catch {
      /* the next reload reports it */
    }
  }
}
