/**
 * The console's entry: the shell (header, navigation, language, sign-out, network
 * banner), the session check and the hash router. Test hooks live on `window.__wangge`.
 */
import 'leaflet/dist/leaflet.css';
import './styles.css';
import { api, networkBanner, session, whenUnauthenticated } from './api.js';
import { h, clear } from './dom.js';
import { t, toggleLang } from './i18n.js';
import { currentPath, go, render, route, stop } from './router.js';
import { signinPage } from './pages/signin.js';
import { mapPage } from './pages/map.js';
import { boardPage } from './pages/board.js';
import { casePage } from './pages/case.js';
import { scoresPage } from './pages/scores.js';

window.__wangge = {
  metrics: { firstPaintMs: null, gridsDrawnMs: null, grids: 0 },
  pointOf: () => null,
};

const app = document.getElementById('app');
let view;

/** Asks the API who the session's key is; forgets a key it refuses (401). */
async function checkKey() {
  try {
    const echo = await api('/v1/system/grid-lookup/echo', { method: 'POST', body: {} });
    session.principal = echo.key;
    return true;
  } catch (e) {
    if (e.status === 401) session.key = null;
    return false;
  }
}

/**
 * Whether the session's key is known: checked once per tab session (then kept), and
 * re-checked in the background on a reload (a revoked key signs out on its first 401).
 */
async function ensurePrincipal() {
  if (!session.key) return false;
  if (session.principal) {
    if (!checkedThisLoad) {
      checkedThisLoad = true;
      checkKey();
    }
    return true;
  }
  checkedThisLoad = true;
  return checkKey();
}
let checkedThisLoad = false;

/** Forgets the key and goes to sign-in. */
export function signOut() {
  stop();
  session.key = null;
  session.principal = null;
  go('/signin');
}

/** Draws the header and navigation for the signed-in state (or none on sign-in). */
function shell() {
  clear(app);
  const signedIn = Boolean(session.principal);
  const path = currentPath();
  const nav = (id, href, text) =>
    h('a', { href, 'data-testid': id, class: path.startsWith(href.slice(1)) ? 'active' : '', 'aria-current': path.startsWith(href.slice(1)) ? 'page' : false, text });
  const region = session.principal?.region_prefix;
  const header = h(
    'header',
    { class: 'topbar' },
    h('h1', { text: t('app_title') }),
    signedIn &&
      h(
        'nav',
        { 'aria-label': 'main' },
        nav('nav-map', '#/map', t('nav_map')),
        nav('nav-board', '#/board', t('nav_board')),
        nav('nav-scores', '#/scores', t('nav_scores')),
      ),
    h('span', { class: 'spacer' }),
    signedIn &&
      h('span', { class: 'who', 'data-region': region || '', title: session.principal.name }, `${t('region_of_key')}: ${region || t('region_all')} · ${session.principal.name}`),
    h('button', {
      type: 'button',
      'data-testid': 'lang-toggle',
      lang: t('lang_toggle') === 'English' ? 'en' : 'zh-CN',
      text: t('lang_toggle'),
      onclick: () => {
        toggleLang();
        start();
      },
    }),
    signedIn && h('button', { type: 'button', 'data-testid': 'signout', text: t('signout'), onclick: signOut }),
  );
  view = h('main', { id: 'view', tabindex: '-1' });
  app.append(header, view);
  networkBanner.mount(app);
  networkBanner.retry = () => {
    networkBanner.hide();
    start();
  };
}

/** Renders the current route, signing in first when needed. */
async function start() {
  const path = currentPath();
  const ok = await ensurePrincipal().catch(() => false);
  if (!ok && session.key && path !== '/signin') {
    // The key could not be checked (the network): keep the frame, offer a retry.
    shell();
    view.append(h('p', { class: 'muted', text: t('loading') }));
    networkBanner.show();
    return;
  }
  if (!ok && path !== '/signin') return location.replace('#/signin');
  if (ok && (path === '/signin' || path === '/')) return location.replace('#/map');
  shell();
  render(view, ok ? '/map' : '/signin');
  if (window.__wangge.metrics.firstPaintMs === null) {
    requestAnimationFrame(() => {
      window.__wangge.metrics.firstPaintMs = Math.round(performance.now());
    });
  }
}

route('/signin', (el) => signinPage(el, { onSignedIn: () => start() }));
route('/map', mapPage);
route('/board', boardPage);
route('/cases/:id', casePage);
route('/scores', scoresPage);

whenUnauthenticated(() => signOut());
window.addEventListener('hashchange', () => start());
start();
