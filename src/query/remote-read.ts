/**
 * Prometheus remote read (`POST /api/v1/read`): a snappy block-compressed prompb ReadRequest in;
 * out either SAMPLES (a snappy-compressed ReadResponse, what Prometheus 2.42 asks for) or, when
 * STREAMED_XOR_CHUNKS is the first accepted type, frames of `uvarint length | CRC32C (big-endian)
 * of the message | ChunkedReadResponse`, one series per frame (Prometheus' storage/remote/chunked.go
 * ChunkedWriter: the checksum comes before the message).
 *
 * Native histograms: SAMPLES responses carry them in `TimeSeries.histograms` (prompb-histogram.ts;
 * a series that mixes kinds has both `samples` and `histograms`); streamed responses carry the
 * chunks as they are, typed with prompb's Chunk.Encoding (XOR 1, HISTOGRAM 2, FLOAT_HISTOGRAM 3:
 * the on-disk numbers, as Prometheus' StreamChunkedReadResponses sends them).
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  ChunkedReadResponseSchema,
  ReadRequest_ResponseType,
  ReadRequestSchema,
  type ReadRequest,
} from '../../gen/prometheus/prompb/remote_pb.js';
import {
  ChunkedSeriesSchema,
  ChunkSchema,
  Chunk_Encoding,
  LabelSchema,
} from '../../gen/prometheus/prompb/types_pb.js';
import { crc32c } from '../tsdb/encoding/crc32c.js';
import { matcherFromWire, type Matcher } from '../tsdb/index/matchers.js';
import { SampleBuf } from '../tsdb/samples/sample-buf.js';
import { errorMessage, isStrataError } from '../util/errors.js';
import type { HttpRequest, HttpResponse } from '../util/http.js';
import type { Logger } from '../util/logger.js';
import { snappyCompress, snappyUncompress } from '../util/snappy.js';
import { MixedSamples, KIND_FLOAT } from '../tsdb/samples/mixed.js';
import type { AnyHistogram } from '../tsdb/histogram/types.js';
import { aggrsFromFunc, resolutionWindow } from './downsampled.js';
import { allXor, decodeMixedSeries, decodeSeries, diskEncoding, type QSeries } from './merge.js';
import { encodeReadResponse, type EncSeries } from './prompb-encode.js';
import { encodeHistogramsField } from './prompb-histogram.js';
import type { Querier } from './querier.js';

const MAX_REQUEST_BYTES = 32 << 20;

function text(status: number, body: string): HttpResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: body + '\n' };
}

/** The request, or a 400 response saying why not. */
export function decodeReadRequest(body: Uint8Array | undefined): ReadRequest | HttpResponse {
  let raw: Uint8Array;
  try {
    raw = snappyUncompress(body ?? new Uint8Array(0), MAX_REQUEST_BYTES);
  } catch (err) {
    return text(400, `remote read: request body is not snappy block-compressed: ${errorMessage(err)}`);
  }
  try {
    return fromBinary(ReadRequestSchema, raw);
  } catch (err) {
    return text(400, `remote read: request body is not a prometheus.ReadRequest: ${errorMessage(err)}`);
  }
}

function uvarint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

/** One frame of a streamed response. */
export function frame(msg: Uint8Array): Uint8Array {
  const len = uvarint(msg.length);
  const out = new Uint8Array(len.length + 4 + msg.length);
  out.set(len, 0);
  new DataView(out.buffer).setUint32(len.length, crc32c(msg));
  out.set(msg, len.length + 4);
  return out;
}

function labelsOut(s: QSeries): ReturnType<typeof create<typeof LabelSchema>>[] {
  return s.labels.map((l) => create(LabelSchema, { name: l.name, value: l.value }));
}

/** Scratch of the histogram path (decoding is synchronous: one serves every request). */
const mixed = new MixedSamples();
const mixedChunkBufs: SampleBuf[] = [];

/** Series with histogram chunks: floats onto `all`, histograms encoded as prompb. */
function mixedIn(
  s: QSeries,
  start: number,
  end: number,
  scratch: SampleBuf,
  all: SampleBuf,
): EncSeries | undefined {
  mixed.reset();
  decodeMixedSeries(s.chunks, mixed, scratch, 'remote read', mixedChunkBufs);
  const at = all.len;
  const ts: number[] = [];
  const hs: AnyHistogram[] = [];
  for (let i = 0; i < scratch.len; i++) {
    const t = scratch.ts[i]!;
    if (t < start || t > end) continue;
    const j = scratch.lo[i]!;
    if (scratch.hi[i] === KIND_FLOAT) all.push(t, mixed.vals.hi[j]!, mixed.vals.lo[j]!);
    else {
      ts.push(t);
      hs.push(mixed.hists[j]!);
    }
  }
  if (all.len === at && hs.length === 0) return undefined;
  return {
    labels: s.labels,
    from: at,
    to: all.len,
    ...(hs.length > 0 ? { histograms: encodeHistogramsField(ts, hs) } : {}),
  };
}

