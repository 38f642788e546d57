/**
 * deploy/kubernetes/ and deploy/grafana/: the YAML parses, every kind is known, every flag of
 * every container exists in the --help of the command it runs (strata's commands, etcd), values
 * are given exactly to the flags that take one, addresses name pods and ports that exist, the
 * objstore Secret is mounted where --objstore.config-file points and parses as an objstore
 * config; the dashboards are valid JSON with unique uids and a $datasource variable.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseObjstoreConfig } from '../../src/objstore/config.js';
import { REPO, ensureBuilt } from '../support/build.js';
import { assertNoLeakedProcesses, startProcess } from '../support/processes.js';
import { strata } from '../cli/run.js';
import { ETCD } from '../services/etcd.js';
import {
  KNOWN_KINDS,
  argValue,
  commanderFlags,
  etcdFlags,
  manifests,
  parseArgFlags,
  type Container,
  type Flag,
  type Manifest,
} from './manifests.js';
import { dashboards, ruleFiles } from './promql-names.js';

const COMMANDS = ['compact', 'planner', 'worker', 'store', 'query'] as const;
const help = new Map<string, Map<string, Flag>>();
let all: Manifest[] = [];

async function etcdHelp(): Promise<string> {
  const p = startProcess('etcd --help', ETCD, ['--help']);
  let out = '';
  p.child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  p.child.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  await new Promise<void>((r) => p.child.once('close', () => r()));
  return out;
}

beforeAll(async () => {
  await ensureBuilt();
  const [helps, etcd, ms] = await Promise.all([
    Promise.all(COMMANDS.map((c) => strata([c, '--help']))),
    etcdHelp(),
    manifests(),
  ]);
  COMMANDS.forEach((c, i) => {
    expect(helps[i]!.code, `strata ${c} --help`).toBe(0);
    help.set(c, commanderFlags(helps[i]!.stdout));
  });
  help.set('etcd', etcdFlags(etcd));
  all = ms;
}, 120_000);

afterAll(async () => {
  await assertNoLeakedProcesses();
});

interface Workload {
  readonly m: Manifest;
  readonly c: Container;
  /** strata's subcommand, or `etcd`. */
  readonly command: string;
  /** The flags (args without the subcommand). */
  readonly args: string[];
}

function workloads(): Workload[] {
  const out: Workload[] = [];
  for (const m of all) {
    for (const c of m.spec?.template?.spec.containers ?? []) {
      const cmd = c.command?.[0];
      if (cmd === 'strata') out.push({ m, c, command: c.args![0]!, args: c.args!.slice(1) });
      else if (cmd === 'etcd') out.push({ m, c, command: 'etcd', args: c.args ?? [] });
      else throw new Error(`${m.file} ${m.metadata.name}: container ${c.name} runs ${String(cmd)}`);
    }
  }
  return out;
}

function byKind(kind: string): Manifest[] {
  return all.filter((m) => m.kind === kind);
}

describe('help parsing', () => {
  it('finds every option of strata compact --help, with and without values', () => {
    const f = help.get('compact')!;
    expect(f.get('wait')).toEqual({ name: 'wait', takesValue: false });
    expect(f.get('sharding-ring.instance-id')).toEqual({
      name: 'sharding-ring.instance-id',
      takesValue: true,
    });
    expect(f.get('objstore.config-file')?.takesValue).toBe(true);
    expect(f.has('no-sync-checkpoint')).toBe(true);
    expect(f.size).toBeGreaterThan(40);
    // query's help wraps descriptions: continuation lines are not options.
    expect([...help.get('query')!.keys()].every((k) => !k.includes(' '))).toBe(true);
    expect(help.get('query')!.has('endpoint')).toBe(true);
    expect(help.get('etcd')!.has('initial-cluster')).toBe(true);
  });
});

