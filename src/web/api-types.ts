/**
 * The JSON shapes shared by the UI's server side (src/web) and its browser code (src/web/ui).
 * Types only: the browser build compiles this file too, so it imports nothing.
 */

/** One page of the single-page UI: `id` is its route (`#/<id>`) and its module (`pages/<id>.js`). */
export interface UiPage {
  id: string;
  title: string;
}

/** A link the navigation shows next to the pages (e.g. a ring page served by the command). */
export interface UiLink {
  title: string;
  href: string;
}

/** `GET /api/v1/strata/ui`: what this process serves. */
export interface UiInfo {
  /** The command serving the UI (`compact`, `planner`, `worker`, `store`, `query`, `bucket web`). */
  component: string;
  version: string;
  pages: UiPage[];
  links: UiLink[];
  /** False under `--disable-admin-operations`: the UI hides mark actions and the server refuses them. */
  adminOperations: boolean;
  /** Sent back as `csrf_token` with every admin POST. */
  csrfToken: string;
}