/** Appends the samples of `s` in [start, end] to `all`; the series entry, or undefined if none. */
function samplesIn(
  s: QSeries,
  start: number,
  end: number,
  scratch: SampleBuf,
  all: SampleBuf,
): EncSeries | undefined {
  if (!allXor(s.chunks)) return mixedIn(s, start, end, scratch, all);
  decodeSeries(s.chunks, scratch, 'remote read');
  // decodeSeries yields samples in time order: the range is one slice.
  let from = 0;
  while (from < scratch.len && scratch.ts[from]! < start) from++;
  let to = scratch.len;
  while (to > from && scratch.ts[to - 1]! > end) to--;
  if (to === from) return undefined;
  const at = all.len;
  all.pushRange(scratch, from, to);
  return { labels: s.labels, from: at, to: all.len };
}

export interface RemoteReadOptions {
  readonly querier: Querier;
  readonly logger: Logger;
  /** --query.auto-downsampling: max_resolution_window = hints' step / 5. */
  readonly autoDownsampling?: boolean;
}

/** The `/api/v1/read` handler. */
export function remoteReadHandler(o: RemoteReadOptions): (req: HttpRequest) => Promise<HttpResponse> {
  return async (req) => {
    if (req.method !== 'POST') return text(405, 'remote read: use POST');
    const rr = decodeReadRequest(req.rawBody);
    if (!('queries' in rr)) return rr;
    const pr = new URLSearchParams(req.url.split('?')[1] ?? '').get('partial_response');
    const partialResponse =
      pr === 'true' || pr === '1' ? true : pr === 'false' || pr === '0' ? false : undefined;
    const streamed = rr.acceptedResponseTypes[0] === ReadRequest_ResponseType.STREAMED_XOR_CHUNKS;
    const results: QSeries[][] = [];
    const ranges: [number, number][] = [];
    for (const q of rr.queries) {
      let matchers: Matcher[];
      try {
        matchers = q.matchers.map((m) => matcherFromWire(m.type, m.name, m.value));
      } catch (err) {
        return text(400, `remote read: bad matcher: ${errorMessage(err)}`);
      }
      const start = Number(q.startTimestampMs);
      const end = Number(q.endTimestampMs);
      // The PromQL function and step Prometheus passes as hints pick resolution and aggregates.
      const func = q.hints?.func ?? '';
      const window = resolutionWindow(
        o.autoDownsampling ?? false,
        Number(q.hints?.stepMs ?? 0n),
        Number(q.hints?.rangeMs ?? 0n),
        func,
      );
      try {
        // No warnings channel: a failed group aborts unless partial responses are on (flag or ?partial_response=).
        const r = await o.querier.series({
          minTime: start,
          maxTime: end,
          matchers,
          maxResolutionWindow: window,
          aggregates: aggrsFromFunc(func),
          ...(partialResponse !== undefined ? { partialResponse } : {}),
        });
        for (const w of r.warnings) o.logger.warn('remote read: partial response', { warning: w });
        results.push(r.value);
        ranges.push([start, end]);
      } catch (err) {
        const code = isStrataError(err) && err.code === 'ERR_QUERY_GROUP_FAILED' ? 503 : 500;
        return text(code, `remote read: ${errorMessage(err)}`);
      }
    }
    const buf = new SampleBuf();
    if (streamed) {
      const frames: Uint8Array[] = [];
      results.forEach((list, qi) => {
        const [start, end] = ranges[qi]!;
        for (const s of list) {
          const chunks = s.chunks
            .filter((c) => c.maxTime >= start && c.minTime <= end)
            .map((c) =>
              create(ChunkSchema, {
                minTimeMs: BigInt(c.minTime),
                maxTimeMs: BigInt(c.maxTime),
                // prompb Chunk.Encoding numbers are the on-disk ones (XOR 1, HISTOGRAM 2, FLOAT_HISTOGRAM 3).
                type: diskEncoding(c, 'remote read') as Chunk_Encoding,
                data: c.data,
              }),
            );
          if (chunks.length === 0) continue;
          const msg = create(ChunkedReadResponseSchema, {
            chunkedSeries: [create(ChunkedSeriesSchema, { labels: labelsOut(s), chunks })],
            queryIndex: BigInt(qi),
          });
          frames.push(frame(toBinary(ChunkedReadResponseSchema, msg)));
        }
      });
      return {
        status: 200,
        headers: { 'content-type': 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse' },
        body: '',
        bytes: Buffer.concat(frames),
      };
    }
    const all = new SampleBuf(1 << 16);
    const encResults = results.map((list, qi) => {
      const [start, end] = ranges[qi]!;
      const series: EncSeries[] = [];
      for (const s of list) {
        const e = samplesIn(s, start, end, buf, all);
        if (e !== undefined) series.push(e);
      }
      return series;
    });
    return {
      status: 200,
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
      body: '',
      bytes: snappyCompress(encodeReadResponse(encResults, all)),
    };
  };
}
