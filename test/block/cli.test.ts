/**
 * `strata bucket ...` end to end: the built CLI (`node bin/strata.js`) against a filesystem bucket.
 * Builds dist first when it is older than the sources these commands use.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { assertNoLeakedProcesses, startProcess, waitFor } from '../support/processes.js';
import { ensureBuilt } from '../support/build.js';
import { tempDir } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/strata.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: readonly string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', rej);
    child.on('exit', (code) => {
      clearTimeout(timer);
      res({ code: code ?? -1, stdout, stderr });
    });
  });
}

let work: { dir: string; cleanup: () => Promise<void> };
let seq = 0;

/** A fresh filesystem bucket and its config file. */
async function newBucket(): Promise<{ dir: string; cfg: string[] }> {
  seq += 1;
  const dir = join(work.dir, `bucket-${seq}`);
  await mkdir(dir, { recursive: true });
  const file = join(work.dir, `objstore-${seq}.yaml`);
  await writeFile(file, `type: FILESYSTEM\nconfig:\n  directory: ${dir}\n`);
  return { dir, cfg: ['--objstore.config-file', file] };
}

beforeAll(async () => {
  await ensureBuilt();
  work = await tempDir('strata-bucket-cli-');
}, 300_000);

afterAll(async () => {
  await work?.cleanup();
  await assertNoLeakedProcesses();
});

