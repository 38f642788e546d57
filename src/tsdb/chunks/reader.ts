/**
 * SegmentReader: reads chunks by ref from a block's segment files.
 *
 * - open() checks every file's magic and version (FormatError naming the file).
 * - Reads are positional (FileHandle.read) into a read-ahead buffer, so consecutive chunks
 *   (compaction reads in ref order) cost one syscall per buffer, not per chunk; a file is never
 *   read whole. Once reads run on through a file, the next window is read into a second buffer
 *   while this one is parsed. `tryReadRaw` serves a chunk already in the buffer without a promise.
 * - Every chunk's CRC is verified. Bad refs (segment out of range, offset outside the file),
 *   lengths running past the end of the file or above `maxChunkSize` are FormatErrors naming the
 *   segment file and offset, checked before any buffer is sized for them.
 * - Encodings are not interpreted: any encoding byte is returned (and copied) as is.
 *
 * Returned views (`data`, `bytes`) are valid until the next read. Async reads must not overlap
 * (one buffer): await each one.
 */
import { readSync } from 'node:fs';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32cRange } from '../encoding/crc32c.js';
import { be32At } from '../encoding/decbuf.js';
import { FormatError, InvalidArgumentError, errorCode } from '../../util/errors.js';
import {
  CHUNK_CRC_SIZE,
  CHUNK_ENCODING_SIZE,
  MAX_CHUNK_LEN_FIELD_SIZE,
  SEGMENT_HEADER_LEN,
  SEGMENT_MAGIC,
  SEGMENT_VERSION,
  chunkRef,
  isSegmentFileName,
  refOffset,
  refSegment,
  segmentFileName,
  type SegmentFileInfo,
} from './format.js';

export interface StoredChunkView {
  encoding: number;
  /** Chunk data; a view valid until the next read. */
  readonly data: Uint8Array;
  /** File offset of data[0] (for errors while decoding it). */
  dataOffset: number;
}

/**
 * A chunk in the reader's buffer: `buf[start, end)` are its on-disk bytes (uvarint len, encoding,
 * data, CRC), `buf[dataStart, dataEnd)` its data. The reader reuses one instance: it is valid
 * until the next read. Copy with the offsets (`buf.copy`) to avoid making views.
 */
export class RawChunkView implements StoredChunkView {
  buf: Buffer = EMPTY;
  start = 0;
  end = 0;
  dataStart = 0;
  dataEnd = 0;
  encoding = 0;
  dataOffset = 0;

  /** The on-disk bytes as a view. */
  get bytes(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }

  get data(): Uint8Array {
    return this.buf.subarray(this.dataStart, this.dataEnd);
  }

  /** The sample count from the header of XOR and histogram chunks (0 for other encodings). */
  get numSamples(): number {
    const b = this.buf;
    const d = this.dataStart;
    return this.encoding <= 3 && this.dataEnd - d >= 2 ? (b[d]! << 8) | b[d + 1]! : 0;
  }
}

const EMPTY = Buffer.alloc(0);

export interface SegmentReaderOptions {
  /** Bytes read per buffer refill (default 512 KiB; two buffers: the next window is read ahead). */
  readAhead?: number | undefined;
  /** Larger chunk lengths are reported as corrupt (default 64 MiB; real chunks are ~KiB). */
  maxChunkSize?: number | undefined;
  /**
   * Read with `readSync` on the calling thread, without read-ahead: for a few far-apart reads of
   * a file just written (a compaction's read-back), where each thread-pool round trip costs more
   * than the read itself.
   */
  syncReads?: boolean | undefined;
}

interface Segment {
  name: string;
  path: string;
  fh: FileHandle;
  size: number;
}

/** Per window (two per reader: one read ahead); see the segment writer's buffer size for why not more. */
const DEFAULT_READ_AHEAD = 512 << 10;
const DEFAULT_MAX_CHUNK_SIZE = 64 << 20;
/**
 * Read-ahead lands this far into its buffer, so the tail of the previous window (a chunk that
 * straddles the two) is copied in front of it instead of the new window being copied after it.
 */
const HEADROOM = 16 << 10;

