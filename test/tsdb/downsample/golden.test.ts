/**
 * Golden tables: the float cases of Thanos' pkg/compact/downsample/downsample_test.go
 * (TestDownsample, TestDownsampleCounterBoundaryReset, TestApplyCounterResetsIterator,
 * TestExpandChunkIterator), ported as data. Values compare with Object.is (bit-exact but for NaN
 * payloads; no expected value is a NaN).
 */
import { describe, expect, it } from 'vitest';
import { CounterResets, FloatSeries } from '../../../src/tsdb/downsample/index.js';
import { SampleBuf } from '../../../src/tsdb/samples/sample-buf.js';
import {
  asInputs,
  counterSamples,
  decodeXor,
  downsampleAggrMaps,
  downsampleRawChunks,
  readBack,
  xorChunk,
} from './harness.js';
import {
  NAN,
  STALE,
  realisticChkDataWithCounterResetRes5m,
  realisticChkDataWithCounterResetsAfterCounterSeriesIterating,
  realisticChkDataWithStaleMarker,
  type AggrMap,
  type S,
} from './thanos-data.js';
import { AggrDownsampler } from '../../../src/tsdb/downsample/aggr.js';
import type { EncodedChunk } from '../../../src/tsdb/chunkenc/encode.js';

const RES_5M = 300_000;
const RES_1H = 3_600_000;

interface RawCase {
  name: string;
  inRaw: S[][];
  resolution: number;
  expected: AggrMap[];
}

const rawCases: RawCase[] = [
  {
    name: 'single chunk',
    inRaw: [
      [
        [20, 1],
        [40, 2],
        [60, 3],
        [80, 1],
        [100, 2],
        [101, STALE],
        [120, 5],
        [180, 10],
        [250, 1],
      ],
    ],
    resolution: 100,
    expected: [
      {
        count: [
          [99, 4],
          [199, 3],
          [250, 1],
        ],
        sum: [
          [99, 7],
          [199, 17],
          [250, 1],
        ],
        min: [
          [99, 1],
          [199, 2],
          [250, 1],
        ],
        max: [
          [99, 3],
          [199, 10],
          [250, 1],
        ],
        counter: [
          [20, 1],
          [99, 4],
          [199, 13],
          [250, 14],
          [250, 1],
        ],
      },
    ],
  },
  {
    name: 'three chunks',
    inRaw: [
      [
        [20, 1],
        [40, 2],
        [60, 3],
        [80, 1],
        [100, 2],
        [101, STALE],
        [120, 5],
        [180, 10],
        [250, 2],
      ],
      [
        [260, 1],
        [300, 10],
        [340, 15],
        [380, 25],
        [420, 35],
      ],
      [
        [460, STALE],
        [500, 10],
        [540, 3],
      ],
    ],
    resolution: 100,
    expected: [
      {
        count: [
          [99, 4],
          [199, 3],
          [299, 2],
          [399, 3],
          [499, 1],
          [540, 2],
        ],
        sum: [
          [99, 7],
          [199, 17],
          [299, 3],
          [399, 50],
          [499, 35],
          [540, 13],
        ],
        min: [
          [99, 1],
          [199, 2],
          [299, 1],
          [399, 10],
          [499, 35],
          [540, 3],
        ],
        max: [
          [99, 3],
          [199, 10],
          [299, 2],
          [399, 25],
          [499, 35],
          [540, 10],
        ],
        counter: [
          [20, 1],
          [99, 4],
          [199, 13],
          [299, 16],
          [399, 40],
          [499, 50],
          [540, 63],
          [540, 3],
        ],
      },
    ],
  },
  {
    name: 'realistic 15s interval raw chunks',
    inRaw: realisticChkDataWithStaleMarker,
    resolution: RES_5M,
    expected: realisticChkDataWithCounterResetRes5m,
  },
  {
    name: 'three chunks, the first one with NaN values only',
    inRaw: [
      [
        [20, NAN],
        [40, NAN],
        [60, NAN],
        [80, NAN],
        [100, NAN],
        [101, STALE],
        [120, NAN],
        [180, NAN],
        [250, NAN],
      ],
      [
        [260, 1],
        [300, 10],
        [340, 15],
        [380, 25],
        [420, 35],
      ],
      [
        [460, STALE],
        [500, 10],
        [540, 3],
      ],
    ],
    resolution: 100,
    expected: [
      {
        count: [
          [299, 1],
          [399, 3],
          [499, 1],
          [540, 2],
        ],
        sum: [
          [299, 1],
          [399, 50],
          [499, 35],
          [540, 13],
        ],
        min: [
          [299, 1],
          [399, 10],
          [499, 35],
          [540, 3],
        ],
        max: [
          [299, 1],
          [399, 25],
          [499, 35],
          [540, 10],
        ],
        counter: [
          [260, 1],
          [299, 1],
          [399, 25],
          [499, 35],
          [540, 48],
          [540, 3],
        ],
      },
    ],
  },
];

