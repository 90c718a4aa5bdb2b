import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HistoryMap } from './history-map';

describe('HistoryMap', () => {
  it('shows each view only what was set at or before its version', () => {
    const v0 = HistoryMap.of([['a', 0]], 0);
    const v2 = v0.with([['b', 2]], 2);
    const v5 = v2.with(
      [
        ['a', 5],
        ['c', 5],
      ],
      5,
    );
    expect([v0.get('a'), v0.get('b'), v0.get('c')]).toEqual([0, undefined, undefined]);
    expect([v2.get('a'), v2.get('b'), v2.get('c')]).toEqual([0, 2, undefined]);
    expect([v5.get('a'), v5.get('b'), v5.get('c')]).toEqual([5, 2, 5]);
    expect(v2.has('c')).toBe(false);
  });

  it('refuses a version that is not after the view it extends', () => {
    const v3 = HistoryMap.of<number>([], 3);
    expect(() => v3.with([['a', 1]], 3)).toThrow(/not after/);
  });

  it('keeps every view immutable when an older view is extended again (a fork)', () => {
    const base = HistoryMap.of([['a', 1]], 1);
    const left = base.with([['l', 2]], 2);
    const right = base.with([['r', 3]], 3);
    expect([left.get('l'), left.get('r')]).toEqual([2, undefined]);
    expect([right.get('l'), right.get('r'), right.get('a')]).toEqual([undefined, 3, 1]);
    expect(base.has('l') || base.has('r')).toBe(false);
  });

  it('agrees with copied maps over any sequence of extensions of any earlier view', () => {
    const step = fc.record({
      from: fc.nat(),
      entries: fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer()), {
        maxLength: 3,
      }),
      gap: fc.integer({ min: 1, max: 3 }),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const views = [{ view: HistoryMap.of<number>([], 0), model: new Map<string, number>() }];
        for (const { from, entries, gap } of steps) {
          const base = views[from % views.length]!;
          const view = base.view.with(entries, base.view.version + gap);
          const model = new Map(base.model);
          for (const [key, value] of entries) model.set(key, value);
          views.push({ view, model });
        }
        for (const { view, model } of views)
          for (const key of ['a', 'b', 'c', 'd', 'e']) expect(view.get(key)).toBe(model.get(key));
      }),
    );
  });
});
