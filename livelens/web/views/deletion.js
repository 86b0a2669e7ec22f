// Deletion by crypto-shredding, in the console: "Delete this session" on an ended
// session's summary, and the account page's danger zone. Both end with the signed
// deletion certificate offered as a JSON download (`livelens verify-certificate FILE`
// checks it).

import { api, request } from '../api.js';
import { h, messageLine } from '../dom.js';
import { formatDateTime, t } from '../i18n.js';
import { icon } from '../icons.js';
import { askFirst, card, promptDialog } from '../ui.js';

/** A link that downloads the certificate as a file (and the file itself, once, at once). */
function certificateLink(certificate, { start = true } = {}) {
  const text = JSON.stringify({ certificate }, null, 2);
  const link = h('a', {
    class: 'btn btn-secondary btn-small',
    download: `livelens-deletion-certificate-${certificate.id}.json`,
    'data-testid': 'deletion-certificate',
  }, icon('download', { size: 16 }), t('console.deletion.certificate'));
  link.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  if (start) queueMicrotask(() => link.click());
  return link;
}

function certificateText(certificate) {
  const at = formatDateTime(new Date(certificate.deleted_at), {
    year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  });
  return t('console.deletion.certificateText', { at, fingerprint: certificate.instance.fingerprint.slice(0, 16) });
}

/**
 * "Delete this session" for an ended session's view (agents with rights to it and
 * administrators): asks first, deletes, then offers the certificate.
 */
export function sessionDeletion(sessionId) {
  const message = messageLine('session-delete-error');
  const button = h('button', { type: 'button', class: 'btn btn-danger-outline', 'data-testid': 'session-delete' },
    icon('trash', { size: 16 }), t('console.deletion.session'));
  const el = h('div', { class: 'session-delete' }, h('div', { class: 'row' }, button), message.el);
  askFirst(button, {
    before: () => message.hide(),
    ask: {
      title: t('console.deletion.sessionTitle'),
      text: t('console.deletion.sessionText'),
      confirmLabel: t('console.delete'),
    },
    run: async () => {
      const { certificate } = await api.del(`/api/sessions/${sessionId}`);
      el.replaceChildren(
        h('p', { class: 'muted', 'data-testid': 'session-deleted', role: 'status' }, t('console.deletion.sessionDeleted'), ' ', certificateText(certificate)),
        certificateLink(certificate));
    },
    failed: (err) => message.show(err.message),
  });
  return el;
}

/** The account page's danger zone: delete the whole account, its name typed to confirm. */
export function dangerZoneCard(tenant, container) {
  const button = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'account-delete' }, t('console.deletion.account'));
  button.addEventListener('click', async () => {
    const done = await promptDialog({
      title: t('console.deletion.accountTitle', { account: tenant.name }),
      text: t('console.deletion.accountText'),
      label: t('console.deletion.typeName', { account: tenant.name }),
      testid: 'account-delete-confirm',
      submitLabel: t('console.deletion.accountConfirm'),
      autocomplete: 'off',
      action: (typed) => request('DELETE', '/api/account', { confirm: typed }, { hooks: false }),
    });
    if (!done) return;
    const { certificate } = done;
    container.replaceChildren(card({ title: t('console.deletion.accountDeleted'), testid: 'account-deleted' },
      h('p', { role: 'status' }, t('console.deletion.accountGone', { account: tenant.name }), ' ', certificateText(certificate)),
      h('p', { class: 'muted' }, t('console.deletion.keep')),
      h('div', { class: 'row' }, certificateLink(certificate),
        h('a', { class: 'btn btn-secondary btn-small', href: '/', 'data-testid': 'account-deleted-leave' }, t('console.deletion.leave')))));
  });
  return card({ title: t('console.deletion.danger'), testid: 'danger-zone',
    description: t('console.deletion.retention', { days: tenant.retention_days }) },
  h('div', { class: 'setting' },
    h('div', {},
      h('p', { class: 'setting-label' }, t('console.deletion.account')),
      h('p', { class: 'muted small' }, t('console.deletion.accountHint'))),
    button));
}
