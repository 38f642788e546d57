/**
 * Key layout of an election under a prefix, compatible with etcd's own election recipe (Go
 * `concurrency.Election`, `etcdctl elect`): one key per candidate, attached to its lease; the
 * key with the lowest create revision is the leader; its value is the published address.
 *
 *   <prefix><encodeURIComponent(id)>/<lease id in hex>  =  <address>
 *
 * So `etcdctl elect -l <prefix without trailing slash>` and `etcdctl get --prefix <prefix>`
 * show the leader's address.
 */
import type { IKeyValue } from 'etcd3';
import { InvalidArgumentError } from '../util/errors.js';
import type { LeaderInfo } from './election.js';

/** The prefix with exactly one trailing '/'. */
export function normalizePrefix(prefix: string): string {
  const p = prefix.replace(/\/+$/, '');
  if (p === '') throw new InvalidArgumentError('election key prefix must not be empty');
  return `${p}/`;
}

export function candidateKey(prefix: string, id: string, leaseId: string): string {
  return `${prefix}${encodeURIComponent(id)}/${BigInt(leaseId).toString(16)}`;
}

/** The leader published by a key under `prefix` (keys written by other tools: id = key suffix). */
export function leaderFromKv(prefix: string, kv: IKeyValue): LeaderInfo {
  const rest = kv.key.toString('utf8').slice(prefix.length);
  const slash = rest.lastIndexOf('/');
  let id = rest;
  if (slash > 0) {
    try {
      id = decodeURIComponent(rest.slice(0, slash));
    } catch {
      id = rest.slice(0, slash);
    }
  }
  return { id, address: kv.value.toString('utf8'), epoch: Number(kv.create_revision) };
}
