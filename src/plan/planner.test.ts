import { describe, expect, it } from 'vitest';
import { mkBlock, ulidOf, type BlockSpec } from '../../test/support/plan-fixtures.js';
import { groupBlocks } from './group.js';
import { resolvePlanOptions } from './options.js';
import { planAll, planFirst } from './plan-all.js';
import { overlappingRuns, planGroup, planGroupFirst, splitByRange } from './planner.js';
import type { PlanAllResult, PlanBlock, PlanOptions } from './types.js';

// Thanos' planner tests use these ranges (ExponentialBlockRanges(20, 5, 3)).
const RANGES = [20, 60, 180, 540, 1620];

type Spec = readonly [id: number, min: number, max: number, extra?: Partial<BlockSpec>];

const blocksOf = (specs: readonly Spec[]): PlanBlock[] =>
  specs.map(([id, min, max, extra]) => mkBlock({ id, min, max, ...extra }));

const num = (ulid: string): number => {
  for (let n = 0; n < 100; n++) if (ulidOf(n) === ulid) return n;
  throw new Error(`unknown ulid ${ulid}`);
};

const ids = (res: PlanAllResult): number[][] => res.plans.map((p) => p.sources.map((s) => num(s.ulid)));

function first(specs: readonly Spec[], opts: PlanOptions = {}): number[] {
  const res = planFirst(blocksOf(specs), { ranges: RANGES, ...opts });
  expect(res.plans.length).toBeLessThanOrEqual(1);
  // Whatever Thanos would do first is always among the concurrent plans.
  const all = planAll(blocksOf(specs), { ranges: RANGES, ...opts });
  for (const p of res.plans) expect(all.plans.map((q) => q.id)).toContain(p.id);
  return ids(res)[0] ?? [];
}

describe('splitByRange', () => {
  it('splits into aligned buckets and skips blocks that straddle one (Prometheus example)', () => {
    const bs = blocksOf([
      [1, 0, 10],
      [2, 10, 20],
      [3, 50, 60],
      [4, 90, 100],
    ]);
    expect(splitByRange(bs, 30).map((p) => p.map((b) => num(b.ulid)))).toEqual([[1, 2], [3], [4]]);
    const straddle = blocksOf([
      [1, 0, 10],
      [2, 20, 40],
      [3, 40, 60],
    ]);
    expect(splitByRange(straddle, 30).map((p) => p.map((b) => num(b.ulid)))).toEqual([[1], [3]]);
  });

  it('aligns negative times downwards', () => {
    const bs = blocksOf([
      [1, -40, -30],
      [2, -30, -20],
      [3, -20, 0],
    ]);
    expect(splitByRange(bs, 30).map((p) => p.map((b) => num(b.ulid)))).toEqual([[1], [2, 3]]);
  });
});

describe('overlappingRuns', () => {
  it('finds every run of chained overlaps', () => {
    const bs = blocksOf([
      [1, 0, 10],
      [2, 9, 20],
      [3, 30, 40],
      [4, 39, 50],
      [5, 45, 60],
      [6, 70, 80],
    ]);
    expect(overlappingRuns(bs).map((r) => r.map((b) => num(b.ulid)))).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    expect(overlappingRuns(bs, true).map((r) => r.map((b) => num(b.ulid)))).toEqual([[1, 2]]);
  });
});

