import { afterEach, describe, expect, it, vi } from 'vitest';
import { RecencyCap } from '../../src/util/recency-cap.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('RecencyCap', () => {
  it('lets go of the least recently written past max, counting each, and a rewrite makes an id recent again', () => {
    const onEvict = vi.fn();
    const cap = new RecencyCap({ max: 2, onEvict }, 60_000);
    expect(cap.touch('a')).toEqual([]);
    expect(cap.touch('b')).toEqual([]);
    expect(cap.touch('a')).toEqual([]);
    expect(cap.touch('c')).toEqual(['b']);
    expect(onEvict).toHaveBeenCalledTimes(1);
  });

  it('only forgets ids past their retention (the store expired them): no eviction counted', () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const onEvict = vi.fn();
    const cap = new RecencyCap({ max: 2, onEvict }, 1_000);
    cap.touch('old-1');
    cap.touch('old-2');
    vi.setSystemTime(1_000);
    expect(cap.touch('new-1')).toEqual([]);
    expect(cap.touch('new-2')).toEqual([]);
    expect(onEvict).not.toHaveBeenCalled();
  });

  it('does not count an id its owner deleted', () => {
    const onEvict = vi.fn();
    const cap = new RecencyCap({ max: 1, onEvict }, 60_000);
    cap.touch('a');
    cap.forget('a');
    expect(cap.touch('b')).toEqual([]);
    expect(onEvict).not.toHaveBeenCalled();
  });
});
