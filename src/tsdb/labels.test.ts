import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareLabels, compareStrings, formatLabels, labelsFromRecord } from './labels.js';
import { goQuote } from './goquote.js';

describe('labels', () => {
  it('compareStrings orders like UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const want = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
        expect(Math.sign(compareStrings(a, b))).toBe(want);
      }),
    );
    expect(compareStrings('\u{10000}', '\uffff')).toBeGreaterThan(0);
  });

  it('compareLabels sorts a prefix first', () => {
    const a = labelsFromRecord({ a: '1' });
    const b = labelsFromRecord({ a: '1', b: '2' });
    expect(compareLabels(a, b)).toBeLessThan(0);
    expect(compareLabels(b, a)).toBeGreaterThan(0);
    expect(compareLabels(a, a)).toBe(0);
  });

  it('formats like Prometheus', () => {
    expect(formatLabels(labelsFromRecord({ __name__: 'up', job: 'a"b\\c\n' }))).toBe(
      '{__name__="up", job="a\\"b\\\\c\\n"}',
    );
    expect(goQuote('héllo ☃ \u0001 \u200b \u{1fae0}')).toBe('"héllo ☃ \\x01 \\u200b \\U0001fae0"');
  });
});
