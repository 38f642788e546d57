/** `strata query` as a process: bad flags are one coded usage line (exit 2); it serves, gets ready and stops on SIGTERM. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { PeerType } from '../../gen/thanos/info/infopb/rpc_pb.js';
import { ensureBuilt, REPO } from '../support/build.js';
import { assertNoLeakedProcesses, freePort, startProcess, waitFor } from '../support/processes.js';
import { lines, strata } from '../cli/run.js';
import { series, startFakeStore, type FakeStore } from './support.js';

let st: FakeStore;
beforeAll(async () => {
  await ensureBuilt();
  st = await startFakeStore({
    series: [series({ __name__: 'up', job: 'a' }, [[1000, 1]])],
    labelSets: [{ cluster: 'x' }],
    groupId: 'g',
    peerType: PeerType.STORE,
  });
}, 300_000);
afterAll(async () => {
  await st.close();
  await assertNoLeakedProcesses();
});

it('bad flags: one coded line, exit 2', async () => {
  for (const args of [
    ['query'],
    ['query', '--endpoint', 'nohost'],
    ['query', '--endpoint', 'a:1', '--deduplication.func', 'max'],
    ['query', '--endpoint', 'a:1', '--endpoint.info-interval', 'soon'],
  ]) {
    const r = await strata(args);
    expect(r.code, args.join(' ')).toBe(2);
    expect(lines(r.stderr), args.join(' ')).toHaveLength(1);
    expect(r.stderr).toMatch(/ERR_INVALID_ARGUMENT/);
  }
});

it('serves once the first Info round is done and stops on SIGTERM', async () => {
  const http = `127.0.0.1:${await freePort()}`;
  const p = startProcess('strata query', process.execPath, [
    join(REPO, 'bin/strata.js'),
    'query',
    '--endpoint',
    st.address,
    '--endpoint.info-interval',
    '1s',
    '--http-address',
    http,
    '--grpc-address',
    `127.0.0.1:${await freePort()}`,
  ]);
  await waitFor(
    'ready',
    async () =>
      (await fetch(`http://${http}/-/ready`).catch(() => undefined))?.status === 200 ? true : undefined,
    20_000,
  );
  const s = (await (await fetch(`http://${http}/api/v1/series?match[]=up`)).json()) as unknown;
  expect(s).toEqual({ status: 'success', data: [{ __name__: 'up', job: 'a' }] });
  await p.stop('SIGTERM', 5000);
  expect(p.child.exitCode).toBe(0);
  expect(p.output()).toMatch(/strata query stopped/);
}, 60_000);
