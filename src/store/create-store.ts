import type { StoreConfig } from '../config/schema.js';
import { silentLogger, type StoreLogger } from './logger.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore } from './redis-store.js';
import type { Store } from './types.js';

/**
 * Builds the configured store. A Redis store is given up to `connectTimeoutMs` to become ready but
 * is returned even when Redis is down: the gateway starts, readiness reports the store down, and
 * the connections keep retrying in the background.
 */
export async function createStore(config: StoreConfig, logger: StoreLogger = silentLogger): Promise<Store> {
  if (config.driver === 'memory') return new MemoryStore({ logger });
  const store = new RedisStore(config, { logger });
  if (await store.waitUntilReady(config.connectTimeoutMs)) await warnIfVolatile(store, logger);
  else logger.warn({ timeoutMs: config.connectTimeoutMs }, 'Redis not ready at start-up; continuing while it reconnects');
  return store;
}

/**
 * One loud line when Redis keeps nothing across a restart: pending confirmations, revocations and
 * run logs would be lost with it (the README's production section says why it must persist).
 * Never fails start-up: a Redis that refuses to say is only noted.
 */
export async function warnIfVolatile(store: RedisStore, logger: StoreLogger): Promise<void> {
  const persistence = await store.persistence();
  if (persistence === 'none') {
    logger.warn(
      { persistence },
      'Redis has neither AOF nor RDB persistence: a Redis restart loses pending confirmations, revocations and run logs; enable appendonly (or save) in production',
    );
  } else {
    logger.info({ persistence }, 'Redis persistence');
  }
}
