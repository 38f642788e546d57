/** Helpers for block tests: synthetic local blocks, temp dirs, wrappers that fail on cue. */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bucket, UploadBody } from '../../src/objstore/bucket.js';
import { ForwardingBucket } from '../../src/objstore/forwarding.js';
import { BlockWriter } from '../../src/tsdb/block/writer.js';
import { encodeXorChunks } from '../../src/tsdb/chunkenc/encode.js';
import { floatHi, floatLo } from '../../src/tsdb/chunkenc/float-bits.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { labelsFromRecord } from '../../src/tsdb/labels.js';
import { writeSynthBlocks, type SynthBlock } from '../../src/tsdb/synth/write.js';

export async function tempDir(
  prefix = 'strata-block-',
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** 2h blocks written by Strata's writer; fixed start so ULIDs and bytes are reproducible. */
export async function synthBlocks(
  outDir: string,
  opts: {
    series?: number;
    hours?: number;
    tenants?: string[];
    replicas?: number;
    seed?: number;
    samplesPerChunk?: number;
  } = {},
): Promise<SynthBlock[]> {
  return writeSynthBlocks({
    outDir,
    series: opts.series ?? 10,
    hours: opts.hours ?? 2,
    seed: opts.seed ?? 1,
    startMs: Date.UTC(2024, 0, 1),
    ...(opts.tenants ? { tenants: opts.tenants } : {}),
    replicas: opts.replicas ?? 0,
    ...(opts.samplesPerChunk ? { samplesPerChunk: opts.samplesPerChunk } : {}),
  });
}

/**
 * A block with many small chunk segment files (so uploads and downloads run several in parallel
 * and the bucket index sees segments 000001..N).
 */
export async function multiSegmentBlock(parentDir: string, ulid: string): Promise<SynthBlock> {
  const series = Array.from({ length: 40 }, (_, i) =>
    labelsFromRecord({ __name__: 'm', i: String(i).padStart(3, '0') }),
  );
  const symbols = new Set<string>();
  for (const ls of series) for (const l of ls) symbols.add(l.name).add(l.value);
  const start = Date.UTC(2024, 0, 1, 6);
  const w = await BlockWriter.create(parentDir, {
    symbols,
    ulid,
    maxSegmentSize: 2048,
    thanos: { labels: { cluster: 'seg' }, downsample: { resolution: 0 }, source: 'test' },
  });
  const buf = new SampleBuf();
  for (const [i, ls] of series.entries()) {
    buf.reset();
    for (let t = 0; t < 240; t++) {
      const v = i * 1000 + t * 1.5;
      buf.push(start + t * 15_000, floatHi(v), floatLo(v));
    }
    await w.addSeries(ls, encodeXorChunks(buf, 60));
  }
  const r = await w.finish();
  if (!r) throw new Error('multi-segment block came out empty');
  return { tenant: '', dir: r.dir, meta: r.meta };
}

/** Every file under dir (relative path → bytes), for byte-identity checks. */
export async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else out.set(r, await readFile(join(dir, r)));
    }
  };
  await walk('');
  return out;
}

/**
 * A Bucket that forwards to `inner` but fails chosen calls: `failUpload(key)` returning true makes
 * that upload throw (as if the process died or the network broke at that point).
 */
export class FaultyBucket extends ForwardingBucket {
  uploads: string[] = [];

  constructor(
    inner: Bucket,
    private readonly failUpload: (key: string) => boolean,
  ) {
    super(inner, `faulty(${inner.name})`);
  }

  private check(key: string): void {
    if (this.failUpload(key)) throw new Error(`injected upload failure for ${key}`);
    this.uploads.push(key);
  }

  override async upload(key: string, body: UploadBody, size?: number): Promise<void> {
    this.check(key);
    await this.inner.upload(key, body, size);
  }

  override async uploadFile(key: string, localPath: string): Promise<void> {
    this.check(key);
    await this.inner.uploadFile(key, localPath);
  }

  /** The inner bucket belongs to the test. */
  override async close(): Promise<void> {}
}
