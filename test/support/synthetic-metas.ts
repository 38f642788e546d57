/**
 * Many block metas without block files (web UI scale tests and bench:web): `clusters` × 2 HA
 * replicas of 2h level-1 blocks, with every 8th range also covered by a level-2 8h block.
 */
import type { BlockMeta } from '../../src/tsdb/meta.js';
import { seededRandom, ulidSource } from '../../src/tsdb/ulid.js';

const H = 3600_000;

export function syntheticMetas(n: number, startMs = Date.UTC(2026, 0, 1)): BlockMeta[] {
  const next = ulidSource(seededRandom(7));
  const clusters = Math.max(1, Math.ceil(n / 2000));
  const out: BlockMeta[] = [];
  for (let i = 0; out.length < n; i++) {
    const cluster = i % clusters;
    const step = Math.floor(i / clusters);
    const replica = step % 2;
    const slot = Math.floor(step / 2);
    const eighth = slot % 8 === 7;
    const minTime = startMs + (eighth ? slot - 3 : slot) * 2 * H;
    const maxTime = eighth ? minTime + 8 * H : minTime + 2 * H;
    const ulid = next(minTime);
    out.push({
      ulid,
      minTime,
      maxTime,
      version: 1,
      stats: { numSeries: 1000, numSamples: 240_000, numChunks: 2000, numTombstones: 0 },
      compaction: { level: eighth ? 2 : 1, sources: [ulid] },
      thanos: {
        labels: { cluster: `c${cluster}`, replica: `r${replica}` },
        downsample: { resolution: 0 },
        source: 'sidecar',
        files: [
          { rel_path: 'chunks/000001', size_bytes: 4_000_000 },
          { rel_path: 'index', size_bytes: 300_000 },
          { rel_path: 'meta.json' },
        ],
      },
    } as BlockMeta);
  }
  return out;
}
