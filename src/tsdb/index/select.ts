/**
 * Series selection with Prometheus' PostingsForMatchers semantics (tsdb/querier.go): a matcher
 * that matches "" also selects series without the label; `a!=""` means "has label a"; matchers
 * that all match "" are applied by subtracting from all postings.
 */
import { inverseMatcher, type Matcher } from './matchers.js';
import { intersect, without } from './postings.js';

/** What selection needs from an index. */
export interface PostingsSource {
  postings(name: string, value: string): Promise<Uint32Array>;
  postingsForValues(name: string, values: readonly string[]): Promise<Uint32Array>;
  /** Union of the postings of the values of `name` that `m` accepts (or rejects, if `rejected`). */
  postingsWhere(name: string, m: Matcher, rejected: boolean): Promise<Uint32Array>;
  allPostings(): Promise<Uint32Array>;
}

/** Series with the label set to a value the matcher accepts. */
function postingsForMatcher(ix: PostingsSource, m: Matcher): Promise<Uint32Array> {
  if (m.type === '=') return ix.postings(m.name, m.value);
  if (m.type === '=~' && m.setMatches !== null) return ix.postingsForValues(m.name, m.setMatches);
  return ix.postingsWhere(m.name, m, false);
}

/** Series with the label set to a value the matcher rejects. */
function inversePostingsForMatcher(ix: PostingsSource, m: Matcher): Promise<Uint32Array> {
  return ix.postingsWhere(m.name, m, true);
}

export async function selectPostings(ix: PostingsSource, matchers: readonly Matcher[]): Promise<Uint32Array> {
  const mustBeSet = new Set<string>();
  for (const m of matchers) if (!m.matches('')) mustBeSet.add(m.name);

  const its: Uint32Array[] = [];
  const notIts: Uint32Array[] = [];
  for (const m of matchers) {
    if (m.name === '' && m.value === '') {
      its.push(await ix.allPostings());
    } else if (mustBeSet.has(m.name)) {
      const matchesEmpty = m.matches('');
      const isNot = m.type === '!=' || m.type === '!~';
      if (isNot && matchesEmpty) {
        // l!="foo" with l required elsewhere: subtract l="foo" at the end.
        notIts.push(await postingsForMatcher(ix, inverseMatcher(m)));
      } else if (isNot && !matchesEmpty) {
        // l!="": series with l set to anything the inverse rejects.
        const it = await inversePostingsForMatcher(ix, inverseMatcher(m));
        if (it.length === 0) return new Uint32Array(0);
        its.push(it);
      } else {
        const it = await postingsForMatcher(ix, m);
        if (it.length === 0) return new Uint32Array(0);
        its.push(it);
      }
    } else {
      // Matches "": also selects series without the label; subtract those set to a rejected value.
      notIts.push(await inversePostingsForMatcher(ix, m));
    }
  }
  if (its.length === 0) {
    if (notIts.length === 0) return new Uint32Array(0);
    its.push(await ix.allPostings());
  }
  its.sort((a, b) => a.length - b.length);
  let out = its[0]!;
  for (let i = 1; i < its.length && out.length > 0; i++) out = intersect(out, its[i]!);
  for (const n of notIts) out = without(out, n);
  return out;
}
