/**
 * Prometheus remote read (`POST /api/v1/read`): a snappy block-compressed prompb ReadRequest in;
 * out either SAMPLES (a snappy-compressed ReadResponse, what Prometheus 2.42 asks for) or, when
 * STREAMED_XOR_CHUNKS is the first accepted type, frames of `uvarint length | ChunkedReadResponse
 * | CRC32C (big-endian) of the message`, one series per frame.
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
import { aggrsFromFunc, resolutionWindow } from './downsampled.js';
import { decodeSeries, WIRE_XOR, type QSeries } from './merge.js';
import { encodeReadResponse, type EncSeries } from './prompb-encode.js';
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
  const out = new Uint8Array(len.length + msg.length + 4);
  out.set(len, 0);
  out.set(msg, len.length);
  new DataView(out.buffer).setUint32(len.length + msg.length, crc32c(msg));
  return out;
}

function labelsOut(s: QSeries): ReturnType<typeof create<typeof LabelSchema>>[] {
  return s.labels.map((l) => create(LabelSchema, { name: l.name, value: l.value }));
}

/** Appends the samples of `s` in [start, end] to `all`; the series entry, or undefined if none. */
function samplesIn(
  s: QSeries,
  start: number,
  end: number,
  scratch: SampleBuf,
  all: SampleBuf,
): EncSeries | undefined {
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
            .filter((c) => c.type === WIRE_XOR && c.maxTime >= start && c.minTime <= end)
            .map((c) =>
              create(ChunkSchema, {
                minTimeMs: BigInt(c.minTime),
                maxTimeMs: BigInt(c.maxTime),
                type: Chunk_Encoding.XOR,
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
