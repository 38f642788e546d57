/**
 * A real etcd (Debian's etcd-server, 3.4) for tests: one member or a three-member cluster on
 * free loopback ports, data under a temp dir, every member started through startProcess and
 * stopped by PID. Members can be SIGKILLed or SIGSTOPped and restarted (rejoining with
 * `--initial-cluster-state existing` from their data dir). With `tls`, members serve clients
 * over https and only accept client certificates of the given CA. See docs/test-services.md.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, type TrackedProcess } from '../support/processes.js';

/** Binary; override with STRATA_ETCD. */
export const ETCD = process.env.STRATA_ETCD ?? 'etcd';

export interface EtcdMember {
  readonly name: string;
  /** http://127.0.0.1:PORT */
  readonly clientUrl: string;
  /** PID of the running process (changes on restart). */
  readonly pid: number;
  /** Whether the process is running (possibly stopped by SIGSTOP). */
  running(): boolean;
  /** Stops the process (SIGTERM, SIGKILL after 5 s); a SIGSTOPped member is continued first. */
  stop(): Promise<void>;
  /** Sends a signal: SIGKILL (crash), SIGSTOP (freeze), SIGCONT (thaw). SIGKILL waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Stops the member if it runs, starts it again on the same ports and data, waits until healthy. */
  restart(): Promise<void>;
  /** Everything the current process printed. */
  logs(): string;
}

export interface EtcdCluster {
  /** One client URL per member, for clients that take hosts as an array. */
  readonly endpoints: string[];
  readonly members: EtcdMember[];
  /** The member that is etcd's raft leader now (asks each running member), if any. */
  raftLeader(): Promise<EtcdMember | undefined>;
  /** Stops every member and removes the data. */
  stop(): Promise<void>;
}

