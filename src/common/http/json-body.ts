/**
 * Checks a parsed JSON body before anything else sees it: PostgreSQL text cannot hold NUL bytes or
 * lone UTF-16 surrogates, and absurd nesting only serves to exhaust the stack. Returns a problem
 * description, or null when the value is fine.
 */
const MAX_JSON_DEPTH = 32;

export function jsonBodyProblem(value: unknown, depth = 0): string | null {
  if (depth > MAX_JSON_DEPTH) return `JSON nested deeper than ${MAX_JSON_DEPTH} levels`;
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return 'strings must not contain NUL characters';
    if (!value.isWellFormed()) return 'strings must be valid Unicode (no lone surrogates)';
    return null;
  }
  if (Array.isArray(value)) {
    for (const item of value) {
      const p = jsonBodyProblem(item, depth + 1);
      if (p) return p;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const p = jsonBodyProblem(key, depth + 1) ?? jsonBodyProblem(record[key], depth + 1);
      if (p) return p;
    }
  }
  return null;
}
