/**
 * The Blocks page's timeline: one row per sub-lane, grouped by (resolution, level), drawn on a
 * canvas. Only blocks inside the visible range are drawn; the wheel zooms around the cursor, a drag
 * pans, a click selects. Lane counts are also in the DOM (data attributes) for scripts and tests.
 */
import type { FlagBits, TimelineBlock, TimelineData } from '../../blocks-types.js';
import { el, replace, utc } from '../dom.js';

const F: FlagBits = { deletion: 1, noCompact: 2, noDownsample: 4, overlap: 8 };

const ROW = 14;
/** Rows get thinner (down to 3 px) when many sub-lanes would make the canvas taller than this. */
const MAX_ROWS_HEIGHT = 420;
const GAP = 6;
const GUTTER = 110;
const AXIS = 18;

export function resolutionName(ms: number): string {
  if (ms === 0) return 'raw';
  if (ms % 3600_000 === 0) return `${ms / 3600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms}ms`;
}

function colour(flags: number): string {
  if (flags & F.deletion) return '#9aa3ad';
  if (flags & F.noCompact) return '#c27c0e';
  if (flags & F.noDownsample) return '#8e44ad';
  return '#2f6fbd';
}

interface Row {
  y: number;
  lane: number;
  sub: number;
}

export interface Timeline {
  readonly element: HTMLElement;
  show(data: TimelineData): void;
  select(id: string | undefined): void;
}

