/**
 * Conformance with Cortex's ring value format (pkg/ring/ring.proto + snappy block compression,
 * pkg/ring/kv/codec/codec.go): bytes built by hand are read by Strata, Strata's bytes read by
 * hand and by the generated schema, and unknown fields survive a read-modify-write.
 */
import { fromBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DescSchema, InstanceState } from '../../gen/cortex/ring/ring_pb.js';
import { decodeRingDesc, encodeRingDesc, newRingDesc } from '../../src/ring/codec.js';
import { snappyCompress, snappyUncompress as uncompressWithLimit } from '../../src/util/snappy.js';
import { instancesOf, putInstance } from '../../src/ring/model.js';
import { errorCode } from '../../src/util/errors.js';
import {
  LEN,
  VARINT,
  descBytes,
  readFields,
  readPacked,
  snappyLiteralBlock,
  stringField,
  varintField,
  type HandInstance,
} from './wire.js';

const a: HandInstance = {
  addr: '10.0.0.1:9095',
  timestamp: 1_700_000_123,
  state: 0,
  tokens: [5, 300, 70_000, 0x8000_0000, 0xffff_ffff],
  zone: 'zone-a',
  registeredTimestamp: 1_600_000_000,
};
const b: HandInstance = {
  addr: '10.0.0.2:9095',
  timestamp: 1_700_000_120,
  state: 1, // LEAVING
  tokens: [7, 1 << 20, 0xfffffffe],
  zone: '',
  registeredTimestamp: 0,
  unpacked: true,
};

const snappyUncompress = (b: Uint8Array): Uint8Array => uncompressWithLimit(b, 1 << 20);

describe('snappy block format', () => {
  it('reads a hand-made block with a literal and a copy element', () => {
    // length 12, literal "abcd" (tag (4-1)<<2), copy-1 of length 8 at offset 4 (tag (8-4)<<2|1).
    const block = Uint8Array.from([12, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x11, 0x04]);
    expect(Buffer.from(snappyUncompress(block)).toString()).toBe('abcdabcdabcd');
  });

  it('reads two- and four-byte copies, long literals and overlapping copies', () => {
    const text = Buffer.from('x'.repeat(70) + 'hello world '.repeat(40));
    // literal of 70 bytes with a one-byte length (tag 60<<2, then 69), then a copy-2 of 64
    // bytes at offset 70 (reaching into the literal) and a copy-4 of 1 byte at offset 1.
    const block = Uint8Array.from([
      ...[136, 1], // 136 = varint of 136 bytes out: 70 + 64 + 1 + 1
      0xf0,
      69,
      ...Buffer.from('x'.repeat(70)),
      ((64 - 1) << 2) | 2,
      70,
      0,
      (0 << 2) | 3,
      1,
      0,
      0,
      0,
      0x00, // literal of 1 byte
      0x21,
    ]);
    const out = Buffer.from(snappyUncompress(block));
    expect(out.length).toBe(136);
    expect(out.subarray(0, 134).toString()).toBe('x'.repeat(134));
    expect(out.subarray(134).toString()).toBe('x!');
    // And whatever the compressor makes of real text round-trips.
    expect(Buffer.from(snappyUncompress(snappyCompress(text))).equals(text)).toBe(true);
  });

  it('round-trips anything snappyjs compresses (random and repetitive bytes)', () => {
    const repetitive = fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3000 }))
      .map(([unit, times]) =>
        Uint8Array.from({ length: unit.length * times }, (_, i) => unit[i % unit.length]!),
      );
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 5000 }), repetitive), (data) => {
        expect(Buffer.from(snappyUncompress(snappyCompress(data))).equals(Buffer.from(data))).toBe(true);
      }),
    );
  });

  it('refuses empty input, bad copies, short blocks and a header past the size limit', () => {
    const bad: number[][] = [
      [],
      [8, 0x11, 0x04], // copy before any data
      [10, 0x0c, 1, 2, 3, 4], // ends after 4 of 10 bytes (snappyjs would pad with zeros)
      [4, 0x0c, 1, 2, 3, 4, 0x00, 9], // literal past the declared length
      [10, 0x24, 1, 2, 3], // literal past the end of the input
      [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00], // 4 GiB claimed
      [0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // preamble over 32 bits
    ];
    for (const b of bad) expect(() => snappyUncompress(Uint8Array.from(b)), JSON.stringify(b)).toThrow();
  });
});