// Each test spawns a dozen CLI processes; on a loaded 2-core machine that takes a while.
describe('strata bucket CLI (filesystem bucket)', { timeout: 240_000 }, () => {
  test('multi-tenant: upload, ls, inspect, mark, index, download, verify', async () => {
    const { dir, cfg } = await newBucket();
    const local = join(work.dir, 'synth-multi');
    const synth = await run([
      'tsdb',
      'synth',
      '--out',
      local,
      '--series',
      '6',
      '--hours',
      '4',
      '--tenants',
      '2',
      '--replicas',
      '2',
      '--start-time',
      '2024-01-01T00:00:00Z',
    ]);
    expect(synth.code, synth.stderr).toBe(0);
    const ids: Record<string, string[]> = {};
    for (const t of ['tenant-1', 'tenant-2']) {
      ids[t] = (await readdir(join(local, t))).sort();
      const up = await run(['bucket', 'upload', join(local, t), '--tenant', t, ...cfg]);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout.trim().split('\n')).toHaveLength(4);
      expect(up.stdout).toContain(`uploaded ${t}/${ids[t]![0]}`);
    }
    // Upload to a multi-tenant bucket needs a tenant.
    const noTenant = await run(['bucket', 'upload', join(local, 'tenant-1'), '--tenancy', 'multi', ...cfg]);
    expect(noTenant.code).toBe(2);
    expect(noTenant.stderr).toContain('--tenant is required');

    // A killed upload: chunks and index, no meta.json.
    const partialId = '01HK0000000000000000000PAR';
    const victim = join(local, 'tenant-1', ids['tenant-1']![0]!);
    await mkdir(join(dir, 'tenant-1', partialId), { recursive: true });
    await cp(join(victim, 'chunks'), join(dir, 'tenant-1', partialId, 'chunks'), { recursive: true });
    await cp(join(victim, 'index'), join(dir, 'tenant-1', partialId, 'index'));

    const ls = await run(['bucket', 'ls', '--tenancy', 'multi', ...cfg]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.trim().split('\n')).toEqual([
      ...ids['tenant-1']!.map((i) => `tenant-1/${i}`),
      ...ids['tenant-2']!.map((i) => `tenant-2/${i}`),
    ]);
    expect(ls.stderr).not.toContain('\r'); // no progress line when piped
    const lsJson = await run(['bucket', 'ls', '--tenant', 'tenant-2', '-o', 'json', ...cfg]);
    const rows = lsJson.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { tenant: string; ulid: string; labels: Record<string, string> });
    expect(rows.map((r) => r.ulid)).toEqual(ids['tenant-2']);
    expect(rows[0]!.labels['cluster']).toBe('tenant-2');

    const target = ids['tenant-1']![1]!;
    const mark = await run([
      'bucket',
      'mark',
      '--tenant',
      'tenant-1',
      '--id',
      target,
      '--marker',
      'deletion',
      '--details',
      'cli test',
      ...cfg,
    ]);
    expect(mark.code, mark.stderr).toBe(0);
    expect(mark.stdout).toBe(`marked tenant-1/${target} deletion\n`);
    const again = await run([
      'bucket',
      'mark',
      '--tenant',
      'tenant-1',
      '--id',
      target,
      '--marker',
      'deletion',
      ...cfg,
    ]);
    expect(again.stdout).toBe(`already marked tenant-1/${target} deletion\n`);
    const nc = await run([
      'bucket',
      'mark',
      '--tenant',
      'tenant-2',
      '--id',
      ids['tenant-2']![0]!,
      '--marker',
      'no-compact',
      '--reason',
      'critical',
      ...cfg,
    ]);
    expect(nc.code, nc.stderr).toBe(0);
    const badReason = await run([
      'bucket',
      'mark',
      '--tenant',
      'tenant-2',
      '--id',
      ids['tenant-2']![0]!,
      '--marker',
      'no-compact',
      '--reason',
      'because',
      ...cfg,
    ]);
    expect(badReason.code).toBe(2);
    const missing = await run([
      'bucket',
      'mark',
      '--tenant',
      'tenant-2',
      '--id',
      partialId,
      '--marker',
      'deletion',
      ...cfg,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('ERR_NOT_FOUND');
    const mk = JSON.parse(
      await readFile(join(dir, 'tenant-1', target, 'deletion-mark.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(mk).toMatchObject({ id: target, version: 1, details: 'cli test' });
    expect(await readFile(join(dir, 'tenant-1', 'markers', `${target}-deletion-mark.json`), 'utf8')).toBe(
      JSON.stringify(mk),
    );

    const inspect = await run(['bucket', 'inspect', '--tenancy', 'multi', ...cfg]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toContain('tenant tenant-1');
    expect(inspect.stdout).toContain('tenant tenant-2');
    expect(inspect.stdout).toMatch(
      /ULID\s+FROM\s+UNTIL\s+RANGE\s+LEVEL\s+RES\s+SAMPLES\s+SERIES\s+SIZE\s+LABELS\s+MARKERS/,
    );
    expect(inspect.stdout).toMatch(
      new RegExp(
        `${target}\\s+2024-01-01T\\S+\\s+2024-01-01T\\S+\\s+2h\\s+1\\s+0\\s+\\d+\\s+6\\s+\\S+iB\\s+\\{cluster="tenant-1",replica="r\\d"\\}\\s+deletion`,
      ),
    );
    expect(inspect.stdout).toMatch(new RegExp(`${ids['tenant-2']![0]}.*no-compact`));
    expect(inspect.stdout).not.toContain(partialId);
    expect(inspect.stdout).toContain('4 blocks, 1 partial not shown');

    const iw = await run(['bucket', 'index', 'write', '--tenancy', 'multi', ...cfg]);
    expect(iw.code, iw.stderr).toBe(0);
    expect(iw.stdout).toContain(
      'wrote tenant-1/bucket-index.json.gz: 4 blocks, 1 deletion marks, 1 partial blocks skipped',
    );
    const gz = JSON.parse(
      gunzipSync(await readFile(join(dir, 'tenant-1', 'bucket-index.json.gz'))).toString(),
    ) as {
      blocks: { block_id: string }[];
      block_deletion_marks: { block_id: string }[];
    };
    expect(gz.blocks.map((b) => b.block_id)).toEqual(ids['tenant-1']);
    expect(gz.block_deletion_marks.map((b) => b.block_id)).toEqual([target]);
    const show = await run(['bucket', 'index', 'show', '--tenant', 'tenant-1', ...cfg]);
    expect(show.code, show.stderr).toBe(0);
    expect((JSON.parse(show.stdout) as { tenant: string; index: unknown }).index).toEqual(gz);

    const dl = join(work.dir, 'dl');
    const down = await run(['bucket', 'download', target, dl, '--tenant', 'tenant-1', ...cfg]);
    expect(down.code, down.stderr).toBe(0);
    const src = join(local, 'tenant-1', target);
    expect((await readFile(join(dl, target, 'index'))).equals(await readFile(join(src, 'index')))).toBe(true);
    expect(
      (await readFile(join(dl, target, 'chunks/000001'))).equals(await readFile(join(src, 'chunks/000001'))),
    ).toBe(true);
    const badId = await run(['bucket', 'download', 'nope', dl, '--tenant', 'tenant-1', ...cfg]);
    expect(badId.code).toBe(2);

    const verify = await run([
      'bucket',
      'verify',
      '--tenancy',
      'multi',
      '--full',
      '--work-dir',
      work.dir,
      ...cfg,
    ]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`warning partial-block tenant-1/${partialId}`);
    expect(verify.stdout).toContain('verified 8 blocks: 0 errors, 1 warnings');

    // An unparsable marker: inspect goes on (warning on stderr), verify fails.
    await writeFile(
      join(dir, 'tenant-2', 'markers', `${ids['tenant-2']![1]}-deletion-mark.json`),
      '{"id": oops',
    );
    const inspect2 = await run(['bucket', 'inspect', '--tenant', 'tenant-2', ...cfg]);
    expect(inspect2.code, inspect2.stderr).toBe(0);
    expect(inspect2.stderr).toContain('ignoring unparsable block marker');
    expect(inspect2.stdout).toContain('1 unparsable markers ignored');
    const verify2 = await run(['bucket', 'verify', '--tenant', 'tenant-2', ...cfg]);
    expect(verify2.code).toBe(1);
    expect(verify2.stdout).toContain('error bad-marker tenant-2');
  });

  test('single-tenant (Thanos layout) by default', async () => {
    const { dir, cfg } = await newBucket();
    const local = join(work.dir, 'synth-single');
    const synth = await run([
      'tsdb',
      'synth',
      '--out',
      local,
      '--series',
      '5',
      '--hours',
      '2',
      '--start-time',
      '2024-01-01T00:00:00Z',
    ]);
    expect(synth.code, synth.stderr).toBe(0);
    const [id] = await readdir(local);
    const up = await run(['bucket', 'upload', local, '--label', 'env=test', ...cfg]);
    expect(up.code, up.stderr).toBe(0);
    expect(await readdir(dir)).toContain(id);
    const meta = JSON.parse(await readFile(join(dir, id!, 'meta.json'), 'utf8')) as {
      thanos: { labels: unknown };
    };
    expect(meta.thanos.labels).toEqual({ env: 'test' });
    const ls = await run(['bucket', 'ls', ...cfg]);
    expect(ls.stdout).toBe(`${id}\n`);
    const mark = await run(['bucket', 'mark', '--id', id!, '--marker', 'no-downsample', ...cfg]);
    expect(mark.code, mark.stderr).toBe(0);
    const inspect = await run(['bucket', 'inspect', ...cfg]);
    expect(inspect.stdout).toMatch(new RegExp(`${id}.*\\{env="test"\\}\\s+no-downsample`));
    expect(inspect.stdout).not.toContain('tenant ');
    const tenantWithSingle = await run(['bucket', 'ls', '--tenancy', 'single', '--tenant', 'x', ...cfg]);
    expect(tenantWithSingle.code).toBe(2);
  });

  test('credentials never appear in output or errors', async () => {
    const secret = 'SuperSecretValue-9f8e7d';
    const access = 'AKIALEAKCHECKXYZ';
    const cfgFile = join(work.dir, 'leaky.yaml');
    await writeFile(
      cfgFile,
      `type: S3\nconfig:\n  bucket: b\n  endpoint: 127.0.0.1:1\n  insecure: true\n  access_key: ${access}\n  secret_key: ${secret}\n`,
    );
    const runs = [
      await run(['bucket', 'ls', '--objstore.config-file', cfgFile, '--log.level', 'debug']),
      await run(['bucket', 'inspect', '--objstore.config-file', cfgFile, '--tenant', 't']),
      await run(['bucket', 'index', 'write', '--objstore.config-file', cfgFile, '--log.level', 'debug']),
      await run([
        'bucket',
        'ls',
        '--objstore.config',
        `type: S3\nconfig:\n  bucket: b\n  endpoint: 127.0.0.1:1\n  access_key: ${access}\n  secret_key: ${secret}\n  no_such_field: ${secret}\n`,
      ]),
      await run(['bucket', 'ls', '--objstore.config', `type: S3\nconfig: [${secret}`]),
    ];
    for (const r of runs) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/strata: ERR_/);
      for (const s of [r.stdout, r.stderr]) {
        expect(s).not.toContain(secret);
        expect(s).not.toContain(secret.slice(0, 12));
        expect(s).not.toContain(access);
      }
    }
  });

  test('a FILESYSTEM bucket directory that does not exist fails with one line naming it', async () => {
    const missing = join(work.dir, 'typo', 'bucket');
    const cfg = ['--objstore.config', `type: FILESYSTEM\nconfig: {directory: ${missing}}`];
    const runs = [
      await run(['bucket', 'ls', ...cfg]),
      await run(['bucket', 'inspect', '--tenant', 't', ...cfg]),
      await run(['bucket', 'index', 'write', ...cfg]),
    ];
    for (const r of runs) {
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr.trim()).toBe(
        `strata: ERR_OBJSTORE_CONFIG: FILESYSTEM bucket directory ${missing} does not exist`,
      );
    }
    await expect(readdir(join(work.dir, 'typo'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('an upload process killed before meta.json leaves a partial block the tools ignore', async () => {
    const { dir, cfg } = await newBucket();
    const local = join(work.dir, 'synth-kill');
    const synth = await run([
      'tsdb',
      'synth',
      '--out',
      local,
      '--series',
      '5',
      '--hours',
      '2',
      '--start-time',
      '2024-01-01T00:00:00Z',
    ]);
    expect(synth.code, synth.stderr).toBe(0);
    const [id] = await readdir(local);
    // A child uploading through a bucket that stalls on meta.json, so the kill lands exactly there.
    const script = join(work.dir, 'upload-child.mjs');
    await writeFile(
      script,
      [
        `import { FilesystemBucket } from ${JSON.stringify(join(ROOT, 'dist/src/objstore/filesystem.js'))};`,
        `import { singleTenantLayout } from ${JSON.stringify(join(ROOT, 'dist/src/block/layout.js'))};`,
        `import { uploadBlock } from ${JSON.stringify(join(ROOT, 'dist/src/block/upload.js'))};`,
        `const inner = new FilesystemBucket({ directory: ${JSON.stringify(dir)} });`,
        'const bucket = Object.create(inner);',
        'bucket.upload = async (key, body, size) => {',
        "  if (key.endsWith('/meta.json')) { process.stdout.write('AT-META\\n'); await new Promise(() => {}); }",
        '  return inner.upload(key, body, size);',
        '};',
        `await uploadBlock(bucket, singleTenantLayout(), '', ${JSON.stringify(join(local, id!))});`,
      ].join('\n'),
    );
    const child = startProcess('upload-child', process.execPath, [script]);
    try {
      await waitFor(
        'upload to reach meta.json',
        async () => (child.output().includes('AT-META') ? true : undefined),
        60_000,
      );
    } finally {
      await child.stop('SIGKILL');
    }
    expect(await readdir(join(dir, id!))).toEqual(['chunks', 'index']);
    const ls = await run(['bucket', 'ls', ...cfg]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toBe('');
    const iw = await run(['bucket', 'index', 'write', ...cfg]);
    expect(iw.stdout).toContain('0 blocks, 0 deletion marks, 1 partial blocks skipped');
    const verify = await run(['bucket', 'verify', ...cfg]);
    expect(verify.stdout).toContain(`warning partial-block ${id}`);
    // Uploading again completes it.
    const up = await run(['bucket', 'upload', join(local, id!), ...cfg]);
    expect(up.code, up.stderr).toBe(0);
    expect((await run(['bucket', 'ls', ...cfg])).stdout).toBe(`${id}\n`);
  });
});
