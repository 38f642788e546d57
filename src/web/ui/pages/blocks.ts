/**
 * The Blocks page: per tenant, a canvas timeline of blocks in lanes by resolution and level, a
 * server-paged table of the filtered blocks, a detail panel with mark actions, and partial blocks.
 * Filters live in the route (`#/blocks?tenant=…&level=…`), so a view can be linked.
 */
import type { ApiSuccess, BlocksData, PartialInfo, TenantsData, TimelineData } from '../../blocks-types.js';
import { getJson } from '../api.js';
import { el, replace } from '../dom.js';
import type { MountPage } from '../page.js';
import { renderDetail } from './blocks-detail.js';
import { renderTable } from './blocks-table.js';
import { createTimeline } from './blocks-timeline.js';

const CSS = `
.timeline-box .canvas-wrap { position: relative; }
canvas.timeline { width: 100%; display: block; border: 1px solid var(--line); cursor: crosshair; }
.tip { position: absolute; background: #1d232b; color: #fff; padding: 2px 6px; font-size: 12px; border-radius: 3px; pointer-events: none; white-space: nowrap; }
ul.lanes { display: flex; flex-wrap: wrap; gap: 4px 14px; list-style: none; padding: 0; font-size: 12px; color: var(--muted); }
ul.lanes .sw { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
ul.lanes .sw.overlap { border: 2px solid #c0392b; }
[data-role=table] { overflow-x: auto; }
.blocks-grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(320px, 2fr); gap: 16px; }
tr.pick { cursor: pointer; } tr.pick:hover { background: var(--bg2); }
td.labels { white-space: normal; font-size: 12px; }
table.detail th { width: 130px; vertical-align: top; }
table.detail td { white-space: normal; }
.ids code { display: block; font-size: 12px; }
ul.labels { margin: 0; padding-left: 16px; }
.pager { display: flex; gap: 8px; align-items: center; margin: 6px 0; }
.admin { display: flex; gap: 6px; flex-wrap: wrap; align-items: center; }
`;

/** Table rows per page, and blocks the timeline draws at most (a canvas row holds ~1,400 pixels). */
const PAGE_SIZE = 200;
const TIMELINE_BLOCKS = 10_000;

function field(label: string, input: HTMLElement): HTMLElement {
  return el('label', {}, label, input);
}

function toMs(v: string): string {
  if (v === '') return '';
  const t = Date.parse(`${v}Z`);
  return Number.isNaN(t) ? '' : String(t);
}

function fromMs(v: string | null): string {
  if (v === null || v === '' || Number.isNaN(Number(v))) return '';
  return new Date(Number(v)).toISOString().slice(0, 16);
}

