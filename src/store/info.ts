/**
 * The Info API answer of a store: the distinct external label sets and the time range of the
 * served blocks, component "store", and Strata's store group ID and peer type, which queriers use
 * to treat replicas of one bucket as a group (Thanos ignores both fields).
 */
import { create } from '@bufbuild/protobuf';
import {
  InfoResponseSchema,
  PeerType,
  StoreInfoSchema,
  type InfoResponse,
} from '../../gen/thanos/info/infopb/rpc_pb.js';
import { LabelSchema, ZLabelSetSchema } from '../../gen/thanos/store/labelpb/types_pb.js';
import { compareLabels, type Labels } from '../tsdb/labels.js';
import type { StoreBlock } from './block.js';

export type StorePeerType = 'store' | 'source';

export interface InfoOptions {
  readonly storeGroupId: string;
  readonly peerType: StorePeerType;
}

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

export function storeInfo(blocks: readonly StoreBlock[], o: InfoOptions): InfoResponse {
  const sets = new Map<string, Labels>();
  let min = Infinity;
  let max = -Infinity;
  for (const b of blocks) {
    sets.set(JSON.stringify(b.extLabels), b.extLabels);
    min = Math.min(min, b.meta.minTime);
    max = Math.max(max, b.meta.maxTime);
  }
  const labelSets = [...sets.values()].sort(compareLabels).map((ls) =>
    create(ZLabelSetSchema, {
      labels: ls.map((l) => create(LabelSchema, { name: l.name, value: l.value })),
    }),
  );
  return create(InfoResponseSchema, {
    labelSets,
    ComponentType: 'store',
    store: create(StoreInfoSchema, {
      // No blocks: an empty range (min > max), as Thanos stores report it, so no query is sent.
      minTime: blocks.length === 0 ? MAX_INT64 : BigInt(min),
      maxTime: blocks.length === 0 ? MIN_INT64 : BigInt(max),
      supportsSharding: false,
    }),
    storeGroupId: o.storeGroupId,
    peerType: o.peerType === 'source' ? PeerType.SOURCE : PeerType.STORE,
  });
}
