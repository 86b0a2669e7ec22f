// The "Alerts" card of the Security log section (administrators): the account's webhook
// for security alerts (lockouts, PIN guessing, forged media, floods of malformed
// messages). Its URL, how deliveries went (delivered, failed tries, given up, dropped,
// the last success and error), a Test button, and the signing secret, shown once when
// the webhook is saved (saving again makes a new one).

import { api } from '../api.js';
import { busy, field, formatTime, h, messageLine } from '../dom.js';
import { askFirst, badge, card, onTextSubmit, showSecretOnce, toast } from '../ui.js';

const HOOK = '/api/account/alert-hook';
const quiet = (err) => err.error === 'not_authenticated';

function facts(rows) {
  return h('dl', { class: 'facts alert-facts', 'data-testid': 'alert-hook-facts' },
    rows.map(([label, value, testid]) => h('div', {}, h('dt', {}, label), h('dd', { 'data-testid': testid }, value))));
}

const when = (at) => (at ? h('time', { datetime: new Date(at * 1000).toISOString() }, formatTime(at)) : 'Never');

function statusOf(hook) {
  if (!hook.configured) {
    return h('p', { class: 'muted', 'data-testid': 'alert-hook-none' },
      'No webhook yet: security events are in the log below, and nowhere else.');
  }
  const lastError = hook.last_error
    ? h('span', {}, hook.last_error, h('span', { class: 'muted' }, ' — ', when(hook.last_error_at)))
    : 'None';
  return facts([
    ['Delivered', String(hook.delivered), 'alert-hook-delivered'],
    ['Failed tries', String(hook.failed), 'alert-hook-failed'],
    ['Given up', String(hook.abandoned), 'alert-hook-abandoned'],
    ['Dropped (queue full)', String(hook.dropped), 'alert-hook-dropped'],
    ['Last delivered', when(hook.last_success_at), 'alert-hook-last-success'],
    ['Last error', lastError, 'alert-hook-last-error'],
  ]);
}

/** The card, and load() to fill it. */
export function alertsCard() {
  const state = h('span', { 'data-testid': 'alert-hook-state' });
  const status = h('div', { class: 'stack' });
  const error = messageLine('alert-hook-error');
  const secret = h('div', { class: 'new-key', hidden: true, role: 'region', 'aria-label': 'The signing secret', 'data-testid': 'alert-hook-secret' });
  const { wrap, input } = field({
    label: 'Webhook URL',
    testid: 'alert-hook-url',
    type: 'url',
    inputmode: 'url',
    placeholder: 'https://',
    maxlength: '1024',
    autocomplete: 'off',
    spellcheck: 'false',
    hint: 'Each alert is POSTed here as JSON, signed in the LiveLens-Signature header (HMAC-SHA256 over "<t>.<body>"). It must be https:// and reachable on the Internet.',
  });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'alert-hook-save' }, 'Save');
  const test = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'alert-hook-test', hidden: true }, 'Send a test alert');
  const remove = h('button', { type: 'button', class: 'btn btn-danger-outline', 'data-testid': 'alert-hook-remove', hidden: true }, 'Remove');
  const form = h('form', { class: 'stack', novalidate: true, 'data-testid': 'alert-hook-form' },
    wrap, h('div', { class: 'row' }, save, test, remove), error.el);

  const show = (hook) => {
    const on = Boolean(hook.configured);
    state.replaceChildren(on ? badge('On', 'success') : badge('Off', 'neutral'));
    status.replaceChildren(statusOf(hook));
    if (on && document.activeElement !== input) input.value = hook.url;
    save.textContent = on ? 'Save with a new secret' : 'Save';
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
    empty: 'Enter the address alerts should go to, starting with https://.',
    send: (url) => api.put(HOOK, { url }),
    done: (saved) => {
      show(saved);
      showSecretOnce(secret, {
        value: saved.secret,
        what: 'Signing secret',
        label: 'The webhook’s signing secret',
        warning: 'Copy the signing secret now and give it to the receiver: it will not be shown again. Saving again makes a new one, and this one stops working.',
        testid: 'alert-hook-secret',
      });
    },
  });

  test.addEventListener('click', async () => {
    error.hide();
    try {
      const answer = await busy(form, () => api.post(`${HOOK}/test`));
      show(answer);
      if (answer.result.delivered) toast('The test alert was delivered.');
      else error.show(`The test alert was not delivered: ${answer.result.error}`);
    } catch (err) {
      if (!quiet(err)) error.show(err.message);
    }
  });

  askFirst(remove, {
    ask: {
      title: 'Remove the webhook?',
      text: 'Security alerts stop going to it at once. They stay in the security log.',
      confirmLabel: 'Remove',
    },
    hold: false,
    run: async () => {
      await busy(form, () => api.del(HOOK));
      input.value = '';
      secret.hidden = true;
      secret.replaceChildren();
      toast('The webhook is removed.');
      await load();
    },
    failed: (err) => error.show(err.message),
  });

  const el = card({
    title: 'Alerts',
    description: 'Lockouts, PIN guessing, forged media and floods of malformed messages, sent to your own system as they happen.',
    testid: 'alerts-card',
    actions: state,
  }, status, form, secret);
  return { el, load };
}
