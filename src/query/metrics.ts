/** The querier's metrics on /metrics. */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface QueryMetrics {
  /** Per group and API; outcome success | failed. */
  readonly groupRequests: Counter<'group' | 'api' | 'outcome'>;
  readonly groupLatency: Histogram<'group'>;
  /** Replica groups: the answer came from the member ranked second (the hedge paid off). */
  readonly hedgedWins: Counter<'group'>;
  /** Member requests aborted because another member answered first. */
  readonly cancelled: Counter<'group'>;
  /** Responses served with a warning because a whole group failed. */
  readonly partialResponses: Counter<'api'>;
}

export function createQueryMetrics(registry: Registry): QueryMetrics {
  return {
    groupRequests: new Counter({
      name: 'strata_query_group_requests_total',
      help: 'Requests to store groups, by group, API and outcome.',
      labelNames: ['group', 'api', 'outcome'],
      registers: [registry],
    }),
    groupLatency: new Histogram({
      name: 'strata_query_group_request_duration_seconds',
      help: 'Time until a store group answered (first full answer of a replica group, all of a source group).',
      labelNames: ['group'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    hedgedWins: new Counter({
      name: 'strata_query_hedged_wins_total',
      help: 'Replica group requests answered first by the second of the two members asked.',
      labelNames: ['group'],
      registers: [registry],
    }),
    cancelled: new Counter({
      name: 'strata_query_cancelled_requests_total',
      help: 'Member requests cancelled because another member of the group answered first.',
      labelNames: ['group'],
      registers: [registry],
    }),
    partialResponses: new Counter({
      name: 'strata_query_partial_responses_total',
      help: 'Responses served with a warning because a whole store group failed.',
      labelNames: ['api'],
      registers: [registry],
    }),
  };
}