// Thanos pkg/compact TestPlanners_Plan_Compatibility (= Prometheus TestLeveledCompactor_plan).
describe('leveled planning (Thanos/Prometheus compatibility cases)', () => {
  const cases: { name: string; specs: Spec[]; want: number[] }[] = [
    { name: 'no blocks', specs: [], want: [] },
    { name: 'single block outside range', specs: [[1, 0, 20]], want: [] },
    {
      name: 'wait for four blocks of size 20',
      specs: [
        [1, 0, 20],
        [2, 20, 40],
      ],
      want: [],
    },
    {
      name: 'three blocks, the fresh one is ignored',
      specs: [
        [1, 0, 20],
        [2, 20, 40],
        [3, 40, 60],
      ],
      want: [],
    },
    {
      name: 'block to fill the entire parent range appeared',
      specs: [
        [1, 0, 20],
        [2, 20, 40],
        [3, 40, 60],
        [4, 60, 80],
      ],
      want: [1, 2, 3],
    },
    {
      name: 'blocks fill the entire 2nd parent range',
      specs: [
        [6, 0, 60],
        [7, 60, 120],
        [8, 120, 180],
        [9, 180, 200],
        [10, 200, 220],
      ],
      want: [6, 7, 8],
    },
    {
      name: 'next parent range appeared with a gap, fresh one still ignored',
      specs: [
        [1, 0, 20],
        [2, 20, 40],
        [4, 60, 80],
      ],
      want: [],
    },
    {
      name: 'gap of 20 between 2nd and 3rd block: compact the first two',
      specs: [
        [1, 0, 20],
        [2, 20, 40],
        [4, 60, 80],
        [5, 80, 100],
      ],
      want: [1, 2],
    },
    {
      name: '20, 20, 20, 60, 60: 5 is the fresh one',
      specs: [
        [1, 0, 20],
        [2, 20, 40],
        [3, 40, 60],
        [4, 60, 120],
        [5, 120, 180],
      ],
      want: [1, 2, 3],
    },
    {
      name: 'entire 2nd parent range with a gap',
      specs: [
        [6, 0, 60],
        [8, 120, 180],
        [9, 180, 200],
        [10, 200, 220],
      ],
      want: [6, 8],
    },
    {
      name: '20, 60, 20, 60, 240: compact 20 + 60 + 60',
      specs: [
        [2, 20, 40],
        [4, 60, 120],
        [5, 960, 980],
        [6, 120, 180],
        [7, 720, 960],
      ],
      want: [2, 4, 6],
    },
    {
      name: 'the newest block is chosen by minTime, not by ULID',
      specs: [
        [5, 0, 360],
        [6, 540, 560],
        [7, 360, 420],
        [8, 420, 540],
      ],
      want: [7, 8],
    },
    {
      name: 'large block with many tombstones: no single-block rewrite (deliberate difference)',
      specs: [
        [1, 0, 540],
        [2, 540, 560],
      ],
      want: [],
    },
    {
      name: 'overlapping blocks 1',
      specs: [
        [1, 0, 20],
        [2, 19, 40],
        [3, 40, 60],
      ],
      want: [1, 2],
    },
    {
      name: 'overlapping blocks 2',
      specs: [
        [1, 0, 20],
        [2, 20, 40],
        [3, 30, 50],
      ],
      want: [2, 3],
    },
    {
      name: 'overlapping blocks 3',
      specs: [
        [1, 0, 20],
        [2, 10, 40],
        [3, 30, 50],
      ],
      want: [1, 2, 3],
    },
    {
      name: 'overlapping blocks 4 (different sizes)',
      specs: [
        [5, 0, 360],
        [6, 340, 560],
        [7, 360, 420],
        [8, 420, 540],
      ],
      want: [5, 6, 7, 8],
    },
    {
      name: 'overlapping blocks 5',
      specs: [
        [1, 0, 10],
        [2, 9, 20],
        [3, 30, 40],
        [4, 39, 50],
      ],
      want: [1, 2],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(first(c.specs)).toEqual(c.want);
    });
  }

  it('a range with a failed compaction is never selected (Thanos TestRangeWithFailedCompactionWontGetSelected)', () => {
    const sets: Spec[][] = [
      [
        [1, 0, 20],
        [2, 20, 40],
        [3, 40, 60],
        [4, 60, 80],
      ],
      [
        [1, 0, 20],
        [2, 20, 40],
        [4, 60, 80],
        [5, 80, 100],
      ],
      [
        [1, 0, 20],
        [2, 20, 40],
        [3, 40, 60],
        [4, 60, 120],
        [5, 120, 180],
        [6, 180, 200],
      ],
    ];
    for (const specs of sets) {
      const s = specs.map(([id, min, max], i): Spec => [id, min, max, i === 1 ? { failed: true } : {}]);
      expect(first(s)).toEqual([]);
      expect(planAll(blocksOf(s), { ranges: RANGES }).plans).toEqual([]);
    }
  });

  it('a single range configured never compacts horizontally', () => {
    const specs: Spec[] = [
      [1, 0, 20],
      [2, 20, 40],
      [3, 40, 60],
      [4, 60, 80],
    ];
    expect(first(specs, { ranges: [20] })).toEqual([]);
  });
});

