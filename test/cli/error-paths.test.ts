/**
 * Every error path of the CLI, through the real binary: each command with each kind of bad input
 * (missing path, not a directory, unreadable file, bad flag value, bad duration, bad objstore
 * config, busy port, layout mismatch, missing argument or option, unknown option or command).
 * Each must exit 2 (usage) or 1 (the rest) with exactly one stderr line
 * `strata: ERR_X: message`, the message naming what was wrong and where, and nothing on stdout.
 */
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO, ensureBuilt } from '../support/build.js';
import { assertNoLeakedProcesses, startProcess } from '../support/processes.js';
import { limited, lines, strata, type Run, type RunOptions } from './run.js';

interface Case {
  args: string[];
  exit: 1 | 2;
  code: string;
  /** What the message must say (the flag, path or value at fault). */
  says: RegExp;
  /** Needs a user without root's permission bypass. */
  unprivileged?: boolean;
}

let root = '';
let busy: Server;
let busyPort = 0;
const NOBODY = { uid: 65534, gid: 65534 };
const isRoot = process.getuid?.() === 0;

const p = (...parts: string[]): string => join(root, ...parts);

async function listen(): Promise<Server> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  return s;
}

beforeAll(async () => {
  await ensureBuilt();
  root = await mkdtemp(join(tmpdir(), 'strata-errpaths-'));
  await chmod(root, 0o755); // the unprivileged runs must reach the fixtures
  busy = await listen();
  const a = busy.address();
  busyPort = typeof a === 'object' && a !== null ? a.port : 0;
  const synth = await strata(['tsdb', 'synth', '--out', p('blocks'), '--series', '30', '--hours', '2']);
  expect(synth.code, synth.stderr).toBe(0);
  const cortex = await strata(['tsdb', 'synth', '--out', p('cortex'), '--tenants', '1', '--series', '2']);
  expect(cortex.code, cortex.stderr).toBe(0);
  const [id] = await readdir(p('blocks'));
  await mkdir(p('unreadable-block', 'chunks'), { recursive: true });
  for (const f of ['meta.json', 'index', 'chunks/000001']) {
    await copyFile(p('blocks', id!, f), p('unreadable-block', f));
  }
  await chmod(p('unreadable-block', 'index'), 0o000);
  await mkdir(p('empty'));
  await mkdir(p('bucket'));
  await mkdir(p('closed'), { mode: 0o000 });
  await chmod(p('closed'), 0o000);
  await mkdir(p('demo-like'));
  await writeFile(p('demo-like', 'precious.txt'), 'keep me\n');
  await writeFile(p('file.txt'), 'not a directory\n');
  await writeFile(p('fs.yaml'), `type: FILESYSTEM\nconfig:\n  directory: ${p('bucket')}\n`);
  await writeFile(p('cortex.yaml'), `type: FILESYSTEM\nconfig:\n  directory: ${p('cortex')}\n`);
  await writeFile(p('thanos.yaml'), `type: FILESYSTEM\nconfig:\n  directory: ${p('blocks')}\n`);
  await writeFile(p('bad-yaml.yaml'), 'type: [FILESYSTEM\n');
  await writeFile(p('bad-type.yaml'), 'type: GCS\nconfig: {}\n');
  await writeFile(p('secret.yaml'), `type: FILESYSTEM\nconfig:\n  directory: ${p('bucket')}\n`);
  await chmod(p('secret.yaml'), 0o000);
}, 300_000);

