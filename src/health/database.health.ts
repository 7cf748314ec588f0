import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DatabaseService } from '../database/database.service.js';

@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly db: DatabaseService,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async check(key: string) {
    const session = this.indicator.check(key);
    try {
      await this.db.sql.query('SELECT 1');
      return session.up({ kind: this.db.kind });
    } catch {
      return session.down({ kind: this.db.kind });
    }
  }
}
