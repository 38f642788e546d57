/**
 * The shell of the single-page UI: asks the server what it serves, draws the navigation, and
 * loads the page module named by the hash route (`#/<page>?<params>`) into the main area.
 */
import type { UiInfo } from '../api-types.js';
import { getJson } from './api.js';
import { el, replace } from './dom.js';
import type { PageModule } from './page.js';

let dispose: (() => void) | undefined;

function route(): { id: string; params: URLSearchParams } {
  const h = location.hash.replace(/^#\/?/, '');
  const q = h.indexOf('?');
  return { id: q < 0 ? h : h.slice(0, q), params: new URLSearchParams(q < 0 ? '' : h.slice(q + 1)) };
}

async function show(info: UiInfo, main: HTMLElement, nav: HTMLElement): Promise<void> {
  const r = route();
  const page = info.pages.find((p) => p.id === r.id) ?? info.pages[0];
  if (page === undefined) return;
  for (const a of nav.querySelectorAll('a[data-page]'))
    a.classList.toggle('active', a.getAttribute('data-page') === page.id);
  dispose?.();
  dispose = undefined;
  replace(main, el('p', { class: 'muted' }, 'Loading…'));
  try {
    const mod = (await import(`./pages/${page.id}.js`)) as PageModule;
    replace(main);
    document.title = `${page.title} · strata ${info.component}`;
    dispose = mod.mount(main, {
      info,
      params: r.params,
      setParams: (p) => {
        const q = p.toString();
        history.replaceState(null, '', `#/${page.id}${q === '' ? '' : `?${q}`}`);
      },
    });
  } catch (err) {
    replace(main, el('p', { class: 'error' }, `Could not load ${page.title}: ${String(err)}`));
  }
}

async function start(): Promise<void> {
  const nav = document.getElementById('nav');
  const main = document.getElementById('main');
  if (nav === null || main === null) return;
  let info: UiInfo;
  try {
    info = await getJson<UiInfo>('api/v1/strata/ui');
  } catch (err) {
    replace(main, el('p', { class: 'error' }, `The server did not answer: ${String(err)}`));
    return;
  }
  replace(
    nav,
    el('span', { class: 'brand' }, `strata ${info.component}`),
    ...info.pages.map((p) => el('a', { href: `#/${p.id}`, 'data-page': p.id }, p.title)),
    ...info.links.map((l) => el('a', { href: l.href, class: 'link' }, l.title)),
    el('span', { class: 'version' }, info.version),
  );
  addEventListener('hashchange', () => void show(info, main, nav));
  await show(info, main, nav);
}

void start();
