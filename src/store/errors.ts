/**
 * The one error a store throws when it cannot be reached (connection down, Redis still loading its
 * data after a restart, a failover in progress). Everything above the store maps it to a retryable
 * 503 `GATEWAY_9002`; anything else a store throws is a bug and stays a 500.
 */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the state store is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/**
 * An append with an explicit stream id that is not above the stream's last id, and no entry with
 * that id exists: another writer appended to the stream since (see runs/run-journal.ts).
 */
export class StreamIdConflictError extends Error {
  constructor(stream: string, id: string) {
    super(`stream ${stream} already holds entries after ${id} from another writer`);
    this.name = 'StreamIdConflictError';
  }
}

export function isStoreUnavailable(error: unknown): error is StoreUnavailableError {
  return error instanceof StoreUnavailableError;
}
