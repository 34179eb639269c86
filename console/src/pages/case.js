/**
 * A case (`#/cases/<id>`): the report, its place on a small map (the responsible grid's
 * outline and the reported point), the deadline with the working time left, the
 * hash-chained log with its verification, and the actions the key may take.
 */
import { api, apiOrNull, ApiError } from '../api.js';
import { actionsBlock } from '../caseactions.js';
import { workingTimeLeft } from '../calendar.js';
import { h, append, clear } from '../dom.js';
import { fmtDate, label, t } from '../i18n.js';
import { createMap, L } from '../mapview.js';
import { categoryName, loadCategories } from '../reference.js';
import { triageNote } from '../triage.js';

/** Renders the case page into `el`; answers its cleanup.
 * One closure over the page's state, its steps as inner functions (longer than a helper
 * would be, so that the page reads top to bottom).
 */
export function casePage(el, { id }) {
  const page = h('section', { class: 'case-page', 'data-testid': 'case-page', 'data-case-id': id },
    h('p', { class: 'muted', text: t('loading') }));
  el.append(h('p', {}, h('a', { href: '#/board', text: `← ${t('back_to_board')}` })), page);
  let alive = true;
  let map = null;

  /** Loads (or, after an action, shows `known`) and renders; `flash` says what was done. */
  async function load(known, flash) {
    try {
      const [c, log] = await Promise.all([known || api(`/v1/cases/${encodeURIComponent(id)}`), api(`/v1/cases/${encodeURIComponent(id)}/log`)]);
      await loadCategories();
      if (!alive) return;
      map?.remove();
      map = null;
      append(clear(page), 
        h('div', { class: 'case-grid' },
          h('div', {},
            reportBlock(c),
            deadlineBlock(c),
            flash && h('p', { class: 'ok', role: 'status', 'data-testid': 'case-flash', text: flash }),
            actionsBlock(c, (updated, message) => load(updated, message))),
          h('div', {},
            h('div', { class: 'case-map card', 'aria-label': t('case_location') }),
            logBlock(log))),
      );
      drawPlace(page.querySelector('.case-map'), c);
    } catch (e) {
      if (!alive) return;
      if (e instanceof ApiError) append(clear(page), h('p', { class: 'error', role: 'alert', text: e.text }));
    }
  }

  async function drawPlace(mapEl, c) {
    map = await createMap(mapEl, { zoomControl: true });
    const grid = c.responsible_grid || c.comprehensive_grid;
    const [detail, event] = await Promise.all([
      grid ? apiOrNull(`/v1/grids/${encodeURIComponent(grid)}`).catch(() => null) : null,
      apiOrNull(`/v1/events/${encodeURIComponent(c.id)}`).catch(() => null),
    ]);
    if (!alive || !map) return;
    const shapes = [];
    if (detail?.geometry) shapes.push(L.geoJSON(detail.geometry, { style: { color: '#3a78c9', weight: 2, fillOpacity: 0.15 } }));
    const point = event?.event?.point;
    if (point) {
      const ll = [point.wgs84_lat ?? point.lat, point.wgs84_lng ?? point.lng];
      shapes.push(L.circleMarker(ll, { radius: 7, color: '#d64541', weight: 2, fillColor: '#fff', fillOpacity: 1 }));
    }
    if (!shapes.length) return;
    const group = L.featureGroup(shapes).addTo(map);
    map.fitBounds(group.getBounds(), { maxZoom: 17, padding: [20, 20], animate: false });
  }

  load();
  return () => {
    alive = false;
    map?.remove();
  };
}

/** The report: what, where, who, when. */
function reportBlock(c) {
  const row = (k, v) => [h('dt', { text: k }), h('dd', {}, v ?? '—')];
  return h('section', { class: 'card' },
    h('h2', {}, `${t('case_title')} `, h('code', { text: c.id })),
    h('p', {}, h('span', { class: `state state-${c.state}`, 'data-testid': 'case-state', 'data-state': c.state, text: c.state }),
      ' ', label('state', c.state)),
    h('dl', {},
      row(t('case_report'), c.description),
      row(t('case_category'), h('span', { 'data-testid': 'case-category', 'data-category': c.category || '', text: categoryName(c.category) })),
      c.triage && row(t('triage_title'), triageNote(c)),
      row(t('case_source'), label('source', c.source)),
      row(t('case_reported_at'), fmtDate(c.reported_at)),
      row(t('case_grid'), c.responsible_grid || c.comprehensive_grid),
      row(t('case_assignee'), c.assignee ? `${c.assignee_kind === 'department' ? t('target_department') : t('target_grid')} ${c.assignee}` : null)));
}

/** The deadline and the working time left (or overdue). */
function deadlineBlock(c) {
  const due = c.resolve_due || c.respond_due;
  const left = h('dd', { 'data-field': 'time-left' }, '…');
  const block = h('section', { class: 'card deadline', 'data-testid': 'case-deadline', 'data-due': due || '' },
    h('h2', { text: t('case_deadline') }),
    due
      ? h('dl', {},
          c.respond_due && [h('dt', { text: t('case_respond_due') }), h('dd', { text: fmtDate(c.respond_due) })],
          c.resolve_due && [h('dt', { text: t('case_deadline') }), h('dd', { text: fmtDate(c.resolve_due) })],
          h('dt', { text: t('case_time_left') }), left)
      : h('p', { class: 'muted', text: t('case_no_deadline') }));
  if (due && !['closed', 'rejected', 'merged'].includes(c.state)) {
    workingTimeLeft(c.resolve_due || c.respond_due).then((ms) => {
      if (ms === null) return (left.textContent = '—');
      const abs = Math.abs(ms) / 60000;
      const text = `${Math.floor(abs / 60)} ${t('hours')} ${Math.round(abs % 60)} ${t('minutes')}`;
      left.textContent = ms < 0 ? `${t('case_overdue')} ${text}` : text;
      left.dataset.ms = String(ms);
      left.classList.toggle('overdue', ms < 0);
    });
  } else left.textContent = '—';
  return block;
}

/** The log, one entry per step, and the hash chain's verification. */
function logBlock(log) {
  const v = log.verification || {};
  return h('section', { class: 'card' },
    h('h2', { text: t('case_log') }),
    h('p', { 'data-testid': 'log-verified', 'data-verified': String(Boolean(v.valid)), class: v.valid ? 'ok' : 'error' },
      v.valid ? `✔ ${t('log_verified')} (${v.entries})` : `✘ ${t('log_broken')}${v.broken_at_seq ?? '?'}`),
    h('ol', { class: 'log', 'data-testid': 'case-log' }, log.entries.map((e) =>
      h('li', { 'data-testid': 'log-entry', 'data-action': e.action, 'data-seq': e.seq },
        h('strong', { text: e.action }), ' ',
        h('span', { text: `${e.from ? label('state', e.from) + ' → ' : ''}${label('state', e.to)}` }), ' ',
        h('small', { class: 'muted', text: `${fmtDate(e.at)} · ${e.role}${e.actor && e.actor !== e.role ? ` ${e.actor}` : ''}` }),
        e.note && h('p', { class: 'note', text: e.note }),
        h('small', { class: 'hash', title: e.hash, text: `#${(e.hash || '').slice(0, 12)}` })))));
}
