/**
 * A real S3 endpoint for tests: OpenStack Swift with the s3api middleware on loopback (see
 * docs/test-services.md). Everything lives under one temp dir, every server listens on a free
 * port on 127.0.0.1, and every process goes through startProcess and is stopped by PID.
 */
import { createConnection } from 'node:net';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort, startProcess, waitFor, type TrackedProcess } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';

export interface SwiftService {
  /** http://127.0.0.1:PORT, for path-style S3 clients. */
  readonly endpoint: string;
  readonly region: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** Where the object server keeps its data (object files under `<dataDir>/d1/objects`). */
  readonly dataDir: string;
  /** Creates a fresh, empty bucket and returns its name. */
  bucketName(): Promise<string>;
  /** Stops every process by PID and removes the temp dir. */
  stop(): Promise<void>;
}

const PYTHON = '/usr/bin/python3';
const MEMCACHED = '/usr/bin/memcached';
const BINARIES = [
  PYTHON,
  MEMCACHED,
  ...['account', 'container', 'object', 'proxy'].map((k) => `/usr/bin/swift-${k}-server`),
];
const ACCESS_KEY = 'test:tester';
const SECRET_KEY = registerSecret('strata-swift-secret-4e1d9b', 'the Swift S3 secret key');
const REGION = 'us-east-1';

// One python process builds all three rings (nine swift-ring-builder calls take ~11 s).
const RING_SCRIPT = `
import sys
from swift.common.ring import RingBuilder
swift_dir = sys.argv[1]
for name, port in zip(('account', 'container', 'object'), sys.argv[2:5]):
    b = RingBuilder(8, 1, 1)
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': int(port),
               'device': 'd1', 'weight': 100.0, 'meta': ''})
    b.rebalance()
    b.get_ring().save('%s/%s.ring.gz' % (swift_dir, name))
`;

interface Ports {
  account: number;
  container: number;
  object: number;
  proxy: number;
  memcached: number;
}

async function distinctFreePorts(): Promise<Ports> {
  const seen = new Set<number>();
  const next = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (!seen.has(p)) {
        seen.add(p);
        return p;
      }
    }
  };
  return {
    account: await next(),
    container: await next(),
    object: await next(),
    proxy: await next(),
    memcached: await next(),
  };
}

function backendConf(
  kind: 'account' | 'container' | 'object',
  dir: string,
  port: number,
  user: string,
): string {
  return `[DEFAULT]
devices = ${dir}/node
mount_check = false
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
user = ${user}
swift_dir = ${dir}/etc
log_address = /nonexistent-devlog
log_level = WARNING
recon_cache_path = ${dir}/cache
disable_fallocate = true
fallocate_reserve = 0
bind_timeout = 3

[pipeline:main]
pipeline = ${kind}-server

[app:${kind}-server]
use = egg:swift#${kind}
`;
}

export interface SwiftOptions {
  /**
   * Swift's at-rest encryption (keymaster + encryption middleware): object data and metadata are
   * stored encrypted, and s3api then accepts SSE-S3 (x-amz-server-side-encryption: AES256).
   */
  encryption?: boolean;
}

// A fixed test root secret (base64 of 32 bytes): the data dir is thrown away after each run.
const ENCRYPTION_ROOT_SECRET = registerSecret(
  Buffer.from('strata-swift-root-secret-5c2e8f1a').toString('base64'),
  'the Swift encryption root secret',
);

