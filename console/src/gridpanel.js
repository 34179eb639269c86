/**
 * The grid details panel (`grid-panel`): code, name, type, staff with masked phones,
 * this month's score and the open cases, for the grid clicked or searched.
 */
import { api, apiOrNull, ApiError } from './api.js';
import { h, append, clear } from './dom.js';
import { fmtDate, label, t, thisMonth } from './i18n.js';

const OPEN = new Set(['reported', 'accepted', 'assigned', 'in_progress', 'returned', 'escalated', 'resolved']);

/** Masks a phone the API did not mask already: `138****1043`. */
export function maskPhone(phone) {
  if (!phone) return '';
  return /\*/.test(phone) || phone.length < 7 ? phone : `${phone.slice(0, 3)}****${phone.slice(-4)}`;
}

/** The panel element; `show(code, score)` loads and shows a grid, `hide()` closes it. */
export function gridPanel({ onClose }) {
  const el = h('aside', { class: 'grid-panel card', 'data-testid': 'grid-panel', 'aria-live': 'polite', hidden: true });
  let token = 0;

  async function show(code, knownScore) {
    const mine = ++token;
    el.hidden = false;
    append(clear(el), h('p', { class: 'muted', text: t('loading') }));
    try {
      const month = thisMonth();
      const [detail, cases, assessed] = await Promise.all([
        api(`/v1/grids/${encodeURIComponent(code)}`),
        api(`/v1/cases?grid=${encodeURIComponent(code)}&limit=200`).catch(() => ({ items: [] })),
        knownScore === undefined ? apiOrNull(`/v1/assessments/${month}/grids/${encodeURIComponent(code)}`).catch(() => null) : null,
      ]);
      if (mine !== token) return;
      const score = knownScore ?? assessed?.grid?.score ?? null;
      const open = cases.items.filter((c) => OPEN.has(c.state));
      render(detail, score, open);
    } catch (e) {
      if (mine !== token) return;
      append(clear(el), h('p', { class: 'error', role: 'alert', text: e instanceof ApiError ? e.text : String(e) }));
    }
    el.dataset.gridCode = code;
  }

  function render(detail, score, open) {
    const { grid, staff = [] } = detail;
    append(clear(el), 
      h('div', { class: 'panel-head' },
        h('h2', { text: grid.name }),
        h('button', { type: 'button', class: 'link', 'aria-label': t('close_panel'), text: '×', onclick: () => { hide(); onClose?.(); } })),
      h('dl', {},
        h('dt', { text: t('grid_code') }), h('dd', { 'data-field': 'code', text: grid.code }),
        h('dt', { text: t('grid_name') }), h('dd', { 'data-field': 'name', text: grid.name }),
        h('dt', { text: t('grid_kind') }), h('dd', { text: label('kind', grid.kind) + (grid.dedicated_type ? ` · ${grid.dedicated_type}` : '') }),
        h('dt', { text: t('grid_score') }), h('dd', { 'data-field': 'score', 'data-score': score ?? '', text: score ?? t('no_score') }),
        h('dt', { text: t('grid_staff') }),
        h('dd', {}, staff.length
          ? h('ul', { class: 'staff' }, staff.map((s) => h('li', { 'data-staff-id': s.staff_id },
              `${s.name} · ${label('role', s.role)} · `, h('span', { class: 'phone', text: maskPhone(s.phone) }))))
          : t('none')),
        h('dt', { text: `${t('grid_open_cases')} (${open.length})` }),
        h('dd', { 'data-field': 'open-cases', 'data-count': open.length }, open.length
          ? h('ul', { class: 'cases' }, open.slice(0, 20).map((c) => h('li', {},
              h('a', { href: `#/cases/${c.id}`, text: `${label('state', c.state)} · ${c.category} · ${c.description.slice(0, 24)}` }),
              h('small', { class: 'muted', text: ` ${fmtDate(c.reported_at)}` }))))
          : t('none')),
      ),
    );
  }

  function hide() {
    token++;
    el.hidden = true;
    delete el.dataset.gridCode;
  }

  return { el, show, hide };
}