const singleAggr: AggrMap = {
  count: [
    [199, 5],
    [299, 1],
    [399, 10],
    [400, 3],
    [499, 10],
    [699, 0],
    [999, 100],
  ],
  sum: [
    [199, 5],
    [299, 1],
    [399, 10],
    [400, 3],
    [499, 10],
    [699, 0],
    [999, 100],
  ],
  min: [
    [199, 5],
    [299, 1],
    [399, 10],
    [400, -3],
    [499, 10],
    [699, 0],
    [999, 100],
  ],
  max: [
    [199, 5],
    [299, 1],
    [399, 10],
    [400, -3],
    [499, 10],
    [699, 0],
    [999, 100],
  ],
  counter: [
    [99, 100],
    [299, 150],
    [499, 210],
    [499, 10], // Chunk 1.
    [599, 20],
    [799, 50],
    [999, 120],
    [999, 50], // Chunk 2, no reset.
    [1099, 40],
    [1199, 80],
    [1299, 110], // Chunk 3, reset.
  ],
};
const singleAggrAt500: AggrMap = {
  count: [
    [499, 29],
    [999, 100],
  ],
  sum: [
    [499, 29],
    [999, 100],
  ],
  min: [
    [499, -3],
    [999, 0],
  ],
  max: [
    [499, 10],
    [999, 100],
  ],
  counter: [
    [99, 100],
    [499, 210],
    [999, 320],
    [1299, 430],
    [1299, 110],
  ],
};

interface AggrCase {
  name: string;
  inAggr: AggrMap[];
  resolution: number;
  expected: AggrMap[];
}

function fourChunksCase(): AggrCase {
  const inAggr: AggrMap[] = [{ counter: [] }, { counter: [] }, { counter: [] }, { counter: [] }];
  for (let i = 0; i < 120; i++) {
    for (let c = 0; c < 4; c++) inAggr[c]!.counter!.push([120 * c + i, 120 * c + i]);
  }
  const counter: S[] = [[0, 0]];
  for (let i = 0; i < 480; i += 2) counter.push([1 + i, 1 + i]);
  counter.push([479, 479]);
  return {
    name: 'downsampling four, 120 sample chunks for 2x resolution should result in two chunks, but results in one.',
    resolution: 2,
    inAggr,
    expected: [{ counter }],
  };
}

