/**
 * The case board (`#/board`): one column per open state, newest first, refreshed every
 * 3 s; filters by region, category, light (server side) and source (in the page).
 */
import { allPages, ApiError, NetworkError, qs, session } from '../api.js';
import { h, append, clear, field } from '../dom.js';
import { fmtDate, label, t } from '../i18n.js';
import { categoryName, loadCategories } from '../reference.js';

/** The board's columns, in the order a case moves. */
export const COLUMNS = ['reported', 'accepted', 'assigned', 'in_progress', 'returned', 'escalated', 'resolved'];
const SOURCES = ['grid_staff', 'resident', 'hotline', 'open311', 'department', 'inspection'];
const REFRESH_MS = 3000;
const PER_COLUMN = 100;

/** Renders the board into `el`; answers its cleanup (stops the refresh).
 * One closure over the page's state, its steps as inner functions (longer than a helper
 * would be, so that the page reads top to bottom).
 */
export function boardPage(el) {
  const keyRegion = session.principal?.region_prefix || '';
  const filters = { region: keyRegion, category: '', light: '', source: '' };
  const region = h('input', { id: 'filter-region', 'data-testid': 'filter-region', value: keyRegion, inputmode: 'numeric', pattern: '\\d*', placeholder: keyRegion || '3206' });
  const category = h('select', { id: 'filter-category', 'data-testid': 'filter-category' }, h('option', { value: '', text: t('any') }));
  const light = h('select', { id: 'filter-light', 'data-testid': 'filter-light' },
    h('option', { value: '', text: t('any') }), ['green', 'yellow', 'red'].map((l) => h('option', { value: l, text: t(`light_${l}`) })));
  const source = h('select', { id: 'filter-source', 'data-testid': 'filter-source' },
    h('option', { value: '', text: t('any') }), SOURCES.map((s) => h('option', { value: s, text: label('source', s) })));
  const stamp = h('span', { class: 'muted', 'aria-live': 'off' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const columns = new Map(COLUMNS.map((s) => [s, h('ol', { class: 'cards' })]));
  const counts = new Map(COLUMNS.map((s) => [s, h('span', { class: 'count', text: '…' })]));
  el.append(
    h('section', { class: 'board-page', 'data-testid': 'board' },
      h('div', { class: 'toolbar' },
        field(t('filter_region'), region), field(t('filter_category'), category),
        field(t('filter_light'), light), field(t('filter_source'), source), stamp),
      error,
      h('div', { class: 'columns' }, COLUMNS.map((s) =>
        h('section', { class: 'column', 'data-testid': `column-${s}`, 'data-state': s, 'aria-label': label('state', s) },
          h('h2', {}, label('state', s), ' ', counts.get(s)), columns.get(s))))),
  );

  loadCategories().then((cats) => {
    for (const c of cats.values()) category.append(h('option', { value: c.code, text: categoryName(c.code) }));
  });

  let timer = null;
  let busy = false;
  let alive = true;

  async function refresh() {
    if (busy || !alive) return;
    busy = true;
    try {
      const lists = await Promise.all(COLUMNS.map((status) =>
        allPages(`/v1/cases${qs({ region: filters.region, category: filters.category, light: filters.light, status, limit: 500 })}`, 4)));
      if (!alive) return;
      COLUMNS.forEach((s, i) => fill(s, lists[i]));
      error.hidden = true;
      stamp.textContent = `${t('refreshed')} ${fmtDate(new Date())}`;
    } catch (e) {
      if (e instanceof ApiError) {
        error.textContent = e.text;
        error.hidden = false;
      } else if (!(e instanceof NetworkError)) throw e;
    } finally {
      busy = false;
      if (alive) timer = setTimeout(refresh, REFRESH_MS);
    }
  }

  function fill(state, { items, more }) {
    const shown = items.filter((c) => !filters.source || c.source === filters.source)
      .sort((a, b) => (a.reported_at < b.reported_at ? 1 : -1));
    counts.get(state).textContent = `(${shown.length}${more ? '+' : ''})`;
    append(clear(columns.get(state)), shown.slice(0, PER_COLUMN).map(card));
  }

  function onFilter() {
    const r = region.value.trim();
    // A region-bound key stays within its region (the API would refuse anything else).
    filters.region = r.startsWith(keyRegion) ? r : keyRegion;
    region.value = filters.region;
    Object.assign(filters, { category: category.value, light: light.value, source: source.value });
    clearTimeout(timer);
    if (busy) setTimeout(onFilter, 200);
    else refresh();
  }
  region.addEventListener('change', onFilter);
  for (const s of [category, light, source]) s.addEventListener('change', onFilter);

  refresh();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}

/** One case card, a link to its page. */
function card(c) {
  return h('li', {},
    h('a', { class: 'card case-card', href: `#/cases/${c.id}`, 'data-testid': `case-${c.id}`, 'data-state': c.state, 'data-source': c.source },
      h('strong', { text: categoryName(c.category) }),
      h('span', { class: 'desc', text: c.description }),
      h('small', { class: 'muted', text: `${fmtDate(c.reported_at)} · ${label('source', c.source)} · ${c.responsible_grid || c.community}` })));
}
