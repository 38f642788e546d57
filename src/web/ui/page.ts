/** The contract between the shell (app.ts) and a page module (pages/<id>.ts). */
import type { UiInfo } from '../api-types.js';

export interface PageContext {
  info: UiInfo;
  /** The query part of the route (`#/blocks?tenant=a` → tenant=a). */
  params: URLSearchParams;
  /** Replaces the route's query without reloading the page module (keeps filters in the URL). */
  setParams(params: URLSearchParams): void;
}

/** Draws the page into `root`; returns what stops its timers and requests when the user leaves. */
export type MountPage = (root: HTMLElement, ctx: PageContext) => () => void;

/** Every page module exports `mount`. */
export interface PageModule {
  mount: MountPage;
}
