import { describe, expect, test } from 'vitest';
import {
  formatMarker,
  isNoCompactReason,
  markerTime,
  newDeletionMark,
  newNoCompactMark,
  newNoDownsampleMark,
  parseDeletionMark,
  parseMarker,
  parseNoCompactMark,
} from '../../src/tsdb/markers.js';

const ID = '01HK0000000000000000000ABC';

describe('marker JSON', () => {
  test('compact, Go struct key order, details omitted when empty, unix seconds', () => {
    expect(formatMarker(newDeletionMark(ID, 1_700_000_000_999))).toBe(
      `{"id":"${ID}","version":1,"deletion_time":1700000000}`,
    );
    expect(formatMarker(newDeletionMark(ID, 1_700_000_000_000, 'why'))).toBe(
      `{"id":"${ID}","version":1,"details":"why","deletion_time":1700000000}`,
    );
    expect(formatMarker(newNoCompactMark(ID, 'index-size-exceeding', 5000, 'big'))).toBe(
      `{"id":"${ID}","version":1,"details":"big","no_compact_time":5,"reason":"index-size-exceeding"}`,
    );
    expect(formatMarker(newNoDownsampleMark(ID, 'manual', 7000))).toBe(
      `{"id":"${ID}","version":1,"no_downsample_time":7,"reason":"manual"}`,
    );
  });

  test('parse round-trips and accepts what Go writes', () => {
    for (const m of [
      newDeletionMark(ID, 1e12, 'x'),
      newNoCompactMark(ID, 'critical', 1e12),
      newNoDownsampleMark(ID, 'downsample-vertical-compaction', 1e12, 'y'),
    ]) {
      const r = parseMarker(m.kind, formatMarker(m), 'k', ID);
      expect(r).toEqual({ ok: true, marker: m });
      if (r.ok) expect(markerTime(r.marker)).toBe(1e9);
    }
    // Thanos-written marker with an empty details field and unknown extra fields.
    const r = parseNoCompactMark(
      Buffer.from(
        `{"id":"${ID}","version":1,"details":"","no_compact_time":3,"reason":"some-future-reason","x":1}`,
      ),
      'k',
    );
    expect(r).toEqual({
      ok: true,
      marker: { kind: 'no-compact', id: ID, version: 1, noCompactTime: 3, reason: 'some-future-reason' },
    });
    // Missing time reads as 0, like json.Unmarshal.
    expect(parseDeletionMark(`{"id":"${ID}","version":1}`, 'k')).toMatchObject({
      ok: true,
      marker: { deletionTime: 0 },
    });
  });

  test('bad markers are results, not exceptions, and never quote the content', () => {
    const cases: [string, RegExp][] = [
      ['{"id":', /not valid JSON/],
      ['[]', /not a JSON object/],
      [`{"id":"${ID}","version":2,"deletion_time":1}`, /version/],
      [`{"id":"${ID}","deletion_time":1}`, /version/],
      [`{"id":"nope","version":1,"deletion_time":1}`, /ULID/],
      [`{"id":"${ID}","version":1,"deletion_time":"soon"}`, /deletion_time/],
      [`{"id":"${ID}","version":1,"deletion_time":1.5}`, /deletion_time/],
      [`{"id":"${ID}","version":1,"details":3,"deletion_time":1}`, /details/],
      ['secret-token-123 not json', /not valid JSON/],
    ];
    for (const [text, re] of cases) {
      const r = parseDeletionMark(text, 'b/deletion-mark.json');
      expect(r.ok, text).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('ERR_BLOCK_BAD_MARKER');
        expect(r.error.key).toBe('b/deletion-mark.json');
        expect(r.error.message).toMatch(re);
        expect(r.error.message).not.toContain('secret-token');
      }
    }
    const other = '01HK0000000000000000000ABD';
    const r = parseDeletionMark(formatMarker(newDeletionMark(other, 0)), 'k', ID);
    expect(r.ok).toBe(false);
    const nc = parseMarker('no-compact', `{"id":"${ID}","version":1,"no_compact_time":1,"reason":5}`, 'k');
    expect(nc.ok).toBe(false);
  });

  test('reasons include Mimir critical', () => {
    expect(isNoCompactReason('critical')).toBe(true);
    expect(isNoCompactReason('block-index-out-of-order-chunk')).toBe(true);
    expect(isNoCompactReason('other')).toBe(false);
  });
});
