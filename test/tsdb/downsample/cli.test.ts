/**
 * `strata tsdb downsample` and `strata tsdb dump` of downsampled blocks as processes (the built
 * CLI): raw → 5m → 1h, verify, dump per aggregate, and bad input (an unknown chunk encoding in the
 * input, a truncated aggregate sub-chunk) as one stderr line with a stable code naming the block,
 * the series and the offset.
 */
import { cp, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSynthBlocks } from '../../../src/tsdb/synth/write.js';
import { readMetaFile } from '../../../src/tsdb/meta.js';
import { crc32c } from '../../../src/tsdb/encoding/crc32c.js';
import { ensureBuilt } from '../../support/build.js';
import { assertNoLeakedProcesses } from '../../support/processes.js';
import { runStrata } from '../../compact/strata-cli.js';
import { tempDir } from '../helpers.js';

interface Summary {
  ulid: string | null;
  resolution: number;
  input_samples: number;
  output_samples: number;
  output_series: number;
}

let dir: string;
let cleanup: () => Promise<void>;
let raw: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('strata-ds-cli-'));
  const build = ensureBuilt();
  const blocks = await writeSynthBlocks({
    outDir: join(dir, 'raw'),
    series: 16,
    hours: 48,
    seed: 3,
    startMs: Date.UTC(2026, 0, 1),
    blockRangeMs: 48 * 3600_000,
  });
  raw = blocks[0]!.dir;
  await build;
}, 300_000);

afterAll(async () => {
  await cleanup();
  await assertNoLeakedProcesses();
});

function summary(stdout: string): Summary {
  const last = stdout.trim().split('\n').at(-1)!;
  return JSON.parse(last) as Summary;
}

/** Positions of the first chunk of segment 000001: [len field, encoding byte, data, crc). */
async function firstChunk(
  blockDir: string,
): Promise<{ file: string; buf: Buffer; enc: number; data: number; end: number }> {
  const file = join(blockDir, 'chunks', '000001');
  const fh = await open(file, 'r');
  const buf = Buffer.alloc(64 << 10);
  const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
  await fh.close();
  let p = 8;
  let len = 0;
  let shift = 0;
  for (;;) {
    const b = buf[p++]!;
    len += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
    shift += 7;
  }
  expect(p + 1 + len + 4).toBeLessThanOrEqual(bytesRead);
  return { file, buf, enc: p, data: p + 1, end: p + 1 + len };
}

/** Writes the chunk bytes [enc, end) back with a fresh CRC. */
async function rewrite(c: { file: string; buf: Buffer; enc: number; end: number }): Promise<void> {
  c.buf.writeUInt32BE(crc32c(c.buf.subarray(c.enc, c.end)) >>> 0, c.end);
  const fh = await open(c.file, 'r+');
  await fh.write(c.buf, c.enc, c.end + 4 - c.enc, c.enc);
  await fh.close();
}

