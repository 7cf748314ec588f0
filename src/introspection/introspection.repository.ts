import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service.js';

/** The one fact introspection needs beyond the verdict: when a database token was issued. */
@Injectable()
export class IntrospectionRepository {
  constructor(private readonly db: DatabaseService) {}

  async issuedAt(id: string): Promise<Date | null> {
    const rows = await this.db.sql.query<{ created_at: Date }>('SELECT created_at FROM api_tokens WHERE id = $1', [id]);
    return rows[0]?.created_at ?? null;
  }
}
