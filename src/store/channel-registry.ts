import type { MessageHandler } from './types.js';
import type { StoreLogger } from './logger.js';

/**
 * Handlers per channel. Both stores keep one of these so that any number of subscribers (and
 * stream tails) share one underlying subscription per channel: the first handler of a channel
 * opens it, the last one closes it.
 */
export class ChannelRegistry {
  private readonly channels = new Map<string, Set<MessageHandler>>();
  private handlers = 0;

  constructor(private readonly logger: StoreLogger) {}

  /**
   * Returns true when this is the channel's first handler (the caller must subscribe upstream).
   * Callers pass a fresh function per subscription so that subscribing one function twice yields
   * two independent subscriptions.
   */
  add(channel: string, handler: MessageHandler): boolean {
    let set = this.channels.get(channel);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.channels.set(channel, set);
    }
    set.add(handler);
    this.handlers += 1;
    return first;
  }

  /** Returns true when the channel has no handler left (the caller must unsubscribe upstream). */
  remove(channel: string, handler: MessageHandler): boolean {
    const set = this.channels.get(channel);
    if (set === undefined || !set.delete(handler)) return false;
    this.handlers -= 1;
    if (set.size > 0) return false;
    this.channels.delete(channel);
    return true;
  }

  has(channel: string): boolean {
    return this.channels.has(channel);
  }

  names(): string[] {
    return [...this.channels.keys()];
  }

  /** Calls every handler of the channel; one throwing handler neither stops the others nor the connection. */
  dispatch(channel: string, message: string): void {
    const set = this.channels.get(channel);
    if (set === undefined) return;
    // Copy: a handler may unsubscribe itself (or others) while we iterate.
    for (const handler of [...set]) {
      try {
        handler(message);
      } catch (error) {
        this.logger.warn({ err: error, channel }, 'store message handler threw');
      }
    }
  }

  /** Number of registered handlers across all channels (leak checks and metrics). */
  get handlerCount(): number {
    return this.handlers;
  }

  clear(): void {
    this.channels.clear();
    this.handlers = 0;
  }
}
