/**
 * `--http.config` on a real `strata store` (built CLI, filesystem bucket): the endpoint asks for
 * credentials, --http.unauthenticated-probes opens the probes only, and a bad file stops the
 * command at start with one ERR_WEB_CONFIG line that names the file and field, not the secret.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { assertNoLeakedProcesses, freePort } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';
import { lines, strata } from '../cli/run.js';
import { startStore, type RunningStore } from '../store/run.js';
import { status } from './client.js';

const HASH = '$2b$10$swI6RLVjC5q3csoQW9mtEu77bEANc3BQuW6OYmiwCO07j7Vfuq6yS'; // alice-pw-Zq81x

let dir: string;
let objstore: string;
let store: RunningStore | undefined;

beforeAll(async () => {
  await ensureBuilt();
  registerSecret(HASH, 'bcrypt hash');
  registerSecret('alice-pw-Zq81x', 'password');
  registerSecret('hunter2-plaintext', 'password');
  dir = await mkdtemp(join(tmpdir(), 'strata-httpcli-'));
  await mkdir(join(dir, 'bucket'));
  objstore = JSON.stringify({ type: 'FILESYSTEM', config: { directory: join(dir, 'bucket') } });
}, 300_000);

afterAll(async () => {
  await store?.proc.stop();
  await rm(dir, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('--http.config on the built CLI', () => {
  it('401 without credentials, 200 with them; probes open with --http.unauthenticated-probes', async () => {
    const file = join(dir, 'web.yml');
    await writeFile(file, `basic_auth_users:\n  alice: ${HASH}\n`);
    store = await startStore(objstore, ['--http.config', file, '--http.unauthenticated-probes']);
    const base = `http://${store.http}`;
    for (const path of ['/api/v1/status', '/metrics']) {
      expect(await status(base + path), path).toBe(401);
      expect(await status(base + path, { user: 'alice', password: 'alice-pw-Zq81x' }), path).toBe(200);
      expect(await status(base + path, { user: 'alice', password: 'wrong' }), path).toBe(401);
    }
    expect(await status(`${base}/-/ready`)).toBe(200);
    expect(await status(`${base}/-/healthy`)).toBe(200);
    await store.proc.stop();
    store = undefined;
  }, 60_000);

  it('a bad file: exit 1 at start, one line naming file and field, the value not echoed', async () => {
    const file = join(dir, 'bad.yml');
    await writeFile(file, 'basic_auth_users:\n  alice: hunter2-plaintext\n');
    const r = await strata([
      'store',
      '--objstore.config',
      objstore,
      '--data-dir',
      join(dir, 'data-bad'),
      '--grpc-address',
      `127.0.0.1:${await freePort()}`,
      '--http-address',
      `127.0.0.1:${await freePort()}`,
      '--http.config',
      file,
    ]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `strata: ERR_WEB_CONFIG: --http.config ${file}: basic_auth_users.alice: is not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04 to 31)`,
    ]);
    expect(r.stdout + r.stderr).not.toContain('hunter2');
  }, 60_000);

  it('compact, planner, worker and query read the file at start too', async () => {
    const file = join(dir, 'unknown-key.yml');
    await writeFile(file, `basic_auth_user:\n  alice: ${HASH}\n`);
    const http = ['--http-address', '127.0.0.1:0', '--http.config', file];
    const runs = await Promise.all([
      strata(['compact', '--objstore.config', objstore, '--data-dir', join(dir, 'data-c'), ...http]),
      strata([
        'planner',
        '--objstore.config',
        objstore,
        '--data-dir',
        join(dir, 'data-p'),
        '--grpc-address',
        '127.0.0.1:0',
        ...http,
      ]),
      strata([
        'worker',
        '--objstore.config',
        objstore,
        '--data-dir',
        join(dir, 'data-w'),
        '--planner.address',
        '127.0.0.1:1',
        ...http,
      ]),
      strata(['query', '--endpoint', '127.0.0.1:1', '--grpc-address', '127.0.0.1:0', ...http]),
    ]);
    for (const r of runs) {
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toEqual([
        `strata: ERR_WEB_CONFIG: --http.config ${file}: basic_auth_user: unknown field`,
      ]);
    }
  }, 60_000);
});
