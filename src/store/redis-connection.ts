import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { StoreConfig } from '../config/schema.js';

export type RedisStoreConfig = Extract<StoreConfig, { driver: 'redis' }>;
export type RedisClient = Redis | Cluster;

/**
 * The two connections of a RedisStore: `commands` runs every command (with the key prefix),
 * `subscriber` carries every channel subscription of this process.
 */
export type ConnectionRole = 'commands' | 'subscriber';

const MAX_RECONNECT_DELAY_MS = 2_000;

/** Capped exponential backoff with jitter; never gives up, so the store heals when Redis returns. */
export function reconnectDelay(attempt: number): number {
  const backoff = Math.min(50 * 2 ** Math.min(attempt, 16), MAX_RECONNECT_DELAY_MS);
  return backoff + Math.floor(Math.random() * 100);
}

/** Opens one connection for the configured topology (single node by URL, Sentinel or Cluster). */
export function connectRedis(config: RedisStoreConfig, role: ConnectionRole): RedisClient {
  const perRole: RedisOptions =
    role === 'commands'
      ? { keyPrefix: config.keyPrefix }
      : // The store re-subscribes its own channel registry on every 'ready' instead: ioredis would
        // also restore channels whose UNSUBSCRIBE failed while Redis was down.
        { autoResubscribe: false };
  const nodeOptions: RedisOptions = {
    ...perRole,
    connectionName: `mcpgw-${role}`,
    connectTimeout: config.connectTimeoutMs,
    // Fail fast while Redis is down rather than queueing commands that callers are waiting on.
    maxRetriesPerRequest: 1,
    ...(config.password === undefined ? {} : { password: config.password }),
  };

  if (config.cluster !== undefined) {
    const { keyPrefix, ...redisOptions } = nodeOptions;
    return new Cluster(config.cluster.nodes, {
      ...(keyPrefix === undefined ? {} : { keyPrefix }),
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelay,
      redisOptions,
    });
  }

  const standalone: RedisOptions = { ...nodeOptions, lazyConnect: false, enableOfflineQueue: false, retryStrategy: reconnectDelay };
  if (config.sentinel !== undefined) {
    return new Redis({
      ...standalone,
      name: config.sentinel.name,
      sentinels: config.sentinel.sentinels,
      // Follow a failover as soon as the sentinels announce it (+switch-master), not only when the
      // old primary drops the connection: Sentinel demotes it seconds later, and what this client
      // wrote to it meanwhile would be discarded with its data.
      failoverDetector: true,
      ...(config.sentinel.password === undefined ? {} : { sentinelPassword: config.sentinel.password }),
    });
  }
  if (config.url === undefined) throw new Error('store.url, store.sentinel or store.cluster must be set for the redis driver');
  return new Redis(config.url, standalone);
}
