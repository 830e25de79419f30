/**
 * The store contract: the in-memory and the Redis store must behave the same. One suite, run
 * against both; Redis-only failure behaviour (Redis stopped and restarted) follows at the end.
 */
import { setMaxListeners } from 'node:events';
import { Redis } from 'ioredis';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, warnIfVolatile } from '../../src/store/create-store.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { RedisStoreConfig } from '../../src/store/redis-connection.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { defineStoreContract, until, type StoreFlavour } from './store-contract-suite.js';
import { deletePrefixedKeys, startPrivateRedis, uniquePrefix, type PrivateRedis } from '../helpers/redis.js';


function sharedRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (url === undefined) throw new Error('TEST_REDIS_URL is not set (test/helpers/global-setup.ts sets it)');
  return url;
}

function redisConfig(url: string, keyPrefix: string): RedisStoreConfig {
  return { driver: 'redis', url, keyPrefix, connectTimeoutMs: 2_000 };
}

async function openRedisStore(config: RedisStoreConfig): Promise<RedisStore> {
  const store = new RedisStore(config);
  if (!(await store.waitUntilReady(10_000))) throw new Error('test Redis not ready');
  return store;
}

const flavours: StoreFlavour[] = [
  {
    name: 'memory',
    open: () => {
      const store = new MemoryStore();
      return Promise.resolve({ store, peer: store, close: () => store.close() });
    },
  },
  {
    name: 'redis',
    open: async () => {
      const config = redisConfig(sharedRedisUrl(), uniquePrefix('store-contract'));
      const [store, peer] = await Promise.all([openRedisStore(config), openRedisStore(config)]);
      return {
        store,
        peer,
        close: async () => {
          await Promise.all([store.close(), peer.close()]);
          await deletePrefixedKeys(sharedRedisUrl(), config.keyPrefix);
        },
      };
    },
  },
];

defineStoreContract(flavours);

