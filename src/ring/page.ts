/**
 * The ring page as a plain function, for the command's HTTP server to mount at `/compactor/ring`
 * or `/planner/ring` (ring imports nothing above util, so no server here):
 * - GET: the HTML page, or the same data as JSON when `Accept` names application/json;
 *   `?tokens=true` adds every member's tokens;
 * - POST (form: `csrf_token`, `forget=<instance ID>`): removes the member, then redirects back
 *   (303, Post/Redirect/Get). Refused with 403 without the right CSRF token.
 */
import { codeChain, errorMessage } from '../util/errors.js';
import type { HttpRequest, HttpResponse } from '../util/http.js';
import { nopLogger, type Logger } from '../util/logger.js';
import type { CsrfToken } from '../util/csrf.js';
import { renderRingPage } from './html.js';
import type { RingStatus } from './status.js';

export interface RingPageOptions {
  /** Page heading, e.g. "Compactor ring". */
  title: string;
  status: (includeTokens: boolean) => RingStatus;
  /** Removes a member; true if it was there. */
  forget: (id: string) => Promise<boolean>;
  csrf: CsrfToken;
  logger?: Logger;
}

const SECURITY_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

export function ringPageHandler(opts: RingPageOptions): (req: HttpRequest) => Promise<HttpResponse> {
  const logger = opts.logger ?? nopLogger;
  return async (req) => {
    const url = new URL(req.url, 'http://ring.invalid');
    const method = req.method.toUpperCase();
    if (method === 'GET' || method === 'HEAD') {
      const showTokens = url.searchParams.get('tokens') === 'true';
      const status = opts.status(showTokens);
      if (header(req, 'accept').includes('application/json')) {
        return respond(200, 'application/json', JSON.stringify(status));
      }
      const html = renderRingPage(status, { title: opts.title, csrfToken: opts.csrf.value, showTokens });
      return respond(200, 'text/html; charset=utf-8', html);
    }
    if (method !== 'POST') {
      return {
        ...respond(405, 'text/plain; charset=utf-8', 'method not allowed\n'),
        headers: { allow: 'GET, HEAD, POST', ...SECURITY_HEADERS },
      };
    }
    const form = new URLSearchParams(req.body ?? '');
    if (!opts.csrf.verify(form.get('csrf_token'))) {
      logger.warn('ring page: POST without a valid CSRF token refused');
      return respond(403, 'text/plain; charset=utf-8', 'missing or invalid CSRF token\n');
    }
    const id = form.get('forget');
    if (id === null || id === '') return respond(400, 'text/plain; charset=utf-8', 'no instance to forget\n');
    try {
      const removed = await opts.forget(id);
      logger.info('ring page: forget', { forgotten: id, removed });
    } catch (err) {
      logger.error('ring page: forget failed', { forgotten: id, err: errorMessage(err) });
      const status = codeChain(err).includes('ERR_RING_UNAVAILABLE') ? 503 : 500;
      return respond(status, 'text/plain; charset=utf-8', `could not forget ${id}: ${errorMessage(err)}\n`);
    }
    // A relative Location keeps whatever host and prefix the browser used.
    return { status: 303, headers: { location: url.pathname + url.search, ...SECURITY_HEADERS }, body: '' };
  };
}

function respond(status: number, type: string, body: string): HttpResponse {
  return { status, headers: { 'content-type': type, ...SECURITY_HEADERS }, body };
}

function header(req: HttpRequest, name: string): string {
  const v = req.headers[name];
  return v === undefined ? '' : typeof v === 'string' ? v : v.join(', ');
}
