/** Prisma's "unique constraint failed" (P2002), whatever the driver adapter. */
export function isUniqueViolation(e: unknown): boolean {
  return !!e && typeof e === 'object' && (e as { code?: unknown }).code === 'P2002';
}
