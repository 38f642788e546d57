/**
 * HTTP basic authentication against bcrypt hashes (the `basic_auth_users` of a web config file).
 * bcrypt costs tens of milliseconds per check by design, so each outcome is cached under a SHA-256
 * of user, hash and password (the password itself is never kept) and a Prometheus scraping
 * /metrics every 15 s pays it once; checks that miss the cache run one at a time, as in
 * exporter-toolkit, so a burst of bad guesses cannot take every core.
 */
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

/** Cached outcomes kept (oldest dropped first): enough for a few users and their clients. */
const CACHE_ENTRIES = 1024;

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** The user and password of an `Authorization: Basic ...` header, as Go's Request.BasicAuth reads it. */
export function parseBasicAuth(header: string | undefined): Credentials | undefined {
  if (header === undefined) return undefined;
  const m = /^basic (.*)$/is.exec(header);
  if (m === null) return undefined;
  const encoded = m[1] ?? '';
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

export class BasicAuthenticator {
  readonly #users: ReadonlyMap<string, string>;
  /** A configured hash checked for unknown users too, so timing does not tell which users exist. */
  readonly #decoy: string | undefined;
  readonly #cache = new Map<string, boolean>();
  #queue: Promise<unknown> = Promise.resolve();
  #comparisons = 0;

  constructor(users: ReadonlyMap<string, string>) {
    this.#users = users;
    this.#decoy = users.values().next().value;
  }

  /** bcrypt comparisons actually run (cache misses). */
  get comparisons(): number {
    return this.#comparisons;
  }

  /** True when there are users, i.e. requests need credentials. */
  get enabled(): boolean {
    return this.#users.size > 0;
  }

  /** Whether the header carries the password of a configured user. */
  async check(header: string | undefined): Promise<boolean> {
    const c = parseBasicAuth(header);
    if (c === undefined || this.#decoy === undefined) return false;
    const known = this.#users.get(c.user);
    const hash = known ?? this.#decoy;
    const key = createHash('sha256')
      .update(`${c.user.length}:${c.user}\0${hash}\0`)
      .update(c.password)
      .digest('hex');
    let ok = this.#cache.get(key);
    if (ok === undefined) {
      ok = await this.#compare(c.password, hash);
      this.#cache.set(key, ok);
      if (this.#cache.size > CACHE_ENTRIES) {
        const oldest = this.#cache.keys().next().value;
        if (oldest !== undefined) this.#cache.delete(oldest);
      }
    }
    return ok && known !== undefined;
  }

  #compare(password: string, hash: string): Promise<boolean> {
    const run = this.#queue.then(() => {
      this.#comparisons++;
      return bcrypt.compare(password, hash);
    });
    this.#queue = run.catch(() => undefined);
    return run.catch(() => false);
  }
}
