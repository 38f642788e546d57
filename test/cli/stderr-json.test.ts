/**
 * Nothing reaches stderr outside the logger. With --log.format json every stderr line is a JSON
 * object: the logs of S3 commands at debug level (the AWS SDK included), Node's process warnings,
 * console output of libraries, and the one error line of a failing command.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startSwift, type SwiftService } from '../services/swift.js';
import { ensureBuilt } from '../support/build.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { lines, strata, type Run } from './run.js';

let root = '';
let swift: SwiftService | undefined;
let s3Config = '';
let busy: Server | undefined;
/** The environment of the tests, minus the switch some tests use to silence the AWS SDK. */
const env: NodeJS.ProcessEnv = { ...process.env };
delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;

beforeAll(async () => {
  await ensureBuilt();
  root = await mkdtemp(join(tmpdir(), 'strata-stderr-'));
  await chmod(root, 0o755);
  swift = await startSwift();
  s3Config = JSON.stringify({
    type: 'S3',
    config: {
      bucket: await swift.bucketName(),
      endpoint: new URL(swift.endpoint).host,
      insecure: true,
      region: swift.region,
      access_key: swift.accessKey,
      secret_key: swift.secretKey,
    },
  });
  const synth = await strata([
    'tsdb',
    'synth',
    '--out',
    join(root, 'blocks'),
    '--series',
    '4',
    '--hours',
    '4',
  ]);
  expect(synth.code, synth.stderr).toBe(0);
  busy = createServer();
  await new Promise<void>((res) => busy!.listen(0, '127.0.0.1', res));
}, 300_000);

afterAll(async () => {
  await new Promise<void>((res) => (busy ? busy.close(() => res()) : res()));
  await swift?.stop();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

/** Every stderr line parses as a JSON object with a level and a message. */
function jsonLines(r: Run, what: string): Record<string, unknown>[] {
  return lines(r.stderr).map((l) => {
    let v: unknown;
    expect(() => (v = JSON.parse(l)), `${what}: not JSON: ${l}`).not.toThrow();
    expect(v, `${what}: ${l}`).toMatchObject({ level: expect.any(Number), msg: expect.any(String) });
    return v as Record<string, unknown>;
  });
}

describe('stderr with --log.format json', { timeout: 300_000 }, () => {
  test('S3 commands at debug level: every line is JSON, no credential in it', async () => {
    const s3 = ['--objstore.config', s3Config, '--log.format', 'json', '--log.level', 'debug'];
    const runs: [string, string[]][] = [
      ['upload', ['bucket', 'upload', ...s3, '--tenant', 't1', join(root, 'blocks')]],
      ['ls', ['bucket', 'ls', ...s3, '--tenancy', 'multi']],
      ['inspect', ['bucket', 'inspect', ...s3, '--tenancy', 'multi']],
      ['verify', ['bucket', 'verify', ...s3, '--tenancy', 'multi', '--full', '--work-dir', join(root, 'w')]],
      ['index', ['bucket', 'index', 'write', ...s3, '--tenancy', 'multi']],
      [
        'compact',
        [
          'compact',
          ...s3,
          '--tenancy',
          'multi',
          '--data-dir',
          join(root, 'data'),
          '--http-address',
          '127.0.0.1:0',
        ],
      ],
    ];
    let logged = 0;
    for (const [what, args] of runs) {
      const r = await strata(args, { env });
      expect(r.code, `${what}: ${r.stderr}`).toBe(0);
      logged += jsonLines(r, what).length;
      expect(r.stderr).not.toContain(swift!.secretKey);
    }
    expect(logged).toBeGreaterThan(0); // debug logging did produce lines to check
  });

  test('a failing command writes exactly one JSON error line with its code', async () => {
    const port = (busy!.address() as { port: number }).port;
    // Credentials from a private file: inline ones on the command line are warned about.
    const s3File = join(root, 's3.yml');
    await writeFile(s3File, s3Config, { mode: 0o600 });
    const failing: [string[], string][] = [
      [['tsdb', 'ls', join(root, 'nope')], 'ERR_NOT_FOUND'],
      [['tsdb', 'ls', '--bogus', join(root, 'blocks')], 'ERR_INVALID_ARGUMENT'],
      [['tsdb', 'verify'], 'ERR_INVALID_ARGUMENT'],
      [['bucket', 'ls'], 'ERR_OBJSTORE_CONFIG'],
      [
        [
          'compact',
          '--objstore.config-file',
          s3File,
          '--tenancy',
          'multi',
          '--data-dir',
          join(root, 'd'),
          '--http-address',
          `127.0.0.1:${port}`,
        ],
        'ERR_LISTEN',
      ],
    ];
    for (const [args, code] of failing) {
      const r = await strata([...args, '--log.format', 'json'], { env });
      const [line, ...more] = jsonLines(r, args.join(' '));
      expect(more, r.stderr).toEqual([]);
      expect(line, r.stderr).toMatchObject({ level: 50, code });
      expect(r.code).toBe(code === 'ERR_INVALID_ARGUMENT' ? 2 : 1);
    }
  });

  test('process warnings and library console output go through the logger', async () => {
    const preload = join(root, 'noisy-library.mjs');
    await writeFile(
      preload,
      [
        'setTimeout(() => {',
        "  process.emitWarning('strata test warning', { code: 'STRATA_TEST' });",
        "  console.warn('console.warn from a library');",
        "  console.error('console.error from a library');",
        "  console.log('console.log from a library');",
        '}, 0);',
      ].join('\n'),
    );
    const noisy = { ...env, NODE_OPTIONS: `--import ${pathToFileURL(preload).href}` };
    const blocks = join(root, 'blocks');

    const json = await strata(['tsdb', 'ls', blocks, '--log.format', 'json'], { env: noisy });
    expect(json.code, json.stderr).toBe(0);
    const msgs = jsonLines(json, 'tsdb ls').map((l) => l.msg);
    expect(msgs).toEqual(
      expect.arrayContaining([
        'strata test warning',
        'console.warn from a library',
        'console.error from a library',
      ]),
    );
    // stdout is the command's own output only.
    expect(json.stdout).not.toContain('from a library');
    expect(lines(json.stdout)[0]).toMatch(/^ULID\s+MIN TIME/);

    const text = await strata(['tsdb', 'ls', blocks], { env: noisy });
    expect(text.code, text.stderr).toBe(0);
    for (const l of lines(text.stderr)) expect(l).toMatch(/^ts=\S+ level=warn /);
    expect(text.stderr).toMatch(/warning=Warning code=STRATA_TEST msg="strata test warning"/);
    expect(text.stderr).not.toMatch(/\(node:\d+\)/);
  });
});