describe('Cortex ring.Desc conformance', () => {
  it('reads a descriptor built by hand (raw protobuf, hand-made snappy literal block)', () => {
    const bytes = snappyLiteralBlock(descBytes({ 'compactor-1': a, 'compactor-0': b }));
    const got = instancesOf(decodeRingDesc(bytes, 'collectors/compactor'));
    expect(got).toEqual([
      {
        id: 'compactor-0',
        addr: b.addr,
        heartbeatSec: b.timestamp,
        state: InstanceState.LEAVING,
        tokens: b.tokens,
        zone: '',
        registeredSec: 0,
      },
      {
        id: 'compactor-1',
        addr: a.addr,
        heartbeatSec: a.timestamp,
        state: InstanceState.ACTIVE,
        tokens: a.tokens,
        zone: 'zone-a',
        registeredSec: a.registeredTimestamp,
      },
    ]);
  });

  it('writes what Cortex reads: checked field by field by hand and with the generated schema', () => {
    const desc = newRingDesc();
    putInstance(desc, 'strata-1', {
      addr: '127.0.0.1:10902',
      zone: 'z1',
      state: InstanceState.JOINING,
      tokens: [1, 0x7fff_ffff, 0x8000_0001, 0xffff_ffff],
      heartbeatSec: 1_700_000_500,
      registeredSec: 1_700_000_400,
    });
    const bytes = encodeRingDesc(desc);

    // By hand: the snappy layer is a block (varint length first), then Desc field 1 entries.
    const raw = snappyUncompress(bytes);
    const top = readFields(raw);
    expect(top.map((f) => [f.field, f.wireType])).toEqual([[1, LEN]]);
    const entry = readFields(top[0]!.bytes!);
    expect(Buffer.from(entry[0]!.bytes!).toString()).toBe('strata-1');
    expect(entry.map((f) => [f.field, f.wireType])).toEqual([
      [1, LEN],
      [2, LEN],
    ]);
    const fields = new Map(readFields(entry[1]!.bytes!).map((f) => [f.field, f]));
    expect(Buffer.from(fields.get(1)!.bytes!).toString()).toBe('127.0.0.1:10902');
    expect(fields.get(2)).toMatchObject({ wireType: VARINT, value: 1_700_000_500n });
    expect(fields.get(3)).toMatchObject({ wireType: VARINT, value: 3n }); // JOINING
    expect(fields.get(6)!.wireType).toBe(LEN); // packed, as proto3 and gogoproto write it
    expect(readPacked(fields.get(6)!.bytes!)).toEqual([1n, 0x7fff_ffffn, 0x8000_0001n, 0xffff_ffffn]);
    expect(Buffer.from(fields.get(7)!.bytes!).toString()).toBe('z1');
    expect(fields.get(8)).toMatchObject({ wireType: VARINT, value: 1_700_000_400n });

    // With the generated schema.
    const decoded = fromBinary(DescSchema, raw);
    const inst = decoded.ingesters['strata-1']!;
    expect(inst.addr).toBe('127.0.0.1:10902');
    expect(inst.timestamp).toBe(1_700_000_500n);
    expect(inst.state).toBe(InstanceState.JOINING);
    expect(inst.tokens).toEqual([1, 0x7fff_ffff, 0x8000_0001, 0xffff_ffff]);
    expect(inst.zone).toBe('z1');
    expect(inst.registeredTimestamp).toBe(1_700_000_400n);
  });

  it('keeps unknown fields of a newer schema through a read-modify-write', () => {
    const newer = {
      ...a,
      // A varint field 9 and a string field 100 InstanceDesc does not know.
      extra: [...varintField(9, 42), ...stringField(100, 'from the future')],
    };
    const descExtra = [...varintField(3, 7)]; // Desc field 3: unknown too
    const bytes = snappyLiteralBlock(descBytes({ 'cortex-1': newer }, descExtra));
    const desc = decodeRingDesc(bytes, 'collectors/compactor');

    // Strata heartbeats its own entry and rewrites the descriptor.
    putInstance(desc, 'cortex-1', {
      addr: newer.addr,
      zone: newer.zone,
      state: InstanceState.ACTIVE,
      tokens: newer.tokens,
      heartbeatSec: newer.timestamp + 5,
      registeredSec: 0,
    });
    putInstance(desc, 'strata-2', {
      addr: 'x:1',
      zone: '',
      state: InstanceState.ACTIVE,
      tokens: [9],
      heartbeatSec: 1,
      registeredSec: 1,
    });
    const raw = snappyUncompress(encodeRingDesc(desc));

    const top = readFields(raw);
    expect(top.find((f) => f.field === 3)).toMatchObject({ wireType: VARINT, value: 7n });
    const entries = top.filter((f) => f.field === 1).map((f) => readFields(f.bytes!));
    const cortex = entries.find((e) => Buffer.from(e[0]!.bytes!).toString() === 'cortex-1')!;
    const fields = readFields(cortex[1]!.bytes!);
    expect(fields.find((f) => f.field === 2)!.value).toBe(BigInt(newer.timestamp + 5));
    expect(fields.find((f) => f.field === 8)!.value).toBe(BigInt(newer.registeredTimestamp));
    expect(fields.find((f) => f.field === 9)).toMatchObject({ wireType: VARINT, value: 42n });
    expect(Buffer.from(fields.find((f) => f.field === 100)!.bytes!).toString()).toBe('from the future');
  });

  it('names the key on garbage, and on snappy data that is not a ring.Desc', () => {
    const garbage = Buffer.from('definitely not a ring descriptor');
    let err: unknown;
    try {
      decodeRingDesc(garbage, 'collectors/compactor');
    } catch (e) {
      err = e;
    }
    expect(errorCode(err)).toBe('ERR_RING_CORRUPT');
    expect(String(err)).toContain('collectors/compactor');

    // Valid snappy, invalid protobuf (field 1 claims 100 bytes, 1 follows).
    const notProto = snappyLiteralBlock([0x0a, 100, 1]);
    expect(() => decodeRingDesc(notProto, 'k')).toThrow(/ring key "k".*not a ring.Desc/);
  });

  it('reads an empty descriptor (snappy of zero bytes) as a ring with no members', () => {
    expect(instancesOf(decodeRingDesc(Uint8Array.of(0), 'k'))).toEqual([]);
    expect(decodeRingDesc(encodeRingDesc(newRingDesc()), 'k').ingesters).toEqual({});
  });
});
