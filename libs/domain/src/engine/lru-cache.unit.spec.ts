import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache';

describe('LruCache', () => {
  it('forgets the least recently used entry beyond its capacity', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.get('a');
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([1, undefined, 3]);
  });

  it('stays within its weight budget, whatever the number of entries', () => {
    const cache = new LruCache<string, string>(1_000, 100);
    for (let i = 0; i < 50; i++) cache.set(`k${i}`, 'x', 30);
    expect(cache.weight).toBeLessThanOrEqual(100);
    expect(cache.size).toBe(3);
    expect(cache.get('k49')).toBe('x');
    expect(cache.get('k0')).toBeUndefined();
  });

  it('does not keep an entry heavier than the whole budget, and counts replacements once', () => {
    const cache = new LruCache<string, string>(10, 100);
    cache.set('big', 'x', 101);
    expect(cache.size).toBe(0);
    cache.set('a', 'x', 60);
    cache.set('a', 'y', 70);
    expect(cache.weight).toBe(70);
    cache.delete('a');
    expect(cache.weight).toBe(0);
  });

  it('keeps nothing with a capacity of 0', () => {
    const cache = new LruCache<string, number>(0);
    cache.set('a', 1);
    expect(cache.get('a')).toBeUndefined();
  });
});
