/**
 * Helpers of the native histogram oracle (histogram-oracle.test.ts): remote read clients for
 * SAMPLES and STREAMED_XOR_CHUNKS answers, replaying a SAMPLES answer into a Prometheus through
 * remote write, and the raw chunks of block dirs as the Store API should serve them.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { compress, uncompress } from 'snappyjs';
import {
  ChunkedReadResponseSchema,
  QuerySchema,
  ReadRequest_ResponseType,
  ReadRequestSchema,
  ReadResponseSchema,
} from '../../gen/prometheus/prompb/remote_pb.js';
import {
  LabelMatcherSchema,
  TimeSeriesSchema,
  type Chunk,
  type TimeSeries,
} from '../../gen/prometheus/prompb/types_pb.js';
import { BlockReader } from '../../src/tsdb/block/reader.js';
import { crc32c } from '../../src/tsdb/encoding/crc32c.js';
import { remoteWrite } from '../support/remote-write.js';
import { postRemoteRead } from './harness.js';

/** Label set of a prompb series as a stable key. */
export function labelKey(labels: readonly { name: string; value: string }[]): string {
  return JSON.stringify(labels.map((l) => [l.name, l.value]));
}

function readBody(start: number, end: number, type: ReadRequest_ResponseType): Uint8Array {
  const req = create(ReadRequestSchema, {
    queries: [
      create(QuerySchema, {
        startTimestampMs: BigInt(start),
        endTimestampMs: BigInt(end),
        matchers: [create(LabelMatcherSchema, { type: 2, name: '__name__', value: '.+' })],
      }),
    ],
    acceptedResponseTypes: [type],
  });
  return compress(toBinary(ReadRequestSchema, req));
}

/** Every series in [start, end] as a SAMPLES answer (floats and histograms). */
export async function readSamples(url: string, start: number, end: number): Promise<TimeSeries[]> {
  const res = await postRemoteRead(url, readBody(start, end, ReadRequest_ResponseType.SAMPLES));
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200)
    throw new Error(`remote read: HTTP ${res.status}: ${Buffer.from(bytes).toString()}`);
  return fromBinary(ReadResponseSchema, uncompress(bytes)).results.flatMap((r) => r.timeseries);
}

export interface StreamedChunk {
  minTime: number;
  maxTime: number;
  type: number;
  data: Buffer;
}

/** Every series in [start, end] as a STREAMED_XOR_CHUNKS answer: chunks by label key (frames joined). */
export async function readStreamed(
  url: string,
  start: number,
  end: number,
): Promise<Map<string, StreamedChunk[]>> {
  const res = await postRemoteRead(url, readBody(start, end, ReadRequest_ResponseType.STREAMED_XOR_CHUNKS));
  const b = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`streamed remote read: HTTP ${res.status}: ${b.toString()}`);
  const type = res.headers.get('content-type');
  if (type !== 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse')
    throw new Error(`streamed remote read: content type ${type}`);
  const out = new Map<string, StreamedChunk[]>();
  let p = 0;
  while (p < b.length) {
    let len = 0;
    let mul = 1;
    for (;;) {
      const x = b[p++]!;
      len += (x & 0x7f) * mul;
      mul *= 128;
      if (x < 0x80) break;
    }
    // Prometheus' ChunkedWriter: length, CRC32C (big-endian) of the message, message.
    const crc = b.readUInt32BE(p);
    const msg = b.subarray(p + 4, p + 4 + len);
    p += 4 + len;
    if (crc !== crc32c(msg)) throw new Error('streamed remote read: frame CRC mismatch');
    for (const s of fromBinary(ChunkedReadResponseSchema, msg).chunkedSeries) {
      const key = labelKey(s.labels);
      const list = out.get(key) ?? [];
      list.push(
        ...s.chunks.map((c: Chunk) => ({
          minTime: Number(c.minTimeMs),
          maxTime: Number(c.maxTimeMs),
          type: c.type,
          data: Buffer.from(c.data),
        })),
      );
      out.set(key, list);
    }
  }
  return out;
}

/**
 * Writes the series of a SAMPLES answer into a Prometheus through remote write, 30 minutes of
 * every series per request in time order, so its head accepts all of them.
 */
export async function replay(
  url: string,
  series: readonly TimeSeries[],
  start: number,
  end: number,
): Promise<number> {
  const WINDOW = 30 * 60_000;
  let sent = 0;
  for (let from = start; from <= end; from += WINDOW) {
    const to = from + WINDOW;
    const batch: TimeSeries[] = [];
    for (const s of series) {
      const samples = s.samples.filter((x) => Number(x.timestamp) >= from && Number(x.timestamp) < to);
      const histograms = s.histograms.filter((h) => Number(h.timestamp) >= from && Number(h.timestamp) < to);
      if (samples.length + histograms.length === 0) continue;
      sent += samples.length + histograms.length;
      batch.push(create(TimeSeriesSchema, { labels: s.labels, samples, histograms }));
    }
    if (batch.length > 0) await remoteWrite(url, batch);
  }
  return sent;
}

/** Block dirs (holding meta.json) anywhere under `dir`. */
export async function blockDirsUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir)) {
    const p = join(dir, e);
    if (!(await stat(p)).isDirectory()) continue;
    if (/^[0-9A-Z]{26}$/.test(e) && (await stat(join(p, 'meta.json')).catch(() => undefined))) out.push(p);
    else out.push(...(await blockDirsUnder(p)));
  }
  return out.sort();
}

/** Every chunk of the blocks as stored (on-disk encoding, bytes), by label key, in time order. */
export async function storedChunks(dirs: readonly string[]): Promise<Map<string, StreamedChunk[]>> {
  const out = new Map<string, StreamedChunk[]>();
  for (const dir of dirs) {
    const block = await BlockReader.open(dir);
    try {
      const cursor = block.index.seriesCursor();
      for (;;) {
        while (cursor.next()) {
          const s = cursor.series;
          const key = labelKey(s.labels);
          const list = out.get(key) ?? [];
          for (const m of s.chunks) {
            const c = await block.chunks.read(m.ref);
            list.push({ minTime: m.mint, maxTime: m.maxt, type: c.encoding, data: Buffer.from(c.data) });
          }
          out.set(key, list);
        }
        if (!(await cursor.load())) break;
      }
    } finally {
      await block.close();
    }
  }
  for (const list of out.values()) list.sort((a, b) => a.minTime - b.minTime);
  return out;
}
