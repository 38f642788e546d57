/**
 * Prometheus' web configuration file (the exporter-toolkit format, `--web.config.file` in
 * Prometheus and exporters, `--http.config` here): TLS for the HTTP server, extra response
 * headers, and basic-auth users with bcrypt hashes. Parsed strictly as exporter-toolkit does
 * (unknown keys are errors); relative paths are taken from the file's directory. Errors are
 * WebConfigError (ERR_WEB_CONFIG) naming the file and the field, never a value from the file.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { StrataError } from './errors.js';
import { findSystemError, systemErrorText } from './system-errors.js';
import type { ServerTlsFiles } from './tls.js';
import { YamlFields, isPlain, typeName } from './yaml-fields.js';

export class WebConfigError extends StrataError {
  /** Dotted path of the offending field, or '' for the file itself. */
  readonly field: string;

  constructor(file: string, field: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_WEB_CONFIG', `--http.config ${file}: ${field === '' ? '' : `${field}: `}${detail}`, options);
    this.field = field;
  }
}

/** Go's crypto/tls client authentication policies, by the names exporter-toolkit takes. */
export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

type NodeTlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
const TLS_VERSIONS: Readonly<Record<string, NodeTlsVersion>> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};

/**
 * Go's cipher suite names (tls.CipherSuites(), up to TLS 1.2) → OpenSSL's. The TLS 1.3 names are
 * accepted and, as in Go, have no effect: TLS 1.3 suites are not configurable there.
 */
const CIPHERS: Readonly<Record<string, string | null>> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
};
/** Node takes TLS 1.2 and 1.3 suites in one list; without these, a TLS 1.2 list would disable TLS 1.3. */
const TLS13_SUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

const CURVES: Readonly<Record<string, string>> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

/** The response headers exporter-toolkit lets the file set, and the values it allows (none listed: any). */
const HEADERS: Readonly<Record<string, readonly string[]>> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
};

/** bcrypt's modular crypt format as Go's bcrypt.Cost() accepts it: $2$, $2a$, $2b$, $2y$, cost 4..31. */
const BCRYPT_HASH = /^\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}$/;

export interface WebTlsConfig {
  /** cert_file, key_file and client_ca_file, absolute, each named after its field for errors. */
  readonly files: ServerTlsFiles;
  readonly clientAuth: ClientAuthType;
  readonly minVersion: NodeTlsVersion;
  readonly maxVersion: NodeTlsVersion;
  /** OpenSSL cipher list (absent: Node's defaults). */
  readonly ciphers?: string;
  readonly honorCipherOrder: boolean;
  /** OpenSSL curve list (absent: Node's defaults). */
  readonly ecdhCurve?: string;
  /** Client certificates must carry one of these SANs (DNS, IP, e-mail or URI). */
  readonly clientAllowedSans?: readonly string[];
}

export interface WebConfig {
  /** The file, absolute. */
  readonly file: string;
  /** Absent: plain HTTP. */
  readonly tls?: WebTlsConfig;
  /** http_server_config.http2: accepted; the endpoint speaks HTTP/1.1 only (clients fall back). */
  readonly http2: boolean;
  /** Added to every response. */
  readonly headers: Readonly<Record<string, string>>;
  /** Username → bcrypt hash; empty: no basic auth. */
  readonly users: ReadonlyMap<string, string>;
}

/** Fields of newer exporter-toolkit releases that Strata does not implement: refused, not ignored. */
const UNSUPPORTED_TLS = ['cert', 'key', 'client_ca'];