/** Client TLS of the members (`--client-cert-auth`), and the client the harness itself uses. */
export interface EtcdTlsFiles {
  readonly cert: string;
  readonly key: string;
  /** CA of the server certificate and of the client certificates etcd accepts. */
  readonly ca: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

export interface StartEtcdOptions {
  members?: 1 | 3;
  tls?: EtcdTlsFiles;
  /** Per-member health wait (default 30 s). */
  timeoutMs?: number;
}

interface MemberSpec {
  tls: EtcdTlsFiles | undefined;
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
}

async function distinctPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function memberArgs(
  spec: MemberSpec,
  initialCluster: string,
  token: string,
  state: 'new' | 'existing',
): string[] {
  const client = `${spec.tls ? 'https' : 'http'}://127.0.0.1:${spec.clientPort}`;
  const peer = `http://127.0.0.1:${spec.peerPort}`;
  const tls = spec.tls
    ? [
        '--cert-file',
        spec.tls.cert,
        '--key-file',
        spec.tls.key,
        '--client-cert-auth',
        '--trusted-ca-file',
        spec.tls.ca,
      ]
    : [];
  return [
    ...tls,
    '--name',
    spec.name,
    '--data-dir',
    spec.dataDir,
    '--listen-client-urls',
    client,
    '--advertise-client-urls',
    client,
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--initial-cluster',
    initialCluster,
    '--initial-cluster-state',
    state,
    '--initial-cluster-token',
    token,
    '--logger',
    'zap',
    '--log-outputs',
    'stderr',
  ];
}

/** One JSON request to a member (over https with the harness's client certificate when TLS is on). */
function requestJson(
  url: string,
  method: 'GET' | 'POST',
  tls: EtcdTlsFiles | undefined,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const options = {
      method,
      timeout: 1000,
      ...(tls
        ? { ca: readFileSync(tls.ca), cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) }
        : {}),
    };
    const req = (tls ? httpsRequest : httpRequest)(url, options, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString('utf8')));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in 1 s`)));
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

/** GET /health answers {"health":"true"} once the member serves requests with a raft leader. */
async function healthy(clientUrl: string, tls: EtcdTlsFiles | undefined): Promise<boolean> {
  const res = await requestJson(`${clientUrl}/health`, 'GET', tls);
  const body = res.body as { health?: unknown };
  return res.status === 200 && body.health === 'true';
}

/** POST /v3/maintenance/status (grpc-gateway): this member's id and its raft leader's id. */
async function status(
  clientUrl: string,
  tls: EtcdTlsFiles | undefined,
): Promise<{ memberId: string; leader: string }> {
  const res = await requestJson(`${clientUrl}/v3/maintenance/status`, 'POST', tls);
  const body = res.body as { header?: { member_id?: string }; leader?: string };
  return { memberId: body.header?.member_id ?? '', leader: body.leader ?? '' };
}

class Member implements EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  private proc: TrackedProcess | undefined;
  private paused = false;

  constructor(
    private readonly spec: MemberSpec,
    private readonly initialCluster: string,
    private readonly token: string,
    private readonly timeoutMs: number,
  ) {
    this.name = spec.name;
    this.clientUrl = `${spec.tls ? 'https' : 'http'}://127.0.0.1:${spec.clientPort}`;
  }

  get pid(): number {
    if (this.proc === undefined) throw new Error(`etcd ${this.name} is not running`);
    return this.proc.pid;
  }

  running(): boolean {
    return this.proc !== undefined && !this.proc.exited();
  }

  logs(): string {
    return this.proc?.output() ?? '';
  }

  start(state: 'new' | 'existing'): void {
    const args = memberArgs(this.spec, this.initialCluster, this.token, state);
    this.proc = startProcess(`etcd-${this.name}`, ETCD, args);
    this.paused = false;
  }

  async waitHealthy(): Promise<void> {
    const proc = this.proc;
    const deadline = Date.now() + this.timeoutMs;
    let lastErr: unknown;
    while (Date.now() < deadline) {
      // An exited member fails at once (waitFor would keep polling until its timeout).
      if (proc === undefined || proc.exited()) {
        throw new Error(`etcd ${this.name} exited:\n${proc?.output().slice(-3000) ?? ''}`);
      }
      try {
        if (await healthy(this.clientUrl, this.spec.tls)) return;
      } catch (err) {
        lastErr = err;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `etcd ${this.name} not healthy after ${this.timeoutMs} ms (${String(lastErr)}):\n` +
        (proc?.output().slice(-3000) ?? ''),
    );
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc === undefined) return;
    if (this.paused) await this.kill('SIGCONT');
    await proc.stop('SIGTERM', 5000);
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exited()) return;
    if (signal === 'SIGKILL') {
      await proc.stop('SIGKILL', 5000);
      return;
    }
    process.kill(proc.pid, signal);
    if (signal === 'SIGSTOP') this.paused = true;
    if (signal === 'SIGCONT') this.paused = false;
  }

  async restart(): Promise<void> {
    await this.stop();
    this.start('existing');
    await this.waitHealthy();
  }
}

async function startOnce(n: 1 | 3, timeoutMs: number, tls: EtcdTlsFiles | undefined): Promise<EtcdCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-etcd-'));
  const ports = await distinctPorts(2 * n);
  const prefix = n === 1 ? 's' : 'm';
  const specs: MemberSpec[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${prefix}${i + 1}`;
    specs.push({
      tls,
      name,
      clientPort: ports[2 * i]!,
      peerPort: ports[2 * i + 1]!,
      dataDir: join(dir, name),
    });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  const token = `strata-${process.pid}-${Date.now()}`;
  const members = specs.map((s) => new Member(s, initialCluster, token, timeoutMs));
  const stop = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const m of members) m.start('new');
    await Promise.all(members.map((m) => m.waitHealthy()));
  } catch (err) {
    await stop();
    throw err;
  }
  const raftLeader = async (): Promise<EtcdMember | undefined> => {
    for (const m of members) {
      if (!m.running()) continue;
      try {
        const st = await status(m.clientUrl, tls);
        if (st.memberId !== '' && st.memberId === st.leader) return m;
      } catch {
        // stopped or not serving: ask the next one
      }
    }
    return undefined;
  };
  return { endpoints: members.map((m) => m.clientUrl), members, raftLeader, stop };
}

/** Starts etcd and waits until every member is healthy; retries on a port taken in between. */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdCluster> {
  const n = opts.members ?? 1;
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(n, opts.timeoutMs ?? 30_000, opts.tls);
    } catch (err) {
      lastErr = err;
      if (!/address already in use/.test(String(err))) break;
    }
  }
  throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
}
