/**
 * A bound on what an in-process store holds: ids, least recently written first, each until its
 * retention ends. Past `max` the oldest are let go and handed back for the owner to delete; those past
 * their retention are only forgotten (the store has expired them already). Finished runs and
 * conversations on the memory store each keep one; on Redis nothing stays in the process to bound.
 */
export interface CapOptions {
  /** At most this many are held; beyond it the least recently written are deleted. */
  max: number;
  /** Called once per id let go for the cap (the eviction metric). */
  onEvict: () => void;
}

export class RecencyCap {
  private readonly written = new Map<string, number>();

  constructor(
    private readonly options: CapOptions,
    private readonly ttlMs: number,
  ) {}

  /** Counts `id` as written now; returns the ids let go for the cap, oldest first (each counted by onEvict). */
  touch(id: string): string[] {
    const now = Date.now();
    this.written.delete(id);
    this.written.set(id, now);
    for (const [held, writtenAt] of this.written) {
      if (writtenAt + this.ttlMs > now) break;
      this.written.delete(held);
    }
    const evicted: string[] = [];
    for (const held of this.written.keys()) {
      if (this.written.size <= this.options.max) break;
      this.written.delete(held);
      this.options.onEvict();
      evicted.push(held);
    }
    return evicted;
  }

  /** Stops counting an id deleted by its owner. */
  forget(id: string): void {
    this.written.delete(id);
  }
}
