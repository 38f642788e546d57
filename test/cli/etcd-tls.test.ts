/**
 * etcd with client TLS (`--client-cert-auth`) and authentication on, through the real binary:
 * the election (`--etcd.*`) elects with the right certificate and password, the ring
 * (`--sharding-ring.etcd.*`) registers its member, and every misconfiguration ends the process
 * at once with one line naming the endpoint (or the flag) and a stable code. No password ever
 * shows in a process's output.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startEtcd, type EtcdCluster } from '../services/etcd.js';
import { ensureBuilt, REPO } from '../support/build.js';
import { makeTestPki, type TestPki } from '../support/certs.js';
import { assertNoLeakedProcesses, startProcess, waitFor } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';
import { limited, lines, strata, type Run } from './run.js';

const run = promisify(execFile);
// Also in the suite-wide secret scan (test/support/secrets.ts).
const ROOT_PASSWORD = registerSecret(`root-${Math.random().toString(36).slice(2)}`, 'etcd root password');
const PASSWORD = registerSecret(`strata-${Math.random().toString(36).slice(2)}`, 'etcd strata password');
const WRONG_PASSWORD = registerSecret(
  `wrong-${Math.random().toString(36).slice(2)}`,
  'a wrong etcd password',
);
const ELECTION = '/strata-test-tls/compact/';
const RING = 'tls-ring/';
const READ_ONLY = '/strata-test-tls/read-only/';
const RO_RING = 'tls-ro-ring/';

let root = '';
let pki: TestPki;
let etcd: EtcdCluster;
let url = '';
/** Everything every strata process printed, for the no-password check. */
const outputs: string[] = [];

const p = (...parts: string[]): string => join(root, ...parts);

async function etcdctl(args: readonly string[], asRoot = true): Promise<string> {
  const { stdout } = await run(
    'etcdctl',
    [
      '--endpoints',
      url,
      '--cacert',
      pki.ca.cert,
      '--cert',
      pki.client.cert,
      '--key',
      pki.client.key,
      ...(asRoot ? ['--user', `root:${ROOT_PASSWORD}`] : []),
      ...args,
    ],
    { env: { ...process.env, ETCDCTL_API: '3' } },
  );
  return stdout;
}

/** Flags of one etcd client group (`--etcd`, `--sharding-ring.etcd`) with the good credentials. */
function client(
  group: string,
  o: { cert?: string; key?: string; ca?: string; passwordFile?: string } = {},
): string[] {
  return [
    `${group}.tls-ca`,
    o.ca ?? pki.ca.cert,
    `${group}.tls-cert`,
    o.cert ?? pki.client.cert,
    `${group}.tls-key`,
    o.key ?? pki.client.key,
    `${group}.username`,
    'strata',
    `${group}.password-file`,
    o.passwordFile ?? p('password'),
  ];
}

function compactArgs(dataDir: string): string[] {
  return [
    'compact',
    '--objstore.config-file',
    p('fs.yaml'),
    '--data-dir',
    p(dataDir),
    '--http-address',
    '127.0.0.1:0',
  ];
}

const electionArgs = (dataDir: string): string[] => [
  ...compactArgs(dataDir),
  '--etcd.endpoints',
  url,
  '--etcd.prefix',
  ELECTION,
];

const ringArgs = (dataDir: string, id: string): string[] => [
  ...compactArgs(dataDir),
  '--sharding-ring.store',
  'etcd',
  '--sharding-ring.etcd.endpoints',
  url,
  '--sharding-ring.prefix',
  RING,
  '--sharding-ring.instance-id',
  id,
  '--sharding-ring.wait-stability-min-duration',
  '0',
];

async function strataLogged(args: readonly string[]): Promise<Run> {
  const r = await strata(args, { timeoutMs: 30_000 });
  outputs.push(r.stdout + r.stderr);
  return r;
}

/** The one error line of a failed run. */
function errorLine(r: Run): string {
  const err = lines(r.stderr).filter((l) => l.startsWith('strata: '));
  expect(err, r.stderr).toHaveLength(1);
  return err[0]!;
}

