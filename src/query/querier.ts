/**
 * The querier's core: Series, LabelNames and LabelValues over the store groups that can hold
 * data for the request, hedged per replica group, merged and deduplicated. A failed group is a
 * warning naming it (partial response allowed) or a QueryGroupError naming the group and its
 * members' errors.
 */
import { create } from '@bufbuild/protobuf';
import {
  Aggr,
  LabelNamesRequestSchema,
  LabelValuesRequestSchema,
  SeriesRequestSchema,
  type SeriesRequest,
} from '../../gen/thanos/store/storepb/rpc_pb.js';
import { LabelMatcherSchema, type LabelMatcher } from '../../gen/thanos/store/storepb/types_pb.js';
import { compareStrings } from '../tsdb/labels.js';
import { wireMatchType, type Matcher } from '../tsdb/index/matchers.js';
import { EMPTY_LABEL_NAME, InvalidArgumentError, StrataError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Endpoint, EndpointSet } from './endpoints.js';
import { labelsFromWire } from './endpoints.js';
import { fanOut, type GroupOutcome, type MemberCall, type ReplicaStrategy } from './fanout.js';
import { aggregatedToXor, hasAggregated, type WireAggrChunk } from './downsampled.js';
import { groupMatches } from './groups.js';
import { mergeSeriesLists, type DedupFunc, type QSeries, type WireChunk } from './merge.js';
import type { QueryMetrics } from './metrics.js';

export class QueryGroupError extends StrataError {
  constructor(message: string) {
    super('ERR_QUERY_GROUP_FAILED', message);
  }
}

export interface QuerierOptions {
  readonly endpoints: EndpointSet;
  readonly replicaLabels: readonly string[];
  readonly dedupFunc: DedupFunc;
  /** Default of requests that do not say. */
  readonly partialResponse: boolean;
  /** 0: no limit. */
  readonly responseTimeoutMs: number;
  readonly metrics: QueryMetrics;
  readonly logger: Logger;
  readonly random?: () => number;
  readonly now?: () => number;
  /** Default two-random. */
  readonly replicaStrategy?: ReplicaStrategy;
}

export interface SelectParams {
  readonly minTime: number;
  readonly maxTime: number;
  readonly matchers: readonly Matcher[];
  readonly partialResponse?: boolean;
  /** Default true: replica labels removed and replicas deduplicated. */
  readonly dedup?: boolean;
  readonly skipChunks?: boolean;
  /** A Store API request's without_replica_labels: removed too (with or without dedup). */
  readonly withoutReplicaLabels?: readonly string[];
  /** Store API max_resolution_window in ms (default 0: raw data only). */
  readonly maxResolutionWindow?: number;
  /** Aggregates asked of downsampled blocks (default COUNT and SUM, as Thanos). */
  readonly aggregates?: readonly Aggr[];
  readonly signal?: AbortSignal;
}

export interface Result<T> {
  readonly value: T;
  readonly warnings: string[];
}

interface MemberSeries {
  readonly series: QSeries[];
  readonly warnings: string[];
}

function wireMatchers(ms: readonly Matcher[]): LabelMatcher[] {
  return ms.map((m) =>
    create(LabelMatcherSchema, { type: wireMatchType(m.type), name: m.name, value: m.value }),
  );
}

export class Querier {
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(readonly o: QuerierOptions) {
    this.random = o.random ?? Math.random;
    this.now = o.now ?? Date.now;
  }

  async series(p: SelectParams): Promise<Result<QSeries[]>> {
    const aggregates =
      p.aggregates !== undefined && p.aggregates.length > 0 ? [...p.aggregates] : DEFAULT_AGGRS;
    const req: SeriesRequest = create(SeriesRequestSchema, {
      minTime: BigInt(p.minTime),
      maxTime: BigInt(p.maxTime),
      matchers: wireMatchers(p.matchers),
      maxResolutionWindow: BigInt(Math.max(0, Math.floor(p.maxResolutionWindow ?? 0))),
      aggregates,
      skipChunks: p.skipChunks ?? false,
      // Each group's failure is ours to judge: members answer completely or fail.
      partialResponseDisabled: true,
      partialResponseStrategy: 1,
    });
    const call: MemberCall<MemberSeries> = async (ep: Endpoint, signal) => {
      const series: QSeries[] = [];
      const warnings: string[] = [];
      for await (const r of ep.store.series(req, { signal })) {
        switch (r.result.case) {
          case 'series':
            series.push(fromWire(r.result.value, aggregates));
            break;
          case 'batch':
            for (const s of r.result.value.series) series.push(fromWire(s, aggregates));
            break;
          case 'warning':
            warnings.push(`${ep.address}: ${r.result.value}`);
            break;
          default:
            break;
        }
      }
      return { series, warnings };
    };
    const outcomes = await this.run(p, 'series', call);
    const warnings = this.judge(outcomes, p, 'series');
    const lists: QSeries[][] = [];
    for (const o of outcomes) {
      for (const a of o.answers) {
        lists.push(a.series);
        warnings.push(...a.warnings);
      }
    }
    const value = mergeSeriesLists(lists, { replicaLabels: this.replicaLabels(p), func: this.o.dedupFunc });
    return { value, warnings };
  }

