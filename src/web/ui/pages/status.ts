/** The process' own `/api/v1/status`, refreshed every 5 s: every command has this page. */
import { getJson } from '../api.js';
import { el, replace } from '../dom.js';
import type { MountPage } from '../page.js';

export const mount: MountPage = (root) => {
  const pre = el('pre', { class: 'json' });
  const when = el('p', { class: 'muted' });
  replace(root, el('h1', {}, 'Status'), when, pre);
  const load = async (): Promise<void> => {
    try {
      const s = await getJson<unknown>('api/v1/status');
      pre.textContent = JSON.stringify(s, null, 2);
      when.textContent = `refreshed ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      when.textContent = `refresh failed: ${String(err)}`;
    }
  };
  void load();
  const t = setInterval(() => void load(), 5000);
  return () => clearInterval(t);
};
