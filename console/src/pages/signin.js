/**
 * Sign-in (`#/signin`): an API key, checked against the API before it is kept (in
 * sessionStorage only). A wrong key says so in `signin-error`.
 */
import { api, ApiError, NetworkError, session } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';

/** Renders the sign-in form; `onSignedIn` runs once the key is accepted. */
export function signinPage(el, { onSignedIn }) {
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const error = h('p', { class: 'error', 'data-testid': 'signin-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', 'data-testid': 'signin-submit', text: t('signin_submit') });
  const fail = (text) => {
    error.textContent = text;
    error.hidden = false;
    submit.disabled = false;
    submit.textContent = t('signin_submit');
    input.focus();
  };
  const form = h(
    'form',
    { 'data-testid': 'signin', class: 'signin card', novalidate: true },
    h('h2', { text: t('signin_title') }),
    h('p', { class: 'muted', text: t('signin_help') }),
    h('label', { for: 'api-key', text: t('api_key') }),
    input,
    submit,
    error,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return fail(t('signin_empty'));
    error.hidden = true;
    submit.disabled = true;
    submit.textContent = t('signin_checking');
    try {
      const echo = await api('/v1/system/grid-lookup/echo', { method: 'POST', body: {}, key });
      session.key = key;
      session.principal = echo.key;
      input.value = '';
      onSignedIn();
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) fail(`${t('signin_wrong')} (${e.text})`);
      else if (e instanceof NetworkError) fail(t('network_down'));
      else fail(e.text || String(e));
    }
  });
  el.append(h('section', { class: 'signin-page' }, form));
  input.focus();
}