const aggrCases: AggrCase[] = [
  { name: 'single aggregated chunks', inAggr: [singleAggr], resolution: 500, expected: [singleAggrAt500] },
  {
    name: 'downsampling already downsampled to the same resolution aggregated chunks',
    inAggr: [singleAggrAt500],
    resolution: 500,
    expected: [singleAggrAt500],
  },
  {
    name: 'two aggregated chunks',
    inAggr: [
      singleAggr,
      {
        count: [
          [1399, 10],
          [1400, 3],
          [1499, 10],
          [1699, 0],
          [1999, 100],
        ],
        sum: [
          [1399, 10],
          [1400, 3],
          [1499, 10],
          [1699, 0],
          [1999, 100],
        ],
        min: [
          [1399, 10],
          [1400, -3],
          [1499, 10],
          [1699, 0],
          [1999, 100],
        ],
        max: [
          [1399, 10],
          [1400, -3],
          [1499, 10],
          [1699, 0],
          [1999, 100],
        ],
        counter: [
          [1499, 210],
          [1499, 10], // Chunk 1.
          [1599, 20],
          [1799, 50],
          [1999, 120],
          [1999, 50], // Chunk 2, no reset.
          [2099, 40],
          [2199, 80],
          [2299, 110], // Chunk 3, reset.
        ],
      },
    ],
    resolution: 500,
    expected: [
      {
        count: [
          [499, 29],
          [999, 100],
          [1499, 23],
          [1999, 100],
        ],
        sum: [
          [499, 29],
          [999, 100],
          [1499, 23],
          [1999, 100],
        ],
        min: [
          [499, -3],
          [999, 0],
          [1499, -3],
          [1999, 0],
        ],
        max: [
          [499, 10],
          [999, 100],
          [1499, 10],
          [1999, 100],
        ],
        counter: [
          [99, 100],
          [499, 210],
          [999, 320],
          [1499, 530],
          [1999, 640],
          [2299, 750],
          [2299, 110],
        ],
      },
    ],
  },
  {
    name: 'realistic ResLevel1 (5m) downsampled chunks with from counter resets',
    inAggr: realisticChkDataWithCounterResetRes5m,
    resolution: RES_1H,
    expected: [
      {
        count: [[1587693590791, 236]],
        sum: [[1587693590791, 8.0151286e7]],
        min: [[1587693590791, 75]],
        max: [[1587693590791, 496544]],
        counter: [
          [1587690005791, 461968],
          [1587693590791, 511500],
          [1587693590791, 14956],
        ],
      },
    ],
  },
  fourChunksCase(),
];

describe('Thanos golden tables: TestDownsample', () => {
  for (const c of rawCases) {
    it(`raw: ${c.name}`, () => {
      expect(downsampleRawChunks(c.inRaw, c.resolution).map(readBack)).toEqual(c.expected);
    });
  }
  for (const c of aggrCases) {
    it(`aggregated: ${c.name}`, () => {
      // Thanos' test gives the input block a resolution one below the target.
      const out = downsampleAggrMaps(c.inAggr, c.resolution - 1, c.resolution);
      expect(out.map(readBack)).toEqual(c.expected);
      for (const ch of out) expect(ch.maxt).toBeGreaterThanOrEqual(ch.mint);
    });
  }
});

describe('Thanos golden tables: TestDownsampleCounterBoundaryReset', () => {
  const raw: S[] = [
    [10, 1],
    [20, 3],
    [30, 5],
    [50, 1],
    [60, 8],
    [70, 10],
    [120, 1],
    [130, 18],
    [140, 20],
    [160, 21],
    [170, 38],
    [180, 40],
  ];
  const iterate = (chunks: readonly EncodedChunk[]): S[] => {
    const cr = new CounterResets();
    const res: S[] = [];
    for (const [t, v] of counterSamples(chunks)) if (cr.push(t, v as number)) res.push([cr.t, cr.total]);
    return res;
  };
  it('keeps each chunk first raw value so resets at chunk edges count, through two passes', () => {
    // More chunks than raw samples: every chunk holds one window.
    const cm = downsampleRawChunks([raw], 50, raw.length + 1);
    expect(cm).toHaveLength(4);
    expect(counterSamples(cm)).toEqual([
      [10, 1],
      [30, 5],
      [30, 5],
      [50, 1],
      [70, 10],
      [70, 10],
      [120, 1],
      [140, 20],
      [140, 20],
      [160, 21],
      [180, 40],
      [180, 40],
    ]);
    expect(iterate(cm)).toEqual([
      [10, 1],
      [30, 5],
      [50, 6],
      [70, 15],
      [120, 16],
      [140, 35],
      [160, 36],
      [180, 55],
    ]);

    const acm: EncodedChunk[] = [];
    new AggrDownsampler().downsample(asInputs(cm), 50, 100, acm, 2);
    expect(acm).toHaveLength(2);
    expect(counterSamples(acm)).toEqual([
      [10, 1],
      [70, 15],
      [70, 10],
      [120, 1],
      [180, 40],
      [180, 40],
    ]);
    expect(iterate(acm)).toEqual([
      [10, 1],
      [70, 15],
      [120, 16],
      [180, 55],
    ]);
  });
});