describe('kubernetes manifests', () => {
  it('parse, and every document has a known kind with its apiVersion and a name', () => {
    expect(all.length).toBeGreaterThanOrEqual(15);
    for (const m of all) {
      expect(Object.keys(KNOWN_KINDS), `${m.file}: kind ${m.kind}`).toContain(m.kind);
      expect(m.apiVersion, `${m.file} ${m.kind}`).toBe(KNOWN_KINDS[m.kind]);
      expect(m.metadata?.name, m.file).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    const names = all.map((m) => `${m.kind}/${m.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it('every flag of every container exists in the --help of its command, values exactly where taken', () => {
    const ws = workloads();
    expect(new Set(ws.map((w) => w.command))).toEqual(new Set([...COMMANDS, 'etcd']));
    let checked = 0;
    for (const w of ws) {
      const flags = help.get(w.command);
      expect(flags, `${w.m.file}: unknown command ${w.command}`).toBeDefined();
      for (const a of w.args) expect(a, `${w.m.file}: ${a} is not --flag[=value]`).toMatch(/^--/);
      for (const f of parseArgFlags(w.args)) {
        const where = `${w.m.file} ${w.m.metadata.name}: --${f.name}`;
        const known = flags!.get(f.name);
        expect(known, `${where} is not in ${w.command} --help`).toBeDefined();
        if (w.command !== 'etcd') {
          expect(f.value !== undefined && f.value !== '', `${where}: value given?`).toBe(known!.takesValue);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(60);
  });

  it('selectors match the pod labels; StatefulSets name an existing headless Service', () => {
    const services = new Map(byKind('Service').map((s) => [s.metadata.name, s]));
    for (const m of [...byKind('StatefulSet'), ...byKind('Deployment')]) {
      const labels = m.spec!.template!.metadata.labels;
      for (const [k, v] of Object.entries(m.spec!.selector!.matchLabels))
        expect(labels[k], m.metadata.name).toBe(v);
      if (m.kind === 'StatefulSet') {
        const svc = services.get(m.spec!.serviceName!);
        expect(svc, `${m.metadata.name}: service ${m.spec!.serviceName}`).toBeDefined();
        expect(svc!.spec!.clusterIP).toBe('None');
        for (const [k, v] of Object.entries(svc!.spec!.selector!))
          expect(labels[k], svc!.metadata.name).toBe(v);
      }
    }
  });

  it('the layout asked for: 2 planners with etcd, workers, 3 etcd members, a sharded compactor, two store groups and a querier', () => {
    const ws = workloads();
    const one = (cmd: string): Workload[] => ws.filter((w) => w.command === cmd);
    expect(one('etcd').map((w) => w.m.spec!.replicas)).toEqual([3]);
    const [planner] = one('planner');
    expect(planner!.m.spec!.replicas).toBe(2);
    expect(argValue(planner!.args, 'etcd.endpoints')?.split(',')).toHaveLength(3);
    expect(one('worker')).toHaveLength(1);
    const [compact] = one('compact');
    expect(compact!.m.kind).toBe('StatefulSet');
    expect(argValue(compact!.args, 'sharding-ring.store')).toBe('etcd');
    expect(compact!.args).toContain('--wait');
    const stores = one('store');
    expect(stores.map((w) => w.m.kind)).toEqual(['StatefulSet', 'StatefulSet']);
    const groups = stores.map((w) => argValue(w.args, 'store.group-id'));
    expect(new Set(groups).size).toBe(2);
    expect(one('query')).toHaveLength(1);
  });

  it('strata pods are labelled with the job names the up alert selects', async () => {
    const names = new Set(
      workloads()
        .filter((w) => w.command !== 'etcd')
        .map((w) => w.m.spec!.template!.metadata.labels['app.kubernetes.io/name']),
    );
    expect(names).toEqual(
      new Set(['strata-compact', 'strata-planner', 'strata-worker', 'strata-store', 'strata-query']),
    );
    const down = (await ruleFiles())
      .flatMap((f) => f.file.groups.flatMap((g) => g.rules))
      .find((r) => r.alert === 'StrataProcessDown');
    const selector = /job=~"([^"]+)"/.exec(down!.expr)![1]!;
    // PromQL regex matchers are anchored at both ends.
    for (const n of names) expect(n).toMatch(new RegExp(`^(?:${selector})$`));
  });

  it('addresses in --planner.address, --endpoint and etcd endpoints name existing pods and ports', () => {
    const sets = new Map(byKind('StatefulSet').map((s) => [s.metadata.name, s]));
    const ws = workloads();
    /** The port the pods of a StatefulSet listen on for a flag, from their container args or ports. */
    const check = (addr: string, where: string, port: (sts: Manifest) => number[]): void => {
      const m = /^(.+)-(\d+)\.([a-z0-9-]+):(\d+)$/.exec(addr);
      expect(m, `${where}: ${addr} is not <statefulset>-<i>.<service>:<port>`).not.toBeNull();
      const sts = sets.get(m![1]!);
      expect(sts, `${where}: ${addr}: no StatefulSet ${m![1]}`).toBeDefined();
      expect(Number(m![2]), `${where}: ${addr}: replicas`).toBeLessThan(sts!.spec!.replicas!);
      expect(m![3], `${where}: ${addr}: service`).toBe(sts!.spec!.serviceName);
      expect(port(sts!), `${where}: ${addr}: port`).toContain(Number(m![4]));
    };
    const grpcPort = (sts: Manifest): number[] => {
      const c = sts.spec!.template!.spec.containers[0]!;
      return [Number(argValue(c.args!, 'grpc-address')?.split(':').pop())];
    };
    const etcdPort = (sts: Manifest): number[] =>
      sts
        .spec!.template!.spec.containers[0]!.ports!.filter((p) => p.name === 'client')
        .map((p) => p.containerPort);
    let n = 0;
    for (const w of ws) {
      for (const f of parseArgFlags(w.args)) {
        const where = `${w.m.metadata.name} --${f.name}`;
        const list = f.value?.split(',') ?? [];
        if (f.name === 'planner.address' || f.name === 'endpoint')
          list.forEach((a) => check(a, where, grpcPort));
        else if (f.name === 'etcd.endpoints' || f.name === 'sharding-ring.etcd.endpoints')
          list.forEach((a) => check(a, where, etcdPort));
        else continue;
        n += list.length;
      }
    }
    // 2 planners, 4 store pods, 3 etcd members twice.
    expect(n).toBe(12);
  });

  it('the objstore config comes from a Secret mounted as the file --objstore.config-file names', () => {
    const secrets = new Map(byKind('Secret').map((s) => [s.metadata.name, s]));
    const strataWorkloads = workloads().filter((w) => w.command !== 'etcd' && w.command !== 'query');
    expect(strataWorkloads.length).toBe(5);
    for (const w of strataWorkloads) {
      const file = argValue(w.args, 'objstore.config-file');
      expect(file, w.m.metadata.name).toBeDefined();
      expect(
        w.args.some((a) => a.startsWith('--objstore.config=')),
        w.m.metadata.name,
      ).toBe(false);
      const mount = w.c.volumeMounts!.find((v) => file!.startsWith(`${v.mountPath}/`));
      expect(mount, `${w.m.metadata.name}: nothing mounted for ${file}`).toBeDefined();
      const volume = w.m.spec!.template!.spec.volumes!.find((v) => v.name === mount!.name);
      const secret = secrets.get(volume!.secret!.secretName);
      expect(secret, `${w.m.metadata.name}: secret ${volume!.secret!.secretName}`).toBeDefined();
      const key = file!.slice(mount!.mountPath.length + 1);
      const text = secret!.stringData![key];
      expect(text, `${w.m.metadata.name}: key ${key}`).toBeDefined();
      expect(parseObjstoreConfig(text!, key).type).toBe('S3');
    }
  });
});

describe('grafana dashboards', () => {
  it('parse as JSON, one per component, unique uids, schemaVersion and a $datasource variable used by every panel', async () => {
    const ds = await dashboards();
    expect(ds.map((d) => d.path.replace(join(REPO, 'deploy/grafana/'), ''))).toEqual([
      'strata-compactor.json',
      'strata-planner.json',
      'strata-querier.json',
      'strata-store.json',
    ]);
    const uids = ds.map((d) => d.dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const { path, dashboard: d } of ds) {
      expect(d.uid, path).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
      expect(d.schemaVersion, path).toBeGreaterThanOrEqual(30);
      const v = d.templating.list.find((x) => x.name === 'datasource');
      expect(v, path).toMatchObject({ type: 'datasource', query: 'prometheus' });
      const queryPanels = d.panels.filter((p) => p.type !== 'row');
      expect(queryPanels.length, path).toBeGreaterThanOrEqual(5);
      for (const p of queryPanels) {
        expect(p.datasource?.uid, `${path} ${p.title}`).toBe('${datasource}');
        expect(p.targets?.length, `${path} ${p.title}`).toBeGreaterThan(0);
      }
    }
  });
});
