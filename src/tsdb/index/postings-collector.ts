/**
 * Collects postings while series are added, as (valueRef, seriesId) pairs in one growable
 * Uint32Array per label name: 8 bytes per label of every series, nothing per chunk. Series IDs
 * arrive ascending, so a stable counting sort by value yields each list already sorted.
 */
import { grownTo } from '../../util/typed-arrays.js';

interface NameBuf {
  data: Uint32Array;
  n: number;
}

export interface ValueGroups {
  /** Value symbol refs, ascending. */
  readonly values: Uint32Array;
  /** Group i is ids[starts[i] .. starts[i+1]). */
  readonly starts: Uint32Array;
  readonly ids: Uint32Array;
}

export class PostingsCollector {
  private readonly names = new Map<number, NameBuf>();
  private all: Uint32Array = new Uint32Array(1024);
  private numSeries = 0;
  private labelCount = 0;

  add(id: number, refs: Uint32Array, numLabels: number): void {
    if (this.numSeries === this.all.length) this.all = grownTo(this.all, this.all.length * 2);
    this.all[this.numSeries++] = id;
    for (let i = 0; i < numLabels; i++) {
      const name = refs[2 * i]!;
      let b = this.names.get(name);
      if (b === undefined) {
        b = { data: new Uint32Array(64), n: 0 };
        this.names.set(name, b);
      }
      if (2 * b.n + 2 > b.data.length) b.data = grownTo(b.data, b.data.length * 2);
      b.data[2 * b.n] = refs[2 * i + 1]!;
      b.data[2 * b.n + 1] = id;
      b.n++;
    }
    this.labelCount += numLabels;
  }

  /** Every series ID, ascending. */
  allPostings(): Uint32Array {
    return this.all.subarray(0, this.numSeries);
  }

  /** Label name refs in use, ascending (= name order, since symbols are sorted). */
  nameRefs(): Uint32Array {
    const out = Uint32Array.from(this.names.keys());
    out.sort();
    return out;
  }

  /** Total labels added (for stats). */
  get labels(): number {
    return this.labelCount;
  }

  /**
   * Groups one name's pairs by value and releases its buffer. `counts` is a zeroed scratch array
   * with one slot per symbol; it is zeroed again on return.
   */
  takeGroups(nameRef: number, counts: Uint32Array): ValueGroups {
    const b = this.names.get(nameRef);
    if (b === undefined) throw new RangeError(`no postings for name ref ${nameRef}`);
    this.names.delete(nameRef);
    const data = b.data;
    const n = b.n;
    let distinct = 0;
    for (let i = 0; i < n; i++) {
      if (counts[data[2 * i]!]++ === 0) distinct++;
    }
    const values = new Uint32Array(distinct);
    let d = 0;
    for (let i = 0; i < n && d < distinct; i++) {
      const v = data[2 * i]!;
      // Mark collected values by setting the top bit of their count (counts < 2^31 here).
      if ((counts[v]! & 0x8000_0000) === 0) {
        values[d++] = v;
        counts[v] = (counts[v]! | 0x8000_0000) >>> 0;
      }
    }
    values.sort();
    const starts = new Uint32Array(distinct + 1);
    let off = 0;
    for (let i = 0; i < distinct; i++) {
      const v = values[i]!;
      const c = counts[v]! & 0x7fff_ffff;
      starts[i] = off;
      counts[v] = off; // reuse as the write cursor
      off += c;
    }
    starts[distinct] = off;
    const ids = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const v = data[2 * i]!;
      ids[counts[v]!++] = data[2 * i + 1]!;
    }
    for (let i = 0; i < distinct; i++) counts[values[i]!] = 0;
    return { values, starts, ids };
  }
}
