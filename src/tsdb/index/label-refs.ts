/** Label strings to symbol refs for the index writer, with the checks a label set must pass. */
import type { Labels } from '../labels.js';
import { IndexWriterError, safeFormat } from './write-checks.js';

/** Positions cached: neighbouring series mostly repeat names and values at the same position. */
const CACHE_LABELS = 32;

export class LabelRefResolver {
  /** Per label position: last name, its ref, last value, its ref. */
  private readonly cache: Array<string | number | undefined> = new Array(4 * CACHE_LABELS).fill(undefined);

  constructor(private readonly symbolRefs: Map<string, number>) {}

  /**
   * Writes the name and value refs of `labels` into `refs[0 .. 2k)`; every name and value must be
   * a non-empty symbol and names strictly ascending.
   */
  resolve(labels: Labels, refs: Uint32Array): void {
    const cache = this.cache;
    const k = labels.length;
    for (let i = 0; i < k; i++) {
      const l = labels[i]!;
      let n: number | undefined;
      let v: number | undefined;
      if (i < CACHE_LABELS && cache[4 * i] === l.name) {
        n = cache[4 * i + 1] as number;
      } else {
        n = this.symbolRefs.get(l.name);
        if (i < CACHE_LABELS && n !== undefined) {
          cache[4 * i] = l.name;
          cache[4 * i + 1] = n;
        }
      }
      if (i < CACHE_LABELS && cache[4 * i + 2] === l.value) {
        v = cache[4 * i + 3] as number;
      } else {
        v = this.symbolRefs.get(l.value);
        if (i < CACHE_LABELS && v !== undefined) {
          cache[4 * i + 2] = l.value;
          cache[4 * i + 3] = v;
        }
      }
      if (n === undefined || v === undefined || l.name === '' || l.value === '') {
        const what =
          typeof l.name !== 'string' || typeof l.value !== 'string'
            ? 'label name and value must be strings'
            : l.name === ''
              ? 'empty label name'
              : l.value === ''
                ? `label ${l.name} has an empty value (Prometheus treats it as absent)`
                : `${n === undefined ? 'label name ' + JSON.stringify(l.name) : 'label value ' + JSON.stringify(l.value)} is not in the symbol table`;
        throw new IndexWriterError('ERR_INVALID_ARGUMENT', safeFormat(labels), what);
      }
      if (i > 0 && n <= refs[2 * i - 2]!) {
        throw new IndexWriterError(
          'ERR_INVALID_ARGUMENT',
          safeFormat(labels),
          `labels not sorted by name or duplicated: ${JSON.stringify(l.name)} after ${JSON.stringify(labels[i - 1]!.name)}`,
        );
      }
      refs[2 * i] = n;
      refs[2 * i + 1] = v;
    }
  }
}