describe('strata tsdb downsample', () => {
  let b5: string;

  it('raw → 5m: a verified block with resolution 300000 whose count aggregate adds up to the raw samples', async () => {
    const r = await runStrata(['tsdb', 'downsample', '--resolution', '5m', raw, '--out', join(dir, '5m')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = summary(r.stdout);
    expect(s.ulid).toMatch(/^[0-9A-Z]{26}$/);
    expect(s.resolution).toBe(300_000);
    b5 = join(dir, '5m', s.ulid!);
    expect((await readMetaFile(b5)).thanos?.downsample.resolution).toBe(300_000);

    const v = await runStrata(['tsdb', 'verify', b5]);
    expect(v.code).toBe(0);

    const rawDump = await runStrata(['tsdb', 'dump', raw]);
    const rawValues = rawDump.stdout.split('\n').filter((l) => l !== '' && !/ NaN \d+$/.test(l)).length;
    const counts = await runStrata(['tsdb', 'dump', '--aggregate', 'count', b5]);
    expect(counts.code).toBe(0);
    let total = 0;
    for (const l of counts.stdout.split('\n')) {
      const m = / (\d+) (\d+)$/.exec(l);
      if (m) total += Number(m[1]);
    }
    expect(total).toBe(rawValues);

    const all = await runStrata(['tsdb', 'dump', '--match', '{series="0"}', b5]);
    const kinds = new Set(
      all.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split(' ').at(-3)),
    );
    expect([...kinds].sort()).toEqual(['count', 'counter', 'max', 'min', 'sum']);
  });

  it('5m → 1h, and a target not coarser than the input is a usage error', async () => {
    const r = await runStrata(['tsdb', 'downsample', '--resolution', '1h', b5, '--out', join(dir, '1h')]);
    expect(r.code).toBe(0);
    const s = summary(r.stdout);
    expect(s.resolution).toBe(3_600_000);
    expect((await runStrata(['tsdb', 'verify', join(dir, '1h', s.ulid!)])).code).toBe(0);

    const again = await runStrata(['tsdb', 'downsample', '--resolution', '5m', b5, '--out', join(dir, 'x')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^strata: ERR_INVALID_ARGUMENT: block .* is not coarser/);
    const bad = await runStrata(['tsdb', 'downsample', '--resolution', '10m', raw, '--out', join(dir, 'x')]);
    expect(bad.code).toBe(2);
  });

  it('an unknown chunk encoding in the input: one line naming block, series and offset', async () => {
    const copy = join(dir, 'bad-enc', 'block');
    await cp(raw, copy, { recursive: true });
    const c = await firstChunk(copy);
    c.buf[c.enc] = 0x07;
    await rewrite(c);
    const r = await runStrata([
      'tsdb',
      'downsample',
      '--resolution',
      '5m',
      copy,
      '--out',
      join(dir, 'bad-enc-out'),
    ]);
    expect(r.code).toBe(1);
    const ulid = (await readMetaFile(copy)).ulid;
    expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(r.stderr).toContain('ERR_TSDB_UNKNOWN_ENCODING');
    expect(r.stderr).toContain(`block ${ulid} series {`);
    expect(r.stderr).toContain(`000001 at offset ${c.enc}`);
    // Nothing half-written is left behind.
    expect(await readdir(join(dir, 'bad-enc-out'))).toEqual([]);
  });

  it('a truncated aggregate sub-chunk: downsample, dump and verify name it', async () => {
    const copy = join(dir, 'bad-aggr', 'block');
    await cp(b5, copy, { recursive: true });
    const c = await firstChunk(copy);
    // Walk to the counter sub-chunk's length and make it one byte longer than what is left.
    let p = c.data;
    for (let i = 0; i < 4; i++) {
      let len = 0;
      let shift = 0;
      for (;;) {
        const b = c.buf[p++]!;
        len += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) break;
        shift += 7;
      }
      p += len === 0 ? 0 : len + 1;
    }
    const at = p;
    expect(c.buf[at]! & 0x7f).toBeLessThan(0x7f);
    c.buf[at] = c.buf[at]! + 1;
    await rewrite(c);
    const ulid = (await readMetaFile(copy)).ulid;

    const r = await runStrata([
      'tsdb',
      'downsample',
      '--resolution',
      '1h',
      copy,
      '--out',
      join(dir, 'bad-aggr-out'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(r.stderr).toContain('ERR_TSDB_TRUNCATED');
    expect(r.stderr).toContain(`block ${ulid} series {`);
    expect(r.stderr).toContain(`000001 at offset ${at}: aggregated chunk: counter sub-chunk`);

    const d = await runStrata(['tsdb', 'dump', copy]);
    expect(d.code).toBe(1);
    expect(d.stderr).toContain('ERR_TSDB_TRUNCATED');
    expect(d.stderr).toContain(`block ${ulid} series {`);

    const v = await runStrata(['tsdb', 'verify', copy]);
    expect(v.code).toBe(1);
    expect(v.stdout + v.stderr).toContain('counter sub-chunk');
  });
});
