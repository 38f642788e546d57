import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareLabels, compareStrings, formatLabels, type Labels } from '../labels.js';
import { IndexReader } from './reader.js';
import {
  normalize,
  removeDir,
  run,
  tempDir,
  writeMinimalBlock,
} from '../../../test/support/index-testkit.js';

const ULID = '01HZZZZZZZZZZZZZZZZZZZZZZZ';

describe('promtool (Prometheus 2.42) interop', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('reads an index written without the legacy label-index sections', async () => {
    const db = join(dir, 'db');
    const sets = normalize([
      [
        { name: '__name__', value: 'up' },
        { name: 'job', value: 'api' },
        { name: 'instance', value: 'a:1' },
      ],
      [
        { name: '__name__', value: 'up' },
        { name: 'job', value: 'db' },
        { name: 'instance', value: 'b:2' },
      ],
      [
        { name: '__name__', value: 'http_requests_total' },
        { name: 'code', value: '200' },
        { name: 'ünï', value: 'ç☃😀' },
      ],
      [
        { name: '__name__', value: 'http_requests_total' },
        { name: 'code', value: '500' },
      ],
    ]);
    const times = [1_700_000_000_000, 1_700_000_015_000];
    const { blockDir } = await writeMinimalBlock(db, ULID, sets, times);
    // No legacy sections: label indices start where the postings start, and the label offset
    // table is empty (it shares its offset with the postings offset table).
    const r = await IndexReader.open(join(blockDir, 'index'));
    expect(r.toc.labelIndices).toBe(r.toc.postings);
    expect(r.toc.labelIndicesTable).toBe(r.toc.postingsTable);
    await r.close();

    const analyze = await run('promtool', ['tsdb', 'analyze', db, ULID]);
    expect(analyze).toContain('Series: 4\n');
    expect(analyze).toContain('Label names: 5\n');
    expect(analyze).toContain('Postings (unique label pairs): 9\n');

    const dump = await run('promtool', ['tsdb', 'dump', db]);
    const lines = dump.trim().split('\n');
    expect(lines).toHaveLength(sets.length * times.length);
    for (let i = 0; i < sets.length; i++) {
      times.forEach((t, k) => expect(lines).toContain(`${formatLabels(sets[i]!)} ${i * 10 + k} ${t}`));
    }
  });

  it('reads a larger index: many values per name exercise its sampled postings-table lookups', async () => {
    const db = join(dir, 'db-large');
    const sets = normalize(
      Array.from({ length: 3000 }, (_, i) => [
        { name: '__name__', value: `metric_${i % 37}` },
        { name: 'instance', value: `host-${i}` },
        { name: 'zone', value: ['a', 'b', 'c'][i % 3]! },
      ]),
    );
    await writeMinimalBlock(db, ULID, sets, [1_700_000_000_000]);
    const analyze = await run('promtool', ['tsdb', 'analyze', db, ULID]);
    expect(analyze).toContain('Series: 3000\n');
    expect(analyze).toContain('Postings (unique label pairs): 3040\n');
    const dump = (await run('promtool', ['tsdb', 'dump', db])).trim().split('\n');
    expect(dump).toHaveLength(3000);
    expect(dump).toContain(`${formatLabels(sets[1234]!)} ${12340} 1700000000000`);
  });

  it('reads an index written by promtool create-blocks-from openmetrics', async () => {
    const input: Labels[] = [];
    let text = '';
    for (let m = 0; m < 3; m++) {
      text += `# TYPE metric_${m} gauge\n`;
      for (let i = 0; i < 40; i++) {
        const ls = [
          { name: '__name__', value: `metric_${m}` },
          { name: 'host', value: `h${i % 7}` },
          { name: 'idx', value: String(i) },
          ...(i % 3 === 0 ? [{ name: 'odd', value: 'ø"x\\y' }] : []),
        ];
        input.push(ls);
        const lbl = ls
          .slice(1)
          .map((l) => `${l.name}="${l.value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
          .join(',');
        for (let s = 0; s < 3; s++) text += `metric_${m}{${lbl}} ${i + s} ${1_700_000_000 + 15 * s}\n`;
      }
    }
    text += '# EOF\n';
    const file = join(dir, 'input.om');
    await writeFile(file, text);
    const out = join(dir, 'created');
    await run('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', file, out]);
    const blocks = (await readdir(out)).filter((n) => /^[0-9A-Z]{26}$/.test(n));
    expect(blocks).toHaveLength(1);

    const want = normalize(input);
    const r = await IndexReader.open(join(out, blocks[0]!, 'index'));
    try {
      const names = [...new Set(want.flatMap((ls) => ls.map((l) => l.name)))].sort(compareStrings);
      expect(r.labelNames()).toEqual(names);
      for (const n of names) {
        const vals = [...new Set(want.flatMap((ls) => ls.filter((l) => l.name === n).map((l) => l.value)))];
        expect(r.labelValues(n)).toEqual(vals.sort(compareStrings));
      }
      const all = await r.allPostings();
      expect(all.length).toBe(want.length);
      const got: Labels[] = [];
      for (const id of all) {
        const s = await r.series(id);
        expect(s.chunks.length).toBeGreaterThan(0);
        got.push(s.labels.map((l) => ({ ...l })));
      }
      expect(got).toEqual(want);
      // The sequential cursor sees the same series (this index has the legacy sections).
      const seen: Labels[] = [];
      for await (const s of r.seriesIterator(256)) seen.push(s.labels.map((l) => ({ ...l })));
      expect(seen).toEqual(want);
      for (let i = 1; i < seen.length; i++) expect(compareLabels(seen[i - 1]!, seen[i]!)).toBeLessThan(0);
      const v = await r.validate(1_700_000_000_000, 1_700_000_000_000 + 2 * 3600_000);
      expect(v.problems).toEqual([]);
      expect(v.ok).toBe(true);
    } finally {
      await r.close();
    }
  });
});
