// Deletion by crypto-shredding, in the console: "Delete this session" on an ended
// session's summary, and the account page's danger zone. Both end with the signed
// deletion certificate offered as a JSON download (`livelens verify-certificate FILE`
// checks it).

import { api, request } from '../api.js';
import { h, messageLine } from '../dom.js';
import { icon } from '../icons.js';
import { askFirst, card, promptDialog } from '../ui.js';

/** A link that downloads the certificate as a file (and the file itself, once, at once). */
function certificateLink(certificate, { start = true } = {}) {
  const text = JSON.stringify({ certificate }, null, 2);
  const link = h('a', {
    class: 'btn btn-secondary btn-small',
    download: `livelens-deletion-certificate-${certificate.id}.json`,
    'data-testid': 'deletion-certificate',
  }, icon('download', { size: 16 }), 'Download the deletion certificate');
  link.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  if (start) queueMicrotask(() => link.click());
  return link;
}

function certificateText(certificate) {
  const at = new Date(certificate.deleted_at).toLocaleString();
  return `Deleted ${at}. The certificate is signed by this server (key fingerprint ${certificate.instance.fingerprint.slice(0, 16)}…).`;
}

/**
 * "Delete this session" for an ended session's view (agents with rights to it and
 * administrators): asks first, deletes, then offers the certificate.
 */
export function sessionDeletion(sessionId) {
  const message = messageLine('session-delete-error');
  const button = h('button', { type: 'button', class: 'btn btn-danger-outline', 'data-testid': 'session-delete' },
    icon('trash', { size: 16 }), 'Delete this session');
  const el = h('div', { class: 'session-delete' }, h('div', { class: 'row' }, button), message.el);
  askFirst(button, {
    before: () => message.hide(),
    ask: {
      title: 'Delete this session?',
      text: 'Its chat, snapshots, notes and record are deleted at once, and its key is destroyed, so copies in backups cannot be read either. This cannot be undone.',
      confirmLabel: 'Delete',
    },
    run: async () => {
      const { certificate } = await api.del(`/api/sessions/${sessionId}`);
      el.replaceChildren(
        h('p', { class: 'muted', 'data-testid': 'session-deleted', role: 'status' }, 'This session is deleted. ', certificateText(certificate)),
        certificateLink(certificate));
    },
    failed: (err) => message.show(err.message),
  });
  return el;
}

/** The account page's danger zone: delete the whole account, its name typed to confirm. */
export function dangerZoneCard(tenant, container) {
  const button = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'account-delete' }, 'Delete this account');
  button.addEventListener('click', async () => {
    const done = await promptDialog({
      title: `Delete the account ${tenant.name}?`,
      text: 'Every user, session, chat, snapshot, note, API key and log of this account is deleted at once, and its data key destroyed, so copies in backups cannot be read either. Everyone is signed out. This cannot be undone.',
      label: `Type the account's name, ${tenant.name}, to confirm`,
      testid: 'account-delete-confirm',
      submitLabel: 'Delete the account',
      autocomplete: 'off',
      action: (typed) => request('DELETE', '/api/account', { confirm: typed }, { hooks: false }),
    });
    if (!done) return;
    const { certificate } = done;
    container.replaceChildren(card({ title: 'Account deleted', testid: 'account-deleted' },
      h('p', { role: 'status' }, `The account ${tenant.name} and everything in it is deleted. `, certificateText(certificate)),
      h('p', { class: 'muted' }, 'Keep the certificate: it shows what was deleted, when and by whom.'),
      h('div', { class: 'row' }, certificateLink(certificate),
        h('a', { class: 'btn btn-secondary btn-small', href: '/', 'data-testid': 'account-deleted-leave' }, 'Leave'))));
  });
  return card({ title: 'Danger zone', testid: 'danger-zone',
    description: `Session content is kept for ${tenant.retention_days} days (above), then deleted automatically. You can also delete it all now.` },
  h('div', { class: 'setting' },
    h('div', {},
      h('p', { class: 'setting-label' }, 'Delete this account'),
      h('p', { class: 'muted small' }, 'All of its data, at once, with a signed deletion certificate. Sessions still running must end first.')),
    button));
}
