/**
 * Hash routes: `#/signin`, `#/map`, `#/board`, `#/cases/<id>`, `#/scores`. A page is
 * `render(container, params) → cleanup?`; the router runs the cleanup before the next.
 */

const routes = [];
let cleanup = null;
let current = null;

/** Adds a route: `pattern` like `/cases/:id`. */
export function route(pattern, page) {
  const names = [];
  const re = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, n) => (names.push(n), '([^/]+)'))}$`);
  routes.push({ re, names, page });
}

/** The current hash path, `/map` for `#/map?x`. */
export function currentPath() {
  return (location.hash.replace(/^#/, '') || '/').split('?')[0];
}

/** Goes to `path` (a hash route). */
export function go(path) {
  if (currentPath() === path) render();
  else location.hash = `#${path}`;
}

/** Renders the current route into `container` (the fallback page when none matches). */
export function render(container = current?.container, fallback = '/map') {
  const path = currentPath();
  const found = routes.find((r) => r.re.test(path));
  if (!found) {
    location.replace(`#${fallback}`);
    return;
  }
  const match = path.match(found.re);
  const params = Object.fromEntries(found.names.map((n, i) => [n, decodeURIComponent(match[i + 1])]));
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  current = { container, path };
  cleanup = found.page(container, params) || null;
}

/** Runs the page's cleanup (on sign-out). */
export function stop() {
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
}
