/** Helpers for the deterministic seed data: no randomness, so every start seeds the same records. */

/** The element at `index`, wrapping around: spreads a short list over many generated rows. */
export function cycle<T>(items: readonly T[], index: number): T {
  const item = items[index % items.length];
  if (item === undefined) throw new Error('seed list is empty');
  return item;
}

export function isoDate(year: number, month: number, day: number): string {
  return new Date(Date.UTC(year, month - 1, day)).toISOString().slice(0, 10);
}
