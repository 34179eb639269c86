/**
 * Smart dispatch (智能派单) on the case page: the classifier's note on a case intake placed
 * (`triage`: model version, confidence, three suggestions) and the centre's correction,
 * 改类 — the case action `recategorize`, allowed to a centre while the case is `reported`,
 * `accepted`, `returned` or `escalated` (schemas/case.action.json). One button per
 * suggestion (`recategorize-<code>`), and any category of the catalogue from a select with
 * its own submit (`recategorize-other`).
 */
import { h, field } from './dom.js';
import { t } from './i18n.js';
import { categoryList, categoryName } from './reference.js';

/** The states in which a centre may recategorize a case (改类 before assignment). */
export const RECATEGORIZE_STATES = ['reported', 'accepted', 'returned', 'escalated'];

/** A score or confidence (0 to 1) as a whole percentage. */
const pct = (v) => Math.round((Number(v) || 0) * 100);

/** The triage note of case `c` (model version, confidence), or null when a category was given. */
export function triageNote(c) {
  const tr = c.triage;
  if (!tr) return null;
  return h('span', { 'data-testid': 'triage-note', 'data-model': tr.model || '', 'data-confidence': tr.confidence ?? '' },
    t('triage_note', { model: tr.model || '?', pct: pct(tr.confidence) }));
}

/**
 * The 改类 controls for case `c`: `post(body, label)` sends the action (the caller adds the
 * actor, `If-Match` and the refusal handling) and `buttons` collects the buttons so that the
 * caller can disable them while one request runs.
 */
export function recategorizeControls(c, post, buttons) {
  const suggestions = c.triage?.suggestions || [];
  const own = suggestions.map((s) => h('button', {
    type: 'button',
    class: 'secondary',
    'data-testid': `recategorize-${s.category}`,
    'data-score': s.score,
    disabled: s.category === c.category,
    text: t('recategorize_to', { name: categoryName(s.category), pct: pct(s.score) }),
    onclick: (event) => post(s.category, event.currentTarget.textContent),
  }));
  const select = h('select', { id: 'recategorize-category' },
    categoryList().filter((k) => k.code !== c.category).map((k) => h('option', { value: k.code, text: categoryName(k.code) })));
  const other = h('button', {
    type: 'button',
    'data-testid': 'recategorize-other',
    text: t('recategorize_other'),
    onclick: (event) => post(select.value, `${event.currentTarget.textContent} ${categoryName(select.value)}`),
  });
  buttons.push(...own.filter((b) => !b.disabled), other);
  return h('div', { class: 'recategorize', role: 'group', 'aria-label': t('recategorize_title') },
    h('h3', { text: t('recategorize_title') }),
    own.length > 0 && h('div', { class: 'buttons' }, own),
    h('div', { class: 'row' }, field(t('recategorize_category'), select), other));
}