function proxyConf(dir: string, ports: Ports, user: string, options: SwiftOptions): string {
  const crypto = options.encryption === true;
  const filters = [
    'catch_errors',
    'gatekeeper',
    'healthcheck',
    'proxy-logging',
    'listing_formats',
    'bulk',
    'copy',
    'slo',
    'dlo',
    'versioned_writes',
    'symlink',
  ]
    .map((f) => `[filter:${f}]\nuse = egg:swift#${f.replace('-', '_')}\n`)
    .join('\n');
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${ports.proxy}
workers = 0
user = ${user}
swift_dir = ${dir}/etc
log_address = /nonexistent-devlog
log_level = WARNING
bind_timeout = 3

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo versioned_writes symlink ${crypto ? 'keymaster encryption ' : ''}proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = ${REGION}
s3_acl = false
allow_multipart_uploads = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = ${SECRET_KEY} .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${ports.memcached}
${
  crypto
    ? `
[filter:keymaster]
use = egg:swift#keymaster
encryption_root_secret = ${ENCRYPTION_ROOT_SECRET}

[filter:encryption]
use = egg:swift#encryption
`
    : ''
}
${filters}`;
}

const SWIFT_CONF = `[swift-hash]
swift_hash_path_prefix = strata-test
swift_hash_path_suffix = strata-test

[storage-policy:0]
name = Policy-0
default = yes
`;

/** Exit code of a short-lived helper; one that overruns is stopped (never left running). */
async function waitForExit(proc: TrackedProcess, timeoutMs: number): Promise<number | null> {
  const exited = new Promise<void>((resolve) => {
    if (proc.exited()) resolve();
    else proc.child.once('exit', () => resolve());
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs);
  });
  const late = await Promise.race([exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    await proc.stop('SIGKILL', 1000);
    throw new Error(`${proc.name} did not finish in ${timeoutMs} ms: ${proc.output().slice(-2000)}`);
  }
  return proc.child.exitCode;
}

/** Polls `probe` until it returns true; `fatal` throws to stop at once (a server died). */
async function poll(
  what: string,
  fatal: () => void,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    fatal();
    try {
      if (await probe()) return;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`,
  );
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Swift keeps object metadata in user xattrs; some tmpfs mounts refuse them. */
async function supportsXattrs(dir: string): Promise<boolean> {
  const probe = startProcess('swift-xattr-probe', PYTHON, [
    '-c',
    "import os, sys; os.setxattr(sys.argv[1], 'user.strata.probe', b'1')",
    dir,
  ]);
  return (await waitForExit(probe, 10_000)) === 0;
}

/** A temp dir for Swift's data on a filesystem with xattrs: $STRATA_SWIFT_TMPDIR, the OS temp dir, /var/tmp. */
async function makeDataDir(): Promise<string> {
  const bases = [process.env.STRATA_SWIFT_TMPDIR, tmpdir(), '/var/tmp'].filter((b): b is string => !!b);
  for (const base of bases) {
    let dir: string;
    try {
      dir = await mkdtemp(join(base, 'strata-swift-'));
    } catch {
      continue;
    }
    if (await supportsXattrs(dir)) return dir;
    await rm(dir, { recursive: true, force: true });
  }
  throw new Error(`no temp dir with user xattr support among ${bases.join(', ')} (set STRATA_SWIFT_TMPDIR)`);
}

/**
 * Starts Swift + s3api on loopback. A port taken between picking and binding (other tests run in
 * parallel) makes a server exit; startup then begins again on new ports.
 */
export async function startSwift(attempts = 3, options: SwiftOptions = {}): Promise<SwiftService> {
  const missing: string[] = [];
  for (const bin of BINARIES) {
    try {
      await access(bin, constants.X_OK);
    } catch {
      missing.push(bin);
    }
  }
  if (missing.length > 0) {
    throw new Error(`Swift test service: missing ${missing.join(', ')} (run scripts/install-deps.sh)`);
  }
  let lastErr: unknown;
  for (let i = 1; i <= attempts; i++) {
    try {
      return await startSwiftOnce(options);
    } catch (err) {
      lastErr = err;
    }
  }
  throw lastErr;
}