function parseTls(t: YamlFields, dir: string, file: string): WebTlsConfig | undefined {
  for (const name of UNSUPPORTED_TLS) {
    if (t.has(name)) throw t.error(name, `inline PEM is not supported; use ${name}_file`);
  }
  const certFile = t.str('cert_file') ?? '';
  const keyFile = t.str('key_file') ?? '';
  const caFile = t.str('client_ca_file') ?? '';
  const authRaw = t.str('client_auth_type') ?? '';
  const min = t.str('min_version');
  const max = t.str('max_version');
  const cipherNames = t.strList('cipher_suites');
  const honorCipherOrder = t.bool('prefer_server_cipher_suites', true);
  const curveNames = t.strList('curve_preferences');
  const sans = t.has('client_allowed_sans') ? t.strList('client_allowed_sans') : undefined;
  t.rejectUnknown();
  // exporter-toolkit: TLS is on when any of these is set; then the certificate and key are required.
  if (certFile === '' && keyFile === '' && caFile === '' && authRaw === '') return undefined;
  if (certFile === '') throw t.error('cert_file', 'is required when TLS is configured');
  if (keyFile === '') throw t.error('key_file', 'is required when TLS is configured');
  const clientAuth = CLIENT_AUTH_TYPES.find((a) => a === (authRaw === '' ? 'NoClientCert' : authRaw));
  if (clientAuth === undefined) {
    throw t.error('client_auth_type', `must be one of ${CLIENT_AUTH_TYPES.join(', ')}`);
  }
  if (caFile !== '' && clientAuth === 'NoClientCert') {
    throw t.error('client_ca_file', 'is set but client_auth_type is NoClientCert');
  }
  if (
    sans !== undefined &&
    clientAuth !== 'RequireAnyClientCert' &&
    clientAuth !== 'RequireAndVerifyClientCert'
  ) {
    throw t.error(
      'client_allowed_sans',
      'needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert',
    );
  }
  const version = (name: string, v: string | undefined, dflt: NodeTlsVersion): NodeTlsVersion => {
    if (v === undefined) return dflt;
    const out = TLS_VERSIONS[v];
    if (out === undefined) throw t.error(name, `must be one of ${Object.keys(TLS_VERSIONS).join(', ')}`);
    return out;
  };
  const minVersion = version('min_version', min, 'TLSv1.2');
  const maxVersion = version('max_version', max, 'TLSv1.3');
  if (minVersion > maxVersion) throw t.error('min_version', 'is above max_version');
  const ciphers = cipherNames.map((c, i) => {
    const v = CIPHERS[c];
    if (v === undefined) throw t.error(`cipher_suites[${i}]`, 'is not a cipher suite Go supports');
    return v;
  });
  const tls12 = ciphers.filter((c): c is string => c !== null);
  const curves = curveNames.map((c, i) => {
    const v = CURVES[c];
    if (v === undefined)
      throw t.error(`curve_preferences[${i}]`, `must be one of ${Object.keys(CURVES).join(', ')}`);
    return v;
  });
  const field = (name: string): string => `--http.config ${file} tls_server_config.${name}`;
  return {
    files: {
      cert: { flag: field('cert_file'), path: resolve(dir, certFile) },
      key: { flag: field('key_file'), path: resolve(dir, keyFile) },
      ...(caFile !== '' ? { clientCa: { flag: field('client_ca_file'), path: resolve(dir, caFile) } } : {}),
    },
    clientAuth,
    minVersion,
    maxVersion,
    ...(tls12.length > 0 ? { ciphers: `${TLS13_SUITES}:${tls12.join(':')}` } : {}),
    honorCipherOrder,
    ...(curves.length > 0 ? { ecdhCurve: curves.join(':') } : {}),
    ...(sans !== undefined ? { clientAllowedSans: sans } : {}),
  };
}

function parseHeaders(h: YamlFields): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of h.keys()) {
    const allowed = HEADERS[name];
    if (allowed === undefined) {
      throw h.error(name, `cannot be configured (allowed: ${Object.keys(HEADERS).join(', ')})`);
    }
    const v = h.str(name) ?? '';
    if (allowed.length > 0 && !allowed.includes(v))
      throw h.error(name, `must be one of ${allowed.join(', ')}`);
    if (v !== '') out[name] = v;
  }
  return out;
}

function parseUsers(u: YamlFields): Map<string, string> {
  const users = new Map<string, string>();
  for (const user of u.keys()) {
    const hash = u.str(user) ?? '';
    const m = BCRYPT_HASH.exec(hash);
    const cost = Number(m?.[1]);
    if (m === null || cost < 4 || cost > 31) {
      throw u.error(user, 'is not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04 to 31)');
    }
    users.set(user, hash);
  }
  return users;
}

/** Parses the file's text; `file` (absolute) names it in errors and anchors relative paths. */
export function parseWebConfig(text: string, file: string): WebConfig {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const yamlErr = doc.errors[0];
  if (yamlErr) {
    // The yaml library's message quotes the offending line, which may hold a hash.
    const offset = Math.min(yamlErr.pos[0], text.length);
    const before = text.slice(0, offset);
    const where = `line ${before.split('\n').length}, column ${offset - before.lastIndexOf('\n')}`;
    throw new WebConfigError(file, '', `invalid YAML at ${where} (${yamlErr.code})`);
  }
  const root: unknown = doc.toJS();
  // An empty file is valid: plain HTTP without authentication, as in exporter-toolkit.
  if (root === undefined || root === null) return { file, http2: true, headers: {}, users: new Map() };
  if (!isPlain(root)) throw new WebConfigError(file, '', `expected a mapping, got a ${typeName(root)}`);
  const top = new YamlFields(root, '', (field, detail) => new WebConfigError(file, field, detail));
  if (top.has('rate_limit')) throw top.error('rate_limit', 'is not supported');
  const tls = parseTls(top.sub('tls_server_config'), dirname(file), file);
  const httpConf = top.sub('http_server_config');
  const http2 = httpConf.bool('http2', true);
  const headers = parseHeaders(httpConf.sub('headers'));
  httpConf.rejectUnknown();
  const users = parseUsers(top.sub('basic_auth_users'));
  top.rejectUnknown();
  return { file, ...(tls ? { tls } : {}), http2, headers, users };
}

/** Reads and parses the file (`path` relative to the working directory). */
export async function readWebConfig(path: string): Promise<WebConfig> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const sys = findSystemError(err);
    throw new WebConfigError(file, '', `cannot read: ${sys ? systemErrorText(sys) : 'read failed'}`, {
      cause: err,
    });
  }
  return parseWebConfig(text, file);
}
