/**
 * The UI's files: the shell and stylesheet (strings), the compiled browser modules (dist/src/web/ui,
 * built by `tsc -p tsconfig.ui.json`), and uPlot from its npm package. Everything is served from
 * the package itself; nothing is fetched from elsewhere at run time.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpResponse } from '../util/http.js';
import { SHELL_CSS, SHELL_HTML } from './shell.js';

/** Headers of every UI response: no framing, no sniffing, scripts and styles only from here. */
export const UI_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

/** Where the compiled browser modules are: beside this module once built, under dist/ when run from source. */
function uiDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const parts = here.split(sep);
  const i = parts.lastIndexOf('src');
  const built = parts.slice(0, i).includes('dist')
    ? here
    : join(parts.slice(0, i).join(sep), 'dist', 'src', 'web');
  return join(built, 'ui');
}

const vendorDir = (): string => dirname(createRequire(import.meta.url).resolve('uplot'));

export function shellResponse(): HttpResponse {
  return {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      ...UI_SECURITY_HEADERS,
    },
    body: SHELL_HTML,
  };
}

/** Serves `static/<path>`: app.css, vendor/uPlot.*, and the compiled modules; 404 for anything else. */
export async function staticResponse(path: string): Promise<HttpResponse> {
  const notFound: HttpResponse = {
    status: 404,
    headers: { 'content-type': 'text/plain' },
    body: 'not found\n',
  };
  const headers = (type: string): Record<string, string> => ({
    'content-type': type,
    'cache-control': 'no-cache',
    ...UI_SECURITY_HEADERS,
  });
  if (path === 'app.css') return { status: 200, headers: headers(TYPES['.css'] ?? ''), body: SHELL_CSS };
  let file: string;
  if (path === 'vendor/uPlot.iife.min.js' || path === 'vendor/uPlot.min.css') {
    file = join(vendorDir(), path.slice('vendor/'.length));
  } else {
    const root = uiDir();
    file = normalize(join(root, path));
    if (!file.startsWith(root + sep)) return notFound;
  }
  const type = TYPES[file.slice(file.lastIndexOf('.'))];
  if (type === undefined) return notFound;
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return notFound;
  return { status: 200, headers: headers(type), body: text };
}
