/**
 * A PLAN (PlannerMessage{plan: PlanAssignment}) encoded by hand straight into its gRPC frame: one
 * size pass, one buffer, the same bytes protobuf-es' toBinary writes (fields in number order,
 * proto3 defaults left out, map entries with key and value), without its reflective walk and
 * chunked writer. The planner sends one per plan handed out; every other message goes through
 * toBinary.
 */
import type { OutputOptions, PlanAssignment, SourceBlock } from '../../gen/strata/v1/planner_pb.js';
import { putUvarint, uvarintSize } from '../util/varint.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A non-negative int64 as a number; undefined when it is negative or beyond 2^53. */
function safe(v: bigint): number | undefined {
  return v < 0n || v > MAX_SAFE ? undefined : Number(v);
}

/** Tag byte + length varint + bytes of a length-delimited field of `len` bytes (field < 16). */
function ldSize(len: number): number {
  return 1 + uvarintSize(len) + len;
}

class Sizes {
  /** Sizes of nested messages and strings in the order they are written. */
  readonly list: number[] = [];
  bad = false;

  str(s: string): number {
    if (s.length === 0) return 0;
    const n = Buffer.byteLength(s);
    this.list.push(n);
    return ldSize(n);
  }

  int64(v: bigint): number {
    const n = safe(v);
    if (n === undefined) {
      this.bad = true;
      return 0;
    }
    return n === 0 ? 0 : 1 + uvarintSize(n);
  }

  u32(n: number): number {
    return n === 0 ? 0 : 1 + uvarintSize(n >>> 0);
  }

  /** Reserves a slot for a nested message's size (filled once known); returns its index. */
  slot(): number {
    this.list.push(0);
    return this.list.length - 1;
  }
}

function sourceSize(z: Sizes, b: SourceBlock): number {
  const i = z.slot();
  const n = z.str(b.ulid) + z.int64(b.minTime) + z.int64(b.maxTime) + z.u32(b.level);
  z.list[i] = n;
  return ldSize(n);
}

function outputSize(z: Sizes, o: OutputOptions): number {
  const i = z.slot();
  let n = z.u32(o.dedup);
  for (const r of o.replicaLabels) {
    const len = Buffer.byteLength(r);
    z.list.push(len);
    n += ldSize(len);
  }
  n += z.int64(o.resolution);
  for (const k of Object.keys(o.externalLabels)) {
    const e = z.slot();
    const kl = Buffer.byteLength(k);
    const vl = Buffer.byteLength(o.externalLabels[k]!);
    z.list.push(kl, vl);
    z.list[e] = ldSize(kl) + ldSize(vl);
    n += ldSize(z.list[e]);
  }
  n += z.u32(o.maxSamplesPerChunk) + z.u32(o.level);
  z.list[i] = n;
  return ldSize(n);
}

function planSize(z: Sizes, a: PlanAssignment): number {
  const i = z.slot();
  let n = z.str(a.id) + z.str(a.tenant) + z.str(a.groupKey) + z.u32(a.kind);
  n += z.int64(a.minTime) + z.int64(a.maxTime);
  for (const b of a.sources) n += sourceSize(z, b);
  if (a.output !== undefined) n += outputSize(z, a.output);
  n += z.int64(a.epoch) + z.str(a.plannerId) + (a.nextInComplete ? 2 : 0);
  z.list[i] = n;
  return ldSize(n);
}

class Out {
  pos: number;
  next = 0;

  constructor(
    readonly buf: Buffer,
    readonly sizes: readonly number[],
    start: number,
  ) {
    this.pos = start;
  }

  varint(n: number): void {
    this.pos = putUvarint(this.buf, this.pos, n);
  }

  /** A length-delimited field whose size is the next one recorded. */
  open(field: number): void {
    this.buf[this.pos++] = (field << 3) | 2;
    this.varint(this.sizes[this.next++]!);
  }

  str(field: number, s: string): void {
    if (s.length === 0) return;
    const len = this.sizes[this.next++]!;
    this.buf[this.pos++] = (field << 3) | 2;
    this.varint(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  int64(field: number, v: bigint): void {
    if (v === 0n) return;
    this.buf[this.pos++] = field << 3;
    this.varint(Number(v));
  }

  u32(field: number, n: number): void {
    if (n === 0) return;
    this.buf[this.pos++] = field << 3;
    this.varint(n >>> 0);
  }
}

/**
 * The gRPC frame (5-byte header and message) of PlannerMessage{plan: `a`}; undefined when a
 * value needs the general encoder (a negative or > 2^53 int64).
 */
export function encodePlanFrame(a: PlanAssignment): Buffer | undefined {
  const z = new Sizes();
  const size = planSize(z, a);
  if (z.bad) return undefined;
  const buf = Buffer.allocUnsafe(5 + size);
  buf[0] = 0;
  buf.writeUInt32BE(size, 1);
  const w = new Out(buf, z.list, 5);
  w.open(1); // PlannerMessage.plan
  w.str(1, a.id);
  w.str(2, a.tenant);
  w.str(3, a.groupKey);
  w.u32(4, a.kind);
  w.int64(5, a.minTime);
  w.int64(6, a.maxTime);
  for (const b of a.sources) {
    w.open(7);
    w.str(1, b.ulid);
    w.int64(2, b.minTime);
    w.int64(3, b.maxTime);
    w.u32(4, b.level);
  }
  const o = a.output;
  if (o !== undefined) {
    w.open(8);
    w.u32(1, o.dedup);
    for (const r of o.replicaLabels) {
      const len = w.sizes[w.next++]!;
      buf[w.pos++] = (2 << 3) | 2;
      w.varint(len);
      w.pos += buf.write(r, w.pos, len, 'utf8');
    }
    w.int64(3, o.resolution);
    for (const k of Object.keys(o.externalLabels)) {
      w.open(4);
      mapStr(w, 1, k);
      mapStr(w, 2, o.externalLabels[k]!);
    }
    w.u32(5, o.maxSamplesPerChunk);
    w.u32(6, o.level);
  }
  w.int64(9, a.epoch);
  w.str(10, a.plannerId);
  if (a.nextInComplete) {
    buf[w.pos++] = 11 << 3;
    buf[w.pos++] = 1;
  }
  if (w.pos !== buf.length) throw new Error(`PLAN frame: wrote ${w.pos} of ${buf.length} bytes`);
  return buf;
}

/** A map entry's key or value: written even when empty. */
function mapStr(w: Out, field: number, s: string): void {
  const len = w.sizes[w.next++]!;
  w.buf[w.pos++] = (field << 3) | 2;
  w.varint(len);
  w.pos += w.buf.write(s, w.pos, len, 'utf8');
}
