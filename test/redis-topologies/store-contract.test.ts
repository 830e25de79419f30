/**
 * The store contract on Redis Sentinel and on Redis Cluster: the same suite the memory and single-Redis
 * stores pass, then a Sentinel failover under a live store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis-store.js';
import type { RedisStoreConfig } from '../../src/store/redis-connection.js';
import { uniquePrefix } from '../helpers/redis.js';
import { defineStoreContract, until, type StoreFlavour } from '../integration/store-contract-suite.js';
import { startRedisCluster, startSentinelSet, type RedisClusterSet, type SentinelSet } from './topologies.js';

let sentinelSet: SentinelSet;
let cluster: RedisClusterSet;

beforeAll(async () => {
  [sentinelSet, cluster] = await Promise.all([startSentinelSet(), startRedisCluster()]);
});
afterAll(async () => {
  await Promise.all([sentinelSet?.close(), cluster?.close()]);
});

async function openStore(config: RedisStoreConfig): Promise<RedisStore> {
  const store = new RedisStore(config);
  if (!(await store.waitUntilReady(20_000))) throw new Error(`store not ready: ${JSON.stringify(config)}`);
  return store;
}

function flavour(name: string, configOf: () => RedisStoreConfig): StoreFlavour {
  return {
    name,
    open: async () => {
      const config = configOf();
      const [store, peer] = await Promise.all([openStore(config), openStore(config)]);
      return { store, peer, close: () => Promise.all([store.close(), peer.close()]).then(() => undefined) };
    },
  };
}

const sentinelConfig = (): RedisStoreConfig => ({
  driver: 'redis',
  sentinel: { name: sentinelSet.name, sentinels: sentinelSet.sentinels },
  keyPrefix: uniquePrefix('sentinel'),
  connectTimeoutMs: 2_000,
});
const clusterConfig = (): RedisStoreConfig => ({ driver: 'redis', cluster: { nodes: cluster.nodes }, keyPrefix: uniquePrefix('cluster'), connectTimeoutMs: 2_000 });

defineStoreContract([flavour('redis sentinel', sentinelConfig), flavour('redis cluster', clusterConfig)]);

describe('redis sentinel failover', () => {
  it('keeps the store working after SENTINEL FAILOVER: writes land on the new master, streams and pub/sub resume', async () => {
    const config = sentinelConfig();
    const [store, peer] = await Promise.all([openStore(config), openStore(config)]);
    try {
      const messages: string[] = [];
      await peer.subscribe('events', (message) => messages.push(message));
      await store.append('log', 'before', { ttlMs: 60_000 });
      const before = await sentinelSet.masterPort();

      const after = await sentinelSet.failover();
      expect(after).not.toBe(before);

      // ioredis asks the sentinels for the new master; commands fail fast meanwhile, so retry.
      await until(async () => (await store.set('after-failover', 'yes').catch(() => false)) === true, 'a write on the new master', 60_000);
      expect(await peer.get('after-failover')).toBe('yes');
      await until(async () => (await store.append('log', 'after', { ttlMs: 60_000 }).then(() => true).catch(() => false)), 'a stream append', 30_000);
      const entries = await peer.readAfter('log', '0', 10);
      expect(entries.map((entry) => entry.data)).toEqual(['before', 'after']);
      await until(async () => {
        await store.publish('events', 'hello').catch(() => undefined);
        return messages.includes('hello');
      }, 'pub/sub delivery after the failover', 30_000);
    } finally {
      await Promise.all([store.close(), peer.close()]);
    }
  });
});