async function startSwiftOnce(options: SwiftOptions): Promise<SwiftService> {
  const dir = await makeDataDir();
  const procs: TrackedProcess[] = [];
  const user = userInfo().username;
  let client: S3Client | undefined;

  const stop = async (): Promise<void> => {
    client?.destroy();
    // Proxy first so nothing is mid-request against the backends when they go; memcached last.
    const order = (p: TrackedProcess): number =>
      p.name === 'swift-proxy-server' ? 0 : p.name === 'memcached' ? 2 : 1;
    for (const p of [...procs].sort((a, b) => order(a) - order(b))) await p.stop('SIGTERM', 5000);
    procs.length = 0;
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const ports = await distinctFreePorts();
    await Promise.all([
      mkdir(join(dir, 'etc')),
      mkdir(join(dir, 'node', 'd1'), { recursive: true }),
      mkdir(join(dir, 'cache')),
    ]);
    await Promise.all([
      writeFile(join(dir, 'etc', 'swift.conf'), SWIFT_CONF),
      writeFile(join(dir, 'etc', 'account-server.conf'), backendConf('account', dir, ports.account, user)),
      writeFile(
        join(dir, 'etc', 'container-server.conf'),
        backendConf('container', dir, ports.container, user),
      ),
      writeFile(join(dir, 'etc', 'object-server.conf'), backendConf('object', dir, ports.object, user)),
      writeFile(join(dir, 'etc', 'proxy-server.conf'), proxyConf(dir, ports, user, options)),
    ]);

    const rings = startProcess('swift-rings', PYTHON, [
      '-c',
      RING_SCRIPT,
      join(dir, 'etc'),
      String(ports.account),
      String(ports.container),
      String(ports.object),
    ]);
    const memcached = startProcess('memcached', MEMCACHED, [
      '-l',
      '127.0.0.1',
      '-p',
      String(ports.memcached),
      '-U',
      '0',
      '-m',
      '64',
      '-t',
      '1',
      ...(process.getuid?.() === 0 ? ['-u', 'root'] : []),
    ]);
    procs.push(memcached);
    const ringCode = await waitForExit(rings, 30_000);
    if (ringCode !== 0) throw new Error(`building swift rings failed (${ringCode}): ${rings.output()}`);

    // The proxy loads the longest pipeline, so it starts first. Swift servers setsid() themselves,
    // so the killpg in their SIGTERM handler stays inside their own process group.
    procs.push(
      startProcess('swift-proxy-server', '/usr/bin/swift-proxy-server', [
        join(dir, 'etc', 'proxy-server.conf'),
        '-v',
      ]),
    );
    for (const kind of ['account', 'container', 'object'] as const) {
      procs.push(
        startProcess(`swift-${kind}-server`, `/usr/bin/swift-${kind}-server`, [
          join(dir, 'etc', `${kind}-server.conf`),
          '-v',
        ]),
      );
    }

    const endpoint = `http://127.0.0.1:${ports.proxy}`;
    const failFast = (): void => {
      const dead = procs.find((p) => p.exited());
      if (dead) throw new Error(`${dead.name} exited during startup: ${dead.output().slice(-4000)}`);
    };
    await poll('swift servers to listen', failFast, 30_000, async () => {
      for (const port of [ports.memcached, ports.account, ports.container, ports.object]) {
        if (!(await tcpOpen(port))) return false;
      }
      return (await fetch(`${endpoint}/healthcheck`)).ok;
    });

    client = new S3Client({
      endpoint,
      region: REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    });
    const s3 = client;
    // Ready means the whole path works: account autocreate, container and object servers.
    await poll('swift s3api to accept writes', failFast, 30_000, async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'strata-ready' }));
      await s3.send(new PutObjectCommand({ Bucket: 'strata-ready', Key: 'probe', Body: 'ok' }));
      return true;
    });

    let seq = 0;
    const bucketName = async (): Promise<string> => {
      seq += 1;
      const name = `strata-${process.pid}-${Date.now().toString(36)}-${seq}`;
      await waitFor(`bucket ${name}`, async () => {
        await s3.send(new CreateBucketCommand({ Bucket: name }));
        return true;
      });
      return name;
    };

    return {
      endpoint,
      region: REGION,
      accessKey: ACCESS_KEY,
      secretKey: SECRET_KEY,
      dataDir: join(dir, 'node'),
      bucketName,
      stop,
    };
  } catch (err) {
    const logs = procs.map((p) => `--- ${p.name}\n${p.output().slice(-2000)}`).join('\n');
    await stop();
    throw new Error(`starting swift failed: ${String(err)}\n${logs}`, { cause: err });
  }
}
