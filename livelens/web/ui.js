// Shared UI pieces: toasts, confirmation and prompt dialogs, buttons that ask first,
// one-field forms, cards, badges.

import { busy, field, h, messageLine } from './dom.js';
import { language, t } from './i18n.js';
import { icon } from './icons.js';

let toastHost = null;

/** A short status message at the bottom of the screen. kind: info | success | error. */
export function toast(text, kind = 'success') {
  if (!toastHost) toastHost = h('div', { class: 'toasts', 'aria-live': 'polite', role: 'status' });
  // Only the full-screen element and its children are drawn in full-screen mode.
  const parent = document.fullscreenElement || document.body;
  if (toastHost.parentNode !== parent) parent.append(toastHost);
  const item = h('div', { class: `toast toast-${kind}`, 'data-testid': 'toast' }, text);
  toastHost.append(item);
  setTimeout(() => item.classList.add('toast-leaving'), 4500);
  setTimeout(() => item.remove(), 5000);
}

/** Copy `text` to the clipboard and say so; `what` names it ("Join link"). */
export async function copyText(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    toast(t('console.copy.done', { what }));
  } catch {
    // English says "the api key"; other languages name it as given ("API-Schlüssel: ...").
    toast(t('console.copy.failed', { what: language() === 'en' ? what.toLowerCase() : what }), 'error');
  }
}

/**
 * A secret shown once in `box` (an API key, a webhook's signing secret): the warning
 * that it will not be shown again, the value with Copy, and "I have stored it", which
 * hides it. `what` names it ("API key"), `label` is the value's accessible name; test
 * ids are `${testid}-warning`, `-value`, `-copy` and `-done`.
 */
export function showSecretOnce(box, { value, what, label, warning, testid }) {
  const input = h('input', { type: 'text', class: 'input mono', readonly: true, value, 'data-testid': `${testid}-value`, 'aria-label': label, spellcheck: 'false', autocomplete: 'off' });
  input.addEventListener('focus', () => input.select());
  const done = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': `${testid}-done` }, t('console.secret.stored'));
  done.addEventListener('click', () => {
    box.hidden = true;
    box.replaceChildren();
  });
  box.replaceChildren(
    h('p', { class: 'message message-warning', role: 'alert', 'data-testid': `${testid}-warning` }, warning),
    h('div', { class: 'copy-row' }, input,
      h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': `${testid}-copy`, onclick: () => copyText(value, what) },
        icon('copy', { size: 16 }), t('console.copy'))),
    h('div', { class: 'row' }, done));
  box.hidden = false;
  input.focus();
}

function modal(build) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'dialog', 'data-testid': 'dialog' });
    const done = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      done(null);
    });
    build(dialog, done);
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Ask to confirm an action; resolves true or false. */
export function confirmDialog({ title, text, confirmLabel = t('console.confirm'), danger = false }) {
  return modal((dialog, done) => {
    const form = h(
      'form',
      { method: 'dialog', class: 'dialog-body' },
      h('h2', { class: 'dialog-title' }, title),
      text ? h('p', { class: 'muted' }, text) : null,
      h(
        'div',
        { class: 'dialog-actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-secondary',
            'data-testid': 'confirm-cancel',
            onclick: () => done(false),
          },
          t('console.cancel'),
        ),
        h(
          'button',
          { type: 'submit', class: ['btn', danger ? 'btn-danger' : 'btn-primary'], 'data-testid': 'confirm-ok' },
          confirmLabel,
        ),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      done(true);
    });
    dialog.append(form);
  }).then((value) => value === true);
}

/** A signed-out user is not told why an action failed: the console takes them to sign in. */
const signedOut = (err) => err.error === 'not_authenticated';

/**
 * A button that asks before it acts: a click runs `before()` (if given), asks `ask`
 * (confirmDialog's title, text and confirmLabel; a danger dialog), and on yes runs `run()`
 * with the button disabled. It stays disabled when run succeeds (run replaces or hides
 * it); if run fails, the button works again and `failed(err)` tells why. With
 * `hold: false` the button is left alone (run disables what it needs, e.g. with busy()).
 */
export function askFirst(button, { ask, run, failed, before, hold = true }) {
  button.addEventListener('click', async () => {
    if (before) before();
    if (!(await confirmDialog({ ...ask, danger: true }))) return;
    if (hold) button.disabled = true;
    try {
      await run();
    } catch (err) {
      if (hold) button.disabled = false;
      if (!signedOut(err)) failed(err);
    }
  });
}

/**
 * Submitting `form` sends what is typed in `input` (trimmed): `send(value)` runs with the
 * form busy, then `done(answer)`. Nothing typed: `empty` is shown in `message`. A failure
 * is shown there too; either way the focus goes back to the input.
 */
export function onTextSubmit(form, { input, message, empty, send, done }) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    const value = input.value.trim();
    if (!value) {
      message.show(empty);
      input.focus();
      return;
    }
    try {
      await done(await busy(form, () => send(value)));
    } catch (err) {
      if (signedOut(err)) return;
      message.show(err.message);
      input.focus();
    }
  });
}

/**
 * A dialog with one input whose submit runs `action(value)`; errors thrown by the
 * action are shown in the dialog. Resolves with the action's result, or null if cancelled.
 */
export function promptDialog({ title, text, label, type = 'text', testid, submitLabel, action, ...attrs }) {
  return modal((dialog, done) => {
    const { wrap, input } = field({ label, type, testid, required: true, ...attrs });
    const message = messageLine(`${testid}-error`);
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': `${testid}-submit` }, submitLabel);
    const form = h(
      'form',
      { class: 'dialog-body', novalidate: true },
      h('h2', { class: 'dialog-title' }, title),
      text ? h('p', { class: 'muted' }, text) : null,
      wrap,
      message.el,
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => done(null) }, t('console.cancel')),
        submit,
      ),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      message.hide();
      submit.disabled = true;
      try {
        done(await action(input.value));
      } catch (error) {
        message.show(error.message);
        submit.disabled = false;
        input.focus();
      }
    });
    dialog.append(form);
    queueMicrotask(() => input.focus());
  });
}

export function card({ title, description, testid, actions }, ...body) {
  return h(
    'section',
    { class: 'card', 'data-testid': testid },
    title || actions
      ? h(
          'header',
          { class: 'card-header' },
          h('div', {}, title ? h('h2', { class: 'card-title' }, title) : null,
            description ? h('p', { class: 'card-description' }, description) : null),
          actions ? h('div', { class: 'card-actions' }, actions) : null,
        )
      : null,
    ...body,
  );
}

export function badge(text, kind = 'neutral', testid) {
  return h('span', { class: `badge badge-${kind}`, 'data-testid': testid }, text);
}

export function sectionHeading(title, subtitle) {
  return h(
    'div',
    { class: 'section-heading' },
    h('h1', { class: 'section-title' }, title),
    subtitle ? h('p', { class: 'section-subtitle' }, subtitle) : null,
  );
}