describe('store contract: redis only', () => {
  it('shares one subscription per stream among all tails in a process', async () => {
    const config = redisConfig(sharedRedisUrl(), uniquePrefix('store-fanout'));
    const store = await openRedisStore(config);
    const inspector = new Redis(sharedRedisUrl());
    try {
      await store.append('fanout', 'first', { ttlMs: 60_000 });
      const controller = new AbortController();
      setMaxListeners(25, controller.signal); // one signal shared by all readers on purpose
      const readers = Array.from({ length: 25 }, () =>
        store.tail('fanout', '0', { signal: controller.signal, pollMs: 600_000 })[Symbol.asyncIterator](),
      );
      for (const reader of readers) expect((await reader.next()).value).toMatchObject({ data: 'first' });

      const channels = (await inspector.pubsub('CHANNELS', `${config.keyPrefix}*`)) as string[];
      expect(channels).toHaveLength(1);
      expect(await inspector.pubsub('NUMSUB', channels[0]!)).toEqual([channels[0], 1]);
      expect(store.handlerCount).toBe(25);

      const next = readers.map((reader) => reader.next());
      await store.append('fanout', 'second', { ttlMs: 60_000 });
      for (const result of await Promise.all(next)) expect(result.value).toMatchObject({ data: 'second' });

      controller.abort();
      for (const reader of readers) expect((await reader.next()).done).toBe(true);
      expect(store.handlerCount).toBe(0);
      expect(await inspector.pubsub('NUMSUB', channels[0]!)).toEqual([channels[0], 0]);
    } finally {
      inspector.disconnect();
      await store.close();
      await deletePrefixedKeys(sharedRedisUrl(), config.keyPrefix);
    }
  });

  it('prefixes every key and channel', async () => {
    const config = redisConfig(sharedRedisUrl(), uniquePrefix('store-prefix'));
    const store = await openRedisStore(config);
    const inspector = new Redis(sharedRedisUrl());
    try {
      await store.set('plain', 'v', { ttlMs: 60_000 });
      await store.incr('count', { ttlMs: 60_000 });
      await store.addExpiring('set', 'm', Date.now() + 60_000);
      await store.append('stream', 'x', { ttlMs: 60_000 });
      const keys = await inspector.keys(`${config.keyPrefix}*`);
      expect(keys.sort()).toEqual(['count', 'plain', 'set', 'stream'].map((key) => `${config.keyPrefix}${key}`));

      const stop = await store.subscribe('topic', () => undefined);
      const channels = (await inspector.pubsub('CHANNELS', `${config.keyPrefix}*`)) as string[];
      expect(channels).toHaveLength(1);
      expect(channels[0]!.startsWith(config.keyPrefix)).toBe(true);
      expect(channels[0]!.endsWith('topic')).toBe(true);
      await stop();
    } finally {
      inspector.disconnect();
      await store.close();
      await deletePrefixedKeys(sharedRedisUrl(), config.keyPrefix);
    }
  });

  it('keeps an expiring set alive as long as its longest-lived member', async () => {
    const config = redisConfig(sharedRedisUrl(), uniquePrefix('store-zttl'));
    const store = await openRedisStore(config);
    const inspector = new Redis(sharedRedisUrl());
    try {
      const now = Date.now();
      await store.addExpiring('set', 'long', now + 60_000);
      await store.addExpiring('set', 'short', now + 5_000);
      const expireAt = await inspector.pexpiretime(`${config.keyPrefix}set`);
      expect(expireAt).toBe(now + 60_000);
    } finally {
      inspector.disconnect();
      await store.close();
      await deletePrefixedKeys(sharedRedisUrl(), config.keyPrefix);
    }
  });

  describe('while its Redis is stopped and restarted', () => {
    let redis: PrivateRedis;
    let store: RedisStore;
    const changes: boolean[] = [];
    const received: string[] = [];

    beforeAll(async () => {
      redis = await startPrivateRedis();
      store = await openRedisStore(redisConfig(redis.url, uniquePrefix('store-outage')));
      store.onConnectionChange((connected) => changes.push(connected));
      await store.subscribe('alerts', (message) => received.push(message));
    });
    afterAll(async () => {
      await store.close();
      await redis.stop();
    });

    it('fails commands fast, reports the outage, and limits rate from local memory', async () => {
      const limiter = store.createRateLimiter({ keyPrefix: 'rl-outage', points: 2, durationSec: 60 });
      await redis.stop();
      await until(() => changes.includes(false), 'the store to report the connection lost');

      // One error type for "cannot reach the store", whatever the command: the gateway answers it with 503 GATEWAY_9002.
      await expect(store.get('anything')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.append('log', 'x', { ttlMs: 60_000 })).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.append('log', 'x', { ttlMs: 60_000, id: '5-0' })).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.incr('n', { ttlMs: 60_000 })).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.listExpiring('set')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.subscribe('other', () => undefined)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(store.handlerCount).toBe(1); // the failed subscribe left nothing behind
      const health = await store.health();
      expect(health.ok).toBe(false);

      expect((await limiter.consume('carol')).remainingPoints).toBe(1);
      expect((await limiter.consume('carol')).remainingPoints).toBe(0);
      await expect(limiter.consume('carol')).rejects.toBeInstanceOf(RateLimiterRes);
    });

    it('reconnects, reports it, and resumes subscriptions', async () => {
      await redis.restart();
      await until(() => changes.at(-1) === true, 'the store to report the connection back');
      expect(changes).toEqual([false, true]);
      expect(await store.set('back', 'yes')).toBe(true);
      expect(await store.get('back')).toBe('yes');
      // Re-subscription happens right after the reconnect; publish until it is in place.
      await until(async () => {
        await store.publish('alerts', 'after-restart');
        return received.includes('after-restart');
      }, 'the subscription to resume');
      expect((await store.health()).ok).toBe(true);
    });
  });

  it('createStore returns a Redis store even when Redis is down, reporting it unhealthy', async () => {
    const redis = await startPrivateRedis();
    await redis.stop();
    const store = await createStore({ ...redisConfig(redis.url, uniquePrefix('store-down')), connectTimeoutMs: 200 });
    try {
      expect(store.kind).toBe('redis');
      const health = await store.health();
      expect(health.ok).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('reports whether Redis persists its data, and never fails over a Redis that refuses CONFIG', async () => {
    const volatile = await startPrivateRedis();
    const durable = await startPrivateRedis({ appendonly: true });
    const locked = await startPrivateRedis({ args: ['--rename-command', 'CONFIG', ''] });
    const stores = await Promise.all([volatile, durable, locked].map((redis) => openRedisStore(redisConfig(redis.url, uniquePrefix('persistence')))));
    try {
      expect(await stores[0]!.persistence()).toBe('none');
      expect(await stores[1]!.persistence()).toBe('aof');
      // CONFIG refused: INFO still tells that AOF is off, but not whether RDB snapshots are scheduled.
      expect(await stores[2]!.persistence()).toBe('unknown');
      const lines: string[] = [];
      const logger = { warn: (_: object, message: string) => void lines.push(`warn ${message}`), info: (_: object, message: string) => void lines.push(`info ${message}`) };
      for (const store of stores) await warnIfVolatile(store, logger);
      expect(lines.filter((line) => line.startsWith('warn'))).toHaveLength(1);
      expect(lines[0]).toMatch(/^warn Redis has neither AOF nor RDB persistence/);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      await Promise.all([volatile.stop(), durable.stop(), locked.stop()]);
    }
  });

  it('createStore builds the memory store', async () => {
    const store = await createStore({ driver: 'memory' });
    expect(store.kind).toBe('memory');
    await store.close();
  });
});