// Thanos pkg/compact TestTSDBBasedPlanner_PlanWithNoCompactMarks.
describe('no-compact marks', () => {
  const four = (marked: number[]): Spec[] =>
    [
      [1, 0, 20],
      [2, 20, 40],
      [3, 40, 60],
      [4, 60, 80],
    ].map(([id, min, max]) => [id!, min!, max!, { noCompact: marked.includes(id!) }]);
  const cases: { name: string; specs: Spec[]; want: number[] }[] = [
    { name: 'outside range and excluded', specs: [[1, 0, 20, { noCompact: true }]], want: [] },
    { name: 'first one excluded', specs: four([1]), want: [2, 3] },
    { name: 'second one excluded: nothing merges across it', specs: four([2]), want: [] },
    { name: 'last (fresh) one excluded', specs: four([4]), want: [1, 2, 3] },
    { name: 'first and last excluded', specs: four([1, 4]), want: [2, 3] },
    { name: 'all excluded', specs: four([1, 2, 3, 4]), want: [] },
    {
      name: 'gap between 2nd and 3rd, 2nd excluded',
      specs: [
        [1, 0, 20],
        [2, 20, 40, { noCompact: true }],
        [4, 60, 80],
        [5, 80, 100],
      ],
      want: [],
    },
    {
      name: '20, 60, 20, 60, 240 with the 6th excluded',
      specs: [
        [2, 20, 40],
        [4, 60, 120],
        [5, 960, 980],
        [6, 120, 180, { noCompact: true }],
        [7, 720, 960],
      ],
      want: [2, 4],
    },
    {
      name: '20, 60, 20, 60, 240 with the 4th excluded',
      specs: [
        [2, 20, 40],
        [4, 60, 120, { noCompact: true }],
        [5, 960, 980],
        [6, 120, 180],
        [7, 720, 960],
      ],
      want: [],
    },
    {
      name: 'overlap with an excluded block is not compacted',
      specs: [
        [1, 0, 20, { noCompact: true }],
        [2, 19, 40],
        [3, 40, 60],
      ],
      want: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(first(c.specs)).toEqual(c.want);
    });
  }

  it('splits one range into several concurrent plans, never merging across the mark', () => {
    const specs: Spec[] = [
      [1, 0, 10],
      [2, 10, 20],
      [3, 20, 30, { noCompact: true }],
      [4, 30, 40],
      [5, 40, 60],
      [6, 60, 80],
    ];
    expect(first(specs)).toEqual([1, 2]);
    expect(ids(planAll(blocksOf(specs), { ranges: RANGES }))).toEqual([
      [1, 2],
      [4, 5],
    ]);
  });
});