export function createTimeline(onSelect: (id: string) => void): Timeline {
  const canvas = el('canvas', { class: 'timeline', height: 100 });
  const tip = el('div', { class: 'tip', hidden: true });
  const legend = el('ul', { class: 'lanes' });
  const note = el('p', { class: 'muted' });
  const element = el(
    'div',
    { class: 'timeline-box' },
    note,
    el('div', { class: 'canvas-wrap' }, canvas, tip),
    legend,
  );
  let data: TimelineData | undefined;
  let rows: Row[] = [];
  let laneTop: number[] = [];
  let v0 = 0;
  let v1 = 1;
  let selected: string | undefined;
  let row = ROW;
  let drag: { x: number; v0: number; v1: number; moved: boolean } | undefined;

  const width = (): number => canvas.clientWidth || 800;
  const xOf = (t: number): number => GUTTER + ((t - v0) / (v1 - v0)) * (width() - GUTTER - 4);
  const tOf = (x: number): number => v0 + ((x - GUTTER) / (width() - GUTTER - 4)) * (v1 - v0);

  const draw = (): void => {
    const w = width();
    const dpr = window.devicePixelRatio || 1;
    const h = (rows.length === 0 ? 0 : rows[rows.length - 1]!.y + row) + AXIS + GAP;
    canvas.style.height = `${h}px`;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    const g = canvas.getContext('2d');
    if (g === null || data === undefined) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#6a7380';
    data.lanes.forEach((l, i) =>
      g.fillText(`${resolutionName(l.resolution)} · level ${l.level}`, 4, laneTop[i]! + 11),
    );
    g.save();
    g.beginPath();
    g.rect(GUTTER, 0, w - GUTTER, h);
    g.clip();
    data.lanes.forEach((l, i) => {
      for (const b of l.blocks) {
        if (b[2] <= v0 || b[1] >= v1) continue;
        const x = xOf(b[1]);
        const bw = Math.max(1, xOf(b[2]) - x - 1);
        const y = laneTop[i]! + b[4] * row;
        g.fillStyle = colour(b[3]);
        g.fillRect(x, y + (row > 6 ? 1 : 0), bw, Math.max(2, row - 3));
        if (b[3] & F.overlap) {
          g.strokeStyle = '#c0392b';
          g.lineWidth = 2;
          g.strokeRect(x + 1, y + 1, Math.max(1, bw - 2), Math.max(1, row - 4));
        }
        if (b[0] === selected) {
          g.strokeStyle = '#000';
          g.lineWidth = 2;
          g.strokeRect(x, y, bw, Math.max(2, row - 1));
        }
      }
    });
    g.restore();
    const axisY = h - AXIS + 12;
    g.fillStyle = '#6a7380';
    for (let k = 0; k <= 4; k++) {
      const t = v0 + ((v1 - v0) * k) / 4;
      const label = utc(t).slice(0, 16);
      const x = Math.min(xOf(t), w - g.measureText(label).width - 2);
      g.fillText(label, Math.max(GUTTER, x - (k === 0 ? 0 : 40)), axisY);
    }
  };

  const hit = (ev: MouseEvent): TimelineBlock | undefined => {
    if (data === undefined) return undefined;
    const r = canvas.getBoundingClientRect();
    const x = ev.clientX - r.left;
    const y = ev.clientY - r.top;
    const under = rows.find((rw) => y >= rw.y && y < rw.y + row);
    if (under === undefined || x < GUTTER) return undefined;
    const t = tOf(x);
    const slack = ((v1 - v0) / (width() - GUTTER)) * 2;
    return data.lanes[under.lane]!.blocks.find(
      (b) => b[4] === under.sub && b[1] - slack <= t && t < b[2] + slack,
    );
  };

  canvas.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    const t = tOf(ev.offsetX);
    const f = ev.deltaY > 0 ? 1.25 : 0.8;
    v0 = t - (t - v0) * f;
    v1 = t + (v1 - t) * f;
    draw();
  });
  canvas.addEventListener('mousedown', (ev) => {
    drag = { x: ev.clientX, v0, v1, moved: false };
  });
  window.addEventListener('mouseup', () => {
    drag = undefined;
  });
  canvas.addEventListener('mousemove', (ev) => {
    if (drag !== undefined && Math.abs(ev.clientX - drag.x) > 3) {
      drag.moved = true;
      const dt = ((ev.clientX - drag.x) / (width() - GUTTER)) * (drag.v1 - drag.v0);
      v0 = drag.v0 - dt;
      v1 = drag.v1 - dt;
      draw();
      return;
    }
    const b = hit(ev);
    tip.hidden = b === undefined;
    if (b !== undefined) {
      tip.textContent = `${b[0]}  ${utc(b[1])} → ${utc(b[2])}`;
      tip.style.left = `${ev.offsetX + 12}px`;
      tip.style.top = `${ev.offsetY + 12}px`;
    }
  });
  canvas.addEventListener('mouseleave', () => {
    tip.hidden = true;
  });
  canvas.addEventListener('click', (ev) => {
    if (drag?.moved) return;
    const b = hit(ev);
    if (b !== undefined) onSelect(b[0]);
  });
  window.addEventListener('resize', () => draw());

  return {
    element,
    show(d: TimelineData): void {
      data = d;
      const pad = Math.max(60_000, (d.maxTime - d.minTime) * 0.01);
      v0 = d.minTime - pad;
      v1 = d.maxTime + pad;
      rows = [];
      laneTop = [];
      const subLanes = d.lanes.reduce((n, l) => n + l.subLanes, 0);
      row = Math.max(3, Math.min(ROW, Math.floor(MAX_ROWS_HEIGHT / Math.max(1, subLanes))));
      let y = 0;
      d.lanes.forEach((l, i) => {
        laneTop.push(y);
        for (let s = 0; s < l.subLanes; s++) rows.push({ y: y + s * row, lane: i, sub: s });
        y += Math.max(l.subLanes * row, ROW) + GAP;
      });
      note.textContent =
        d.total === 0
          ? 'No blocks match.'
          : `${d.total} blocks in ${d.lanes.length} lanes` +
            (d.omitted > 0
              ? `; ${d.omitted} not drawn at this scale (narrow the time range to see every block)`
              : '') +
            '. Wheel: zoom, drag: pan, click: details.';
      replace(
        legend,
        ...d.lanes.map((l) =>
          el(
            'li',
            {
              'data-resolution': l.resolution,
              'data-level': l.level,
              'data-count': l.count,
              'data-sublanes': l.subLanes,
            },
            `${resolutionName(l.resolution)} level ${l.level}: ${l.count} blocks, ${l.subLanes} sub-lanes`,
          ),
        ),
        el('li', { class: 'key' }, el('span', { class: 'sw', style: 'background:#2f6fbd' }), 'block'),
        el(
          'li',
          { class: 'key' },
          el('span', { class: 'sw', style: 'background:#9aa3ad' }),
          'marked for deletion',
        ),
        el('li', { class: 'key' }, el('span', { class: 'sw', style: 'background:#c27c0e' }), 'no-compact'),
        el('li', { class: 'key' }, el('span', { class: 'sw', style: 'background:#8e44ad' }), 'no-downsample'),
        el('li', { class: 'key' }, el('span', { class: 'sw overlap' }), 'overlaps its group'),
      );
      draw();
    },
    select(id: string | undefined): void {
      selected = id;
      draw();
    },
  };
}
