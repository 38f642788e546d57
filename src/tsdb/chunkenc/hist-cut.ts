/**
 * When a histogram series gets a new chunk besides the appender's own reasons (layout it cannot
 * absorb, counter reset). Two policies, as Prometheus v2.53 cuts:
 * - SplitEvery: a fixed sample count, as the compactor's re-encoding (storage.seriesToChunkEncoder,
 *   120 samples; the previous chunk is not consulted for the new chunk's header).
 * - HeadCutPolicy: the head appender (histogramsAppendPreprocessor): a size target of
 *   TARGET_BYTES = 1024 bytes per chunk, at least MIN_SAMPLES = 10 samples unless the chunk range
 *   ends, an end time predicted once the chunk reaches 1/4 of the target, a hard cut at 2× the
 *   target; the previous chunk's appender decides the new chunk's counter-reset header.
 */

export const COMPACT_SAMPLES_PER_CHUNK = 120;
export const TARGET_BYTES_PER_HISTOGRAM_CHUNK = 1024;
export const MIN_SAMPLES_PER_HISTOGRAM_CHUNK = 10;

export interface HistCutPolicy {
  /** Before appending sample t to a non-empty chunk: true = close it and start a new one. */
  cutBefore(t: number, samples: number, bytes: number): boolean;
  /** A chunk was started with sample t (by a cut, or by the appender: `byAppender`). */
  started(t: number, byAppender: boolean): void;
  /** Sample t was appended to the open chunk. */
  appended(t: number): void;
  /** Whether a cut chunk's successor looks at it for its header (head: yes). */
  readonly carryPrev: boolean;
}

export class SplitEvery implements HistCutPolicy {
  readonly carryPrev = false;
  constructor(private readonly samples: number = COMPACT_SAMPLES_PER_CHUNK) {}
  cutBefore(_t: number, samples: number): boolean {
    return samples >= this.samples;
  }
  started(): void {}
  appended(): void {}
}

/** Prometheus' rangeForTimestamp: (t / range) * range + range with Go's truncating division. */
function rangeEnd(t: number, range: number): number {
  return Math.trunc(t / range) * range + range;
}

/** Prometheus' computeChunkEndTime. */
export function computeChunkEndTime(start: number, cur: number, max: number, ratioToFull: number): number {
  const n = (max - start) / ((cur - start + 1) * ratioToFull);
  if (n <= 1) return max;
  return Math.trunc(start + (max - start) / Math.floor(n));
}

export class HeadCutPolicy implements HistCutPolicy {
  readonly carryPrev = true;
  private minT = 0;
  private maxT = 0;
  private nextAt = 0;
  private computed = false;

  /** `chunkRange`: the head's block range in ms (2 h by default). */
  constructor(private readonly chunkRange: number = 7_200_000) {}

  cutBefore(t: number, samples: number, bytes: number): boolean {
    const nextRangeStart = this.computed ? rangeEnd(this.minT, this.chunkRange) : this.nextAt;
    if (!this.computed && bytes >= TARGET_BYTES_PER_HISTOGRAM_CHUNK / 4) {
      this.nextAt = computeChunkEndTime(
        this.minT,
        this.maxT,
        this.nextAt,
        TARGET_BYTES_PER_HISTOGRAM_CHUNK / bytes,
      );
      this.computed = true;
    }
    const cut =
      (t >= this.nextAt || bytes >= TARGET_BYTES_PER_HISTOGRAM_CHUNK * 2) &&
      (samples >= MIN_SAMPLES_PER_HISTOGRAM_CHUNK || t >= nextRangeStart);
    if (cut) this.computed = false;
    return cut;
  }

  started(t: number): void {
    // Both a cut and an appender-made chunk move nextAt to the end of t's range; only a cut
    // clears the computed end time (decided in cutBefore), as in the head.
    this.minT = t;
    this.maxT = t;
    this.nextAt = rangeEnd(t, this.chunkRange);
  }

  appended(t: number): void {
    this.maxT = t;
  }
}
