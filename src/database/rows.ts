/**
 * Raw rows (snake_case columns, as the tables are mapped in schema.prisma) to the camelCase shape of
 * Prisma's model types, for the few hot reads that skip the ORM. Column names are converted once per
 * name; values are the driver's (pg and PGlite both give Date for timestamptz and arrays for text[]).
 */
const names = new Map<string, string>();

function camel(column: string): string {
  let name = names.get(column);
  if (name === undefined) {
    name = column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    names.set(column, name);
  }
  return name;
}

export function camelRow<T>(row: Record<string, unknown>, skip?: string): T {
  const out: Record<string, unknown> = {};
  for (const column in row) {
    if (column !== skip) out[camel(column)] = row[column];
  }
  return out as T;
}