export class SegmentReader {
  /** The window: a view of `backing` (the allocation, reused as a read-ahead buffer). */
  private buf: Buffer;
  private backing: Buffer;
  /** Window of the buffer: bytes [bufStart, bufStart + bufLen) of segment bufSeg. */
  private bufSeg = -1;
  private bufStart = 0;
  private bufLen = 0;
  private busy = false;
  private readonly readAhead: number;
  private readonly maxChunkSize: number;
  private readonly syncReads: boolean;
  /** Bytes read from disk. */
  bytesRead = 0;
  private readonly view = new RawChunkView();
  /** The read-ahead of the window after the current one, and the buffer it does not use. */
  private pending: PendingRead | undefined;
  private spare: Buffer | undefined;

  private constructor(
    readonly dir: string,
    private readonly segs: Segment[],
    opts: SegmentReaderOptions,
  ) {
    this.readAhead = Math.max(64, opts.readAhead ?? DEFAULT_READ_AHEAD);
    this.maxChunkSize = opts.maxChunkSize ?? DEFAULT_MAX_CHUNK_SIZE;
    this.syncReads = opts.syncReads === true;
    this.backing = Buffer.allocUnsafe(this.readAhead + HEADROOM);
    this.buf = this.backing;
  }

  /** Opens every segment file of `chunksDir` (none if the directory does not exist). */
  static async open(chunksDir: string, opts: SegmentReaderOptions = {}): Promise<SegmentReader> {
    let names: string[];
    try {
      names = (await readdir(chunksDir)).filter(isSegmentFileName).sort();
    } catch (err) {
      if (errorCode(err) === 'ENOENT') names = [];
      else throw err;
    }
    const segs: Segment[] = [];
    const head = Buffer.alloc(SEGMENT_HEADER_LEN);
    try {
      for (const name of names) {
        const path = join(chunksDir, name);
        const fh = await open(path, 'r');
        const seg: Segment = { name, path, fh, size: 0 };
        segs.push(seg);
        seg.size = (await fh.stat()).size;
        const got = await readFully(fh, head, 0, SEGMENT_HEADER_LEN, 0);
        if (got < SEGMENT_HEADER_LEN) {
          throw new FormatError(
            'ERR_TSDB_TRUNCATED',
            path,
            0,
            `segment file of ${seg.size} bytes is shorter than its ${SEGMENT_HEADER_LEN}-byte header`,
          );
        }
        const magic = head.readUInt32BE(0);
        if (magic !== SEGMENT_MAGIC) {
          throw new FormatError(
            'ERR_TSDB_BAD_MAGIC',
            path,
            0,
            `segment magic 0x${magic.toString(16).padStart(8, '0')}, want 0x${SEGMENT_MAGIC.toString(16)}`,
          );
        }
        if (head[4] !== SEGMENT_VERSION) {
          throw new FormatError('ERR_TSDB_BAD_VERSION', path, 4, `unsupported segment version ${head[4]}`);
        }
      }
    } catch (err) {
      await Promise.all(segs.map((s) => s.fh.close().catch(() => undefined)));
      throw err;
    }
    return new SegmentReader(chunksDir, segs, opts);
  }

  /** Paths of the segment files, in segment index order. */
  get segmentFiles(): readonly string[] {
    return this.segs.map((s) => s.path);
  }

  /** The segment files with their sizes. */
  get files(): SegmentFileInfo[] {
    return this.segs.map((s) => ({ name: s.name, path: s.path, size: s.size }));
  }

  /** Total bytes of all segment files. */
  get size(): number {
    let n = 0;
    for (const s of this.segs) n += s.size;
    return n;
  }

  /** The file a ref points into (for error messages), whether or not it exists. */
  fileFor(ref: number): string {
    const si = refSegment(ref);
    return this.segs[si]?.path ?? join(this.dir, segmentFileName(si));
  }

