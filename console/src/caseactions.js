/**
 * The case page's action buttons: only those the key's role may take in the case's
 * state (crates/wangge-cases/src/lifecycle.rs), each posting the API's own action to
 * `POST /v1/cases/{id}/actions` as the centre of the key's region.
 *
 * The console's names → the lifecycle's actions:
 * - `accept` (受理), `assign` (交办, to a grid or a department), `escalate` (吹哨, one level up);
 * - `urge` (督办): the API has no urge action (supervision notices come from the sweep), so
 *   it is a `comment` whose note starts with 【督办】;
 * - `verify_pass` (核查通过) and `close` (结案): both `verify_pass`, the one way a centre
 *   closes a resolved case;
 * - `reopen` (重新办理): `verify_fail`, back to work (a centre cannot rate a closed case:
 *   only the reporter's `rate_dissatisfied` reopens one);
 * - 改类 (`recategorize-<code>`, `recategorize-other`, see triage.js): `recategorize` with the
 *   new `category`, in reported, accepted, returned and escalated.
 */
import { api, ApiError, session } from './api.js';
import { h, field } from './dom.js';
import { label, t } from './i18n.js';
import { loadDepartments } from './reference.js';
import { RECATEGORIZE_STATES, recategorizeControls } from './triage.js';

/** Which console actions a centre may take in each state. */
const CENTRE_ACTIONS = {
  reported: ['accept'],
  accepted: ['assign', 'escalate'],
  assigned: ['urge', 'escalate'],
  in_progress: ['urge', 'escalate'],
  returned: ['assign', 'escalate'],
  escalated: ['assign', 'escalate'],
  resolved: ['verify_pass', 'close', 'reopen'],
};

/** The console actions the signed-in key may take on `c`. */
export function allowedActions(c) {
  const p = session.principal;
  if (!p?.scopes?.includes('cases:act')) return [];
  if (p.region_prefix && !c.community.startsWith(p.region_prefix)) return [];
  return CENTRE_ACTIONS[c.state] || [];
}

/** The request body for a console action (see the module's table). */
function body(action, c, note, target) {
  const actor = { kind: 'centre', id: session.principal.region_prefix || c.community.slice(0, 4) };
  const withNote = (text) => (note ? `${text}${text ? ' ' : ''}${note}` : text) || null;
  switch (action) {
    case 'urge':
      return { action: 'comment', actor, note: withNote(t('urge_note')) };
    case 'close':
    case 'verify_pass':
      return { action: 'verify_pass', actor, note: withNote('') };
    case 'reopen':
      return { action: 'verify_fail', actor, note: withNote('') };
    case 'assign':
      return { action: 'assign', actor, note: withNote(''), target };
    default:
      return { action, actor, note: withNote('') };
  }
}

/**
 * The actions block for case `c`; `onDone(case, message)` runs after an accepted action. A refusal
 * shows its problem+json title and detail in `action-error`.
 */
export function actionsBlock(c, onDone) {
  const actions = allowedActions(c);
  const error = h('p', { class: 'error', 'data-testid': 'action-error', role: 'alert', hidden: true });
  if (!actions.length) return h('section', { class: 'actions card' }, h('h2', { text: t('case_actions') }), h('p', { class: 'muted', text: t('no_actions') }));
  const note = h('textarea', { id: 'action-note', rows: 2, maxlength: 2000 });
  const kind = h('select', { id: 'target-kind', 'data-testid': 'target-kind' },
    h('option', { value: 'grid', text: t('target_grid') }), h('option', { value: 'department', text: t('target_department') }));
  const code = h('select', { id: 'target-code', 'data-testid': 'target-code' });
  const fillTargets = async () => {
    code.replaceChildren();
    if (kind.value === 'grid') {
      const grids = [...new Set([c.responsible_grid, c.comprehensive_grid].filter(Boolean))];
      grids.forEach((g) => code.append(h('option', { value: g, text: g })));
    } else {
      for (const d of await loadDepartments()) {
        const prefix = d.region_code.replace(/0+$/, '');
        if (c.community.startsWith(prefix)) code.append(h('option', { value: d.dept_code, text: d.name }));
      }
    }
  };
  kind.addEventListener('change', fillTargets);
  fillTargets();

  const buttons = [];
  /** Posts one action (with If-Match on the version shown); a refusal goes to `action-error`. */
  const send = async (payload, done) => {
    error.hidden = true;
    buttons.forEach((b) => (b.disabled = true));
    try {
      const updated = await api(`/v1/cases/${encodeURIComponent(c.id)}/actions`, { method: 'POST', body: payload, ifMatch: c.version });
      onDone(updated, `${t('action_done')}${done} → ${label('state', updated.state)}`);
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.text : t('network_down');
      error.hidden = false;
      buttons.forEach((b) => (b.disabled = false));
    }
  };
  buttons.push(...actions.map((action) => h('button', {
    type: 'button',
    'data-testid': `action-${action}`,
    class: action === 'reopen' ? 'secondary' : '',
    text: t(`action_${action}`),
    onclick: (event) => {
      const target = action === 'assign' ? { kind: kind.value, code: code.value } : undefined;
      send(body(action, c, note.value.trim(), target), event.currentTarget.textContent);
    },
  })));
  const own = [...buttons];
  // 改类 (recategorize): the centre's correction of the category, before assignment.
  const recategorize = RECATEGORIZE_STATES.includes(c.state)
    && recategorizeControls(c, (category, done) => send({ ...body('recategorize', c, note.value.trim()), category }, done), buttons);
  return h('section', { class: 'actions card', 'aria-label': t('case_actions') },
    h('h2', { text: t('case_actions') }),
    field(t('action_note'), note),
    actions.includes('assign') && h('div', { class: 'row' }, field(t('action_target'), kind), field(t('target_grid'), code)),
    h('div', { class: 'buttons' }, own),
    recategorize,
    error);
}
