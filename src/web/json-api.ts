/** A read-only JSON endpoint of the UI: GET/HEAD answers what `produce` returns, anything else 405. */
import type { HttpEndpoint } from '../util/http.js';
import { jsonResponse } from './mount.js';

export function mountJson(http: HttpEndpoint, path: string, produce: () => unknown): void {
  http.mount(path, async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return {
        status: 405,
        headers: { allow: 'GET, HEAD', 'content-type': 'text/plain' },
        body: 'method not allowed\n',
      };
    }
    return jsonResponse(200, produce());
  });
}

export const iso = (ms: number): string => new Date(ms).toISOString();
