import { describe, expect, it } from 'vitest';
import { compactMeta, Interner } from '../../../src/block/fetcher/meta-read.js';
import { MetaTable } from '../../../src/block/fetcher/meta-table.js';
import { PackedMeta } from '../../../src/block/fetcher/packed-meta.js';
import { TenantState } from '../../../src/block/fetcher/tenant-state.js';
import { formatMeta, parseMeta, type BlockMeta } from '../../../src/tsdb/meta.js';
import { T0, H, ulidAt } from './helpers.js';
import { formatUploadTime } from '../../../src/tsdb/upload-time.js';

/** A sidecar meta as Thanos writes it, through the fetcher's compaction (as a sync keeps it). */
function sidecar(seq: number, over: (m: BlockMeta) => void = () => {}): BlockMeta {
  const id = ulidAt(T0 + seq * 1000, seq);
  const m: BlockMeta = {
    ulid: id,
    minTime: T0 + seq * 2 * H,
    maxTime: T0 + (seq + 1) * 2 * H,
    stats: { numSamples: 1e10 + seq, numSeries: 1000 + seq, numChunks: 1200, numTombstones: seq % 3 },
    compaction: { level: 1, sources: [id] },
    version: 1,
    thanos: {
      labels: { cluster: `c${seq % 3}`, replica: 'a' },
      downsample: { resolution: seq % 2 === 0 ? 0 : 300_000 },
      source: 'sidecar',
      segment_files: ['000001', '000002'],
      files: [
        { rel_path: 'chunks/000001', size_bytes: 4_290_000_000 + seq },
        { rel_path: 'chunks/000002', size_bytes: 7 },
        { rel_path: 'index', size_bytes: 200_000 + seq },
        { rel_path: 'meta.json' },
      ],
      index_stats: {},
      // Go's nanoseconds (kept as text), toISOString's and formatUploadTime's (kept as milliseconds).
      upload_time: [
        `2023-11-14T22:13:20.${String(seq).padStart(9, '0')}Z`,
        new Date(1.7e12 + seq * 1010).toISOString(),
        formatUploadTime(1.7e12 + seq * 1010),
      ][seq % 3],
    },
  };
  over(m);
  // Through JSON as a sync reads it, then compacted as the fetcher keeps it.
  return compactMeta(parseMeta(formatMeta(m), 'test'), id, interner);
}

const interner = new Interner();

