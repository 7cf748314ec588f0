/**
 * The smallest SQL surface the migrator, the cleanup lock and notifications need, over either driver:
 * `exec` runs a multi-statement script; `query` runs one parameterised statement.
 */
export interface SqlRunner {
  exec(sql: string): Promise<void>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * `query` as a named prepared statement where the driver has them (PostgreSQL: parsed and planned
   * once per connection); PGlite runs it as a plain query. For the hot reads of the repositories.
   */
  prepared<T = Record<string, unknown>>(name: string, sql: string, params: unknown[]): Promise<T[]>;
  /** Run `fn` with every statement on one connection inside BEGIN/COMMIT. */
  transaction<R>(fn: (tx: Omit<SqlRunner, 'transaction' | 'prepared'>) => Promise<R>): Promise<R>;
}
