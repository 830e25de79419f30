import type { StreamEntry, TailOptions } from './types.js';

/** What a store provides for tailing one stream. */
export interface TailSource {
  read(afterId: string, count: number): Promise<StreamEntry[]>;
  /**
   * Starts listening for appends to the stream; resolves once listening, returns the stop function.
   * The source also wakes its listeners whenever appends may have gone unannounced (Redis: after the
   * subscriber reconnected), so a tail never needs to re-read on a timer.
   */
  listen(onAppend: () => void): Promise<() => Promise<void>>;
}

const READ_BATCH = 100;

/**
 * The tail loop shared by both stores: replay after `afterId`, then wait for an append wake-up (or
 * abort) and read again. Listening starts before the first read and the wake-up flag is cleared
 * before each read, so an append landing between "read found nothing" and "started waiting" is
 * never missed: the wait returns at once and the next read sees it. An idle tail reads nothing: it
 * only calls `onIdle` every `pollMs` (when given), which costs the store what onIdle asks of it.
 */
export async function* tailStream(source: TailSource, afterId: string, options: TailOptions): AsyncGenerator<StreamEntry> {
  const { signal, pollMs, onIdle } = options;
  if (signal.aborted) return;
  const wakeup = new Wakeup();
  const stop = await source.listen(() => wakeup.notify());
  try {
    let last = afterId;
    while (!signal.aborted) {
      wakeup.reset();
      const entries = await source.read(last, READ_BATCH);
      for (const entry of entries) {
        if (signal.aborted) return;
        yield entry;
        last = entry.id;
      }
      // A full batch means more may be waiting: read on without sleeping.
      if (entries.length < READ_BATCH) {
        for (;;) {
          await wakeup.wait(onIdle === undefined ? undefined : pollMs, signal);
          if (wakeup.wasNotified || signal.aborted) break;
          await onIdle?.();
        }
      }
    }
  } finally {
    await stop();
  }
}

/** A one-slot wake-up flag: a notify before the wait makes the wait return immediately. */
class Wakeup {
  private notified = false;
  private release: (() => void) | undefined;

  notify(): void {
    this.notified = true;
    this.release?.();
  }

  reset(): void {
    this.notified = false;
  }

  get wasNotified(): boolean {
    return this.notified;
  }

  /** Resolves on notify, after `ms` (if given), or on abort — whichever is first; leaves no timer or listener behind. */
  wait(ms: number | undefined, signal: AbortSignal): Promise<void> {
    if (this.notified || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.release = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.release = done;
    });
  }
}