export const mount: MountPage = (root, ctx) => {
  const ac = new AbortController();
  const params = new URLSearchParams(ctx.params);
  let multiTenant = false;
  const style = el('style', {}, CSS);
  const tenantSel = el('select', { name: 'tenant' });
  const level = el('input', {
    name: 'level',
    type: 'number',
    min: 1,
    size: 4,
    value: params.get('level') ?? '',
  });
  const resolution = el(
    'select',
    { name: 'resolution' },
    el('option', { value: '' }, 'any'),
    el('option', { value: '0' }, 'raw'),
    el('option', { value: '300000' }, '5m'),
    el('option', { value: '3600000' }, '1h'),
  );
  resolution.value = params.get('resolution') ?? '';
  const from = el('input', { name: 'from', type: 'datetime-local', value: fromMs(params.get('min_time')) });
  const to = el('input', { name: 'to', type: 'datetime-local', value: fromMs(params.get('max_time')) });
  const label = el('input', {
    name: 'label',
    type: 'text',
    placeholder: 'name=value, …',
    value: params.getAll('label').join(', '),
  });
  const q = el('input', {
    name: 'q',
    type: 'search',
    placeholder: 'ULID or prefix',
    value: params.get('q') ?? '',
  });
  const error = el('p', { class: 'error', 'data-role': 'error' });
  const refreshed = el('span', { class: 'muted' });
  const tableBox = el('div', { 'data-role': 'table' });
  const detailBox = el(
    'div',
    { 'data-role': 'detail' },
    el('p', { class: 'muted' }, 'Select a block in the timeline or the table.'),
  );
  const partialBox = el('div', { 'data-role': 'partial' });
  let selected: string | undefined;
  let markMessage = '';
  const timeline = createTimeline((id) => void select(id));

  const filterQuery = (): URLSearchParams => {
    const p = new URLSearchParams();
    if (multiTenant && tenantSel.value !== '') p.set('tenant', tenantSel.value);
    if (level.value !== '') p.set('level', level.value);
    if (resolution.value !== '') p.set('resolution', resolution.value);
    if (toMs(from.value) !== '') p.set('min_time', toMs(from.value));
    if (toMs(to.value) !== '') p.set('max_time', toMs(to.value));
    for (const l of label.value.split(',')) if (l.trim() !== '') p.append('label', l.trim());
    if (q.value.trim() !== '') p.set('q', q.value.trim());
    return p;
  };

  const loadTable = async (offset: number): Promise<void> => {
    const p = filterQuery();
    if (offset > 0) p.set('offset', String(offset));
    ctx.setParams(p);
    const api = new URLSearchParams(p);
    api.set('limit', String(PAGE_SIZE));
    const r = await getJson<ApiSuccess<BlocksData>>(`api/v1/blocks?${api.toString()}`, ac.signal);
    renderTable(tableBox, r.data, { select: (id) => void select(id), page: (o) => void guard(loadTable(o)) });
  };

  const select = async (id: string): Promise<void> => {
    if (id !== selected) markMessage = '';
    selected = id;
    timeline.select(id);
    const p = new URLSearchParams({ q: id, limit: '1' });
    if (multiTenant) p.set('tenant', tenantSel.value);
    const r = await getJson<ApiSuccess<BlocksData>>(`api/v1/blocks?${p.toString()}`, ac.signal);
    const meta = r.data.blocks[0];
    if (meta === undefined) {
      replace(detailBox, el('p', { class: 'muted' }, `Block ${id} is gone.`));
      return;
    }
    renderDetail(detailBox, meta, r.data.markers[id], {
      info: ctx.info,
      tenant: tenantSel.value,
      multiTenant,
      message: markMessage,
      onMarked: (message) => {
        markMessage = message;
        void guard(reload());
      },
    });
  };

  const reload = async (): Promise<void> => {
    error.textContent = '';
    const p = filterQuery();
    p.set('limit', String(TIMELINE_BLOCKS));
    const [tl] = await Promise.all([
      getJson<ApiSuccess<TimelineData>>(`api/v1/strata/blocks/timeline?${p.toString()}`, ac.signal),
      loadTable(Number(params.get('offset') ?? 0) || 0),
    ]);
    params.delete('offset');
    timeline.show(tl.data);
    refreshed.textContent = `bucket synced ${tl.data.refreshedAt}`;
    if (root.dataset['rendered'] === undefined) {
      root.dataset['rendered'] = String(performance.now());
      performance.mark('blocks-first-render');
    }
    root.dataset['renders'] = String(Number(root.dataset['renders'] ?? 0) + 1);
    if (selected !== undefined) await select(selected);
    const pp = new URLSearchParams();
    if (multiTenant) pp.set('tenant', tenantSel.value);
    const partial = await getJson<ApiSuccess<{ partial: PartialInfo[] }>>(
      `api/v1/strata/blocks/partial?${pp.toString()}`,
      ac.signal,
    );
    replace(
      partialBox,
      partial.data.partial.length === 0
        ? null
        : el(
            'details',
            {},
            el('summary', {}, `${partial.data.partial.length} partial blocks (no usable meta.json)`),
            el(
              'table',
              {},
              el(
                'tr',
                {},
                el('th', {}, 'ULID'),
                el('th', {}, 'reason'),
                el('th', {}, 'first seen'),
                el('th', {}, 'detail'),
              ),
              ...partial.data.partial.map((b) =>
                el(
                  'tr',
                  {},
                  el('td', {}, el('code', {}, b.id)),
                  el('td', {}, b.reason),
                  el('td', {}, b.firstSeen),
                  el('td', {}, b.detail),
                ),
              ),
            ),
          ),
    );
  };

  const guard = async (p: Promise<void>): Promise<void> => {
    try {
      await p;
    } catch (err) {
      if (!ac.signal.aborted) error.textContent = String(err);
    }
  };

  const form = el(
    'form',
    { class: 'toolbar', onsubmit: (ev: Event) => (ev.preventDefault(), void guard(reload())) },
    field('tenant', tenantSel),
    field('level', level),
    field('resolution', resolution),
    field('from (UTC)', from),
    field('to (UTC)', to),
    field('external labels', label),
    field('ULID', q),
    el('button', { type: 'submit' }, 'Apply'),
    refreshed,
  );
  tenantSel.addEventListener('change', () => {
    selected = undefined;
    void guard(reload());
  });
  replace(
    root,
    style,
    el('h1', {}, 'Blocks'),
    form,
    error,
    timeline.element,
    partialBox,
    el('div', { class: 'blocks-grid' }, tableBox, detailBox),
  );

  void guard(
    (async () => {
      const t = await getJson<ApiSuccess<TenantsData>>('api/v1/strata/tenants', ac.signal);
      multiTenant = t.data.multiTenant;
      tenantSel.closest('label')!.hidden = !multiTenant;
      replace(
        tenantSel,
        ...t.data.tenants.map((x) => el('option', { value: x.name }, `${x.name} (${x.blocks})`)),
      );
      const want = params.get('tenant');
      if (want !== null && t.data.tenants.some((x) => x.name === want)) tenantSel.value = want;
      await reload();
    })(),
  );
  return () => ac.abort();
};