beforeAll(async () => {
  await ensureBuilt();
  root = await mkdtemp(join(tmpdir(), 'strata-etcd-tls-'));
  await mkdir(p('pki'));
  await mkdir(p('bucket'));
  pki = await makeTestPki(p('pki'));
  etcd = await startEtcd({
    tls: {
      cert: pki.server.cert,
      key: pki.server.key,
      ca: pki.ca.cert,
      clientCert: pki.client.cert,
      clientKey: pki.client.key,
    },
  });
  url = etcd.endpoints[0]!;
  await etcdctl(['user', 'add', 'root', '--new-user-password', ROOT_PASSWORD], false);
  await etcdctl(['user', 'grant-role', 'root', 'root'], false);
  await etcdctl(['user', 'add', 'strata', '--new-user-password', PASSWORD], false);
  await etcdctl(['role', 'add', 'strata'], false);
  for (const prefix of [ELECTION, RING, `strata-ring-claims/${RING}`, `strata-tenant-locks/${RING}`]) {
    await etcdctl(['role', 'grant-permission', 'strata', '--prefix=true', 'readwrite', prefix], false);
  }
  for (const prefix of [
    READ_ONLY,
    RO_RING,
    `strata-ring-claims/${RO_RING}`,
    `strata-tenant-locks/${RO_RING}`,
  ]) {
    await etcdctl(['role', 'grant-permission', 'strata', '--prefix=true', 'read', prefix], false);
  }
  await etcdctl(['user', 'grant-role', 'strata', 'strata'], false);
  await etcdctl(['auth', 'enable'], false);
  // Editors end files with a line break: it is not part of the password.
  await writeFile(p('password'), `${PASSWORD}\n`, { mode: 0o600 });
  await writeFile(p('wrong-password'), `${WRONG_PASSWORD}\n`);
  await chmod(p('wrong-password'), 0o644);
  await writeFile(p('fs.yaml'), `type: FILESYSTEM\nconfig:\n  directory: ${p('bucket')}\n`);
}, 120_000);

