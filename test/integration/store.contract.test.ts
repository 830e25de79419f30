/**
 * The store contract: the in-memory and the Redis store must behave the same. One suite, run
 * against both; Redis-only failure behaviour (Redis stopped and restarted) follows at the end.
 */
import { getEventListeners, setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, warnIfVolatile } from '../../src/store/create-store.js';
import { StoreUnavailableError, StreamIdConflictError } from '../../src/store/errors.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { RedisStoreConfig } from '../../src/store/redis-connection.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { Store, StreamEntry } from '../../src/store/types.js';
import { deletePrefixedKeys, startPrivateRedis, uniquePrefix, type PrivateRedis } from '../helpers/redis.js';

type CountedStore = Store & { readonly handlerCount: number };

interface Subject {
  store: CountedStore;
  /** A second instance on the same backing state (another replica); the same object for memory. */
  peer: CountedStore;
  close(): Promise<void>;
}

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

const flavours: Array<{ name: string; open(): Promise<Subject> }> = [
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

/** Polls until the condition holds; fails after a generous bound instead of sleeping a guessed time. */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint];
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

describe.each(flavours)('store contract: $name', (flavour) => {
  let subject: Subject;
  let store: CountedStore;
  let peer: CountedStore;

  beforeAll(async () => {
    subject = await flavour.open();
    ({ store, peer } = subject);
  });
  afterAll(async () => {
    await subject.close();
  });

  it('sets, gets and deletes values', async () => {
    expect(await store.get('kv')).toBeNull();
    expect(await store.set('kv', 'one')).toBe(true);
    expect(await peer.get('kv')).toBe('one');
    expect(await store.set('kv', 'two')).toBe(true);
    expect(await store.get('kv')).toBe('two');
    await store.del('kv');
    expect(await store.get('kv')).toBeNull();
    await expect(store.del('kv')).resolves.toBeUndefined();
  });

  it('expires values after their TTL', async () => {
    await store.set('ttl', 'short', { ttlMs: 50 });
    await store.set('ttl-long', 'long', { ttlMs: 60_000 });
    await until(async () => (await store.get('ttl')) === null, 'the short-lived value to expire');
    expect(await store.get('ttl-long')).toBe('long');
  });

  it('writes with onlyIfAbsent only when the key does not exist', async () => {
    expect(await store.set('nx', 'first', { onlyIfAbsent: true })).toBe(true);
    expect(await peer.set('nx', 'second', { onlyIfAbsent: true })).toBe(false);
    expect(await store.get('nx')).toBe('first');

    expect(await store.set('nx-ttl', 'first', { onlyIfAbsent: true, ttlMs: 50 })).toBe(true);
    await until(async () => store.set('nx-ttl', 'again', { onlyIfAbsent: true }), 'the key to expire and be written again');
    expect(await store.get('nx-ttl')).toBe('again');
  });

  it('takes a value atomically: of 20 concurrent takes exactly one gets it', async () => {
    await store.set('once', 'token', { ttlMs: 60_000 });
    const takers = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : peer).take('once'));
    const results = await Promise.all(takers);
    expect(results.filter((value) => value !== null)).toEqual(['token']);
    expect(await store.get('once')).toBeNull();
    expect(await store.take('missing')).toBeNull();
  });

  it('increments counters that expire', async () => {
    expect(await store.incr('counter', { ttlMs: 60_000 })).toBe(1);
    expect(await peer.incr('counter', { ttlMs: 60_000 })).toBe(2);
    expect(await store.incr('counter', { by: 5, ttlMs: 60_000 })).toBe(7);

    expect(await store.incr('short-counter', { ttlMs: 50 })).toBe(1);
    await until(async () => (await store.get('short-counter')) === null, 'the counter to expire');
    expect(await store.incr('short-counter', { ttlMs: 60_000 })).toBe(1);
  });

  it('keeps the TTL a counter was created with: later increments do not extend it', async () => {
    expect(await store.incr('window', { ttlMs: 300 })).toBe(1);
    // Were each increment's long TTL applied, the counter would never restart within the bound.
    let value = 1;
    let highest = 1;
    await until(async () => {
      value = await store.incr('window', { ttlMs: 60_000 });
      highest = Math.max(highest, value);
      return value === 1;
    }, 'the counter to expire and restart');
    expect(highest).toBeGreaterThan(1);
  });

  it('lists expiring members with their expiry and prunes expired ones', async () => {
    const now = Date.now();
    await store.addExpiring('revoked', 'long', now + 60_000);
    await peer.addExpiring('revoked', 'short', now + 300);
    await store.addExpiring('revoked', 'past', now - 1);

    const first = await store.listExpiring('revoked');
    expect(first.map((item) => item.member)).not.toContain('past');
    expect(first).toContainEqual({ member: 'long', expiresAtMs: now + 60_000 });

    // The short member expiring (added last) must not take the long-lived one with it.
    await until(async () => (await peer.listExpiring('revoked')).every((item) => item.member !== 'short'), 'the short member to expire');
    expect(await store.listExpiring('revoked')).toEqual([{ member: 'long', expiresAtMs: now + 60_000 }]);

    await store.addExpiring('revoked', 'long', now + 120_000);
    expect(await store.listExpiring('revoked')).toEqual([{ member: 'long', expiresAtMs: now + 120_000 }]);
    expect(await store.listExpiring('never-written')).toEqual([]);
  });

  it('delivers published messages to every subscriber until it unsubscribes', async () => {
    const first: string[] = [];
    const second: string[] = [];
    const stopFirst = await store.subscribe('news', (message) => first.push(message));
    const stopSecond = await store.subscribe('news', (message) => second.push(message));

    await peer.publish('news', 'hello');
    await until(() => first.length === 1 && second.length === 1, 'delivery to both subscribers');
    expect(first).toEqual(['hello']);

    await stopFirst();
    await stopFirst(); // idempotent
    await peer.publish('news', 'after');
    // Delivery is ordered: once the remaining subscriber has 'after', the removed one would have too.
    await until(() => second.length === 2, 'delivery to the remaining subscriber');
    expect(second).toEqual(['hello', 'after']);
    expect(first).toEqual(['hello']);

    await stopSecond();
    expect(store.handlerCount).toBe(0);
  });

  it('keeps subscriptions of the same function independent and survives a throwing handler', async () => {
    const seen: string[] = [];
    const handler = (message: string): void => {
      seen.push(message);
    };
    const stopA = await store.subscribe('shared', handler);
    const stopB = await store.subscribe('shared', handler);
    const stopThrowing = await store.subscribe('shared', () => {
      throw new Error('handler failure');
    });
    await stopA();
    await store.publish('shared', 'still delivered');
    await until(() => seen.length === 1, 'delivery to the second subscription');
    await Promise.all([stopB(), stopThrowing()]);
    expect(store.handlerCount).toBe(0);
  });

  it('appends with strictly increasing ids', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 50; i += 1) ids.push(await store.append('ids', `e${i}`, { ttlMs: 60_000 }));
    ids.push(await peer.append('ids', 'from-peer', { ttlMs: 60_000 }));
    for (let i = 1; i < ids.length; i += 1) expect(compareIds(ids[i - 1]!, ids[i]!)).toBe(-1);
    for (const id of ids) expect(id).toMatch(/^\d+-\d+$/);
  });

  it('appends under a writer-chosen id: idempotent for the same id, a conflict below the top', async () => {
    expect(await store.lastEntryId('chosen')).toBeUndefined();
    expect(await store.append('chosen', 'a', { ttlMs: 60_000, id: '1000-0' })).toBe('1000-0');
    expect(await store.append('chosen', 'b', { ttlMs: 60_000, id: '1000-1' })).toBe('1000-1');
    // The same id again (a retry after a lost reply) writes nothing and succeeds.
    expect(await peer.append('chosen', 'b', { ttlMs: 60_000, id: '1000-1' })).toBe('1000-1');
    expect(await peer.append('chosen', 'a', { ttlMs: 60_000, id: '1000-0' })).toBe('1000-0');
    await expect(store.append('chosen', 'x', { ttlMs: 60_000, id: '999-5' })).rejects.toBeInstanceOf(StreamIdConflictError);
    const auto = await store.append('chosen', 'c', { ttlMs: 60_000 });
    expect(compareIds('1000-1', auto)).toBe(-1);
    await expect(store.append('chosen', 'y', { ttlMs: 60_000, id: '1000-2' })).rejects.toBeInstanceOf(StreamIdConflictError);
    expect((await store.readAfter('chosen', '0')).map((entry) => entry.data)).toEqual(['a', 'b', 'c']);
    expect(await peer.lastEntryId('chosen')).toBe(auto);
  });

  it('reads strictly after an id, oldest first, with an optional count', async () => {
    const a = await store.append('log', 'a', { ttlMs: 60_000 });
    const b = await store.append('log', 'b', { ttlMs: 60_000 });
    const c = await peer.append('log', 'c', { ttlMs: 60_000 });

    expect(await store.readAfter('log', '0')).toEqual([
      { id: a, data: 'a' },
      { id: b, data: 'b' },
      { id: c, data: 'c' },
    ]);
    expect(await store.readAfter('log', a)).toEqual([
      { id: b, data: 'b' },
      { id: c, data: 'c' },
    ]);
    expect(await store.readAfter('log', c)).toEqual([]);
    expect(await store.readAfter('log', '0', 2)).toEqual([
      { id: a, data: 'a' },
      { id: b, data: 'b' },
    ]);
    expect(await store.readAfter('no-such-stream', '0')).toEqual([]);
    await expect(store.readAfter('log', 'not-an-id')).rejects.toThrow(/invalid stream id/i);
  });

  it('expires a stream after its TTL', async () => {
    await store.append('short-log', 'x', { ttlMs: 50 });
    await until(async () => (await store.readAfter('short-log', '0')).length === 0, 'the stream to expire');
  });

  it('trims a stream to about maxLen entries, keeping the newest', async () => {
    let last = '';
    for (let i = 0; i < 300; i += 1) last = await store.append('capped', String(i), { ttlMs: 60_000, maxLen: 10 });
    const entries = await store.readAfter('capped', '0');
    // Redis trims whole nodes (`MAXLEN ~`), so only bounds are exact.
    expect(entries.length).toBeGreaterThanOrEqual(10);
    expect(entries.length).toBeLessThan(300);
    expect(entries.at(-1)).toEqual({ id: last, data: '299' });
  });

  it('tails: replays after an id, yields appends from another instance, ends on abort leaving no listener', async () => {
    const a = await store.append('tail', 'a', { ttlMs: 60_000 });
    const b = await store.append('tail', 'b', { ttlMs: 60_000 });
    const baseline = store.handlerCount;
    const controller = new AbortController();
    // A poll far beyond the test timeout: only the wake-up (or abort) can end a wait.
    const reader = store.tail('tail', a, { signal: controller.signal, pollMs: 600_000 })[Symbol.asyncIterator]();

    expect(await reader.next()).toEqual({ done: false, value: { id: b, data: 'b' } });
    expect(store.handlerCount).toBe(baseline + 1);

    const waiting = reader.next();
    const c = await peer.append('tail', 'c', { ttlMs: 60_000 });
    expect(await waiting).toEqual({ done: false, value: { id: c, data: 'c' } });

    const ending = reader.next();
    controller.abort();
    expect(await ending).toEqual({ done: true, value: undefined });
    expect(store.handlerCount).toBe(baseline);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('tails: does not miss an entry appended while the tail starts', async () => {
    const controller = new AbortController();
    const reader = store.tail('tail-race', '0', { signal: controller.signal, pollMs: 600_000 })[Symbol.asyncIterator]();
    const first = reader.next();
    const id = await peer.append('tail-race', 'racing', { ttlMs: 60_000 });
    expect(await first).toEqual({ done: false, value: { id, data: 'racing' } });
    controller.abort();
    expect((await reader.next()).done).toBe(true);
  });

  it('tails: a consumer breaking out releases the subscription', async () => {
    for (const data of ['1', '2', '3']) await store.append('tail-break', data, { ttlMs: 60_000 });
    const baseline = store.handlerCount;
    const controller = new AbortController();
    const seen: StreamEntry[] = [];
    for await (const entry of store.tail('tail-break', '0', { signal: controller.signal, pollMs: 600_000 })) {
      seen.push(entry);
      if (seen.length === 2) break;
    }
    expect(seen.map((entry) => entry.data)).toEqual(['1', '2']);
    expect(store.handlerCount).toBe(baseline);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('tails: an already aborted signal yields nothing', async () => {
    await store.append('tail-aborted', 'x', { ttlMs: 60_000 });
    const seen: StreamEntry[] = [];
    for await (const entry of store.tail('tail-aborted', '0', { signal: AbortSignal.abort(), pollMs: 600_000 })) seen.push(entry);
    expect(seen).toEqual([]);
  });

  it('rate-limits: consumes points and rejects past the limit', async () => {
    const limiter = store.createRateLimiter({ keyPrefix: 'rl-contract', points: 3, durationSec: 60 });
    expect((await limiter.consume('alice')).remainingPoints).toBe(2);
    expect((await limiter.consume('alice')).remainingPoints).toBe(1);
    expect((await limiter.consume('alice')).remainingPoints).toBe(0);
    const rejection: unknown = await limiter.consume('alice').catch((error: unknown) => error);
    expect(rejection).toBeInstanceOf(RateLimiterRes);
    expect((rejection as RateLimiterRes).msBeforeNext).toBeGreaterThan(0);
    expect((await limiter.consume('bob')).remainingPoints).toBe(2);
  });

  it('reports itself healthy', async () => {
    const health = await store.health();
    expect(health.ok).toBe(true);
  });
});

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
