/** Query: the querier's endpoints by store group, with each member's health and Info latency. */
import type { EndpointMember, EndpointsView } from '../../ops-types.js';
import { getJson } from '../api.js';
import { el, replace } from '../dom.js';
import type { MountPage } from '../page.js';
import { badge, isoShort, poll, table, timeMs } from '../widgets.js';

const ms = (v: number | null): string => (v === null ? '' : `${v} ms`);

const labelSets = (sets: readonly Record<string, string>[]): string =>
  sets.length === 0
    ? '{}'
    : sets
        .map(
          (s) =>
            `{${Object.entries(s)
              .map(([k, v]) => `${k}="${v}"`)
              .join(', ')}}`,
        )
        .join(' ');

function members(section: string, list: readonly EndpointMember[]): HTMLElement {
  return table(
    section,
    [
      'Endpoint',
      'Health',
      'Peer type',
      'Component',
      'Info last',
      'p50',
      'p99',
      'Last check (UTC)',
      'Time range (UTC)',
      'Last error',
    ],
    list.map((m) => [
      m.address,
      m.healthy ? badge('healthy', 'ok') : badge('unhealthy', 'bad'),
      m.peer_type ?? '',
      m.component_type ?? '',
      ms(m.latency.info_last_ms),
      ms(m.latency.info_p50_ms),
      ms(m.latency.info_p99_ms),
      isoShort(m.last_check),
      m.min_time === null ? '' : `${timeMs(m.min_time)} – ${timeMs(m.max_time)}`,
      m.last_error ?? '',
    ]),
  );
}

function render(v: EndpointsView): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (!v.ready) out.push(el('p', { class: 'warn' }, 'first Info round not finished yet'));
  for (const g of v.groups) {
    const kind = g.healthy === 0 ? 'bad' : g.healthy < g.members.length ? 'warn' : 'ok';
    out.push(
      el(
        'section',
        { 'data-group': g.group_id, 'data-section': 'group' },
        el(
          'h2',
          {},
          g.name,
          ' ',
          badge(`${g.healthy}/${g.members.length} healthy`, kind),
          ' ',
          el('span', { class: 'muted' }, `${g.kind} group`),
        ),
        el(
          'p',
          { class: 'muted' },
          `labels ${labelSets(g.label_sets)} · ${timeMs(g.min_time)} – ${timeMs(g.max_time)}`,
        ),
        members('members', g.members),
      ),
    );
  }
  if (v.groups.length === 0) out.push(el('p', { class: 'muted' }, 'no endpoint answered Info yet'));
  out.push(el('h2', {}, `Unreachable (${v.unreachable.length})`), members('unreachable', v.unreachable));
  return out;
}

export const mount: MountPage = (root) => {
  const when = el('p', { class: 'muted' });
  const body = el('div');
  replace(root, el('h1', {}, 'Query endpoints'), when, body);
  return poll(3000, when, async (signal) => {
    replace(body, ...render(await getJson<EndpointsView>('api/v1/strata/endpoints', signal)));
  });
};
