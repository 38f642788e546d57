/**
 * The label and series endpoints of the Prometheus HTTP API, with Prometheus' JSON shapes:
 * `{"status":"success","data":...,"warnings":[...]}` and errors
 * `{"status":"error","errorType":"bad_data","error":"..."}` (400). Thanos' `dedup` and
 * `partial_response` parameters are honoured. GET or POST (form body).
 */
import { parseSelector, type Matcher } from '../tsdb/index/matchers.js';
import { compareStrings, labelsToRecord } from '../tsdb/labels.js';
import { errorMessage, isStrataError } from '../util/errors.js';
import type { HttpRequest, HttpResponse } from '../util/http.js';
import { mergeSeriesLists, type QSeries } from './merge.js';
import type { Querier, Result } from './querier.js';

const MIN_TIME = Number.MIN_SAFE_INTEGER;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

class BadData extends Error {}

function json(status: number, body: unknown): HttpResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function apiError(status: number, errorType: string, error: string): HttpResponse {
  return json(status, { status: 'error', errorType, error });
}

function params(req: HttpRequest): URLSearchParams {
  const p = new URLSearchParams(req.url.split('?')[1] ?? '');
  if (req.method === 'POST' && req.body !== undefined) {
    for (const [k, v] of new URLSearchParams(req.body)) p.append(k, v);
  }
  return p;
}

/** Prometheus' parseTime: unix seconds with an optional fraction, or RFC 3339; in ms. */
export function parseApiTime(s: string): number {
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    const v = Number(s);
    if (Number.isFinite(v)) {
      const ms = Math.round(v * 1000);
      if (Number.isSafeInteger(ms)) return ms;
    }
  }
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(s)) {
    const t = Date.parse(s);
    if (!Number.isNaN(t)) return t;
  }
  throw new BadData(`cannot parse ${JSON.stringify(s)} to a valid timestamp`);
}

function timeParam(p: URLSearchParams, name: string, dflt: number): number {
  const v = p.get(name);
  if (v === null || v === '') return dflt;
  try {
    return parseApiTime(v);
  } catch (err) {
    throw new BadData(`invalid parameter ${JSON.stringify(name)}: ${errorMessage(err)}`);
  }
}

function boolParam(p: URLSearchParams, name: string): boolean | undefined {
  const v = p.get(name);
  if (v === null || v === '') return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new BadData(`invalid parameter ${JSON.stringify(name)}: ${JSON.stringify(v)} is not true or false`);
}

interface Common {
  start: number;
  end: number;
  matchSets: Matcher[][];
  dedup: boolean | undefined;
  partialResponse: boolean | undefined;
}

function common(req: HttpRequest): Common {
  const p = params(req);
  const start = timeParam(p, 'start', MIN_TIME);
  const end = timeParam(p, 'end', MAX_TIME);
  if (end < start) throw new BadData('end timestamp must not be before start time');
  const matchSets = p.getAll('match[]').map((m) => {
    try {
      return parseSelector(m);
    } catch (err) {
      throw new BadData(`invalid parameter "match[]": ${errorMessage(err)}`);
    }
  });
  return {
    start,
    end,
    matchSets,
    dedup: boolParam(p, 'dedup'),
    partialResponse: boolParam(p, 'partial_response'),
  };
}

function success<T>(r: Result<T>): HttpResponse {
  return json(
    200,
    r.warnings.length > 0
      ? { status: 'success', data: r.value, warnings: r.warnings }
      : { status: 'success', data: r.value },
  );
}

function failure(err: unknown): HttpResponse {
  if (err instanceof BadData) return apiError(400, 'bad_data', err.message);
  if (isStrataError(err) && err.code === 'ERR_INVALID_ARGUMENT')
    return apiError(400, 'bad_data', err.message);
  if (isStrataError(err) && err.code === 'ERR_QUERY_GROUP_FAILED')
    return apiError(503, 'unavailable', err.message);
  return apiError(500, 'internal', errorMessage(err));
}

/** Runs one request per match[] set (or one without matchers) and unions the answers. */
async function perMatchSet<T>(
  c: Common,
  run: (matchers: Matcher[]) => Promise<Result<T>>,
  union: (parts: T[]) => T,
): Promise<Result<T>> {
  const sets = c.matchSets.length > 0 ? c.matchSets : [[]];
  const parts = await Promise.all(sets.map(run));
  return { value: union(parts.map((p) => p.value)), warnings: parts.flatMap((p) => p.warnings) };
}

function unionStrings(parts: string[][]): string[] {
  if (parts.length === 1) return parts[0]!;
  return [...new Set(parts.flat())].sort(compareStrings);
}

export interface ApiHandlers {
  series(req: HttpRequest): Promise<HttpResponse>;
  labels(req: HttpRequest): Promise<HttpResponse>;
  /** Mounted under `/api/v1/label/`: the path is `/api/v1/label/<name>/values`. */
  labelValues(req: HttpRequest): Promise<HttpResponse>;
}

export function apiHandlers(querier: Querier): ApiHandlers {
  const guard =
    (f: (req: HttpRequest) => Promise<HttpResponse>) =>
    async (req: HttpRequest): Promise<HttpResponse> => {
      if (req.method !== 'GET' && req.method !== 'POST') return apiError(405, 'bad_data', 'use GET or POST');
      try {
        return await f(req);
      } catch (err) {
        return failure(err);
      }
    };
  return {
    series: guard(async (req) => {
      const c = common(req);
      if (c.matchSets.length === 0) throw new BadData('no match[] parameter provided');
      const r = await perMatchSet<QSeries[]>(
        c,
        (matchers) =>
          querier.series({
            minTime: c.start,
            maxTime: c.end,
            matchers,
            skipChunks: true,
            ...(c.dedup !== undefined ? { dedup: c.dedup } : {}),
            ...(c.partialResponse !== undefined ? { partialResponse: c.partialResponse } : {}),
          }),
        (parts) => (parts.length === 1 ? parts[0]! : mergeSeriesLists(parts, { func: 'chain' })),
      );
      return success({ value: r.value.map((s) => labelsToRecord(s.labels)), warnings: r.warnings });
    }),
    labels: guard(async (req) => {
      const c = common(req);
      const r = await perMatchSet(c, (matchers) => querier.labelNames(select(c, matchers)), unionStrings);
      return success(r);
    }),
    labelValues: guard(async (req) => {
      const path = req.url.split('?')[0]!;
      const m = /^\/api\/v1\/label\/([^/]+)\/values$/.exec(path);
      if (m === null) return apiError(404, 'bad_data', `no such endpoint ${path}`);
      let name: string;
      try {
        name = decodeURIComponent(m[1]!);
      } catch {
        throw new BadData(`invalid label name ${JSON.stringify(m[1])}`);
      }
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name))
        throw new BadData(`invalid label name: ${JSON.stringify(name)}`);
      const c = common(req);
      const r = await perMatchSet(
        c,
        (matchers) => querier.labelValues(name, select(c, matchers)),
        unionStrings,
      );
      return success(r);
    }),
  };
}

function select(c: Common, matchers: Matcher[]): Parameters<Querier['labelNames']>[0] {
  return {
    minTime: c.start,
    maxTime: c.end,
    matchers,
    ...(c.partialResponse !== undefined ? { partialResponse: c.partialResponse } : {}),
  };
}
