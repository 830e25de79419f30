/**
 * The store contract as a reusable suite: every store flavour (memory, Redis, and in the
 * redis-topologies suite Redis Sentinel and Redis Cluster) must pass the same tests.
 */
import { getEventListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamIdConflictError } from '../../src/store/errors.js';
import type { Store, StreamEntry } from '../../src/store/types.js';

export type CountedStore = Store & { readonly handlerCount: number };

export interface Subject {
  store: CountedStore;
  /** A second instance on the same backing state (another replica); the same object for memory. */
  peer: CountedStore;
  close(): Promise<void>;
}

export interface StoreFlavour {
  name: string;
  open(): Promise<Subject>;
}

/** Polls until the condition holds; fails after a generous bound instead of sleeping a guessed time. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

export function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint];
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

export function defineStoreContract(flavours: StoreFlavour[]): void {
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

    it('appends many under writer-chosen ids at once: in order, idempotent, a conflict keeps what came before', async () => {
      await store.appendMany('many', [], { ttlMs: 60_000 });
      expect(await store.lastEntryId('many')).toBeUndefined();
      await store.appendMany('many', [{ id: '2000-0', data: 'a' }, { id: '2000-1', data: 'b' }, { id: '2001-0', data: 'c' }], { ttlMs: 60_000 });
      // A retry of the same batch, and one overlapping it, write only what is new.
      await peer.appendMany('many', [{ id: '2000-1', data: 'b' }, { id: '2001-0', data: 'c' }, { id: '2001-1', data: 'd' }], { ttlMs: 60_000 });
      await expect(store.appendMany('many', [{ id: '2002-0', data: 'e' }, { id: '1999-0', data: 'x' }, { id: '2003-0', data: 'y' }], { ttlMs: 60_000 })).rejects.toBeInstanceOf(StreamIdConflictError);
      expect(await peer.readAfter('many', '0')).toEqual([
        { id: '2000-0', data: 'a' },
        { id: '2000-1', data: 'b' },
        { id: '2001-0', data: 'c' },
        { id: '2001-1', data: 'd' },
        { id: '2002-0', data: 'e' },
      ]);
    });

    it('tails: one batch wakes a waiting tail of another instance, which reads all of it', async () => {
      const controller = new AbortController();
      const reader = store.tail('tail-many', '0', { signal: controller.signal, pollMs: 600_000 })[Symbol.asyncIterator]();
      const first = reader.next();
      await peer.appendMany('tail-many', [{ id: '3000-0', data: '1' }, { id: '3000-1', data: '2' }], { ttlMs: 60_000 });
      expect(await first).toEqual({ done: false, value: { id: '3000-0', data: '1' } });
      expect(await reader.next()).toEqual({ done: false, value: { id: '3000-1', data: '2' } });
      controller.abort();
      expect((await reader.next()).done).toBe(true);
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
}