  /**
   * The ref of the chunk stored right after the one at `ref` (whose raw length is `rawLength`),
   * moving on to the next segment file at the end of one; undefined after the last chunk.
   */
  nextRef(ref: number, rawLength: number): number | undefined {
    let si = refSegment(ref);
    const next = refOffset(ref) + rawLength;
    if (next < (this.segs[si]?.size ?? 0)) return chunkRef(si, next);
    for (si++; si < this.segs.length; si++) {
      if (this.segs[si]!.size > SEGMENT_HEADER_LEN) return chunkRef(si, SEGMENT_HEADER_LEN);
    }
    return undefined;
  }

  /**
   * Starts reading the window at `ref` before the first read asks for it (a compaction's first
   * chunks, while the output is set up); a first read elsewhere drops it. No-op once a window is
   * buffered, or with `syncReads`.
   */
  prefetchFrom(ref: number): void {
    if (this.bufSeg >= 0 || this.busy) return;
    const si = refSegment(ref);
    const seg = this.segs[si];
    const off = refOffset(ref);
    if (seg !== undefined && off >= SEGMENT_HEADER_LEN) this.startPrefetch(si, seg, off);
  }

  /** The ref of the first chunk, if any. */
  firstRef(): number | undefined {
    for (let si = 0; si < this.segs.length; si++) {
      if (this.segs[si]!.size > SEGMENT_HEADER_LEN) return chunkRef(si, SEGMENT_HEADER_LEN);
    }
    return undefined;
  }

  /**
   * The chunk at `ref` when the read-ahead buffer already holds all of it and its CRC matches;
   * undefined otherwise (readRaw then reads it and reports any problem). Sequential readers call
   * this first and fall back to `await readRaw(ref)`, so most chunks cost no promise.
   */
  tryReadRaw(ref: number, checkCrc = true): RawChunkView | undefined {
    if (this.busy) return undefined;
    const off = refOffset(ref);
    if (refSegment(ref) !== this.bufSeg || off < this.bufStart || off < SEGMENT_HEADER_LEN) return undefined;
    return this.parse(ref, off - this.bufStart, false, checkCrc);
  }

  /** The chunk at `ref`, CRC-checked, with its on-disk bytes. */
  /**
   * The chunk at `ref` with its on-disk bytes, CRC-checked unless `checkCrc` is false (for a
   * caller that compares the bytes, CRC field included, with a chunk it has checked).
   */
  async readRaw(ref: number, checkCrc = true): Promise<RawChunkView> {
    return this.tryReadRaw(ref, checkCrc) ?? this.readSlow(ref, checkCrc);
  }

  /** The chunk at `ref`, CRC-checked. */
  read(ref: number): Promise<StoredChunkView> {
    return this.readRaw(ref);
  }

  async close(): Promise<void> {
    await this.takePrefetch();
    await Promise.all(this.segs.map((s) => s.fh.close().catch(() => undefined)));
  }

  private async readSlow(ref: number, checkCrc: boolean): Promise<RawChunkView> {
    if (this.busy) throw new InvalidArgumentError('SegmentReader reads must not overlap: await each one');
    this.busy = true;
    try {
      const si = refSegment(ref);
      const off = refOffset(ref);
      const seg = this.segs[si];
      if (!Number.isSafeInteger(ref) || ref < 0 || seg === undefined) {
        throw new FormatError(
          'ERR_TSDB_CORRUPT',
          this.fileFor(ref),
          off,
          `chunk ref ${ref} names segment ${si} of ${this.segs.length}`,
        );
      }
      if (off < SEGMENT_HEADER_LEN || off >= seg.size) {
        throw new FormatError(
          'ERR_TSDB_CORRUPT',
          seg.path,
          off,
          `chunk ref ${ref}: offset outside the chunk area of the file (${seg.size} bytes)`,
        );
      }
      // Length field first (at most 5 bytes), then the whole chunk once its size is validated.
      let s = await this.fill(si, seg, off, Math.min(MAX_CHUNK_LEN_FIELD_SIZE, seg.size - off));
      const total = this.chunkSize(seg, off, s);
      s = await this.fill(si, seg, off, total);
      return this.parse(ref, s, true, checkCrc)!;
    } finally {
      this.busy = false;
    }
  }

