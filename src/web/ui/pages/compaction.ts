/**
 * Compaction: the headline verdict (OK / behind / halted), what runs now, the backlog over the
 * last 24 h (uPlot), what is queued per tenant, the last passes, failures and parked plans.
 * Refreshed every 3 s from /api/v1/strata/compaction.
 */
import type { BacklogSeries, CompactionView, HealthState } from '../../ops-types.js';
import { getJson } from '../api.js';
import { duration, el, replace } from '../dom.js';
import type { MountPage } from '../page.js';
import { badge, isoShort, poll, table, timeMs } from '../widgets.js';

const HEALTH: Record<HealthState, { text: string; kind: 'ok' | 'warn' | 'bad' | '' }> = {
  ok: { text: 'OK', kind: 'ok' },
  standby: { text: 'standby', kind: '' },
  behind: { text: 'behind', kind: 'warn' },
  halted: { text: 'halted', kind: 'bad' },
};

const SERIES = [
  { key: 'todo_compactions', label: 'todo compactions', stroke: '#2f6fbd' },
  { key: 'todo_compaction_blocks', label: 'todo compaction blocks', stroke: '#c27c0e' },
  { key: 'todo_downsamples', label: 'todo downsamples', stroke: '#2e8b57' },
  { key: 'todo_deletions', label: 'todo deletions', stroke: '#c0392b' },
] as const;

function chartData(b: BacklogSeries): (number | null)[][] {
  return [b.t, ...SERIES.map((s) => b[s.key])];
}

/** The backlog chart; keeps one uPlot and feeds it new data on every refresh. */
function backlogChart(box: HTMLElement): { update(b: BacklogSeries, nowSec: number): void; destroy(): void } {
  let plot: uPlot | undefined;
  // From the first sample (a minute before, at most 24 h back) to now: one sample is a point, not
  // a range of years.
  let range: [number, number] = [0, 1];
  return {
    update(b, nowSec) {
      range = [Math.max(nowSec - 86_400, (b.t[0] ?? nowSec) - 60), nowSec];
      if (typeof uPlot === 'undefined') {
        replace(box, el('p', { class: 'error' }, 'uPlot did not load'));
        return;
      }
      if (plot === undefined) {
        plot = new uPlot(
          {
            width: Math.max(400, box.clientWidth || 900),
            height: 220,
            scales: { x: { time: true, range: () => range } },
            // UTC like every other time on the page.
            tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
            series: [
              {},
              ...SERIES.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, spanGaps: true })),
            ],
          },
          chartData(b),
          box,
        );
      } else plot.setData(chartData(b));
    },
    destroy() {
      plot?.destroy();
    },
  };
}

function headline(v: CompactionView): HTMLElement {
  const h = v.health;
  if (h === null) {
    return el(
      'p',
      { 'data-section': 'health' },
      badge('worker', ''),
      ' ',
      el('span', { class: 'muted' }, 'this process runs the plans its planner hands out'),
    );
  }
  const { text, kind } = HEALTH[h.state];
  return el(
    'div',
    { 'data-section': 'health', 'data-state': h.state },
    el(
      'p',
      {},
      badge(text, kind),
      ' last successful pass: ',
      h.last_success_at === null ? 'none yet' : `${isoShort(h.last_success_at)} UTC`,
      ` · pass due every ${duration(h.interval_ms)}`,
      h.pass_running_since === null ? '' : ` · pass running since ${isoShort(h.pass_running_since)} UTC`,
    ),
    h.reasons.length === 0
      ? null
      : el(
          'ul',
          { class: kind === 'bad' ? 'error' : kind === 'warn' ? 'warn' : 'muted' },
          ...h.reasons.map((r) => el('li', {}, r)),
        ),
  );
}

function sections(v: CompactionView): HTMLElement[] {
  const queuedTotal = v.queued.reduce((n, t) => n + t.total, 0);
  return [
    el('h2', {}, `Running (${v.running.length})`),
    table(
      'running',
      ['Plan', 'Tenant', 'Kind', 'Phase', 'Worker', 'Sources', 'Started (UTC)', 'Elapsed'],
      v.running.map((r) => [
        r.plan,
        r.tenant,
        r.kind ?? '',
        r.phase ?? '',
        r.worker,
        r.sources.length,
        isoShort(r.started_at),
        duration(r.elapsed_ms),
      ]),
    ),
    el('h2', {}, `Queued (${queuedTotal})`),
    table(
      'queued',
      ['Tenant', 'Plan', 'Kind', 'Sources', 'Range (UTC)', 'Output level'],
      v.queued.flatMap((t) => [
        ...t.plans.map((p) => [
          t.tenant,
          p.plan,
          p.kind,
          p.sources.length,
          `${timeMs(p.min_time)} – ${timeMs(p.max_time)}`,
          p.output_level,
        ]),
        ...(t.total > t.plans.length
          ? [[t.tenant, `… ${t.total - t.plans.length} more`, '', '', '', '']]
          : []),
      ]),
    ),
    el('h2', {}, 'Last passes'),
    table(
      'passes',
      ['Started (UTC)', 'Duration', 'Outcome', 'Plans done', 'Plans failed', 'Error'],
      v.passes.map((p) => [
        isoShort(p.started_at),
        duration(p.duration_ms),
        badge(p.outcome, p.outcome === 'ok' ? 'ok' : p.outcome === 'aborted' ? 'warn' : 'bad'),
        p.plans_done,
        p.plans_failed,
        p.error ?? '',
      ]),
    ),
    el('h2', {}, 'Failures'),
    table(
      'failures',
      ['At (UTC)', 'Tenant', 'Plan', 'Kind', 'Code', 'Message'],
      v.failures.map((f) => [isoShort(f.at), f.tenant, f.plan, f.kind, f.code, f.message]),
    ),
    el('h2', {}, `Parked (${v.parked.length})`),
    table(
      'parked',
      ['Plan', 'Tenant', 'Failures', 'Failing block', 'Reason', 'Parked at (UTC)'],
      v.parked.map((p) => [
        p.plan,
        p.tenant,
        p.failures,
        p.failing_block ?? '',
        p.reason,
        isoShort(p.parked_at),
      ]),
    ),
  ];
}

export const mount: MountPage = (root) => {
  const when = el('p', { class: 'muted' });
  const head = el('div');
  const chartBox = el('div', { id: 'backlog-chart', 'data-section': 'backlog' });
  const rest = el('div');
  const chart = backlogChart(chartBox);
  replace(root, el('h1', {}, 'Compaction'), head, when, el('h2', {}, 'Backlog (24 h)'), chartBox, rest);
  const stop = poll(3000, when, async (signal) => {
    const v = await getJson<CompactionView>('api/v1/strata/compaction', signal);
    replace(head, headline(v));
    if (v.health !== null) chart.update(v.backlog, Date.parse(v.now) / 1000);
    else replace(chartBox, el('p', { class: 'muted' }, 'no backlog on a worker'));
    replace(rest, ...sections(v));
  });
  return () => {
    stop();
    chart.destroy();
  };
};
