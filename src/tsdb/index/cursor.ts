/**
 * Sequential walk over the series section through one large read buffer. `next()` decodes from
 * buffered bytes without promises; only `load()` touches the file.
 *
 *   const c = reader.seriesCursor();
 *   for (;;) {
 *     while (c.next()) use(c.series);
 *     if (!(await c.load())) break;
 *   }
 */
import { SERIES_ALIGN, alignUp } from './format.js';
import type { PositionalReader } from './positional.js';
import { SeriesScratch, decodeSeriesEntry, type SeriesSymbols } from './series.js';

export const DEFAULT_CURSOR_BUFFER = 4 << 20;

export class SeriesCursor {
  /** The current series; overwritten by the next next(): copy what you keep. */
  readonly series = new SeriesScratch();
  private buf: Buffer;
  /** File offset of buf[0]. */
  private base: number;
  private pos = 0;
  private len = 0;
  /** Bytes needed at pos for the pending entry (0 = unknown). */
  private need = 0;
  private finished = false;
  private readonly file: string;

  constructor(
    private readonly src: PositionalReader,
    start: number,
    /** File offset where the series section ends. */
    private readonly end: number,
    private readonly symbols: SeriesSymbols,
    bufferSize: number = DEFAULT_CURSOR_BUFFER,
  ) {
    this.file = src.name;
    this.base = start;
    this.buf = Buffer.allocUnsafe(Math.max(64, Math.min(bufferSize, end - start)));
  }

  /** True once the whole section was walked. */
  get done(): boolean {
    return this.finished;
  }

  /** Decodes the next series from the buffer; false when done or more data must be loaded. */
  next(): boolean {
    if (this.finished) return false;
    const buf = this.buf;
    for (;;) {
      const at = alignUp(this.base + this.pos, SERIES_ALIGN);
      if (at >= this.end) {
        this.finished = true;
        this.pos = Math.min(this.len, this.end - this.base);
        return false;
      }
      const p = at - this.base;
      if (p >= this.len) return false;
      this.pos = p;
      // Zero padding beyond the alignment (a series entry never starts with a 0 byte).
      if (buf[p] === 0) {
        this.pos = p + 1;
        continue;
      }
      const r = decodeSeriesEntry(
        buf,
        p,
        this.len,
        this.end,
        this.file,
        this.base,
        this.symbols,
        this.series,
      );
      if (r < 0) {
        this.need = this.series.entrySize;
        return false;
      }
      this.need = 0;
      this.series.id = at / SERIES_ALIGN;
      this.pos = r;
      return true;
    }
  }

  /** Reads more of the section; false when nothing is left to read. */
  async load(): Promise<boolean> {
    if (this.finished) return false;
    const filled = this.base + this.len;
    if (filled >= this.end) return false;
    // Keep the unconsumed tail, then fill the rest of the buffer.
    if (this.pos > 0) {
      this.buf.copy(this.buf, 0, this.pos, this.len);
      this.base += this.pos;
      this.len -= this.pos;
      this.pos = 0;
    }
    if (this.need > this.buf.length) {
      // decodeSeriesEntry bounded `need` by the section end, so this stays within the file.
      const bigger = Buffer.allocUnsafe(this.need);
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    const n = Math.min(this.buf.length - this.len, this.end - (this.base + this.len));
    await this.src.readInto(this.buf, this.len, n, this.base + this.len);
    this.len += n;
    return true;
  }
}
