/**
 * One entry point for the CLI: etcd when endpoints are configured (`--etcd.endpoints`),
 * otherwise the single-node always-leader election.
 */
import { createAlwaysLeaderElection } from './always.js';
import type { Election } from './election.js';
import { createEtcdElection, type EtcdElectionOptions } from './etcd.js';

export type ElectionConfig = Omit<EtcdElectionOptions, 'endpoints'> & {
  /** Empty or absent: no etcd, this process is the only candidate. */
  endpoints?: readonly string[];
};

export function createElection(config: ElectionConfig): Election {
  const { endpoints, ...rest } = config;
  if (endpoints === undefined || endpoints.length === 0) {
    return createAlwaysLeaderElection({
      address: rest.address,
      ...(rest.id !== undefined ? { id: rest.id } : {}),
      ...(rest.logger !== undefined ? { logger: rest.logger } : {}),
      ...(rest.clock !== undefined ? { clock: rest.clock } : {}),
    });
  }
  return createEtcdElection({ ...rest, endpoints });
}