describe('Thanos golden tables: TestApplyCounterResetsIterator', () => {
  const run = (chunks: readonly (readonly S[])[]): S[] => {
    const cr = new CounterResets();
    const res: S[] = [];
    for (const c of chunks) {
      for (const [t, v] of c) if (cr.push(t, v === STALE ? NaN : v)) res.push([cr.t, cr.total]);
    }
    return res;
  };
  it('series with stale marker', () => {
    expect(
      run([
        [
          [100, 10],
          [200, 20],
          [300, 10],
          [400, 20],
          [400, 5],
        ],
        [
          [500, 10],
          [600, 20],
          [700, 30],
          [800, 40],
          [800, 10],
        ],
        [
          [900, 5],
          [1000, 10],
          [1100, 15],
        ],
        [
          [1200, 20],
          [1250, STALE],
          [1300, 40],
        ],
        [
          [1400, 30],
          [1500, 30],
          [1600, 50],
        ],
      ]),
    ).toEqual([
      [100, 10],
      [200, 20],
      [300, 30],
      [400, 40],
      [500, 45],
      [600, 55],
      [700, 65],
      [800, 75],
      [900, 80],
      [1000, 85],
      [1100, 90],
      [1200, 95],
      [1300, 115],
      [1400, 145],
      [1500, 145],
      [1600, 165],
    ]);
  });
  it('realistic raw data with 2 chunks that have one stale marker', () => {
    expect(run(realisticChkDataWithStaleMarker)).toEqual(
      realisticChkDataWithCounterResetsAfterCounterSeriesIterating,
    );
  });
  it('realistic raw data with many overlapping chunks with stale markers', () => {
    const [a, b] = realisticChkDataWithStaleMarker as [S[], S[]];
    expect(run([a, a, a, b, b, b, b, b, b, b, b, b])).toEqual(
      realisticChkDataWithCounterResetsAfterCounterSeriesIterating,
    );
  });
  it('the same input after 5m downsampling', () => {
    expect(run([realisticChkDataWithCounterResetRes5m[0]!.counter!])).toEqual([
      [1587690005791, 461968],
      [1587690299999, 465870],
      [1587690599999, 469951],
      [1587690899999, 474726],
      [1587691199999, 479368],
      [1587691499999, 483566],
      [1587691799999, 487787],
      [1587692099999, 492065],
      [1587692399999, 496245],
      [1587692699999, 498647],
      [1587692999999, 502554],
      [1587693299999, 506786],
      [1587693590791, 511500],
    ]);
  });
});

describe('Thanos golden tables: TestExpandChunkIterator', () => {
  it('drops stale markers and samples going back in time, keeps equal timestamps', () => {
    const s = new FloatSeries(4);
    const b = new SampleBuf(8);
    // Not a valid XOR chunk (time goes back), so the decoded form is built directly.
    const input: S[] = [
      [100, 1],
      [200, 2],
      [200, 3],
      [201, 4],
      [200, 5],
      [300, 6],
      [400, STALE],
      [500, 5],
    ];
    const f64 = new Float64Array(1);
    const u32 = new Uint32Array(f64.buffer);
    for (const [t, v] of input) {
      if (v === STALE) b.push(t, 0x7ff00000, 2);
      else {
        f64[0] = v;
        b.push(t, u32[1]!, u32[0]!);
      }
    }
    s.appendExpanded(b);
    const got: S[] = [];
    for (let i = 0; i < s.len; i++) got.push([s.ts[i]!, s.vs[i]!]);
    expect(got).toEqual([
      [100, 1],
      [200, 2],
      [200, 3],
      [201, 4],
      [300, 6],
      [500, 5],
    ]);
  });
  it('round-trips a stale marker through an XOR chunk', () => {
    const b = decodeXor(
      xorChunk([
        [1, 1],
        [2, STALE],
      ]),
    );
    expect([b.hi[1], b.lo[1]]).toEqual([0x7ff00000, 2]);
  });
});