  /** The labels removed from answers: ours when deduplicating, and the request's. */
  private replicaLabels(p: SelectParams): string[] {
    const own = (p.dedup ?? true) ? this.o.replicaLabels : [];
    return [...new Set([...own, ...(p.withoutReplicaLabels ?? [])])];
  }

  /** Label names; replica labels are left out (also asked of the stores, as Thanos does). */
  async labelNames(p: SelectParams): Promise<Result<string[]>> {
    const without = this.replicaLabels(p);
    const req = create(LabelNamesRequestSchema, {
      start: BigInt(p.minTime),
      end: BigInt(p.maxTime),
      matchers: wireMatchers(p.matchers),
      partialResponseDisabled: true,
      partialResponseStrategy: 1,
      withoutReplicaLabels: without,
    });
    const r = await this.strings(p, 'label_names', async (ep, signal) => {
      const r = await ep.store.labelNames(req, { signal });
      return { values: r.names, warnings: r.warnings.map((w) => `${ep.address}: ${w}`) };
    });
    // Stores that ignore without_replica_labels (older Thanos) still list them.
    return without.length === 0 ? r : { ...r, value: r.value.filter((n) => !without.includes(n)) };
  }

  /** Values of one label; a removed replica label has none (Thanos' store semantics). */
  async labelValues(name: string, p: SelectParams): Promise<Result<string[]>> {
    if (name === '') throw new InvalidArgumentError(`label values request: ${EMPTY_LABEL_NAME}`);
    const without = this.replicaLabels(p);
    if (without.includes(name)) return { value: [], warnings: [] };
    const req = create(LabelValuesRequestSchema, {
      label: name,
      start: BigInt(p.minTime),
      end: BigInt(p.maxTime),
      matchers: wireMatchers(p.matchers),
      partialResponseDisabled: true,
      partialResponseStrategy: 1,
      withoutReplicaLabels: without,
    });
    return this.strings(p, 'label_values', async (ep, signal) => {
      const r = await ep.store.labelValues(req, { signal });
      return { values: r.values, warnings: r.warnings.map((w) => `${ep.address}: ${w}`) };
    });
  }

  private async strings(
    p: SelectParams,
    api: string,
    call: MemberCall<{ values: string[]; warnings: string[] }>,
  ): Promise<Result<string[]>> {
    const outcomes = await this.run(p, api, call);
    const warnings = this.judge(outcomes, p, api);
    const set = new Set<string>();
    for (const o of outcomes) {
      for (const a of o.answers) {
        for (const v of a.values) set.add(v);
        warnings.push(...a.warnings);
      }
    }
    return { value: [...set].sort(compareStrings), warnings };
  }

  private run<T>(p: SelectParams, api: string, call: MemberCall<T>): Promise<GroupOutcome<T>[]> {
    const groups = this.o.endpoints.groups().filter((g) => groupMatches(g, p.minTime, p.maxTime, p.matchers));
    return fanOut(groups, call, {
      api,
      metrics: this.o.metrics,
      responseTimeoutMs: this.o.responseTimeoutMs,
      ...(this.o.replicaStrategy ? { replicaStrategy: this.o.replicaStrategy } : {}),
      random: this.random,
      now: this.now,
      ...(p.signal ? { signal: p.signal } : {}),
    });
  }

  /** Warnings for failed groups, or QueryGroupError when partial responses are not allowed. */
  private judge<T>(outcomes: readonly GroupOutcome<T>[], p: SelectParams, api: string): string[] {
    const failed = outcomes.filter((o) => o.failure !== undefined);
    if (failed.length === 0) return [];
    const lines = failed.map((o) => `store group ${o.group.name} failed: ${o.failure}`);
    if (!(p.partialResponse ?? this.o.partialResponse)) throw new QueryGroupError(lines.join('; '));
    this.o.metrics.partialResponses.inc({ api });
    for (const l of lines) this.o.logger.warn('partial response', { api, warning: l });
    return lines;
  }
}

/** Thanos' default: count and sum, read back as an average per window. */
const DEFAULT_AGGRS: Aggr[] = [Aggr.COUNT, Aggr.SUM];

/** A received series; aggregated chunks (downsampled blocks) are read back as XOR samples. */
function fromWire(
  s: { labels: { name: string; value: string }[]; chunks: WireAggrChunk[] },
  aggregates: readonly Aggr[],
): QSeries {
  if (hasAggregated(s.chunks)) {
    const labels = labelsFromWire(s.labels);
    const what = `series ${JSON.stringify(labels.map((l) => `${l.name}=${l.value}`).join(','))}`;
    return { labels, chunks: aggregatedToXor(s.chunks, aggregates, what) };
  }
  const chunks: WireChunk[] = [];
  for (const c of s.chunks) {
    if (c.raw === undefined) continue;
    chunks.push({
      minTime: Number(c.minTime),
      maxTime: Number(c.maxTime),
      type: c.raw.type,
      data: c.raw.data,
    });
  }
  return { labels: labelsFromWire(s.labels), chunks };
}
