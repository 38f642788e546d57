/**
 * The web UI on a long-running command's HTTP endpoint: the flag every such command has, and the
 * one call that mounts the shell with the pages the command serves.
 */
import type { Command } from 'commander';
import type { UiLink, UiPage } from '../web/api-types.js';
import { mountWebUi, STATUS_PAGE } from '../web/mount.js';
import { CsrfToken } from '../util/csrf.js';
import type { HttpEndpoint } from '../util/http.js';
import { packageVersion } from '../util/version.js';

export interface WebFlags {
  disableAdminOperations?: boolean;
}

export function webOptions(cmd: Command): Command {
  return cmd.option(
    '--disable-admin-operations',
    'the web UI and its API refuse admin actions (marking blocks): a read-only UI',
  );
}

export interface ServedUi {
  /** The token admin POSTs must carry (shown to the UI by /api/v1/strata/ui). */
  csrf: CsrfToken;
  adminOperations: boolean;
}

/** Mounts the UI at `/`: the command's own pages, then the status page every command has. */
export async function serveWebUi(
  http: HttpEndpoint,
  o: { component: string; pages?: readonly UiPage[]; links?: readonly UiLink[]; flags: WebFlags },
): Promise<ServedUi> {
  const ui: ServedUi = { csrf: new CsrfToken(), adminOperations: o.flags.disableAdminOperations !== true };
  mountWebUi(http, {
    component: o.component,
    version: await packageVersion(),
    pages: [...(o.pages ?? []), STATUS_PAGE],
    links: o.links ?? [],
    csrf: ui.csrf,
    adminOperations: ui.adminOperations,
  });
  return ui;
}
