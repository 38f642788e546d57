/**
 * The Blocks JSON APIs: `/api/v1/blocks` (Thanos' shape, plus paging, filters and markers),
 * `/api/v1/strata/tenants`, `/api/v1/strata/blocks/timeline`, `/api/v1/strata/blocks/partial`,
 * `/api/v1/strata/blocks/meta` (one block's meta.json), and `POST /api/v1/blocks/mark`.
 */
import type { CsrfToken } from '../util/csrf.js';
import { errorMessage, InvalidArgumentError } from '../util/errors.js';
import type { HttpEndpoint, HttpRequest, HttpResponse } from '../util/http.js';
import type { Logger } from '../util/logger.js';
import type { BlockMarker } from '../tsdb/markers.js';
import { newDeletionMark, newNoCompactMark, newNoDownsampleMark } from '../tsdb/markers.js';
import { isUlid } from '../tsdb/ulid.js';
import { jsonResponse } from './mount.js';
import { UI_SECURITY_HEADERS } from './assets.js';
import type { BlocksView, TenantIndex } from './blocks-index.js';
import { parseBlockQuery, parseFilter, parseTimelineLimit } from './blocks-query.js';
import type { BlockSource } from './blocks-source.js';
import type { BlockMarkers, BlocksData, TenantsData } from './blocks-types.js';

export interface BlocksApiOptions {
  source: BlockSource;
  /** Writes a marker to the bucket; undefined when this process cannot write (read-only views). */
  writeMarker?: (tenant: string, marker: BlockMarker) => Promise<'written' | 'exists'>;
  csrf: CsrfToken;
  adminOperations: boolean;
  logger: Logger;
  now?: () => number;
}

/** Stable texts of refused mark requests (clients and tests match on them). */
export const ADMIN_DISABLED = 'admin operations are disabled (--disable-admin-operations)';
export const BAD_CSRF = 'missing or wrong csrf_token';
const MARK_ACTIONS = ['DELETION', 'NO_COMPACTION', 'NO_DOWNSAMPLE'] as const;

class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

const badData = (msg: string): ApiFailure => new ApiFailure(400, 'bad_data', msg);

function fail(err: unknown): HttpResponse {
  if (err instanceof ApiFailure)
    return jsonResponse(err.status, { status: 'error', errorType: err.errorType, error: err.message });
  if (err instanceof InvalidArgumentError)
    return jsonResponse(400, { status: 'error', errorType: 'bad_data', error: err.message });
  return jsonResponse(500, { status: 'error', errorType: 'internal', error: errorMessage(err) });
}

function query(req: HttpRequest): URLSearchParams {
  return new URL(req.url, 'http://ui.invalid').searchParams;
}

function viewOf(source: BlockSource): BlocksView {
  const v = source.view();
  if (v === undefined) throw new ApiFailure(503, 'unavailable', 'blocks not synced yet; retry shortly');
  return v;
}

/** The tenant a request names: required in the multi-tenant layout, absent in the single one. */
function tenantOf(
  source: BlockSource,
  view: BlocksView,
  p: URLSearchParams,
): { name: string; idx: TenantIndex } {
  const t = p.get('tenant') ?? '';
  if (!source.multiTenant) {
    if (t !== '') throw badData(`parameter tenant: this bucket has the single-tenant layout (no tenants)`);
  } else if (t === '') {
    throw badData('parameter tenant: required in the multi-tenant layout (see /api/v1/strata/tenants)');
  }
  const idx = view.tenant(t);
  if (idx === undefined)
    throw new ApiFailure(404, 'not_found', `unknown tenant ${JSON.stringify(t.slice(0, 100))}`);
  return { name: t, idx };
}

const get =
  (h: (req: HttpRequest) => HttpResponse) =>
  async (req: HttpRequest): Promise<HttpResponse> => {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return jsonResponse(405, {
        status: 'error',
        errorType: 'bad_data',
        error: 'method not allowed: use GET',
      });
    try {
      return h(req);
    } catch (err) {
      return fail(err);
    }
  };