  /** Size of the chunk whose length field is at buffer index s; validated against the file. */
  private chunkSize(seg: Segment, off: number, s: number): number {
    const buf = this.buf;
    const lim = this.bufLen;
    let p = s;
    let len = 0;
    let mul = 1;
    for (;;) {
      if (p - s === MAX_CHUNK_LEN_FIELD_SIZE || p >= lim) {
        throw new FormatError('ERR_TSDB_CORRUPT', seg.path, off, 'bad chunk length uvarint');
      }
      const byte = buf[p++]!;
      len += (byte & 0x7f) * mul;
      if (byte < 0x80) break;
      mul *= 128;
    }
    const total = p - s + CHUNK_ENCODING_SIZE + len + CHUNK_CRC_SIZE;
    if (len > this.maxChunkSize) {
      throw new FormatError(
        'ERR_TSDB_CORRUPT',
        seg.path,
        off,
        `chunk length ${len} exceeds the ${this.maxChunkSize}-byte limit`,
      );
    }
    if (off + total > seg.size) {
      throw new FormatError(
        'ERR_TSDB_TRUNCATED',
        seg.path,
        off,
        `chunk of ${len} data bytes runs past the end of the file (${seg.size} bytes)`,
      );
    }
    return total;
  }

  /**
   * Parses the chunk at buffer index s. With `strict`, problems throw; otherwise they return
   * undefined (tryReadRaw leaves the reporting to the slow path).
   */
  private parse(ref: number, s: number, strict: boolean, checkCrc: boolean): RawChunkView | undefined {
    const buf = this.buf;
    const lim = this.bufLen;
    let p = s;
    let len = 0;
    let mul = 1;
    for (;;) {
      if (p - s === MAX_CHUNK_LEN_FIELD_SIZE || p >= lim) return undefined;
      const byte = buf[p++]!;
      len += (byte & 0x7f) * mul;
      if (byte < 0x80) break;
      mul *= 128;
    }
    const encAt = p;
    const end = encAt + CHUNK_ENCODING_SIZE + len;
    if (end + CHUNK_CRC_SIZE > lim) return undefined;
    const want = checkCrc ? be32At(buf, end) : 0;
    if (checkCrc && crc32cRange(buf, encAt, end) !== want) {
      if (!strict) return undefined;
      const seg = this.segs[refSegment(ref)]!;
      throw new FormatError(
        'ERR_TSDB_CHECKSUM',
        seg.path,
        refOffset(ref),
        `chunk ref ${ref}: CRC32C mismatch (stored 0x${want.toString(16).padStart(8, '0')})`,
      );
    }
    const v = this.view;
    v.buf = buf;
    v.start = s;
    v.end = end + CHUNK_CRC_SIZE;
    v.encoding = buf[encAt]!;
    v.dataStart = encAt + CHUNK_ENCODING_SIZE;
    v.dataEnd = end;
    v.dataOffset = this.bufStart + v.dataStart;
    return v;
  }

  /** Ensures bytes [off, off + n) of segment si are buffered; returns their buffer index. */
  private async fill(si: number, seg: Segment, off: number, n: number): Promise<number> {
    const end = this.bufStart + this.bufLen;
    const sameSeg = si === this.bufSeg;
    if (sameSeg && off >= this.bufStart && off + n <= end) return off - this.bufStart;
    // n is validated against the file size by the caller, so this never outgrows the file.
    const want = Math.min(Math.max(n, this.readAhead), seg.size - off);
    // Bytes of [off, ...) already buffered (a chunk straddling the window's end) move to the
    // front instead of being read again.
    let keep = 0;
    if (sameSeg && off >= this.bufStart && off < end) keep = Math.min(end - off, want);
    // Reading on: the window after this one is read ahead while this one is parsed.
    const sequential = sameSeg && off >= this.bufStart && off <= end;
    this.bufSeg = -1;
    const pre = await this.takePrefetch();
    let got: number;
    if (pre !== undefined && pre.seg === si && pre.start === off + keep) {
      got = this.adopt(pre, off, keep);
      if (got < n) {
        this.ensureCapacity(n, got);
        const more = await this.readAt(seg, this.buf, got, n - got, off + got);
        this.bytesRead += more;
        got += more;
      }
    } else {
      if (pre !== undefined) this.spare = pre.buf;
      const from = off - this.bufStart;
      if (want > this.buf.length) {
        const next = Buffer.allocUnsafe(want);
        if (keep > 0) this.buf.copy(next, 0, from, from + keep);
        this.buf = next;
        this.backing = next;
      } else if (keep > 0) {
        this.buf.copyWithin(0, from, from + keep);
      }
      got = keep + (await this.readAt(seg, this.buf, keep, want - keep, off + keep));
      this.bytesRead += got - keep;
    }
    this.bufSeg = si;
    this.bufStart = off;
    this.bufLen = got;
    if (got < n) {
      throw new FormatError('ERR_TSDB_TRUNCATED', seg.path, off + got, `file ended ${n - got} bytes early`);
    }
    if (sequential) this.startPrefetch(si, seg, off + got);
    return 0;
  }