afterAll(async () => {
  await etcd?.stop();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('etcd with client TLS and authentication', () => {
  test('auth is really on: etcd refuses a client without a password', async () => {
    await expect(etcdctl(['get', ELECTION], false)).rejects.toThrow(/permission denied/);
  });

  test('election: compact elects a leader with the right certificate and password', async () => {
    const r = await strataLogged([...electionArgs('d-elect'), ...client('--etcd')]);
    expect(r.code, r.stderr).toBe(0);
    // Only the etcd election logs the candidate key it won with.
    expect(r.stderr).toMatch(new RegExp(`component=election prefix=${ELECTION} epoch=\\d+ key=${ELECTION}`));
    expect(r.stderr).toContain('msg="leading: compacting"');
  });

  test('ring: compact registers its member in the ring key, and leaves on SIGTERM', async () => {
    const proc = startProcess('strata-ring', process.execPath, [
      join(REPO, 'bin/strata.js'),
      ...ringArgs('d-ring', 'tls-c1'),
      ...client('--sharding-ring.etcd'),
      '--wait',
    ]);
    try {
      const value = await waitFor(
        'tls-c1 in the ring key',
        async () => {
          const v = await etcdctl(['get', `${RING}compactor`, '--print-value-only']);
          return v.includes('tls-c1') ? v : undefined;
        },
        20_000,
        200,
      );
      expect(value).toContain('tls-c1');
      // SIGTERM before the ring is open aborts the start-up: stop after the first pass.
      await waitFor('a compaction pass', async () =>
        proc.output().includes('compaction pass done') ? true : undefined,
      );
      await proc.stop('SIGTERM', 10_000);
      expect(proc.child.exitCode, proc.output()).toBe(0);
      expect(await etcdctl(['get', `${RING}compactor`, '--print-value-only'])).not.toContain('tls-c1');
    } finally {
      await proc.stop('SIGKILL', 1000);
      outputs.push(proc.output());
    }
  });

  test('wrong password: exit 1 at once, ERR_ETCD_AUTH naming the endpoint; the world-readable file is warned about', async () => {
    for (const [args, group] of [
      [electionArgs('d-wrong'), '--etcd'],
      [ringArgs('d-wrong-ring', 'tls-c2'), '--sharding-ring.etcd'],
    ] as const) {
      const started = Date.now();
      const r = await strataLogged([...args, ...client(group, { passwordFile: p('wrong-password') })]);
      expect(r.code, r.stderr).toBe(1);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(errorLine(r)).toBe(
        `strata: ERR_ETCD_AUTH: etcd ${url}: authentication failed for user "strata" ` +
          `(check ${group}.username and ${group}.password-file)`,
      );
      expect(r.stderr).toContain('secret file is readable by every user');
      expect(r.stderr).toContain(`what=${group}.password-file file=${p('wrong-password')}`);
    }
  });

  test('a prefix the user may not use: ERR_ETCD_AUTH naming the key', async () => {
    const r = await strataLogged([
      ...compactArgs('d-perm'),
      '--etcd.endpoints',
      url,
      '--etcd.prefix',
      '/not-granted/',
      ...client('--etcd'),
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(errorLine(r)).toBe(
      `strata: ERR_ETCD_AUTH: etcd ${url}: permission denied: user "strata" may not read /not-granted/ (grant its role the prefix)`,
    );
  });

  test('prefixes the user may only read: election and ring stop with ERR_ETCD_AUTH instead of retrying', async () => {
    const election = await strataLogged([
      ...compactArgs('d-read-only'),
      '--etcd.endpoints',
      url,
      '--etcd.prefix',
      READ_ONLY,
      ...client('--etcd'),
    ]);
    expect(election.code, election.stderr).toBe(1);
    expect(errorLine(election)).toMatch(
      new RegExp(`^strata: ERR_ETCD_AUTH: etcd ${url}: etcd create candidate key: .*permission denied$`),
    );
    const ring = await strataLogged([
      ...ringArgs('d-read-only-ring', 'tls-ro'),
      '--sharding-ring.prefix',
      RO_RING,
      ...client('--sharding-ring.etcd'),
    ]);
    expect(ring.code, ring.stderr).toBe(1);
    expect(errorLine(ring)).toMatch(new RegExp(`^strata: ERR_ETCD_AUTH: etcd ${url}: .*permission denied$`));
  });

  test('client certificate of another CA: ERR_ETCD_TLS, etcd refused it; its world-readable key is warned about', async () => {
    await chmod(pki.otherClient.key, 0o644);
    const r = await strataLogged([
      ...electionArgs('d-other'),
      ...client('--etcd', { cert: pki.otherClient.cert, key: pki.otherClient.key }),
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(errorLine(r)).toMatch(
      new RegExp(
        `^strata: ERR_ETCD_TLS: etcd ${url}: TLS handshake failed: etcd refused it \\(.*alert.*\\); ` +
          'check --etcd.tls-cert and --etcd.tls-key',
      ),
    );
    expect(r.stderr).toContain('key file is readable by every user');
    expect(r.stderr).toContain(`flag=--etcd.tls-key file=${pki.otherClient.key}`);
  });

  test("etcd's certificate from a CA not given: ERR_ETCD_TLS, not trusted", async () => {
    const r = await strataLogged([
      ...ringArgs('d-ca', 'tls-c3'),
      ...client('--sharding-ring.etcd', { ca: pki.otherCa.cert }),
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(errorLine(r)).toMatch(
      new RegExp(
        `^strata: ERR_ETCD_TLS: etcd ${url}: TLS handshake failed: etcd's certificate is not trusted \\(.+\\); ` +
          'check --sharding-ring.etcd.tls-ca$',
      ),
    );
  });

  test('worker: the planner ring takes the same flags', async () => {
    const r = await strataLogged([
      'worker',
      '--objstore.config-file',
      p('fs.yaml'),
      '--data-dir',
      p('d-worker'),
      '--sharding-ring.store',
      'etcd',
      '--sharding-ring.etcd.endpoints',
      url,
      '--sharding-ring.prefix',
      RING,
      ...client('--sharding-ring.etcd', { passwordFile: p('wrong-password') }),
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(errorLine(r)).toMatch(
      /^strata: ERR_ETCD_AUTH: etcd https:\/\/127\.0\.0\.1:\d+: authentication failed/,
    );
  });

  test('bad flags: one line naming the flag (and the path), before any connection', async () => {
    const cases: { args: string[]; exit: number; line: string | RegExp }[] = [
      {
        args: [...electionArgs('d-flags'), '--etcd.tls-cert', pki.client.cert],
        exit: 1,
        line: 'strata: ERR_TLS_CONFIG: --etcd.tls-cert and --etcd.tls-key must be given together',
      },
      {
        args: [...ringArgs('d-flags', 'x'), '--sharding-ring.etcd.tls-key', pki.client.key],
        exit: 1,
        line: 'strata: ERR_TLS_CONFIG: --sharding-ring.etcd.tls-cert and --sharding-ring.etcd.tls-key must be given together',
      },
      {
        args: [...electionArgs('d-flags'), '--etcd.password-file', p('password')],
        exit: 2,
        line: /^strata: ERR_INVALID_ARGUMENT: --etcd.username and --etcd.password-file must be given together/,
      },
      {
        args: [...electionArgs('d-flags'), ...client('--etcd', { passwordFile: p('no-such-file') })],
        exit: 1,
        line: `strata: ERR_NOT_FOUND: --etcd.password-file: cannot read ${p('no-such-file')}: no such file or directory`,
      },
      {
        args: [
          ...compactArgs('d-flags'),
          '--etcd.endpoints',
          url.replace('https://', 'http://'),
          ...client('--etcd'),
        ],
        exit: 1,
        line: /^strata: ERR_TLS_CONFIG: --etcd.tls-\* turn TLS on, but endpoint http:\/\/127\.0\.0\.1:\d+ is http:\/\/: use https:\/\/$/,
      },
    ];
    const runs = await limited(
      2,
      cases.map((c) => () => strataLogged(c.args)),
    );
    cases.forEach((c, i) => {
      const r = runs[i]!;
      expect(r.code, r.stderr).toBe(c.exit);
      if (typeof c.line === 'string') expect(errorLine(r)).toBe(c.line);
      else expect(errorLine(r)).toMatch(c.line);
    });
  });

  test('no password appears in any output', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(10);
    for (const out of outputs) {
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toContain(WRONG_PASSWORD);
      expect(out).not.toContain(ROOT_PASSWORD);
    }
  });
});