afterAll(async () => {
  await new Promise<void>((res) => (busy ? busy.close(() => res()) : res()));
  if (root) {
    await chmod(p('closed'), 0o755).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
  await assertNoLeakedProcesses();
});

const ULID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
const usage = (args: string[], says: RegExp): Case => ({ args, exit: 2, code: 'ERR_INVALID_ARGUMENT', says });
const fails = (args: string[], code: string, says: RegExp, unprivileged = false): Case => ({
  args,
  exit: 1,
  code,
  says,
  ...(unprivileged ? { unprivileged } : {}),
});
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The cases, built once the fixture paths are known. */
function cases(): Case[] {
  const fs = ['--objstore.config-file', p('fs.yaml')];
  const local = ['--data-dir', p('data'), '--http-address', '127.0.0.1:0'];
  const busyAddr = `127.0.0.1:${busyPort}`;
  const bucketCmds: string[][] = [
    ['bucket', 'ls'],
    ['bucket', 'inspect'],
    ['bucket', 'verify'],
    ['bucket', 'index', 'write'],
    ['bucket', 'index', 'show'],
    ['bucket', 'upload', p('blocks')],
    ['bucket', 'download', ULID, p('dl')],
    ['bucket', 'mark', '--id', ULID, '--marker', 'deletion'],
  ];
  const objstoreUsers: string[][] = [...bucketCmds, ['compact', ...local], ['planner', ...local]];
  const out: Case[] = [
    // Commands and arguments.
    usage([], /missing command: one of tsdb, bucket.*\(see strata --help\)/),
    usage(['nope'], /unknown command 'nope'/),
    usage(['help', 'nope'], /unknown command 'nope' \(see strata --help\)/),
    usage(
      ['tsdb'],
      /missing command: one of ls, dump, verify, synth, compact, downsample \(see strata tsdb --help\)/,
    ),
    usage(['tsdb', 'lss'], /unknown command 'lss' \(Did you mean ls\?\) \(see strata tsdb --help\)/),
    usage(['bucket', 'index'], /missing command: one of write, show/),
    usage(['tsdb', 'ls'], /missing argument DIR \(see strata tsdb ls --help\)/),
    usage(['tsdb', 'ls', p('blocks'), 'extra'], /too many arguments for 'ls'/),
    usage(['tsdb', 'dump'], /missing argument PATH/),
    usage(['tsdb', 'verify'], /missing argument BLOCKS \(see strata tsdb verify --help\)/),
    usage(['tsdb', 'compact', p('blocks')], /missing required option --out/),
    usage(['tsdb', 'synth'], /missing required option --out/),
    usage(['tsdb', 'synth', '--out'], /option --out needs a value/),
    usage(['bucket', 'download', ULID, ...fs], /missing argument DIR/),
    usage(['bucket', 'mark', ...fs, '--id', ULID], /missing required option --marker/),
    usage(['tsdb', 'ls', '--bogus', p('blocks')], /unknown option '--bogus'/),
    usage(
      ['compact', '--wait-intervall', '5m'],
      /unknown option '--wait-intervall' \(Did you mean --wait-interval\?\)/,
    ),
    // Bad values.
    usage(['tsdb', 'ls', '--log.format', 'xml', p('blocks')], /--log\.format.*'xml'.*logfmt, json/),
    usage(['tsdb', 'dump', '--match', 'up{', p('blocks')], /"up\{"/),
    usage(['tsdb', 'dump', '--min-time', 'yesterday', p('blocks')], /--min-time: .*"yesterday"/),
    usage(['tsdb', 'verify', '--max-problems', '-1', p('blocks')], /--max-problems: .*"-1"/),
    usage(['tsdb', 'synth', '--out', p('s'), '--series', 'many'], /--series: .*"many"/),
    usage(
      ['tsdb', 'compact', '--out', p('o'), '--dedup', 'best', p('blocks')],
      /--dedup must be exact or penalty/,
    ),
    usage(
      ['tsdb', 'compact', '--out', p('o'), '--max-samples-per-chunk', '0', p('blocks')],
      /--max-samples-per-chunk/,
    ),
    usage(['bucket', 'ls', ...fs, '--tenancy', 'both'], /tenancy must be "single" or "multi", got "both"/),
    usage(['bucket', 'ls', ...fs, '--log.level', 'loud'], /--log\.level must be one of/),
    usage(['bucket', 'ls', ...fs, '--log.format', 'xml'], /--log\.format must be logfmt or json/),
    usage(['bucket', 'ls', ...fs, '-o', 'xml'], /--output must be text or json/),
    usage(['bucket', 'inspect', ...fs, '-o', 'xml'], /--output must be table or json/),
    usage(
      ['bucket', 'ls', ...fs, '--tenant', 'a b'],
      /--tenant: invalid tenant ID "a b": character " " at position 2/,
    ),
    usage(['bucket', 'ls', ...fs, '--tenant', 'tenänt'], /invalid tenant ID "tenänt": character "ä"/),
    usage(['bucket', 'upload', ...fs, '--concurrency', 'x', p('blocks')], /--concurrency: .*"x"/),
    usage(['bucket', 'download', ...fs, 'not-a-ulid', p('dl')], /not a block ULID: "not-a-ulid"/),
    usage(['bucket', 'mark', ...fs, '--id', ULID, '--marker', 'gone'], /--marker must be one of/),
    usage(['bucket', 'mark', ...fs, '--marker', 'deletion'], /--id is required/),
    usage(['bucket', 'upload', ...fs, '--tenancy', 'multi', p('blocks')], /--tenant is required/),
    usage(['bucket', 'verify', ...fs, '--max-problems', 'x'], /--max-problems: .*"x"/),
    usage(['demo', '--hours', 'x'], /--hours: .*"x"/),
    usage(['demo', '--dir', p('demo-like')], /--dir .*demo-like: not empty and not an earlier demo folder/),
    // Durations.
    usage(
      ['compact', ...fs, ...local, '--wait-interval', '5x'],
      /--wait-interval: not a valid duration: "5x"/,
    ),
    usage(
      ['compact', ...fs, ...local, '--consistency-delay', '1h30'],
      /--consistency-delay: not a valid duration/,
    ),
    usage(
      ['compact', ...fs, ...local, '--compact.block-ranges', '2h,1h'],
      /--compact\.block-ranges must be ascending/,
    ),
    usage(['compact', ...fs, ...local, '--compact.block-ranges', '2h,x'], /not a valid duration: "x"/),
    usage(['compact', ...fs, ...local, '--etcd.lease-ttl', '1s'], /--etcd\.lease-ttl must be at least 2s/),
    usage(['compact', ...fs, ...local, '--deduplication.func', 'max'], /--deduplication\.func must be/),
    usage(['compact', ...fs, ...local, '--log.level', 'loud'], /--log\.level must be/),
    usage(
      ['compact', ...fs, '--data-dir', p('data'), '--http-address', 'nowhere'],
      /--http-address: .*"nowhere"/,
    ),
    usage(
      ['planner', ...fs, ...local, '--planner.lease-timeout', '0s'],
      /--planner\.lease-timeout must be longer than 0s/,
    ),
    usage(
      ['planner', ...fs, ...local, '--planner.retry-delay', 'soon'],
      /--planner\.retry-delay: not a valid duration/,
    ),
    usage(
      ['planner', ...fs, ...local, '--planner.max-failures', '0'],
      /--planner\.max-failures must be at least 1/,
    ),
    usage(['planner', ...fs, ...local, '--grpc-address', 'x:y'], /--grpc-address: .*"x:y"/),
    usage(['worker', ...fs, ...local], /--planner\.address is required/),
    usage(
      ['worker', ...fs, ...local, '--planner.address', 'p:1', '--heartbeat-interval', '0s'],
      /--heartbeat-interval must be longer than 0s/,
    ),
    usage(
      ['worker', ...fs, ...local, '--planner.address', 'p:1', '--on-stop', 'never'],
      /--on-stop must be finish or abandon/,
    ),
    usage(
      ['worker', ...fs, ...local, '--planner.address', 'p:1', '--stop-timeout', '-1s'],
      /--stop-timeout: not a valid duration/,
    ),
    // The bucket's layout is not the one --tenancy names.
    usage(
      ['bucket', 'ls', '--objstore.config-file', p('cortex.yaml')],
      /--tenancy single, but the bucket has the Cortex\/Mimir layout.*tenant-1\/.*use --tenancy multi/,
    ),
    usage(['compact', '--objstore.config-file', p('cortex.yaml'), ...local], /use --tenancy multi/),
    usage(['planner', '--objstore.config-file', p('cortex.yaml'), ...local], /use --tenancy multi/),
    usage(
      ['bucket', 'ls', '--objstore.config-file', p('thanos.yaml'), '--tenancy', 'multi'],
      /--tenancy multi, but the bucket has the Thanos layout.*use --tenancy single/,
    ),
    // Missing paths, files where directories belong, places nothing can be written.
    fails(
      ['tsdb', 'ls', p('nope')],
      'ERR_NOT_FOUND',
      new RegExp(`${esc(p('nope'))}: no such file or directory`),
    ),
    fails(['tsdb', 'ls', p('file.txt')], 'ERR_NOT_FOUND', /file\.txt: not a directory/),
    fails(['tsdb', 'dump', p('nope')], 'ERR_NOT_FOUND', /nope: no such file or directory/),
    fails(['tsdb', 'dump', p('file.txt')], 'ERR_NOT_FOUND', /file\.txt: not a directory/),
    fails(['tsdb', 'verify', p('blocks'), p('nope')], 'ERR_NOT_FOUND', /nope: no such file or directory/),
    fails(
      ['tsdb', 'compact', '--out', p('o'), p('nope')],
      'ERR_NOT_FOUND',
      /nope: no such file or directory/,
    ),
    fails(['tsdb', 'compact', '--out', p('o'), p('empty')], 'ERR_NOT_FOUND', /no blocks in .*empty/),
    fails(
      ['tsdb', 'compact', '--out', p('file.txt', 'o'), p('blocks')],
      'ERR_IO',
      /--out .*file\.txt\/o: .*file\.txt is not a directory/,
    ),
    fails(
      ['tsdb', 'synth', '--out', '/proc/strata/out'],
      'ERR_IO',
      /--out \/proc\/strata\/out: cannot create directory \/proc\/strata/,
    ),
    fails(['tsdb', 'synth', '--out', '/proc'], 'ERR_IO', /--out \/proc: cannot write in it/),
    fails(['bucket', 'upload', ...fs, p('nope')], 'ERR_NOT_FOUND', /nope: no such file or directory/),
    fails(['bucket', 'upload', ...fs, p('empty')], 'ERR_NOT_FOUND', /no blocks in .*empty/),
    fails(
      ['bucket', 'download', ...fs, ULID, p('dl')],
      'ERR_BLOCK_DOWNLOAD',
      new RegExp(`${ULID}.*meta\\.json`),
    ),
    fails(['bucket', 'download', ...fs, ULID, p('file.txt')], 'ERR_IO', /DIR .*file\.txt: .*not a directory/),
    fails(
      ['bucket', 'mark', ...fs, '--id', ULID, '--marker', 'deletion'],
      'ERR_NOT_FOUND',
      new RegExp(`block ${ULID} not found`),
    ),
    fails(['bucket', 'index', 'show', ...fs], 'ERR_NOT_FOUND', /no bucket index found/),
    fails(
      ['bucket', 'verify', ...fs, '--full', '--work-dir', '/proc/strata'],
      'ERR_IO',
      /--work-dir \/proc\/strata: cannot create directory/,
    ),
    fails(
      ['compact', ...fs, '--data-dir', '/proc/strata', '--http-address', '127.0.0.1:0'],
      'ERR_IO',
      /--data-dir \/proc\/strata: cannot create directory/,
    ),
    fails(
      ['worker', ...fs, '--planner.address', 'p:1', '--data-dir', p('file.txt')],
      'ERR_IO',
      /--data-dir .*file\.txt: .*file\.txt is not a directory/,
    ),
    fails(['demo', '--dir', '/proc/strata'], 'ERR_IO', /--dir \/proc\/strata: cannot create directory/),
    // Permissions (as a user without root's bypass).
    fails(['tsdb', 'ls', p('closed')], 'ERR_IO', /closed(\/meta\.json)?: permission denied/, true),
    fails(
      ['tsdb', 'dump', p('unreadable-block')],
      'ERR_IO',
      /unreadable-block\/index: permission denied/,
      true,
    ),
    fails(
      ['bucket', 'ls', '--objstore.config-file', p('secret.yaml')],
      'ERR_OBJSTORE_CONFIG',
      /secret\.yaml/,
      true,
    ),
    fails(
      ['tsdb', 'synth', '--out', p('closed', 'x')],
      'ERR_IO',
      /--out .*closed\/x: .*permission denied/,
      true,
    ),
    // Busy ports.
    fails(
      ['compact', ...fs, '--data-dir', p('data'), '--http-address', busyAddr],
      'ERR_LISTEN',
      new RegExp(`--http-address ${busyAddr}: cannot listen: address already in use`),
    ),
    fails(
      ['planner', ...fs, '--data-dir', p('data'), '--http-address', busyAddr],
      'ERR_LISTEN',
      new RegExp(`--http-address ${busyAddr}: cannot listen: address already in use`),
    ),
    fails(
      ['planner', ...fs, ...local, '--grpc-address', busyAddr],
      'ERR_LISTEN',
      new RegExp(`--grpc-address ${busyAddr}: cannot listen: address already in use`),
    ),
    fails(
      ['worker', ...fs, '--planner.address', 'p:1', '--data-dir', p('data'), '--http-address', busyAddr],
      'ERR_LISTEN',
      /--http-address .*address already in use/,
    ),
  ];
  // Every command that opens a bucket, with each kind of bad objstore configuration.
  for (const cmd of objstoreUsers) {
    out.push(
      fails([...cmd], 'ERR_OBJSTORE_CONFIG', /no config file or inline config given/),
      fails([...cmd, '--objstore.config-file', p('nope.yaml')], 'ERR_OBJSTORE_CONFIG', /nope\.yaml/),
      fails([...cmd, '--objstore.config-file', p('empty')], 'ERR_OBJSTORE_CONFIG', /empty/),
      fails(
        [...cmd, '--objstore.config-file', p('bad-yaml.yaml')],
        'ERR_OBJSTORE_CONFIG',
        /bad-yaml\.yaml: invalid YAML/,
      ),
      fails(
        [...cmd, '--objstore.config-file', p('bad-type.yaml')],
        'ERR_OBJSTORE_CONFIG',
        /type: GCS is not supported/,
      ),
      fails([...cmd, '--objstore.config', 'type: FILESYSTEM'], 'ERR_OBJSTORE_CONFIG', /config\.directory/),
    );
  }
  return out;
}

function check(c: Case, r: Run): void {
  const what = `strata ${c.args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  const errLines = lines(r.stderr);
  expect(errLines, what).toHaveLength(1);
  const line = errLines[0]!;
  expect(line, what).toMatch(/^strata: ERR_[A-Z_]+: \S/);
  expect(line.startsWith(`strata: ${c.code}: `), what).toBe(true);
  expect(line, what).toMatch(c.says);
  expect(r.code, what).toBe(c.exit);
  expect(r.stdout, what).toBe('');
}

describe('every error reaching the CLI is one coded line', { timeout: 600_000 }, () => {
  test('walk of the error paths', async () => {
    const all = cases();
    const run = (c: Case): Promise<Run> => {
      const o: RunOptions = c.unprivileged && isRoot ? { user: NOBODY } : {};
      return strata(c.args, o);
    };
    const results = await limited(
      3,
      all.map((c) => () => run(c)),
    );
    const failures: string[] = [];
    all.forEach((c, i) => {
      try {
        check(c, results[i]!);
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
    });
    expect(failures, failures.join('\n\n')).toEqual([]);
    // Nothing was started or written by a refused command.
    expect(await readdir(p('bucket'))).toEqual([]);
  });
});

test('a reader that stops early (| head) ends the command quietly, exit 0', async () => {
  const proc = startProcess('strata', process.execPath, [
    join(REPO, 'bin/strata.js'),
    'tsdb',
    'dump',
    p('blocks'),
  ]);
  let stderr = '';
  proc.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  proc.child.stdout?.once('data', () => proc.child.stdout?.destroy());
  const code = await new Promise<number | null>((res) => proc.child.once('close', (c) => res(c)));
  expect(stderr).toBe('');
  expect(code).toBe(0);
});
