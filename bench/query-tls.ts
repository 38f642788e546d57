/**
 * Series throughput of `strata store` over mutual TLS against plaintext (issue 17, Performance):
 * one bucket of `strata tsdb synth` blocks (10,000 series), two store processes (h2c, and
 * --grpc-server-tls-* with a client CA; certificates made with openssl), every series of the range
 * with chunks drained by a Connect client, runs alternated between the two.
 *
 * Run: `npm run build && node dist/bench/query-tls.js [--hours 6] [--runs 5]`.
 */
import { createClient } from '@connectrpc/connect';
import { Http2SessionManager, createGrpcTransport } from '@connectrpc/connect-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../gen/thanos/store/storepb/rpc_pb.js';
import { clientTlsFiles, loadClientTls } from '../src/util/tls.js';
import { makeTestPki } from '../test/support/certs.js';
import { HOUR, synthBucket } from './query-blocks.js';
import { cpuMs, startStrata, stopAll, waitReady, type StrataChild } from './query-procs.js';
import { drainSeries, type SeriesInit, type StoreClient } from './query-read.js';
import { fmtMs, median, objstoreConfig } from './query-util.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

async function main(): Promise<void> {
  const hours = arg('hours', 6);
  const runs = arg('runs', 5);
  const tmp = await mkdtemp(join(tmpdir(), 'strata-bench-query-tls-'));
  const children: StrataChild[] = [];
  try {
    const start = Math.floor((Date.now() - (hours + 2) * HOUR) / (2 * HOUR)) * 2 * HOUR;
    const blocks = await synthBucket(join(tmp, 'bucket'), 10_000, hours, start);
    const pki = await makeTestPki(tmp);
    const cfg = await objstoreConfig(tmp, join(tmp, 'bucket'), 'objstore');
    const base = ['--objstore.config-file', cfg];
    const plain = await startStrata('store-plain', 'store', [...base, '--data-dir', join(tmp, 'd1')]);
    children.push(plain);
    const tls = await startStrata('store-tls', 'store', [
      ...base,
      '--data-dir',
      join(tmp, 'd2'),
      '--grpc-server-tls-cert',
      pki.server.cert,
      '--grpc-server-tls-key',
      pki.server.key,
      '--grpc-server-tls-client-ca',
      pki.ca.cert,
    ]);
    children.push(tls);
    await Promise.all([waitReady(plain), waitReady(tls)]);
    const clientOpts = await loadClientTls(
      clientTlsFiles({
        secure: true,
        ca: pki.ca.cert,
        cert: pki.client.cert,
        key: pki.client.key,
        skipVerify: false,
      })!,
    );
    const plainClient: StoreClient = createClient(
      Store,
      createGrpcTransport({ baseUrl: `http://${plain.grpc}`, acceptCompression: [] }),
    );
    const tlsUrl = `https://${tls.grpc}`;
    const tlsClient: StoreClient = createClient(
      Store,
      createGrpcTransport({
        baseUrl: tlsUrl,
        acceptCompression: [],
        sessionManager: new Http2SessionManager(tlsUrl, {}, clientOpts),
      }),
    );
    const req: SeriesInit = {
      minTime: BigInt(blocks[0]!.meta.minTime),
      maxTime: BigInt(blocks[blocks.length - 1]!.meta.maxTime - 1),
      matchers: [{ type: 2, name: '__name__', value: '.+' }],
    };
    await drainSeries(plainClient, req);
    await drainSeries(tlsClient, req);
    const results = { plain: [] as number[], tls: [] as number[] };
    const cpu = { plain: [] as number[], tls: [] as number[] };
    let stats = await drainSeries(plainClient, req);
    for (let i = 0; i < runs; i++) {
      for (const [name, client, child] of [
        ['plain', plainClient, plain],
        ['tls', tlsClient, tls],
      ] as const) {
        const c0 = cpuMs(child.proc.pid);
        const t0 = performance.now();
        stats = await drainSeries(client, req);
        results[name].push(performance.now() - t0);
        cpu[name].push(cpuMs(child.proc.pid) - c0);
      }
    }
    const mb = stats.chunkBytes / 1e6;
    console.log(
      `Series: ${stats.series} series, ${stats.chunks} chunks, ${mb.toFixed(0)} MB chunk data, ${hours} h; ` +
        `${runs} alternated runs; load average ${loadavg()[0]!.toFixed(1)}`,
    );
    for (const name of ['plain', 'tls'] as const) {
      const ms = median(results[name]);
      console.log(
        `  ${name === 'plain' ? 'plaintext (h2c)' : 'mutual TLS     '}: median ${fmtMs(ms)}, ` +
          `${(stats.series / (ms / 1000)).toFixed(0)} series/s, ${(mb / (ms / 1000)).toFixed(1)} MB/s, ` +
          `store CPU ${fmtMs(median(cpu[name]))}`,
      );
    }
    console.log(`  TLS / plaintext time: ${(median(results.tls) / median(results.plain)).toFixed(2)}x`);
  } finally {
    await stopAll(children);
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.log(`bench query-tls failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
