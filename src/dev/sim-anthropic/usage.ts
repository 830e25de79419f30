/**
 * Input-token accounting with prompt caching. A `cache_control` breakpoint on a tool or system
 * block caches everything up to it (tools come before system, as in the real API); the first
 * request with a prefix writes the cache, later ones read it until it expires.
 */
import { createHash } from 'node:crypto';
import type { Usage } from '@anthropic-ai/sdk/resources/messages';
import type { CacheControl, MessagesRequest } from './request.js';
import { tokensForChars } from './tokens.js';

const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;
type CacheTtl = keyof typeof TTL_MS;

export type InputUsage = Pick<
  Usage,
  'input_tokens' | 'cache_creation_input_tokens' | 'cache_read_input_tokens' | 'cache_creation'
>;

/** Which prefixes have been written, and until when they live. */
export class PromptCache {
  readonly #expiries = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** True when `key` was live; either way it is (re)written to live for `ttlMs` from now. */
  touch(key: string, ttlMs: number): boolean {
    const now = this.#now();
    for (const [entry, expiry] of this.#expiries) if (expiry <= now) this.#expiries.delete(entry);
    const hit = this.#expiries.has(key);
    this.#expiries.set(key, now + ttlMs);
    return hit;
  }
}

interface CachedPrefix {
  readonly blocks: readonly unknown[];
  readonly ttl: CacheTtl;
}

/** Tools then system blocks, up to and including the last one marked with cache_control. */
function cachedPrefix(request: MessagesRequest): CachedPrefix | undefined {
  const system = typeof request.system === 'string' || request.system === undefined ? [] : request.system;
  const blocks: ReadonlyArray<{ cache_control?: CacheControl }> = [...(request.tools ?? []), ...system];
  const last = blocks.findLastIndex((block) => block.cache_control != null);
  if (last < 0) return undefined;
  return { blocks: blocks.slice(0, last + 1), ttl: blocks[last]?.cache_control?.ttl ?? '5m' };
}

export function computeInputUsage(request: MessagesRequest, cache: PromptCache): InputUsage {
  const { system, tools, messages } = request;
  const totalTokens = tokensForChars(JSON.stringify({ system, tools, messages }).length);
  const prefix = cachedPrefix(request);
  if (prefix === undefined) {
    return {
      input_tokens: totalTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    };
  }
  const serialised = JSON.stringify(prefix.blocks);
  const prefixTokens = tokensForChars(serialised.length);
  // Caches are per model, as in the real API.
  const key = createHash('sha256').update(request.model).update('\0').update(serialised).digest('hex');
  const hit = cache.touch(key, TTL_MS[prefix.ttl]);
  const written = hit ? 0 : prefixTokens;
  return {
    input_tokens: Math.max(0, totalTokens - prefixTokens),
    cache_creation_input_tokens: written,
    cache_read_input_tokens: hit ? prefixTokens : 0,
    cache_creation: {
      ephemeral_5m_input_tokens: prefix.ttl === '5m' ? written : 0,
      ephemeral_1h_input_tokens: prefix.ttl === '1h' ? written : 0,
    },
  };
}