  /**
   * Makes [off, off + keep) of the current window followed by the prefetched bytes the new
   * window (starting at buffer index 0); returns its length.
   */
  private adopt(pre: Prefetched, off: number, keep: number): number {
    const from = off - this.bufStart;
    const got = keep + pre.got;
    if (keep <= HEADROOM) {
      if (keep > 0) this.buf.copy(pre.buf, HEADROOM - keep, from, from + keep);
      this.spare = this.backing;
      this.backing = pre.buf;
      this.buf = pre.buf.subarray(HEADROOM - keep);
      return got;
    }
    // A straddling chunk longer than the headroom (rare): both parts into a new buffer.
    const next = Buffer.allocUnsafe(got);
    this.buf.copy(next, 0, from, from + keep);
    pre.buf.copy(next, keep, HEADROOM, HEADROOM + pre.got);
    this.spare = pre.buf;
    this.backing = next;
    this.buf = next;
    return got;
  }

  /** Grows the current buffer to hold `size` bytes, keeping its first `used` bytes. */
  private ensureCapacity(size: number, used: number): void {
    if (size <= this.buf.length) return;
    const next = Buffer.allocUnsafe(size);
    if (used > 0) this.buf.copy(next, 0, 0, used);
    this.buf = next;
    this.backing = next;
  }

  private readAt(seg: Segment, into: Buffer, at: number, len: number, pos: number): number | Promise<number> {
    return this.syncReads
      ? readFullySync(seg.fh.fd, into, at, len, pos)
      : readFully(seg.fh, into, at, len, pos);
  }

  private startPrefetch(si: number, seg: Segment, start: number): void {
    if (this.syncReads || start >= seg.size || this.pending !== undefined) return;
    let buf = this.spare;
    this.spare = undefined;
    if (buf === undefined || buf.length < HEADROOM + this.readAhead) {
      buf = Buffer.allocUnsafe(HEADROOM + this.readAhead);
    }
    const len = Math.min(buf.length - HEADROOM, seg.size - start);
    // A failed read-ahead is dropped: the read that needs those bytes reports the error.
    const got = readFully(seg.fh, buf, HEADROOM, len, start).catch(() => -1);
    this.pending = { seg: si, start, buf, got };
  }

  /** The finished read-ahead, if there was one and it succeeded. */
  private async takePrefetch(): Promise<Prefetched | undefined> {
    const p = this.pending;
    if (p === undefined) return undefined;
    this.pending = undefined;
    const got = await p.got;
    if (got <= 0) {
      this.spare = p.buf;
      return undefined;
    }
    this.bytesRead += got;
    return { seg: p.seg, start: p.start, buf: p.buf, got };
  }
}

interface Prefetched {
  seg: number;
  start: number;
  /** The bytes are at [HEADROOM, HEADROOM + got). */
  buf: Buffer;
  got: number;
}

interface PendingRead {
  seg: number;
  start: number;
  buf: Buffer;
  got: Promise<number>;
}

async function readFully(
  fh: FileHandle,
  into: Buffer,
  at: number,
  len: number,
  pos: number,
): Promise<number> {
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(into, at + got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

function readFullySync(fd: number, into: Buffer, at: number, len: number, pos: number): number {
  let got = 0;
  while (got < len) {
    const n = readSync(fd, into, at + got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}
