/** Why a bucket does not fit the layout `--tenancy` names, and why a tenant folder is skipped. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { checkTenancy, rootKeyProblem, tenantIdProblem } from '../../src/block/tenancy-check.js';

const ID = '01HK0000000000000000000ABC';
const dirs: string[] = [];

afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A filesystem bucket holding `files` (relative paths). */
async function bucketWith(files: readonly string[]): Promise<FilesystemBucket> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-tenancy-'));
  dirs.push(dir);
  for (const f of files) {
    await mkdir(join(dir, f, '..'), { recursive: true });
    await writeFile(join(dir, f), '{}');
  }
  return new FilesystemBucket({ directory: dir });
}

describe('tenant ID problems, in Cortex/Mimir terms', () => {
  test.each([
    ['tenant-1', undefined],
    ["a!-_.*'()Z9", undefined],
    ['my tenant', /character " " at position 3/],
    ['tenänt', /character "ä" at position 4/],
    ['a/b', /character "\/"/],
    ['.', /"\." is not allowed/],
    ['..', /"\.\." is not allowed/],
    ['', /empty/],
    ['x'.repeat(151), /151 characters, at most 150/],
    ['__markers__', /reserved/],
  ])('%j', (name, want) => {
    const got = tenantIdProblem(name);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(want);
  });

  test('the garbage-key detail of a root folder says "invalid tenant ID" and the rules', () => {
    expect(rootKeyProblem('my tenant/')).toMatch(
      /^invalid tenant ID "my tenant": character " " at position 3 is not allowed \(tenant IDs are 1 to 150 characters out of A-Z a-z 0-9/,
    );
    expect(rootKeyProblem('stray.txt')).toMatch(/a file at the bucket root/);
  });
});

describe('checkTenancy', () => {
  test('a Cortex/Mimir bucket refuses --tenancy single, naming the tenant folders', async () => {
    const b = await bucketWith([`tenant-1/${ID}/meta.json`, `tenant-2/${ID}/meta.json`, '__markers__/x']);
    await expect(checkTenancy(b, 'single')).rejects.toThrow(
      /--tenancy single, but .*Cortex\/Mimir layout.*tenant-1\/, tenant-2\/.*use --tenancy multi/,
    );
    await expect(checkTenancy(b, 'multi')).resolves.toBeUndefined();
  });

  test('a Thanos bucket refuses --tenancy multi, naming a block', async () => {
    const b = await bucketWith([`${ID}/meta.json`, `${ID}/index`, 'debug/x']);
    await expect(checkTenancy(b, 'multi')).rejects.toThrow(
      new RegExp(`--tenancy multi, but .*Thanos layout: block ${ID}/.*use --tenancy single`),
    );
    await expect(checkTenancy(b, 'single')).resolves.toBeUndefined();
  });

  test('empty buckets, tenants without blocks yet, and partial blocks pass either way', async () => {
    for (const files of [[], ['tenant-1/markers/x.json'], [`${ID}/index`]]) {
      const b = await bucketWith(files);
      await expect(checkTenancy(b, 'single')).resolves.toBeUndefined();
      await expect(checkTenancy(b, 'multi')).resolves.toBeUndefined();
    }
  });
});
