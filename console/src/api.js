/**
 * The public API on this origin: the bearer key from the session, problem+json
 * refusals as `ApiError`, and the network banner (with retry) when a request cannot
 * reach the server at all.
 */
import { currentLang, t } from './i18n.js';
import { h } from './dom.js';

const KEY = 'wangge.key';
const WHO = 'wangge.principal';

/** The signed-in key (sessionStorage only: never localStorage, never a URL). */
export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
  /**
   * Who the key is: `{id, name, scopes, region_prefix}` (from `/v1/system/grid-lookup/echo`),
   * kept beside the key for the tab's session so that a reload draws at once.
   */
  get principal() {
    try {
      return JSON.parse(sessionStorage.getItem(WHO));
    } catch {
      return null;
    }
  },
  set principal(value) {
    if (value) sessionStorage.setItem(WHO, JSON.stringify(value));
    else sessionStorage.removeItem(WHO);
  },
};

/** A refusal from the API, with its problem+json document. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code;
  }
  /** `title — detail`, as the page shows a refusal. */
  get text() {
    const { title, detail } = this.problem;
    return [title, detail].filter(Boolean).join(' — ') || this.message;
  }
}

/** The server could not be reached. */
export class NetworkError extends Error {}

let onUnauthenticated = () => {};
/** Called when a signed-in request answers 401 (the key was revoked). */
export function whenUnauthenticated(fn) {
  onUnauthenticated = fn;
}

/**
 * One request. `opts.key` overrides the session key (sign-in); `opts.blob` answers a
 * Blob; `opts.ifMatch` (a case version) sends If-Match. Answers the parsed JSON (or null for no body).
 */
export async function api(path, opts = {}) {
  const headers = { 'accept-language': currentLang() === 'en' ? 'en' : 'zh-CN' };
  const key = opts.key ?? session.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.ifMatch !== undefined) headers['if-match'] = `"${opts.ifMatch}"`;
  let response;
  try {
    response = await fetch(path, {
      method: opts.method || 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      cache: opts.cache || 'no-store',
    });
  } catch (e) {
    networkBanner.show();
    throw new NetworkError(String(e));
  }
  // The API answered: the network is back (the console's own files say nothing about it).
  if (path.startsWith('/v1/')) networkBanner.hide();
  if (!response.ok) {
    const problem = await response.json().catch(() => null);
    if (response.status === 401 && !opts.key) onUnauthenticated();
    throw new ApiError(response.status, problem);
  }
  if (opts.blob) return response.blob();
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** A GET whose 404 answers `null` (a period not assessed, a grid without a score). */
export async function apiOrNull(path) {
  try {
    return await api(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** Every item of a paged list, following `next_cursor` for at most `pages` pages. */
export async function allPages(path, pages = 4) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < pages; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
    items.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) return { items, more: false };
  }
  return { items, more: true };
}

/** Query string from an object, empty values left out. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * The network banner: role="alert", with a retry button that runs the retry handler
 * (by default the current page again). The page underneath stays.
 */
export const networkBanner = {
  el: null,
  retry: () => {},
  mount(parent) {
    this.el = h(
      'div',
      { class: 'network-banner', 'data-testid': 'network-banner', role: 'alert', hidden: true },
      h('span', { class: 'banner-text', text: t('network_down') }),
      h('button', { type: 'button', 'data-testid': 'network-retry', text: t('network_retry'), onclick: () => this.retry() }),
    );
    parent.prepend(this.el);
  },
  show() {
    if (this.el) this.el.hidden = false;
  },
  hide() {
    if (this.el) this.el.hidden = true;
  },
};
