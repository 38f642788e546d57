/** Planner: leadership (leader, epoch, grace), the queue's counts, and the connected workers with their load. */
import type { PlannerView } from '../../ops-types.js';
import { getJson } from '../api.js';
import { duration, el, replace } from '../dom.js';
import type { MountPage } from '../page.js';
import { badge, isoShort, poll, table } from '../widgets.js';

function render(v: PlannerView): HTMLElement[] {
  return [
    el(
      'p',
      { 'data-section': 'leadership', 'data-leader': String(v.leader) },
      v.leader ? badge('leader', 'ok') : badge('follower', ''),
      v.in_grace ? badge('in grace', 'warn') : null,
      ` epoch ${v.epoch ?? '—'} · this planner ${v.address}`,
      v.leader ? '' : ` · leader ${v.leader_address ?? 'unknown'}`,
      v.ring_page === null ? null : el('span', {}, ' · ', el('a', { href: v.ring_page }, 'ring')),
    ),
    table(
      'queue',
      ['Pending plans', 'Running plans', 'Parked plans', 'Workers'],
      [[v.pending, v.running, v.parked, v.workers.length]],
    ),
    el('h2', {}, `Workers (${v.workers.length})`),
    table(
      'workers',
      ['Worker', 'Capacity', 'Running', 'Load', 'Last seen (UTC)', 'Ago', 'Stream'],
      v.workers.map((w) => [
        w.worker,
        w.capacity,
        w.running,
        w.capacity > 0 ? `${Math.round((100 * w.running) / w.capacity)}%` : '',
        isoShort(w.last_seen),
        duration(w.last_seen_ago_ms),
        w.stream,
      ]),
    ),
  ];
}

export const mount: MountPage = (root) => {
  const when = el('p', { class: 'muted' });
  const body = el('div');
  replace(root, el('h1', {}, 'Planner'), when, body);
  return poll(3000, when, async (signal) => {
    replace(body, ...render(await getJson<PlannerView>('api/v1/strata/planner', signal)));
  });
};
