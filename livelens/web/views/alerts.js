// The "Alerts" card of the Security log section (administrators): the account's webhook
// for security alerts (lockouts, PIN guessing, forged media, floods of malformed
// messages). Its URL, how deliveries went (delivered, failed tries, given up, dropped,
// the last success and error), a Test button, and the signing secret, shown once when
// the webhook is saved (saving again makes a new one).

import { api } from '../api.js';
import { busy, field, formatTime, h, messageLine } from '../dom.js';
import { t } from '../i18n.js';
import { askFirst, badge, card, onTextSubmit, showSecretOnce, toast } from '../ui.js';

const HOOK = '/api/account/alert-hook';
const quiet = (err) => err.error === 'not_authenticated';

function facts(rows) {
  return h('dl', { class: 'facts alert-facts', 'data-testid': 'alert-hook-facts' },
    rows.map(([label, value, testid]) => h('div', {}, h('dt', {}, label), h('dd', { 'data-testid': testid }, value))));
}

const when = (at) => (at ? h('time', { datetime: new Date(at * 1000).toISOString() }, formatTime(at)) : t('console.alerts.never'));

function statusOf(hook) {
  if (!hook.configured) {
    return h('p', { class: 'muted', 'data-testid': 'alert-hook-none' },
      t('console.alerts.none'));
  }
  const lastError = hook.last_error
    ? h('span', {}, hook.last_error, h('span', { class: 'muted' }, ' — ', when(hook.last_error_at)))
    : t('console.none');
  return facts([
    [t('console.alerts.delivered'), String(hook.delivered), 'alert-hook-delivered'],
    [t('console.alerts.failed'), String(hook.failed), 'alert-hook-failed'],
    [t('console.alerts.abandoned'), String(hook.abandoned), 'alert-hook-abandoned'],
    [t('console.alerts.dropped'), String(hook.dropped), 'alert-hook-dropped'],
    [t('console.alerts.lastSuccess'), when(hook.last_success_at), 'alert-hook-last-success'],
    [t('console.alerts.lastError'), lastError, 'alert-hook-last-error'],
  ]);
}

/** The card, and load() to fill it. */
export function alertsCard() {
  const state = h('span', { 'data-testid': 'alert-hook-state' });
  const status = h('div', { class: 'stack' });
  const error = messageLine('alert-hook-error');
  const secret = h('div', { class: 'new-key', hidden: true, role: 'region', 'aria-label': t('console.alerts.secretRegion'), 'data-testid': 'alert-hook-secret' });
  const { wrap, input } = field({
    label: t('console.alerts.url'),
    testid: 'alert-hook-url',
    type: 'url',
    inputmode: 'url',
    placeholder: 'https://',
    maxlength: '1024',
    autocomplete: 'off',
    spellcheck: 'false',
    hint: t('console.alerts.urlHint'),
  });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'alert-hook-save' }, t('console.save'));
  const test = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'alert-hook-test', hidden: true }, t('console.alerts.test'));
  const remove = h('button', { type: 'button', class: 'btn btn-danger-outline', 'data-testid': 'alert-hook-remove', hidden: true }, t('console.remove'));
  const form = h('form', { class: 'stack', novalidate: true, 'data-testid': 'alert-hook-form' },
    wrap, h('div', { class: 'row' }, save, test, remove), error.el);

  const show = (hook) => {
    const on = Boolean(hook.configured);
    state.replaceChildren(on ? badge(t('console.on'), 'success') : badge(t('console.off'), 'neutral'));
    status.replaceChildren(statusOf(hook));
    if (on && document.activeElement !== input) input.value = hook.url;
    save.textContent = on ? t('console.alerts.saveNew') : t('console.save');
    test.hidden = !on;
    remove.hidden = !on;
  };

  const load = async () => {
    try {
      show(await api.get(HOOK));
    } catch (err) {
      if (!quiet(err)) error.show(err.message);
    }
  };

  onTextSubmit(form, {
    input,
    message: error,
    empty: t('console.alerts.noUrl'),
    send: (url) => api.put(HOOK, { url }),
    done: (saved) => {
      show(saved);
      showSecretOnce(secret, {
        value: saved.secret,
        what: t('console.alerts.secretWhat'),
        label: t('console.alerts.secretLabel'),
        warning: t('console.alerts.secretWarning'),
        testid: 'alert-hook-secret',
      });
    },
  });

  test.addEventListener('click', async () => {
    error.hide();
    try {
      const answer = await busy(form, () => api.post(`${HOOK}/test`));
      show(answer);
      if (answer.result.delivered) toast(t('console.alerts.testDelivered'));
      else error.show(t('console.alerts.testFailed', { error: answer.result.error }));
    } catch (err) {
      if (!quiet(err)) error.show(err.message);
    }
  });

  askFirst(remove, {
    ask: {
      title: t('console.alerts.removeTitle'),
      text: t('console.alerts.removeText'),
      confirmLabel: t('console.remove'),
    },
    hold: false,
    run: async () => {
      await busy(form, () => api.del(HOOK));
      input.value = '';
      secret.hidden = true;
      secret.replaceChildren();
      toast(t('console.alerts.removed'));
      await load();
    },
    failed: (err) => error.show(err.message),
  });

  const el = card({
    title: t('console.alerts.title'),
    description: t('console.alerts.text'),
    testid: 'alerts-card',
    actions: state,
  }, status, form, secret);
  return { el, load };
}
