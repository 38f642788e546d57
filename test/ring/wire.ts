/**
 * Protobuf and snappy bytes written and read by hand for the conformance tests: nothing here
 * goes through protobuf-es or snappyjs, so a mistake in Strata's schema or codec cannot cancel
 * out. Field numbers are those of cortexproject/cortex pkg/ring/ring.proto.
 */

export const VARINT = 0;
export const LEN = 2;

export function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n; // int64 negatives: ten-byte two's complement
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b += 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}

export function tag(field: number, wireType: number): number[] {
  return varint(field * 8 + wireType);
}

export function lenField(field: number, payload: readonly number[]): number[] {
  return [...tag(field, LEN), ...varint(payload.length), ...payload];
}

export function stringField(field: number, s: string): number[] {
  return lenField(field, [...Buffer.from(s, 'utf8')]);
}

export function varintField(field: number, n: number | bigint): number[] {
  return [...tag(field, VARINT), ...varint(n)];
}

export interface HandInstance {
  addr: string;
  timestamp: number;
  state: number;
  tokens: number[];
  zone: string;
  registeredTimestamp: number;
  /** Write tokens one tag each instead of packed (both are valid protobuf for a repeated uint32). */
  unpacked?: boolean;
  /** Raw bytes appended to the message: fields of a "newer schema". */
  extra?: number[];
}

/** ring.InstanceDesc */
export function instanceBytes(i: HandInstance): number[] {
  const tokens = i.unpacked
    ? i.tokens.flatMap((t) => varintField(6, t))
    : lenField(
        6,
        i.tokens.flatMap((t) => varint(t)),
      );
  return [
    ...stringField(1, i.addr),
    ...varintField(2, i.timestamp),
    ...varintField(3, i.state),
    ...tokens,
    ...stringField(7, i.zone),
    ...varintField(8, i.registeredTimestamp),
    ...(i.extra ?? []),
  ];
}

/** ring.Desc: `ingesters` (field 1) is a map, i.e. repeated entries {key = 1, value = 2}. */
export function descBytes(instances: Record<string, HandInstance>, extra: number[] = []): number[] {
  const out: number[] = [];
  for (const [id, inst] of Object.entries(instances)) {
    out.push(...lenField(1, [...stringField(1, id), ...lenField(2, instanceBytes(inst))]));
  }
  return [...out, ...extra];
}

/** A snappy block made of literals only (chunks of at most 60 bytes: one-byte tags). */
export function snappyLiteralBlock(data: readonly number[]): Uint8Array {
  const out = [...varint(data.length)];
  for (let i = 0; i < data.length; i += 60) {
    const chunk = data.slice(i, i + 60);
    out.push((chunk.length - 1) << 2, ...chunk);
  }
  return Uint8Array.from(out);
}

// ---- a minimal reader ----

export interface RawField {
  field: number;
  wireType: number;
  /** VARINT fields. */
  value?: bigint;
  /** LEN fields. */
  bytes?: Uint8Array;
}

function readVarint(buf: Uint8Array, pos: { at: number }): bigint {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    if (pos.at >= buf.length) throw new Error('truncated varint');
    const b = buf[pos.at++]!;
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return v;
    shift += 7n;
  }
}

/** Every field of one message, in order (VARINT and LEN only: all the ring schema uses). */
export function readFields(buf: Uint8Array): RawField[] {
  const out: RawField[] = [];
  const pos = { at: 0 };
  while (pos.at < buf.length) {
    const key = Number(readVarint(buf, pos));
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (wireType === VARINT) out.push({ field, wireType, value: readVarint(buf, pos) });
    else if (wireType === LEN) {
      const n = Number(readVarint(buf, pos));
      out.push({ field, wireType, bytes: buf.subarray(pos.at, pos.at + n) });
      pos.at += n;
    } else throw new Error(`unexpected wire type ${wireType} of field ${field}`);
  }
  return out;
}

/** Packed varints (a repeated scalar's LEN payload). */
export function readPacked(buf: Uint8Array): bigint[] {
  const out: bigint[] = [];
  const pos = { at: 0 };
  while (pos.at < buf.length) out.push(readVarint(buf, pos));
  return out;
}

/** Deterministic 32-bit PRNG (mulberry32) for fixed token sets and tenant names. */
export function seededUint32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul((t ^ (t >>> 15)) >>> 0, (t | 1) >>> 0) >>> 0;
    t = (t ^ ((t + Math.imul((t ^ (t >>> 7)) >>> 0, (t | 61) >>> 0)) >>> 0)) >>> 0;
    return (t ^ (t >>> 14)) >>> 0;
  };
}
