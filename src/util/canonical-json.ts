/**
 * JSON with object keys sorted at every depth: byte-stable across processes and key orders. Used for
 * fingerprints (tool pinning, confirmation binding) and for tool definitions sent to the model, where
 * identical bytes are what lets prompt caching hit.
 */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([key, item]) => [key, sortKeys(item)]));
  }
  return value;
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

export function canonicalize<T>(value: T): T {
  return sortKeys(value) as T;
}
