/** The Blocks page's table: one server page of the filtered blocks, with previous/next. */
import type { BlocksData } from '../../blocks-types.js';
import { duration, el, replace, utc } from '../dom.js';
import { resolutionName } from './blocks-timeline.js';

export function renderTable(
  box: HTMLElement,
  d: BlocksData,
  on: { select(id: string): void; page(offset: number): void },
): void {
  const first = d.total === 0 ? 0 : d.offset + 1;
  const last = d.offset + d.blocks.length;
  const rows = d.blocks.map((m) => {
    const mk = d.markers[m.ulid];
    const marks = [
      mk?.deletion ? 'deletion' : '',
      mk?.noCompact ? 'no-compact' : '',
      mk?.noDownsample ? 'no-downsample' : '',
    ]
      .filter((s) => s !== '')
      .join(', ');
    const labels = Object.entries(m.thanos?.labels ?? {})
      .map(([k, v]) => `${k}="${v}"`)
      .join(', ');
    return el(
      'tr',
      { 'data-ulid': m.ulid, class: 'pick', onclick: () => on.select(m.ulid) },
      el('td', {}, el('code', {}, m.ulid)),
      el('td', {}, utc(m.minTime)),
      el('td', {}, duration(m.maxTime - m.minTime)),
      el('td', { class: 'num' }, m.compaction.level),
      el('td', {}, resolutionName(m.thanos?.downsample?.resolution ?? 0)),
      el('td', { class: 'num' }, m.stats?.numSeries ?? 0),
      el('td', { class: 'num' }, m.stats?.numSamples ?? 0),
      el('td', { class: 'labels' }, labels),
      el('td', {}, marks),
    );
  });
  replace(
    box,
    el(
      'div',
      { class: 'pager' },
      el(
        'button',
        {
          type: 'button',
          'data-role': 'prev',
          disabled: d.offset === 0,
          onclick: () => on.page(Math.max(0, d.offset - d.limit)),
        },
        '‹ prev',
      ),
      el('span', { 'data-role': 'range', 'data-total': d.total }, `${first}–${last} of ${d.total}`),
      el(
        'button',
        {
          type: 'button',
          'data-role': 'next',
          disabled: last >= d.total,
          onclick: () => on.page(d.offset + d.limit),
        },
        'next ›',
      ),
    ),
    el(
      'table',
      { class: 'blocks' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ...['ULID', 'from (UTC)', 'duration', 'level', 'res', 'series', 'samples', 'labels', 'markers'].map(
            (h) => el('th', {}, h),
          ),
        ),
      ),
      el('tbody', {}, ...rows),
    ),
  );
}
