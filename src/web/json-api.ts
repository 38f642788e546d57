/** A read-only JSON endpoint of the UI: GET/HEAD answers what `produce` returns, anything else 405. */
import type { HttpEndpoint } from '../util/http.js';
import { jsonResponse, readOnly } from './mount.js';

export function mountJson(http: HttpEndpoint, path: string, produce: () => unknown): void {
  http.mount(
    path,
    readOnly(async () => jsonResponse(200, produce())),
  );
}

export const iso = (ms: number): string => new Date(ms).toISOString();