describe('MetaTable', () => {
  it('gives back every field of a packed meta, as JSON and field by field', () => {
    const table = new MetaTable();
    // File lists change from block to block (one chunk segment, two, two of other names), and back.
    const oneSegment = (m: BlockMeta): void => {
      m.thanos!.segment_files = ['000001'];
      m.thanos!.files = m.thanos!.files!.filter((f) => f.rel_path !== 'chunks/000002');
    };
    const otherSegment = (m: BlockMeta): void => {
      m.thanos!.segment_files = ['000001', '000003'];
      m.thanos!.files![1]!.rel_path = 'chunks/000003';
    };
    const plain = Array.from({ length: 300 }, (_, i) =>
      sidecar(i, [undefined, oneSegment, otherSegment][i % 3]),
    );
    const packed = plain.map((m) => table.pack(m));
    expect(table.rows).toBe(300);
    for (let i = 0; i < plain.length; i++) {
      const p = packed[i]!;
      const m = plain[i]!;
      expect(p).toBeInstanceOf(PackedMeta);
      expect(JSON.stringify(p)).toBe(JSON.stringify(m));
      expect(formatMeta(p)).toBe(formatMeta(m));
      expect(p.minTime).toBe(m.minTime);
      expect(p.stats).toEqual(m.stats);
      expect(p.compaction).toEqual(m.compaction);
      expect(p.thanos!.files).toEqual(m.thanos!.files);
      expect(p.thanos!.upload_time).toBe(m.thanos!.upload_time);
      // Milliseconds where the text is one of the two exact forms, as Date.parse reads it.
      const ms = (p as PackedMeta).uploadTimeMs();
      if (i % 3 === 0) expect(ms).toBeNaN();
      else expect(ms).toBe(Date.parse(m.thanos!.upload_time!));
      // Shared parts are the interner's objects, so identity-keyed caches keep working.
      expect(p.thanos!.labels).toBe(m.thanos!.labels);
      expect(p.thanos!.downsample).toBe(m.thanos!.downsample);
    }
  });

  it('is compared by deep equality as the plain meta it stands for (test/support setup)', () => {
    const m = sidecar(9);
    const p = new MetaTable().pack(m);
    expect(p).toEqual(m);
    expect([p]).toStrictEqual([new MetaTable().pack(m)]);
    const other = JSON.parse(JSON.stringify(m)) as BlockMeta;
    other.thanos!.files![1]!.size_bytes = 8;
    expect(p).not.toEqual(other);
  });

  it('packs optional sections absent and compacted sources, and keeps unusual shapes whole', () => {
    const table = new MetaTable();
    const bare = sidecar(1, (m) => {
      delete m.thanos!.files;
      delete m.thanos!.segment_files;
      delete m.thanos!.index_stats;
      delete m.thanos!.upload_time;
    });
    const merged = sidecar(2, (m) => {
      m.compaction = { level: 3, sources: [ulidAt(T0, 1), ulidAt(T0, 2)] };
    });
    for (const m of [bare, merged]) {
      const p = table.pack(m);
      expect(p).toBeInstanceOf(PackedMeta);
      expect(JSON.stringify(p)).toBe(JSON.stringify(m));
    }
    // A caller mutating what a getter returned does not change the row.
    table.pack(merged).compaction.sources.push('x');
    expect(table.pack(merged).compaction.sources).toHaveLength(2);

    const unusual = [
      sidecar(3, (m) => {
        m.compaction.parents = [{ ulid: ulidAt(T0, 1), minTime: 0, maxTime: 1 }];
      }),
      sidecar(4, (m) => {
        m.thanos!.files![0]!.hash = { func: 'SHA256', value: 'ab' };
      }),
      sidecar(5, (m) => {
        m.thanos!.upload_time = 'é'.repeat(10);
      }),
      sidecar(6, (m) => {
        delete m.thanos;
      }),
      // Counts the table keeps as 32-bit integers: one beyond, one not an integer.
      sidecar(7, (m) => {
        m.stats.numSeries = 2 ** 32;
      }),
      sidecar(8, (m) => {
        m.stats.numChunks = 1.5;
      }),
      // A file of 4 GiB: sizes are kept as 32-bit integers.
      sidecar(9, (m) => {
        m.thanos!.files![2]!.size_bytes = 2 ** 32;
      }),
    ];
    const rows = table.rows;
    for (const m of unusual) expect(table.pack(m)).toBe(m);
    expect(table.rows).toBe(rows);
  });

  it('hands a meta of its own back as it is, and copies one of another table into a new row', () => {
    const a = new MetaTable();
    const b = new MetaTable();
    const p = a.pack(sidecar(7));
    expect(a.pack(p)).toBe(p);
    const q = b.pack(p);
    expect(q).not.toBe(p);
    expect(JSON.stringify(q)).toBe(JSON.stringify(p));
    expect([a.rows, b.rows]).toEqual([1, 1]);
  });

  it('reads every row back after room was reserved (empty, mid-page, across pages, more than a page)', () => {
    const table = new MetaTable();
    const plain = Array.from({ length: 3_100 }, (_, i) => sidecar(i));
    const packed: BlockMeta[] = [];
    // Reserve n, then pack k (k ≠ n on purpose: the counts are hints).
    const steps: [number, number][] = [
      [5, 5],
      [3, 40],
      [1000, 970],
      [100, 100],
      [2000, 1985],
    ];
    let at = 0;
    for (const [n, k] of steps) {
      table.reserve(n);
      for (let j = 0; j < k; j++) packed.push(table.pack(plain[at++]!));
    }
    expect(at).toBe(plain.length);
    expect(table.rows).toBe(plain.length);
    for (let i = 0; i < plain.length; i++) expect(JSON.stringify(packed[i])).toBe(JSON.stringify(plain[i]));
  });
});

describe('TenantState with a meta table', () => {
  it('keeps the metas of the table it was given (a restart packs every block before setting any)', () => {
    const table = new MetaTable();
    const packed = Array.from({ length: 10_000 }, (_, i) => table.pack(sidecar(i)));
    const st = new TenantState('t', false, table);
    for (const p of packed) st.setMeta(p.ulid, p, true);
    expect(st.tableRows).toBe(10_000);
    for (const p of packed) expect(st.metas.get(p.ulid)).toBe(p);
  });

  it('replaces a mostly dead table; metas held from before still read their own blocks', () => {
    const st = new TenantState('t');
    const metas = Array.from({ length: 12_000 }, (_, i) => sidecar(i));
    for (const m of metas) st.setMeta(m.ulid, m);
    const held = st.metas.get(metas[11_999]!.ulid)!;
    // The table is replaced when its dead rows outnumber the live ones (6,001 against 5,999).
    for (const m of metas.slice(0, 9_000)) st.drop(m.ulid);
    const now = st.metas.get(metas[11_999]!.ulid)!;
    expect(now).not.toBe(held);
    expect(st.tableRows).toBe(5_999);
    expect(JSON.stringify(held)).toBe(JSON.stringify(metas[11_999]));
    expect(JSON.stringify(now)).toBe(JSON.stringify(metas[11_999]));
    // The filters cannot trust their memory of the old objects: they run whole.
    expect(st.takeChanges()).toBeUndefined();
    for (const m of metas.slice(9_000)) {
      expect(JSON.stringify(st.metas.get(m.ulid))).toBe(JSON.stringify(m));
    }
  });
});
