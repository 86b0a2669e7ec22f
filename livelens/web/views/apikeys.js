// The "API keys" section (administrators): keys that read this account's reports and
// nothing else. A new key is shown once (the server keeps only its hash); revoking one
// refuses it from then on.

import { api } from '../api.js';
import { field, formatTime, h, messageLine } from '../dom.js';
import { t } from '../i18n.js';
import { askFirst, card, onTextSubmit, sectionHeading, showSecretOnce, toast } from '../ui.js';

export async function renderApiKeys(container, app) {
  const tbody = h('tbody');
  const table = h('table', { class: 'table table-responsive', 'data-testid': 'api-keys' },
    h('thead', {}, h('tr', {}, [t('console.apiKeys.col.name'), t('console.apiKeys.col.created'), t('console.apiKeys.col.createdBy'), ''].map((text) => h('th', { scope: 'col' }, text)))),
    tbody);
  const empty = h('p', { class: 'muted', 'data-testid': 'api-keys-empty', hidden: true }, t('console.apiKeys.empty'));
  const error = messageLine('api-keys-error');
  const fresh = h('div', { class: 'new-key', 'data-testid': 'new-key', hidden: true, role: 'region', 'aria-label': t('console.apiKeys.newRegion') });

  const form = newKeyForm(async (created) => {
    showOnce(fresh, created);
    await load();
  });

  const rowOf = (key, emails) => {
    const revoke = h('button', { type: 'button', class: 'btn btn-danger btn-small', 'data-testid': 'api-key-revoke' }, t('console.apiKeys.revoke'));
    askFirst(revoke, {
      ask: {
        title: t('console.apiKeys.revokeTitle', { name: key.name }),
        text: t('console.apiKeys.revokeText'),
        confirmLabel: t('console.apiKeys.revoke'),
      },
      run: async () => {
        await api.del(`/api/api-keys/${encodeURIComponent(key.id)}`);
        toast(t('console.apiKeys.revoked', { name: key.name }));
        if (fresh.dataset.keyId === key.id) fresh.hidden = true;
        await load();
      },
      failed: (err) => error.show(err.message),
    });
    return h('tr', { 'data-testid': 'api-key-row', 'data-key-id': key.id },
      h('td', { 'data-label': t('console.apiKeys.col.name'), 'data-testid': 'api-key-name' }, key.name),
      h('td', { 'data-label': t('console.apiKeys.col.created'), class: 'nowrap' }, h('time', { datetime: new Date(key.created_at * 1000).toISOString() }, formatTime(key.created_at))),
      h('td', { 'data-label': t('console.apiKeys.col.createdBy'), class: 'cell-email', 'data-testid': 'api-key-creator' }, emails.get(key.created_by) || t('console.formerUser')),
      h('td', { 'data-label': '', class: 'cell-actions' }, revoke));
  };

  async function load() {
    try {
      const [{ api_keys: keys }, { users }] = await Promise.all([api.get('/api/api-keys'), api.get('/api/users')]);
      const emails = new Map(users.map((u) => [u.id, u.email]));
      keys.sort((a, b) => b.created_at - a.created_at);
      tbody.replaceChildren(...keys.map((k) => rowOf(k, emails)));
      table.hidden = keys.length === 0;
      empty.hidden = keys.length > 0;
      error.hide();
    } catch (err) {
      if (err.error !== 'not_authenticated') error.show(err.message);
    }
  }

  container.replaceChildren(
    sectionHeading(t('console.nav.apiKeys'), t('console.apiKeys.subtitle')),
    card({ title: t('console.apiKeys.newTitle'), testid: 'api-key-create' }, form.el, fresh),
    card({ title: t('console.apiKeys.keys'), testid: 'api-keys-card' }, error.el, h('div', { class: 'table-wrap' }, table), empty),
  );
  await load();
}

/** The "New key" form; onCreated(answer) gets the server's answer with the key. */
function newKeyForm(onCreated) {
  const { wrap, input } = field({ label: t('console.apiKeys.nameLabel'), testid: 'api-key-name-input', hint: t('console.apiKeys.nameHint'), maxlength: '100', autocomplete: 'off', required: true });
  const message = messageLine('api-key-create-error');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'api-key-create-submit' }, t('console.apiKeys.create'));
  const el = h('form', { class: 'api-key-form', novalidate: true }, wrap, h('div', { class: 'row' }, submit), message.el);
  onTextSubmit(el, {
    input,
    message,
    empty: t('console.apiKeys.noName'),
    send: (name) => api.post('/api/api-keys', { name }),
    done: async (created) => {
      input.value = '';
      await onCreated(created);
    },
  });
  return { el };
}

/** The new key, with Copy and the warning that it will not be shown again. */
function showOnce(box, created) {
  box.dataset.keyId = created.id;
  showSecretOnce(box, {
    value: created.key,
    what: t('console.apiKeys.what'),
    label: t('console.apiKeys.valueLabel', { name: created.name }),
    warning: t('console.apiKeys.warning', { name: created.name }),
    testid: 'api-key',
  });
}
