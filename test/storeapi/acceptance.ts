/**
 * One conformance suite for every Store API server: for each case of acceptance-cases.ts, the
 * target starts an endpoint holding the case's series (external labels {region="eu-west"}), and
 * every call of the case is made over gRPC and checked against the expected answer.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setThanos } from '../compact/helpers.js';
import { writeCraftedBlock } from '../compact/crafted.js';
import {
  ACCEPTANCE_CASES,
  EXTERNAL_LABELS,
  REPLICA_LABEL,
  type AcceptanceCase,
  type ExpectedError,
  type RequestTime,
} from './acceptance-cases.js';
import { grpcError, storeApiClient, type StoreApiClient } from './client.js';

export interface AcceptanceEndpoint {
  /** host:port of the Store API. */
  address: string;
  stop(): Promise<void>;
}

export interface AcceptanceTarget {
  /** Starts an endpoint serving the case's series as of `now` (ms). */
  start(c: AcceptanceCase, now: number): Promise<AcceptanceEndpoint>;
  /** True for servers that know their external labels without data (sidecar, TSDB store). */
  externalLabelsWithoutData: boolean;
}

function at(t: RequestTime, now: number): number {
  return typeof t === 'number' ? t : now + t.now;
}

async function expectError(call: Promise<unknown>, want: ExpectedError): Promise<void> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${want.code}`).toBeDefined();
  const got = grpcError(err);
  expect(got.code).toBe(want.code);
  expect(got.message).toContain(want.messageIncludes);
}

/**
 * Writes the case's series as blocks under `parentDir`, once per replica (replica=r1 and r2 as
 * upstream's bucket store variant does), each with the external labels plus its replica label.
 * Returns the block dirs (none for a case without series).
 */
export async function writeCaseBlocks(c: AcceptanceCase, now: number, parentDir: string): Promise<string[]> {
  if (c.series.length === 0) return [];
  await mkdir(parentDir, { recursive: true });
  const dirs: string[] = [];
  for (const replica of ['r1', 'r2']) {
    const block = await writeCraftedBlock(
      parentDir,
      c.series.map((s) => ({ labels: { ...s.labels }, chunks: [[[s.t === 'now' ? now : s.t, s.v]]] })),
    );
    await setThanos(block.dir, { ...EXTERNAL_LABELS, [REPLICA_LABEL]: replica });
    dirs.push(join(parentDir, block.ulid));
  }
  return dirs;
}

/** Registers the conformance suite for `target` under `title`. */
export function describeStoreApiAcceptance(title: string, target: AcceptanceTarget): void {
  describe(title, () => {
    for (const c of ACCEPTANCE_CASES) {
      describe(c.desc, () => {
        const now = Date.now();
        let endpoint: AcceptanceEndpoint | undefined;
        let client: StoreApiClient | undefined;
        const without = [REPLICA_LABEL];

        beforeAll(async () => {
          endpoint = await target.start(c, now);
          client = storeApiClient(endpoint.address);
        }, 90_000);

        afterAll(async () => {
          client?.close();
          await endpoint?.stop();
        });

        (c.labelNames ?? []).forEach((call, i) => {
          it(`label_names #${i}`, async () => {
            const r = await client!.labelNames({
              start: at(call.start, now),
              end: at(call.end, now),
              matchers: call.matchers,
              withoutReplicaLabels: without,
            });
            expect(r.warnings).toEqual([]);
            expect(r.names).toEqual(call.names);
          });
        });

        (c.labelValues ?? []).forEach((call, i) => {
          // Upstream leaves these out for bucket stores too (no block, no external labels).
          if (call.externalLabelsWithoutData && !target.externalLabelsWithoutData) return;
          it(`label_values #${i} (${call.label || '<empty>'})`, async () => {
            const req = {
              start: at(call.start, now),
              end: at(call.end, now),
              matchers: call.matchers,
              withoutReplicaLabels: without,
            };
            if (call.error) {
              await expectError(client!.labelValues(call.label, req), call.error);
              return;
            }
            const r = await client!.labelValues(call.label, req);
            expect(r.warnings).toEqual([]);
            expect(r.values).toEqual(call.values ?? []);
          });
        });

        (c.seriesCalls ?? []).forEach((call, i) => {
          const desc = call.matchers.map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`).join(',');
          it(`series #${i} {${desc}}`, async () => {
            const r = await client!.series({
              minTime: at(call.start, now),
              maxTime: at(call.end, now),
              matchers: call.matchers,
              skipChunks: call.skipChunks ?? false,
              withoutReplicaLabels: without,
            });
            expect(r.warnings).toEqual([]);
            // Exactly the expected label sets, in sorted order (which also checks the sort).
            expect(r.series.map((s) => s.pairs)).toEqual(call.labels.map((l) => [...l]));
            if (call.skipChunks) for (const s of r.series) expect(s.chunks).toEqual([]);
          });
        });
      });
    }
  });
}
