/**
 * Mounts the web UI on a command's HTTP endpoint: the shell at `/`, its files under `/static/`,
 * and `/api/v1/strata/ui` (what this process serves). Each command passes the pages it has and
 * mounts their JSON APIs itself.
 */
import type { CsrfToken } from '../util/csrf.js';
import type { HttpEndpoint, HttpRequest, HttpResponse } from '../util/http.js';
import type { UiInfo, UiLink, UiPage } from './api-types.js';
import { shellResponse, staticResponse, UI_SECURITY_HEADERS } from './assets.js';

export interface WebUiOptions {
  component: string;
  version: string;
  pages: readonly UiPage[];
  links?: readonly UiLink[];
  csrf: CsrfToken;
  adminOperations: boolean;
}

/** The page every command has: its own `/api/v1/status`. */
export const STATUS_PAGE: UiPage = { id: 'status', title: 'Status' };

export function jsonResponse(status: number, value: unknown): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...UI_SECURITY_HEADERS },
    body: JSON.stringify(value),
  };
}

function methodNotAllowed(): HttpResponse {
  return {
    status: 405,
    headers: { allow: 'GET, HEAD', 'content-type': 'text/plain' },
    body: 'method not allowed\n',
  };
}

/** Serves GET and HEAD with `h`; anything else gets 405. */
export const readOnly =
  (h: (req: HttpRequest) => Promise<HttpResponse>) =>
  (req: HttpRequest): Promise<HttpResponse> =>
    req.method === 'GET' || req.method === 'HEAD' ? h(req) : Promise.resolve(methodNotAllowed());

export function mountWebUi(http: HttpEndpoint, o: WebUiOptions): void {
  const info: UiInfo = {
    component: o.component,
    version: o.version,
    pages: [...o.pages],
    links: [...(o.links ?? [])],
    adminOperations: o.adminOperations,
    csrfToken: o.csrf.value,
  };
  http.mount(
    '/',
    readOnly(async () => shellResponse()),
  );
  http.mountPrefix(
    '/static/',
    readOnly(async (req) =>
      staticResponse(new URL(req.url, 'http://ui.invalid').pathname.slice('/static/'.length)),
    ),
  );
  http.mount(
    '/api/v1/strata/ui',
    readOnly(async () => jsonResponse(200, info)),
  );
}
