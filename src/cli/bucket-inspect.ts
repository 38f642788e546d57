/**
 * `strata bucket inspect`: a table per tenant of the complete blocks (partial ones are left out and
 * only counted), with their markers.
 */
import { loadTenantMarkers } from '../block/markers.js';
import { scanTenantBlocks } from '../block/scan.js';
import type { BlockMeta } from '../tsdb/meta.js';
import { InvalidArgumentError } from '../util/errors.js';
import { BufferedOut, formatBytes, formatTable } from './output.js';
import {
  type BucketFlags,
  formatLabelMap,
  formatRange,
  formatTime,
  targetTenants,
  withBucket,
} from './bucket-common.js';

export interface InspectOptions extends BucketFlags {
  output: string;
}

const HEADER = [
  'ULID',
  'FROM',
  'UNTIL',
  'RANGE',
  'LEVEL',
  'RES',
  'SAMPLES',
  'SERIES',
  'SIZE',
  'LABELS',
  'MARKERS',
];

/** Sum of thanos.files sizes; undefined when meta.json lists no files. */
export function blockSize(meta: BlockMeta): number | undefined {
  const files = meta.thanos?.files;
  if (!files || files.length === 0) return undefined;
  return files.reduce((a, f) => a + (f.size_bytes ?? 0), 0);
}

function formatResolution(ms: number): string {
  return ms === 0 ? '0' : formatRange(ms);
}

export async function runBucketInspect(o: InspectOptions, stdout: NodeJS.WritableStream): Promise<void> {
  if (o.output !== 'table' && o.output !== 'json')
    throw new InvalidArgumentError('--output must be table or json');
  await withBucket(o, async (ctx) => {
    const out = new BufferedOut(stdout);
    const progress = ctx.progress();
    const tenants = await targetTenants(ctx);
    for (const tenant of tenants) {
      const scan = await scanTenantBlocks(ctx.bucket, ctx.layout, tenant, {
        onBlock: (d, n) => progress.update(`${tenant || 'bucket'}: read ${d}/${n} meta.json`),
      });
      progress.done();
      const markers = await loadTenantMarkers(ctx.bucket, ctx.layout, tenant, { logger: ctx.logger });
      const markersOf = (id: string): string[] =>
        [
          markers.deletion.has(id) ? 'deletion' : '',
          markers.noCompact.has(id) ? 'no-compact' : '',
          markers.noDownsample.has(id) ? 'no-downsample' : '',
        ].filter(Boolean);
      if (o.output === 'json') {
        for (const b of scan.blocks) {
          const size = blockSize(b.meta);
          await out.write(
            JSON.stringify({
              tenant,
              ulid: b.id,
              minTime: b.meta.minTime,
              maxTime: b.meta.maxTime,
              level: b.meta.compaction.level,
              resolution: b.meta.thanos?.downsample.resolution ?? 0,
              samples: b.meta.stats.numSamples,
              series: b.meta.stats.numSeries,
              ...(size !== undefined ? { sizeBytes: size } : {}),
              labels: b.meta.thanos?.labels ?? {},
              markers: markersOf(b.id),
            }) + '\n',
          );
        }
      } else {
        const rows = scan.blocks.map((b) => {
          const m = b.meta;
          const size = blockSize(m);
          return [
            b.id,
            formatTime(m.minTime),
            formatTime(m.maxTime),
            formatRange(m.maxTime - m.minTime),
            String(m.compaction.level),
            formatResolution(m.thanos?.downsample.resolution ?? 0),
            String(m.stats.numSamples),
            String(m.stats.numSeries),
            size === undefined ? '-' : formatBytes(size),
            formatLabelMap(m.thanos?.labels),
            markersOf(b.id).join(','),
          ];
        });
        if (ctx.layout.tenancy === 'multi') await out.write(`tenant ${tenant}\n`);
        await out.write(formatTable(HEADER, rows));
        const notes: string[] = [`${scan.blocks.length} blocks`];
        if (scan.partials.length > 0) notes.push(`${scan.partials.length} partial not shown`);
        if (markers.invalid.length > 0) notes.push(`${markers.invalid.length} unparsable markers ignored`);
        await out.write(notes.join(', ') + '\n');
        if (tenants.length > 1) await out.write('\n');
      }
    }
    await out.flush();
  });
}
