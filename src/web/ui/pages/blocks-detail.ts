/** The Blocks page's detail panel: one block's meta.json, markers, and the admin mark actions. */
import type { UiInfo } from '../../api-types.js';
import type { BlockMarkers, MetaJson } from '../../blocks-types.js';
import { postForm } from '../api.js';
import { bytes, duration, el, replace, utc } from '../dom.js';
import { resolutionName } from './blocks-timeline.js';

export interface DetailContext {
  info: UiInfo;
  tenant: string;
  multiTenant: boolean;
  /** The outcome of the last mark action, shown again after the reload it causes. */
  message: string;
  /** Called after a mark was written (the page reloads its data and renders this panel again). */
  onMarked(message: string): void;
}

function row(name: string, ...value: (Node | string)[]): HTMLTableRowElement {
  return el('tr', {}, el('th', {}, name), el('td', {}, ...value));
}

function labelList(labels: Record<string, string> | undefined): HTMLElement {
  const ul = el('ul', { class: 'labels' });
  for (const [k, v] of Object.entries(labels ?? {})) ul.append(el('li', {}, el('code', {}, `${k}="${v}"`)));
  return ul;
}

export function renderDetail(
  box: HTMLElement,
  meta: MetaJson,
  markers: BlockMarkers | undefined,
  ctx: DetailContext,
): void {
  const files = meta.thanos?.files ?? [];
  const size = (pred: (p: string) => boolean): number =>
    files.filter((f) => pred(f.rel_path)).reduce((s, f) => s + (f.size_bytes ?? 0), 0);
  const q = new URLSearchParams({ id: meta.ulid });
  if (ctx.multiTenant) q.set('tenant', ctx.tenant);
  const mk: (Node | string)[] = [];
  if (markers?.deletion)
    mk.push(
      el('div', { class: 'badge bad' }, `deletion since ${utc(markers.deletion.deletionTime * 1000)}`),
      ' ',
      markers.deletion.details ?? '',
    );
  if (markers?.noCompact)
    mk.push(
      el('div', { class: 'badge warn' }, `no-compact (${markers.noCompact.reason})`),
      ' ',
      markers.noCompact.details ?? '',
    );
  if (markers?.noDownsample)
    mk.push(
      el('div', { class: 'badge' }, `no-downsample (${markers.noDownsample.reason})`),
      ' ',
      markers.noDownsample.details ?? '',
    );
  const status = el('p', { class: 'muted', 'data-role': 'mark-status' }, ctx.message);
  const reason = el('input', { type: 'text', placeholder: 'reason', 'data-role': 'reason', size: 30 });
  const mark = async (action: string): Promise<void> => {
    status.textContent = `${action}…`;
    try {
      await postForm('api/v1/blocks/mark', {
        id: meta.ulid,
        action,
        detail: reason.value,
        csrf_token: ctx.info.csrfToken,
        ...(ctx.multiTenant ? { tenant: ctx.tenant } : {}),
      });
      status.textContent = `${action} written`;
      ctx.onMarked(status.textContent);
    } catch (err) {
      status.textContent = `refused: ${String(err)}`;
    }
  };
  const admin = ctx.info.adminOperations
    ? el(
        'div',
        { class: 'admin' },
        reason,
        el(
          'button',
          { type: 'button', 'data-action': 'DELETION', onclick: () => void mark('DELETION') },
          'Mark for deletion',
        ),
        el(
          'button',
          { type: 'button', 'data-action': 'NO_COMPACTION', onclick: () => void mark('NO_COMPACTION') },
          'Mark no-compact',
        ),
        status,
      )
    : el('p', { class: 'muted' }, 'Admin operations are disabled on this server.');
  replace(
    box,
    el('h2', {}, 'Block ', el('code', { 'data-role': 'detail-id' }, meta.ulid)),
    el(
      'table',
      { class: 'detail' },
      row('time range', `${utc(meta.minTime)} → ${utc(meta.maxTime)} UTC`),
      row('duration', duration(meta.maxTime - meta.minTime)),
      row('resolution', resolutionName(meta.thanos?.downsample?.resolution ?? 0)),
      row('compaction level', String(meta.compaction.level)),
      row('series', String(meta.stats?.numSeries ?? 0)),
      row('samples', String(meta.stats?.numSamples ?? 0)),
      row('chunks', String(meta.stats?.numChunks ?? 0)),
      row(
        'size',
        files.length === 0
          ? 'unknown (no thanos.files)'
          : `${bytes(size(() => true))} (index ${bytes(size((p) => p === 'index'))}, chunks ${bytes(size((p) => p.startsWith('chunks/')))})`,
      ),
      row('source', meta.thanos?.source ?? ''),
      row('labels', labelList(meta.thanos?.labels)),
      row('markers', ...(mk.length === 0 ? ['none'] : mk)),
      row(
        'sources',
        el('div', { class: 'ids' }, ...(meta.compaction.sources ?? []).map((s) => el('code', {}, s))),
      ),
      row(
        'parents',
        el('div', { class: 'ids' }, ...(meta.compaction.parents ?? []).map((p) => el('code', {}, p.ulid))),
      ),
    ),
    el(
      'p',
      {},
      el(
        'a',
        { href: `api/v1/strata/blocks/meta?${q.toString()}`, download: 'meta.json' },
        'Download meta.json',
      ),
    ),
    admin,
  );
}
