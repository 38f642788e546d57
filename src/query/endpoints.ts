/**
 * The querier's endpoints: one gRPC connection (h2c, or TLS with `tls`) per `--endpoint`, refreshed by calling
 * thanos.info.Info/Info every interval. Health is the last Info or request outcome (last error,
 * consecutive failures); latency is an EWMA of successful calls. Endpoints whose Info answered at
 * least once are grouped (groups.ts); the set is ready once the first round has finished.
 */
import { createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import type { SecureClientSessionOptions } from 'node:http2';
import { Info, type InfoResponse } from '../../gen/thanos/info/infopb/rpc_pb.js';
import { Store } from '../../gen/thanos/store/storepb/rpc_pb.js';
import type { ZLabelSet } from '../../gen/thanos/store/labelpb/types_pb.js';
import { compareStrings, type Labels } from '../tsdb/labels.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { LatencyWindow } from './latency.js';
import {
  groupKey,
  groupKind,
  groupName,
  sortLabelSets,
  type EndpointInfo,
  type GroupKind,
} from './groups.js';

const EWMA_WEIGHT = 0.3;

export function labelsFromWire(ls: readonly { name: string; value: string }[]): Labels {
  const out = ls.map((l) => ({ name: l.name, value: l.value }));
  for (let i = 1; i < out.length; i++) {
    if (compareStrings(out[i - 1]!.name, out[i]!.name) > 0) {
      return out.sort((a, b) => compareStrings(a.name, b.name));
    }
  }
  return out;
}

export function infoFromWire(r: InfoResponse): EndpointInfo {
  return {
    labelSets: sortLabelSets(r.labelSets.map((s: ZLabelSet) => labelsFromWire(s.labels))),
    minTime: r.store ? Number(r.store.minTime) : Number.MIN_SAFE_INTEGER,
    maxTime: r.store ? Number(r.store.maxTime) : Number.MAX_SAFE_INTEGER,
    componentType: r.ComponentType,
    groupId: r.storeGroupId,
    peerType: r.peerType,
  };
}

export class Endpoint {
  readonly store: Client<typeof Store>;
  readonly info: Client<typeof Info>;
  last: EndpointInfo | undefined;
  lastError: string | undefined;
  failures = 0;
  latencyMs: number | undefined;
  /** When the last Info check ended, and the round trips of the last checks that answered. */
  lastCheckMs: number | undefined;
  readonly infoLatency = new LatencyWindow();
  private readonly manager: Http2SessionManager;

  constructor(
    readonly address: string,
    tls?: SecureClientSessionOptions,
  ) {
    const baseUrl = `${tls ? 'https' : 'http'}://${address}`;
    this.manager = new Http2SessionManager(baseUrl, { pingIntervalMs: 10_000, pingTimeoutMs: 5_000 }, tls);
    // No gzip between querier and stores (as Thanos' default): on a LAN it costs far more CPU
    // than it saves (a quarter of the store's CPU in bench:query).
    const transport = createGrpcTransport({ baseUrl, sessionManager: this.manager, acceptCompression: [] });
    this.store = createClient(Store, transport);
    this.info = createClient(Info, transport);
  }

  get healthy(): boolean {
    return this.last !== undefined && this.failures === 0;
  }

  succeeded(ms: number): void {
    this.failures = 0;
    this.latencyMs =
      this.latencyMs === undefined ? ms : EWMA_WEIGHT * ms + (1 - EWMA_WEIGHT) * this.latencyMs;
  }

  failed(err: unknown): void {
    this.failures++;
    this.lastError = errorMessage(err);
  }

  async refresh(timeoutMs: number, now: () => number): Promise<void> {
    const start = now();
    try {
      const r = await this.info.info({}, { signal: AbortSignal.timeout(timeoutMs) });
      this.last = infoFromWire(r);
      this.infoLatency.add(now() - start);
      this.succeeded(now() - start);
    } catch (err) {
      this.failed(err);
    }
    this.lastCheckMs = now();
  }

  close(): void {
    this.manager.abort();
  }
}

export interface StoreGroup {
  readonly key: string;
  readonly name: string;
  readonly kind: GroupKind;
  readonly groupId: string;
  readonly labelSets: readonly Labels[];
  readonly minTime: number;
  readonly maxTime: number;
  readonly members: readonly Endpoint[];
}

export interface EndpointSetOptions {
  readonly addresses: readonly string[];
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
  /** TLS options of every connection (absent: h2c). */
  readonly tls?: SecureClientSessionOptions;
}

export class EndpointSet {
  readonly endpoints: readonly Endpoint[];
  private readyFlag = false;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly o: EndpointSetOptions) {
    this.endpoints = o.addresses.map((a) => new Endpoint(a, o.tls));
    this.now = o.now ?? Date.now;
  }

  get ready(): boolean {
    return this.readyFlag;
  }

  /** Runs the first Info round now (resolves when it is done), then one every interval. */
  async start(): Promise<void> {
    await this.refresh();
    this.readyFlag = true;
    const tick = (): void => {
      this.timer = setTimeout(() => {
        void this.refresh().finally(() => {
          if (this.timer !== undefined) tick();
        });
      }, this.o.intervalMs);
    };
    tick();
  }

  refresh(): Promise<void> {
    this.round ??= (async () => {
      const before = new Map(this.endpoints.map((e) => [e, e.healthy]));
      await Promise.all(this.endpoints.map((e) => e.refresh(Math.max(1000, this.o.intervalMs), this.now)));
      for (const e of this.endpoints) {
        if (before.get(e) === e.healthy) continue;
        if (e.healthy)
          this.o.logger.info('endpoint up', { endpoint: e.address, group: e.last && groupName(e.last) });
        else this.o.logger.warn('endpoint down', { endpoint: e.address, err: e.lastError });
      }
    })().finally(() => {
      this.round = undefined;
    });
    return this.round;
  }

  /** Groups of the endpoints whose Info answered at least once. */
  groups(): StoreGroup[] {
    const byKey = new Map<string, Endpoint[]>();
    for (const e of this.endpoints) {
      if (e.last === undefined) continue;
      const k = groupKey(e.last);
      const list = byKey.get(k);
      if (list) list.push(e);
      else byKey.set(k, [e]);
    }
    const out: StoreGroup[] = [];
    for (const [key, members] of byKey) {
      const info = members[0]!.last!;
      const live = members.filter((m) => m.healthy);
      const span = live.length > 0 ? live : members;
      out.push({
        key,
        name: groupName(info),
        kind: groupKind(info),
        groupId: info.groupId,
        labelSets: info.labelSets,
        minTime: Math.min(...span.map((m) => m.last!.minTime)),
        maxTime: Math.max(...span.map((m) => m.last!.maxTime)),
        members,
      });
    }
    return out.sort((a, b) => compareStrings(a.name, b.name));
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const e of this.endpoints) e.close();
  }
}
