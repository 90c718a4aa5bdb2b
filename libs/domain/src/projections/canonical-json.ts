/**
 * JSON with object keys sorted at every level: the same document gives the same text whatever
 * order its keys were written in (PostgreSQL's jsonb reorders them), so digests compare.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The physical name of a projection generation's collection. */
export function collectionTable(
  projection: string,
  collection: string,
  generation: number,
): string {
  return `rm_${projection}_${collection}_g${generation}`;
}
