import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { getLabel, type Label } from '../labels.js';
import { newMatcher, parseSelector, type Matcher, type MatchType } from './matchers.js';
import { IndexReader } from './reader.js';
import { normalize, removeDir, tempDir, writeIndex } from '../../../test/support/index-testkit.js';

const NAMES = ['__name__', 'a', 'b', 'job', 'é'];
const VALUES = ['x', 'y', 'xy', 'ab', 'a', 'b', 'é', '😀', 'x\ny', 'job_1', 'job_12'];
const REGEXES = [
  'a|b',
  '.*',
  '.+',
  'x.*',
  '.*y',
  'x|y|xy',
  '',
  'job_1.*',
  '[a-c]',
  '(?i)X',
  '(?s).+',
  'é|😀',
  'a|',
  'z',
];

const labelSet = fc
  .uniqueArray(fc.record({ name: fc.constantFrom(...NAMES), value: fc.constantFrom(...VALUES) }), {
    minLength: 1,
    maxLength: 4,
    selector: (l) => l.name,
  })
  .map((ls): Label[] => ls);

const matcher = fc
  .record({
    type: fc.constantFrom<MatchType>('=', '!=', '=~', '!~'),
    name: fc.constantFrom(...NAMES, 'missing'),
    value: fc.constantFrom(...VALUES, ''),
    re: fc.constantFrom(...REGEXES),
  })
  .map(({ type, name, value, re }) => newMatcher(type, name, type === '=~' || type === '!~' ? re : value));

function bruteForce(
  sets: readonly (readonly Label[])[],
  ids: readonly number[],
  ms: readonly Matcher[],
): number[] {
  if (ms.length === 0) return [];
  const out: number[] = [];
  sets.forEach((ls, i) => {
    if (ms.every((m) => m.matches(getLabel(ls, m.name)))) out.push(ids[i]!);
  });
  return out;
}

describe('select', () => {
  let dir: string;
  let n = 0;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('agrees with a brute-force evaluation over all series', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(labelSet, { minLength: 1, maxLength: 40 }),
        fc.array(fc.array(matcher, { maxLength: 4 }), { minLength: 1, maxLength: 15 }),
        async (raw, queries) => {
          const sets = normalize(raw);
          const path = join(dir, `s${n++}`);
          const ids = await writeIndex(
            path,
            sets.map((labels, i) => ({ labels, chunks: [{ mint: i, maxt: i, ref: 8 + i }] })),
          );
          const r = await IndexReader.open(path);
          try {
            for (const ms of queries) {
              expect(
                [...(await r.select(ms))],
                ms.map((m) => `${m.name}${m.type}${m.value}`).join(','),
              ).toEqual(bruteForce(sets, ids, ms));
            }
          } finally {
            await r.close();
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('handles the documented special cases', async () => {
    const sets = normalize([
      [{ name: 'a', value: '1' }],
      [
        { name: 'a', value: '2' },
        { name: 'b', value: 'x' },
      ],
      [{ name: 'b', value: 'y' }],
    ]);
    const path = join(dir, 'special');
    const ids = await writeIndex(
      path,
      sets.map((labels, i) => ({ labels, chunks: [{ mint: i, maxt: i, ref: 8 }] })),
    );
    const byB = (v: string) => ids.filter((_, i) => getLabel(sets[i]!, 'b') === v);
    const r = await IndexReader.open(path);
    try {
      const sel = async (s: string) => [...(await r.select(parseSelector(s)))];
      // a!="" means "has label a".
      expect(await sel('{a!=""}')).toEqual(ids.filter((_, i) => getLabel(sets[i]!, 'a') !== ''));
      // a matcher matching "" also selects series without the label.
      expect(await sel('{b="y", a=~"1|"}')).toEqual(byB('y'));
      expect(await sel('{b=~".+", a!="2"}')).toEqual(byB('y'));
      // all-negative: intersected with all postings.
      expect(await sel('{a=~".+", a!~"1"}')).toEqual(ids.filter((_, i) => getLabel(sets[i]!, 'a') === '2'));
      expect([...(await r.select([newMatcher('!=', 'a', '1')]))]).toEqual(
        ids.filter((_, i) => getLabel(sets[i]!, 'a') !== '1'),
      );
      expect([...(await r.select([newMatcher('=', '', '')]))]).toEqual(ids);
      expect([...(await r.select([]))]).toEqual([]);
      expect([...(await r.select([newMatcher('=', 'nope', 'x')]))]).toEqual([]);
    } finally {
      await r.close();
    }
  });
});