// Thanos pkg/compact TestLargeTotalIndexSizeFilter_Plan (limit 100, threshold 85).
describe('total index size limit', () => {
  const sized = (specs: [number, number, number, number][]): Spec[] =>
    specs.map(([id, min, max, size]) => [id, min, max, { indexSize: size }]);
  const cases: { name: string; specs: Spec[]; want: number[]; marks: number[] }[] = [
    { name: 'outside range', specs: sized([[1, 0, 20, 100]]), want: [], marks: [] },
    {
      name: 'first one too large',
      specs: sized([
        [1, 0, 20, 41],
        [2, 20, 40, 30],
        [3, 40, 60, 30],
        [4, 60, 80, 30],
      ]),
      want: [2, 3],
      marks: [1],
    },
    {
      name: 'second one too large',
      specs: sized([
        [1, 0, 20, 30],
        [2, 20, 40, 41],
        [3, 40, 60, 30],
        [4, 60, 80, 20],
      ]),
      want: [],
      marks: [2],
    },
    {
      name: 'the fresh block does not count',
      specs: sized([
        [1, 0, 20, 10],
        [2, 20, 40, 10],
        [3, 40, 60, 10],
        [4, 60, 80, 90],
      ]),
      want: [1, 2, 3],
      marks: [],
    },
    {
      name: 'pre-last and first too large',
      specs: sized([
        [1, 0, 20, 90],
        [2, 20, 40, 30],
        [3, 40, 50, 30],
        [4, 50, 60, 90],
        [5, 60, 80, 90],
      ]),
      want: [2, 3],
      marks: [1, 4],
    },
    {
      name: '20, 60, 20, 60, 240 with the 6th too large',
      specs: sized([
        [2, 20, 40, 30],
        [4, 60, 120, 30],
        [5, 960, 980, 30],
        [6, 120, 180, 90],
        [7, 720, 960, 30],
      ]),
      want: [2, 4],
      marks: [6],
    },
    {
      name: 'overlapping blocks, total too large',
      specs: sized([
        [1, 0, 20, 90],
        [2, 19, 40, 30],
        [3, 40, 60, 30],
      ]),
      want: [],
      marks: [1],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const res = planFirst(blocksOf(c.specs), { ranges: RANGES, maxIndexSizeBytes: 100 });
      expect(ids(res)[0] ?? []).toEqual(c.want);
      expect(res.noCompact.map((r) => num(r.ulid))).toEqual(c.marks);
      expect(res.noCompact.every((r) => r.reason === 'index-size-exceeding')).toBe(true);
    });
  }

  it('0 disables the limit; sizes come from indexSizeBytes before meta.json', () => {
    const specs = sized([
      [1, 0, 20, 1e12],
      [2, 20, 40, 1e12],
      [3, 40, 60, 1],
      [4, 60, 80, 1],
    ]);
    expect(ids(planFirst(blocksOf(specs), { ranges: RANGES, maxIndexSizeBytes: 0 }))).toEqual([[1, 2, 3]]);
    const override = blocksOf(specs).map((b) => ({ ...b, indexSizeBytes: 1 }));
    expect(planFirst(override, { ranges: RANGES }).noCompact).toEqual([]);
  });
});