export function mountBlocksApi(http: HttpEndpoint, o: BlocksApiOptions): void {
  const now = o.now ?? Date.now;
  http.mount(
    '/api/v1/blocks',
    get((req) => {
      const p = query(req);
      const q = parseBlockQuery(p);
      const view = viewOf(o.source);
      const { name, idx } = tenantOf(o.source, view, p);
      const page = idx.page(q);
      const markers: Record<string, BlockMarkers> = {};
      for (const m of page.metas) {
        const mk = idx.markersOf(m.ulid);
        if (mk !== undefined) markers[m.ulid] = mk;
      }
      const data: BlocksData = {
        blocks: page.metas,
        label: '',
        err: view.snapshot.error ?? null,
        refreshedAt: view.refreshedAt,
        tenant: name,
        total: page.total,
        offset: q.offset,
        limit: q.limit,
        markers,
      };
      return jsonResponse(200, { status: 'success', data });
    }),
  );
  http.mount(
    '/api/v1/strata/tenants',
    get(() => {
      const view = viewOf(o.source);
      const data: TenantsData = {
        multiTenant: o.source.multiTenant,
        refreshedAt: view.refreshedAt,
        tenants: view.tenantNames().map((name) => {
          const idx = view.tenant(name)!;
          return { name, blocks: idx.size, partial: idx.partial.length };
        }),
      };
      return jsonResponse(200, { status: 'success', data });
    }),
  );
  http.mount(
    '/api/v1/strata/blocks/timeline',
    get((req) => {
      const p = query(req);
      const f = parseFilter(p);
      const limit = parseTimelineLimit(p);
      const view = viewOf(o.source);
      const { name, idx } = tenantOf(o.source, view, p);
      return jsonResponse(200, { status: 'success', data: idx.timeline(f, limit, name, view.refreshedAt) });
    }),
  );
  http.mount(
    '/api/v1/strata/blocks/partial',
    get((req) => {
      const p = query(req);
      const view = viewOf(o.source);
      const { name, idx } = tenantOf(o.source, view, p);
      return jsonResponse(200, { status: 'success', data: { tenant: name, partial: idx.partial } });
    }),
  );
  http.mount(
    '/api/v1/strata/blocks/meta',
    get((req) => {
      const p = query(req);
      const view = viewOf(o.source);
      const { idx } = tenantOf(o.source, view, p);
      const id = blockId(p.get('id'));
      const meta = idx.get(id);
      if (meta === undefined) throw new ApiFailure(404, 'not_found', `unknown block ${id}`);
      return {
        status: 200,
        headers: {
          'content-type': 'application/json',
          'content-disposition': `attachment; filename="meta.json"`,
          'cache-control': 'no-store',
          ...UI_SECURITY_HEADERS,
        },
        body: JSON.stringify(meta, null, 2) + '\n',
      };
    }),
  );
  http.mount('/api/v1/blocks/mark', async (req) => {
    try {
      if (req.method !== 'POST') throw new ApiFailure(405, 'bad_data', 'method not allowed: use POST');
      if (!o.adminOperations || o.writeMarker === undefined)
        throw new ApiFailure(403, 'forbidden', ADMIN_DISABLED);
      const form = new URLSearchParams(req.body ?? '');
      if (!o.csrf.verify(form.get('csrf_token'))) throw new ApiFailure(403, 'forbidden', BAD_CSRF);
      const id = blockId(form.get('id'));
      const action = form.get('action') ?? '';
      if (!(MARK_ACTIONS as readonly string[]).includes(action))
        throw badData(
          `parameter action: ${JSON.stringify(action.slice(0, 40))} is not one of ${MARK_ACTIONS.join(', ')}`,
        );
      const detail = (form.get('detail') ?? '').slice(0, 1000);
      const view = viewOf(o.source);
      const { name, idx } = tenantOf(o.source, view, form);
      if (idx.get(id) === undefined) throw new ApiFailure(404, 'not_found', `unknown block ${id}`);
      const t = now();
      const marker: BlockMarker =
        action === 'DELETION'
          ? newDeletionMark(id, t, detail || undefined)
          : action === 'NO_COMPACTION'
            ? newNoCompactMark(id, 'manual', t, detail || undefined)
            : newNoDownsampleMark(id, 'manual', t, detail || undefined);
      const outcome = await o.writeMarker(name, marker);
      if (outcome === 'written') idx.applyMarker(marker);
      o.logger.info('block marked through the web UI', {
        tenant: name,
        block: id,
        action,
        detail,
        outcome,
        user_agent: String(req.headers['user-agent'] ?? ''),
      });
      return jsonResponse(200, { status: 'success', data: { id, tenant: name, action, outcome } });
    } catch (err) {
      return fail(err);
    }
  });
}

function blockId(v: string | null): string {
  const id = (v ?? '').trim();
  if (id === '') throw badData('parameter id: required (a block ULID)');
  if (!isUlid(id)) throw badData(`parameter id: ${JSON.stringify(id.slice(0, 40))} is not a ULID`);
  return id;
}
