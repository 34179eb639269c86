/**
 * Scores (`#/scores`): rankings of a period (month, quarter, year) per level, a grid's
 * deductions linked to their cases, statistics and department KPIs as charts, and the
 * CSV export as a download (fetched with the key, saved from a Blob).
 */
import { api, apiOrNull, ApiError, session } from '../api.js';
import { h, append, clear, field } from '../dom.js';
import { t, thisMonth } from '../i18n.js';
import { loadDepartments } from '../reference.js';

const LEVELS = ['grid', 'dedicated', 'community', 'town', 'district', 'city'];
const SHOWN = 10000;

/** Renders the scores page into `el`; answers its cleanup.
 * One closure over the page's state, its steps as inner functions (longer than a helper
 * would be, so that the page reads top to bottom).
 */
export function scoresPage(el) {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const period = h('input', { id: 'scores-period', 'data-testid': 'scores-period', value: params.get('period') || thisMonth(), pattern: '\\d{4}(-(0[1-9]|1[0-2]|Q[1-4]))?', size: 9 });
  const level = h('select', { id: 'scores-level', 'data-testid': 'scores-level' },
    LEVELS.map((l) => h('option', { value: l, text: t(`level_${l}`), selected: l === (params.get('level') || 'grid') })));
  const form = h('form', { class: 'toolbar' }, field(t('scores_period'), period), field(t('scores_level'), level),
    h('button', { type: 'submit', text: t('scores_show') }));
  const exportLink = h('a', { href: '#', 'data-testid': 'export-csv', class: 'button', role: 'button', text: t('export_csv') });
  const message = h('p', { class: 'error', role: 'alert', hidden: true });
  const table = h('table', { 'data-testid': 'rankings', class: 'rankings' });
  const note = h('p', { class: 'muted' });
  const deductions = h('section', { class: 'card deductions', 'aria-live': 'polite', hidden: true });
  const statsChart = h('div', { class: 'chart', 'data-testid': 'chart-statistics', role: 'img', 'aria-label': t('chart_statistics') });
  const deptChart = h('div', { class: 'chart', 'data-testid': 'chart-departments', role: 'img', 'aria-label': t('chart_departments') });
  const root = h('section', { class: 'scores-page', 'data-testid': 'scores' },
    form, h('p', {}, exportLink), message,
    h('div', { class: 'scores-grid' },
      h('div', { class: 'card' }, table, note),
      h('div', {}, deductions,
        h('section', { class: 'card' }, h('h2', { text: t('chart_statistics') }), statsChart),
        h('section', { class: 'card' }, h('h2', { text: t('chart_departments') }), deptChart))));
  el.append(root);

  // Each show() takes a ticket; an answer whose ticket is not the latest is dropped, so a
  // slow first table cannot overwrite the level the operator chose meanwhile.
  let shown = 0;
  async function show() {
    const ticket = ++shown;
    const p = period.value.trim();
    const lv = level.value;
    message.hidden = true;
    deductions.hidden = true;
    note.textContent = t('loading');
    try {
      const ranking = await api(`/v1/assessments/${encodeURIComponent(p)}/rankings?level=${lv}`);
      if (ticket !== shown) return;
      rankingTable(table, note, ranking.items, lv, showDeductions);
      await charts(p, () => ticket === shown);
    } catch (e) {
      if (ticket !== shown) return;
      clear(table);
      note.textContent = '';
      message.textContent = e instanceof ApiError ? (e.status === 404 ? `${t('not_run')} ${e.text}` : e.text) : t('network_down');
      message.hidden = false;
    }
  }

  /** Draws the charts of period `p`, unless `current()` says a later show() took over. */
  async function charts(p, current) {
    // ECharts is loaded with the scores page only (a chunk of its own).
    const { barChart } = await import('../charts.js');
    const region = session.principal?.region_prefix || '';
    const [stats, depts] = await Promise.all([
      apiOrNull(`/v1/assessments/${encodeURIComponent(p)}/statistics${region ? `?region=${region}` : ''}`),
      apiOrNull(`/v1/assessments/${encodeURIComponent(p)}/departments`),
    ]);
    if (!current()) return;
    if (stats) {
      const c = stats.counts || {};
      const reported = Object.values(c.reported || {}).reduce((a, b) => a + b, 0);
      const rows = [
        ['stat_reported', reported], ['stat_on_time', c.resolved_on_time], ['stat_late', c.resolved_late],
        ['stat_overdue', c.overdue_unresolved], ['stat_rejected', c.rejected], ['stat_merged', c.merged],
        ['stat_reopened', c.reopened], ['stat_missed', c.missed_discovery], ['stat_late_report', c.late_report],
      ];
      barChart(statsChart, rows.map(([k]) => t(k)), [{ name: t('chart_statistics'), data: rows.map(([, v]) => v || 0) }]);
    }
    const names = new Map((await loadDepartments()).map((d) => [d.dept_code, d.name]));
    if (!current()) return;
    const items = (depts?.items || []).slice(0, 20);
    const pct = (v) => (v === null || v === undefined ? 0 : Math.round(v * 1000) / 10);
    barChart(deptChart, items.map((d) => names.get(d.department) || d.department), [
      { name: t('dept_score'), data: items.map((d) => d.score ?? 0) },
      { name: t('dept_on_time'), data: items.map((d) => pct(d.on_time_rate)) },
      { name: t('dept_closed'), data: items.map((d) => pct(d.closure_rate)) },
      { name: t('dept_reworked'), data: items.map((d) => pct(d.rework_rate)) },
    ], { horizontal: true });
  }

  async function showDeductions(code) {
    const p = period.value.trim();
    deductions.hidden = false;
    append(clear(deductions), h('p', { class: 'muted', text: t('loading') }));
    try {
      const g = await api(`/v1/assessments/${encodeURIComponent(p)}/grids/${encodeURIComponent(code)}`);
      append(clear(deductions), 
        h('h2', { text: `${t('deductions_of')}${code} · ${g.grid.score}` }),
        g.deductions.length
          ? h('table', { 'data-testid': 'deductions', 'data-grid-code': code },
              h('thead', {}, h('tr', {}, [t('deduction_rule'), t('deduction_domain'), t('deduction_points'), t('deduction_case')].map((x) => h('th', { scope: 'col', text: x })))),
              h('tbody', {}, g.deductions.map((d) => h('tr', { 'data-testid': 'deduction', 'data-case-id': d.case_id || '' },
                h('td', { text: d.rule }), h('td', { text: d.domain || '' }), h('td', { text: d.points ?? '' }),
                h('td', {}, d.case_id ? h('a', { href: `#/cases/${d.case_id}`, text: d.case_id }) : '—')))))
          : h('p', { class: 'muted', text: t('no_deductions') }),
      );
    } catch (e) {
      append(clear(deductions), h('p', { class: 'error', role: 'alert', text: e instanceof ApiError ? e.text : t('network_down') }));
    }
  }

  exportLink.addEventListener('click', async (event) => {
    event.preventDefault();
    const p = period.value.trim();
    try {
      const blob = await api(`/v1/assessments/${encodeURIComponent(p)}/export.csv?level=${level.value}`, { blob: true });
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `assessment-${p}-${level.value}.csv`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      message.textContent = e instanceof ApiError ? e.text : t('network_down');
      message.hidden = false;
    }
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    show();
  });
  level.addEventListener('change', show);
  period.addEventListener('change', show);
  show();
  return () => import('../charts.js').then(({ disposeCharts }) => disposeCharts(root));
}

/** Fills the rankings table; grid rows open their deductions. */
function rankingTable(table, note, items, level, onGrid) {
  const grid = level === 'grid' || level === 'dedicated';
  append(clear(table), 
    h('thead', {}, h('tr', {}, [t('rank'), t('code'), t('score'), t('grade'), t('parent')].map((x) => h('th', { scope: 'col', text: x })))),
    h('tbody', {}, items.slice(0, SHOWN).map((r) => h('tr', { 'data-testid': `rank-${r.code}`, 'data-score': r.score, 'data-rank': r.rank },
      h('td', { text: r.rank }),
      h('td', {}, grid ? h('button', { type: 'button', class: 'link', text: r.code, onclick: () => onGrid(r.code) }) : r.code),
      h('td', { text: r.score }), h('td', { text: r.grade || '' }), h('td', { text: r.parent || '' })))),
  );
  note.textContent = items.length > SHOWN ? t('show_more', { n: SHOWN }) : '';
}