describe('vertical compaction', () => {
  it('merges two replicas of one source into one vertical plan with dedup', () => {
    const blocks = [
      mkBlock({ id: 1, min: 0, max: 20, labels: { cluster: 'eu', replica: 'a' } }),
      mkBlock({ id: 2, min: 0, max: 20, labels: { cluster: 'eu', replica: 'b' } }),
      mkBlock({ id: 3, min: 20, max: 40, labels: { cluster: 'eu', replica: 'a' } }),
    ];
    const res = planAll(blocks, { ranges: RANGES, replicaLabels: ['replica'], dedup: 'penalty' });
    expect(res.plans).toHaveLength(1);
    const p = res.plans[0]!;
    expect(p.kind).toBe('vertical');
    expect(p.dedup).toBe('penalty');
    expect(p.labels).toEqual({ cluster: 'eu' });
    expect(p.sources.map((s) => num(s.ulid))).toEqual([1, 2]);
    expect([p.minTime, p.maxTime, p.outputLevel]).toEqual([0, 20, 2]);
    // Default dedup is the exact (1:1) merge.
    expect(planAll(blocks, { ranges: RANGES, replicaLabels: ['replica'] }).plans[0]!.dedup).toBe('exact');
    // Without replica labels the replicas are separate groups: nothing overlaps, nothing to do.
    expect(planAll(blocks, { ranges: RANGES }).plans).toEqual([]);
  });

  it('plans every overlapping run at once', () => {
    const specs: Spec[] = [
      [1, 0, 10],
      [2, 9, 20],
      [3, 30, 40],
      [4, 39, 50],
    ];
    const res = planAll(blocksOf(specs), { ranges: RANGES });
    expect(ids(res)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(res.plans.every((p) => p.kind === 'vertical')).toBe(true);
  });

  it('resolves overlaps before any leveled compaction in the group', () => {
    const specs: Spec[] = [
      [1, 0, 20],
      [2, 20, 40],
      [3, 40, 60],
      [4, 60, 80],
      [5, 100, 120],
      [6, 110, 130],
    ];
    expect(ids(planAll(blocksOf(specs), { ranges: RANGES }))).toEqual([[5, 6]]);
  });

  it('without vertical compaction an overlapping group is blocked, not planned, and other groups go on', () => {
    const blocks = [
      mkBlock({ id: 1, min: 0, max: 20, tenant: 'a' }),
      mkBlock({ id: 2, min: 10, max: 30, tenant: 'a' }),
      ...blocksOf([
        [3, 0, 20],
        [4, 20, 40],
        [5, 40, 60],
        [6, 60, 80],
      ]).map((b) => ({ ...b, tenant: 'b' })),
    ];
    const res = planAll(blocks, { ranges: RANGES, verticalCompaction: false });
    expect(res.blocked).toEqual([
      {
        tenant: 'a',
        groupKey: '0@17241709254077376921',
        labelString: '{}',
        reason: 'overlap-without-vertical-compaction',
        blocks: [ulidOf(1), ulidOf(2)],
      },
    ]);
    expect(ids(res)).toEqual([[3, 4, 5]]);
    expect(planFirst(blocks, { ranges: RANGES, verticalCompaction: false }).blocked).toEqual(res.blocked);
  });

  it('sets overlapping downsampled blocks aside with a no-compact request (Thanos #6775)', () => {
    const res = planAll(
      blocksOf([
        [1, 0, 20, { resolution: 300_000 }],
        [2, 10, 30, { resolution: 300_000 }],
        [3, 30, 40, { resolution: 300_000 }],
      ]),
      { ranges: RANGES },
    );
    expect(res.plans).toEqual([]);
    expect(res.noCompact.map((r) => [num(r.ulid), r.reason])).toEqual([
      [1, 'downsample-vertical-compaction'],
      [2, 'downsample-vertical-compaction'],
    ]);
  });
});

describe('default ranges, real units', () => {
  const H = 3_600_000;
  const twoHour = (n: number): PlanBlock[] =>
    Array.from({ length: n }, (_, i) => mkBlock({ id: i + 1, min: i * 2 * H, max: (i + 1) * 2 * H }));

  it('2h blocks filling an 8h range are compacted once the next block exists', () => {
    const res = planAll(twoHour(5));
    expect(res.plans.map((p) => [p.minTime / H, p.maxTime / H, p.sources.length, p.outputLevel])).toEqual([
      [0, 8, 4, 2],
    ]);
  });

  it('the newest block is left out, so four 2h blocks alone wait', () => {
    expect(planAll(twoHour(4)).plans).toEqual([]);
    expect(planAll(twoHour(1)).plans).toEqual([]);
  });
});

describe('concurrent plans (planAll)', () => {
  const H = 3_600_000;

  it('one tenant with four independent 2d windows gets four plans', () => {
    const blocks: PlanBlock[] = [];
    let id = 1;
    for (let w = 0; w < 4; w++) {
      for (let i = 0; i < 6; i++) {
        const min = w * 48 * H + i * 8 * H;
        blocks.push(mkBlock({ id: id++, min, max: min + 8 * H, level: 2, tenant: 'acme' }));
      }
    }
    blocks.push(mkBlock({ id: id++, min: 4 * 48 * H, max: 4 * 48 * H + 2 * H, tenant: 'acme' }));
    const res = planAll(blocks);
    expect(res.plans).toHaveLength(4);
    expect(res.plans.map((p) => [p.minTime / H, p.maxTime / H, p.sources.length, p.outputLevel])).toEqual([
      [0, 48, 6, 3],
      [48, 96, 6, 3],
      [96, 144, 6, 3],
      [144, 192, 6, 3],
    ]);
    expect(
      res.plans.every((p) => p.kind === 'horizontal' && p.dedup === 'exact' && p.tenant === 'acme'),
    ).toBe(true);
    expect(planFirst(blocks).plans).toHaveLength(1);
  });

  it('defers a bigger bucket while a smaller plan inside it is pending', () => {
    // 2h blocks fill [0, 8h); 8h blocks fill the rest of [0, 2d); a fresh block at 2d.
    const blocks: PlanBlock[] = [];
    let id = 1;
    for (let i = 0; i < 4; i++) blocks.push(mkBlock({ id: id++, min: i * 2 * H, max: (i + 1) * 2 * H }));
    for (let i = 1; i < 6; i++)
      blocks.push(mkBlock({ id: id++, min: i * 8 * H, max: (i + 1) * 8 * H, level: 2 }));
    blocks.push(mkBlock({ id: id++, min: 48 * H, max: 50 * H }));
    const res = planAll(blocks);
    expect(res.plans.map((p) => [p.minTime / H, p.maxTime / H])).toEqual([[0, 8]]);
  });

  it('never returns two plans that share a block or overlap in time', () => {
    const specs: Spec[] = [
      [1, 0, 20],
      [2, 20, 40],
      [3, 40, 60],
      [4, 60, 120],
      [5, 120, 180],
      [6, 180, 200],
      [7, 200, 220],
      [8, 220, 240],
      [9, 540, 560],
    ];
    const res = planAll(blocksOf(specs), { ranges: RANGES });
    expect(ids(res)).toEqual([
      [1, 2, 3],
      [6, 7, 8],
    ]);
  });
});

describe('plan identity', () => {
  const specs: Spec[] = [
    [1, 0, 20],
    [2, 20, 40],
    [3, 40, 60],
    [4, 60, 80],
  ];

  it('is stable: same input, in any order, gives the same id', () => {
    const a = planAll(blocksOf(specs), { ranges: RANGES }).plans[0]!;
    const b = planAll(blocksOf([...specs].reverse()), { ranges: RANGES }).plans[0]!;
    expect(a.id).toBe(b.id);
    expect(a.id).toMatch(/^\/0@17241709254077376921\/[0-9a-f]{16}$/);
    expect(a).toEqual(b);
  });

  it('depends on tenant, group and the exact set of sources', () => {
    const base = planAll(blocksOf(specs), { ranges: RANGES }).plans[0]!.id;
    const tenant = planAll(
      blocksOf(specs).map((b) => ({ ...b, tenant: 't' })),
      { ranges: RANGES },
    ).plans[0]!.id;
    expect(tenant).toBe(`t${base}`);
    const other = planAll(
      blocksOf(specs).map((b) => ({ ...b, thanos: { ...b.thanos!, labels: { a: 'b' } } })),
      { ranges: RANGES },
    ).plans[0]!.id;
    expect(other).not.toBe(base);
    const more = planAll(
      blocksOf([
        [1, 0, 20],
        [2, 20, 40],
        [3, 40, 50],
        [9, 50, 60],
        [4, 60, 80],
      ]),
      { ranges: RANGES },
    ).plans[0]!;
    expect(more.sources).toHaveLength(4);
    expect(more.id).not.toBe(base);
  });
});

describe('planGroup / planGroupFirst on a prepared group', () => {
  it('work on groups directly', () => {
    const opts = resolvePlanOptions({ ranges: RANGES });
    const [g] = groupBlocks(
      blocksOf([
        [1, 0, 20],
        [2, 20, 40],
        [3, 40, 60],
        [4, 60, 80],
      ]),
      [],
    );
    expect(planGroup(g!, opts).plans).toEqual(planGroupFirst(g!, opts).plans);
  });
});

describe('options', () => {
  it('rejects bad ranges and penalty without replica labels', () => {
    expect(() => planAll([], { ranges: [] })).toThrow(/at least one/);
    expect(() => planAll([], { ranges: [20, 20] })).toThrow(/ascending/);
    expect(() => planAll([], { ranges: [0] })).toThrow(/positive/);
    expect(() => planAll([], { dedup: 'penalty' })).toThrow(/replica label/);
  });

  it('defaults to Thanos ranges 2h, 8h, 2d, 14d', () => {
    expect(resolvePlanOptions().ranges).toEqual([7_200_000, 28_800_000, 172_800_000, 1_209_600_000]);
  });
});
