/**
 * deploy/kubernetes/ read for the manifest tests: every YAML document, the containers of the
 * workloads, and the long flags a command's --help lists (strata's commander help, etcd's).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DEPLOY } from './promql-names.js';

/** The kinds the manifests may use, with their apiVersion. */
export const KNOWN_KINDS: Readonly<Record<string, string>> = {
  Namespace: 'v1',
  Secret: 'v1',
  ConfigMap: 'v1',
  Service: 'v1',
  ServiceAccount: 'v1',
  StatefulSet: 'apps/v1',
  Deployment: 'apps/v1',
  PodDisruptionBudget: 'policy/v1',
};

export interface Manifest {
  readonly file: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; labels?: Record<string, string> };
  readonly spec?: WorkloadSpec & ServiceSpec;
  readonly stringData?: Record<string, string>;
}

export interface ServiceSpec {
  clusterIP?: string;
  selector?: Record<string, string>;
  ports?: { name: string; port: number }[];
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface WorkloadSpec {
  replicas?: number;
  serviceName?: string;
  selector?: { matchLabels: Record<string, string> };
  template?: {
    metadata: { labels: Record<string, string> };
    spec: { containers: Container[]; volumes?: { name: string; secret?: { secretName: string } }[] };
  };
}

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await yamlFiles(p)));
    else if (e.name.endsWith('.yaml')) out.push(p);
  }
  return out.sort();
}

/** Every document of every deploy/kubernetes YAML file; throws naming the file on a YAML error. */
export async function manifests(): Promise<Manifest[]> {
  const root = join(DEPLOY, 'kubernetes');
  const out: Manifest[] = [];
  for (const path of await yamlFiles(root)) {
    const file = relative(root, path);
    for (const doc of parseAllDocuments(await readFile(path, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const m = doc.toJS() as Omit<Manifest, 'file'> | null;
      if (m !== null) out.push({ ...m, file });
    }
  }
  return out;
}

export interface Flag {
  readonly name: string;
  /** Takes a value (`--flag <value>` in the help). */
  readonly takesValue: boolean;
}

/**
 * The options of a commander help text: lines `  [-x, ]--name [<value>]  description` (wrapped
 * description lines are indented further and never start an option).
 */
export function commanderFlags(help: string): Map<string, Flag> {
  const out = new Map<string, Flag>();
  for (const m of help.matchAll(/^ {2}(?:-\w, )?--([a-z0-9][a-z0-9.-]*)( <[^>]+>)?/gm)) {
    out.set(m[1]!, { name: m[1]!, takesValue: m[2] !== undefined });
  }
  return out;
}

/** The options of `etcd --help`: lines `  --name 'default'` (a value) or `  --flag` (a boolean). */
export function etcdFlags(help: string): Map<string, Flag> {
  const out = new Map<string, Flag>();
  for (const m of help.matchAll(/^ {2}--([a-z0-9][a-z0-9.-]*)( \S+)?/gm)) {
    out.set(m[1]!, { name: m[1]!, takesValue: m[2] !== undefined });
  }
  return out;
}

/** `--name=value` or `--name` of an args list (a flag and its value as one element each time). */
export function parseArgFlags(args: readonly string[]): { name: string; value: string | undefined }[] {
  return args
    .filter((a) => a.startsWith('--'))
    .map((a) => {
      const eq = a.indexOf('=');
      return eq < 0
        ? { name: a.slice(2), value: undefined }
        : { name: a.slice(2, eq), value: a.slice(eq + 1) };
    });
}

/** The value of `--name=value` in args (the last one). */
export function argValue(args: readonly string[], name: string): string | undefined {
  return parseArgFlags(args)
    .filter((f) => f.name === name)
    .pop()?.value;
}
