/**
 * Oracle: chunks written by Prometheus' own Go code (promtool tsdb create-blocks-from) must decode
 * and re-encode byte for byte. Skipped when promtool is not installed.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { XorAppender, XorIterator, decodeXorInto } from '../chunkenc/xor.js';
import { ENC_XOR } from './format.js';
import { SegmentReader } from './reader.js';
import { seededRandom } from '../ulid.js';

const PROMTOOL = '/usr/bin/promtool';
const run = promisify(execFile);

function openMetrics(seed: number): string {
  const r = seededRandom(seed);
  const lines: string[] = [];
  const specials = ['NaN', '+Inf', '-Inf', '-0', '0', '1e-310', '1.7976931348623157e308'];
  for (let s = 0; s < 24; s++) {
    const name = `m${s}`;
    lines.push(`# TYPE ${name} gauge`);
    let t = 1_600_000_000_000 + Math.floor(r() * 1000);
    let v = r() * 1000;
    for (let i = 0; i < 400; i++) {
      // Deltas of every bucket size: steady, jitter, tens of seconds, minutes, 20+ minutes.
      const k = r();
      t +=
        k < 0.5
          ? 15_000
          : k < 0.7
            ? 15_000 + Math.floor(r() * 40) - 20
            : k < 0.8
              ? Math.floor(r() * 120_000) + 1
              : k < 0.9
                ? Math.floor(r() * 1_000_000) + 1
                : Math.floor(r() * 3_000_000) + 1;
      const kind = s % 4;
      let text: string;
      if (r() < 0.03) text = specials[Math.floor(r() * specials.length)]!;
      else if (kind === 0) text = String((v += Math.floor(r() * 10)));
      else if (kind === 1) text = String(Math.round(r() * 1e6) / 100);
      else if (kind === 2) text = String(r() < 0.8 ? v : (v = r() * 1e9 - 5e8));
      else text = String(r() * Math.pow(10, Math.floor(r() * 40) - 20));
      lines.push(`${name} ${text} ${(t / 1000).toFixed(3)}`);
    }
  }
  // One-sample chunks end with the empty byte Go's bstream leaves after whole-byte writes.
  for (let s = 0; s < 3; s++) {
    lines.push(`# TYPE single${s} gauge`, `single${s} ${r() * 100} ${(1_600_000_000 + s * 7).toFixed(3)}`);
  }
  lines.push('# EOF');
  return lines.join('\n') + '\n';
}

describe('promtool oracle', () => {
  it.skipIf(!existsSync(PROMTOOL))(
    'every XOR chunk promtool writes re-encodes byte for byte',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'strata-promtool-'));
      try {
        await writeFile(join(dir, 'in.om'), openMetrics(7));
        await run(
          PROMTOOL,
          ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'in.om'), join(dir, 'out')],
          {
            timeout: 60_000,
          },
        );
        const blocks = (await readdir(join(dir, 'out'))).filter((n) => /^[0-9A-Z]{26}$/.test(n));
        expect(blocks.length).toBeGreaterThan(1);
        const it = new XorIterator();
        const app = new XorAppender();
        const ts = new Float64Array(65535);
        const hi = new Uint32Array(65535);
        const lo = new Uint32Array(65535);
        let chunks = 0;
        let samples = 0;
        let oneSample = 0;
        for (const b of blocks) {
          const r = await SegmentReader.open(join(dir, 'out', b, 'chunks'));
          for (let ref = r.firstRef(); ref !== undefined;) {
            const c = await r.readRaw(ref);
            expect(c.encoding).toBe(ENC_XOR);
            it.reset(c.data, r.fileFor(ref), c.dataOffset);
            app.reset();
            let n = 0;
            while (it.next()) {
              app.appendBits(it.t, it.vHi, it.vLo);
              n++;
            }
            expect(Buffer.from(app.bytes()).toString('hex')).toBe(Buffer.from(c.data).toString('hex'));
            expect(decodeXorInto(c.data, ts, hi, lo)).toBe(n);
            app.reset();
            app.appendRange(ts, hi, lo, 0, n);
            expect(Buffer.from(app.bytes()).equals(Buffer.from(c.data))).toBe(true);
            chunks++;
            samples += n;
            if (n === 1) oneSample++;
            ref = r.nextRef(ref, c.bytes.length);
          }
          await r.close();
        }
        expect(samples).toBe(24 * 400 + 3);
        expect(chunks).toBeGreaterThan(24);
        expect(oneSample).toBeGreaterThan(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
