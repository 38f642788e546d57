/** Pieces the operations pages share: tables, badges, time cells, and a poller. */
import { el, type Child } from './dom.js';

/** A table with a header row; `section` names it for tests and styles (data-section). */
export function table(section: string, headers: readonly string[], rows: readonly Child[][]): HTMLElement {
  if (rows.length === 0) return el('p', { class: 'muted', 'data-section': section }, 'none');
  return el(
    'table',
    { 'data-section': section },
    el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))),
  );
}

export function badge(text: string, kind: 'ok' | 'warn' | 'bad' | ''): HTMLElement {
  return el('span', { class: kind === '' ? 'badge' : `badge ${kind}` }, text);
}

/** Block and range times (ms): open ends of a store's range shown as -∞ / +∞. */
export function timeMs(ms: number | null): string {
  if (ms === null) return '';
  // Beyond what a Date holds: a store's open range (Info sends ±MaxInt64 or Go's min/max time).
  if (ms < -8.64e15) return '-∞';
  if (ms > 8.64e15) return '+∞';
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/:\d\d\.\d+Z$/, '');
}

/** An RFC 3339 time as `2026-12-07 01:12:14`. */
export function isoShort(s: string | null): string {
  return s === null
    ? ''
    : s
        .replace('T', ' ')
        .replace(/\.\d+Z$/, '')
        .replace(/Z$/, '');
}

/**
 * Calls `load` now and every `everyMs` (never two at once) until the returned stop is called;
 * `status` shows when the last refresh happened or why it failed.
 */
export function poll(
  everyMs: number,
  status: HTMLElement,
  load: (signal: AbortSignal) => Promise<void>,
): () => void {
  const ac = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = async (): Promise<void> => {
    try {
      await load(ac.signal);
      status.textContent = `refreshed ${new Date().toLocaleTimeString()}`;
      status.className = 'muted';
    } catch (err) {
      if (ac.signal.aborted) return;
      status.textContent = `refresh failed: ${String(err)}`;
      status.className = 'error';
    }
    if (!ac.signal.aborted) timer = setTimeout(() => void run(), everyMs);
  };
  void run();
  return () => {
    ac.abort();
    clearTimeout(timer);
  };
}
