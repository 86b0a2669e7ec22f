// The "Users" section (administrators): add, change, disable, sign out and delete users.

import { api } from '../api.js';
import { busy, field, formatDate, formatTime, h, messageLine, newPasswordField, waitText } from '../dom.js';
import { t } from '../i18n.js';
import { badge, card, confirmDialog, promptDialog, sectionHeading, toast } from '../ui.js';

const ROLES = [
  ['agent', 'console.role.agent'],
  ['admin', 'console.role.admin'],
];

function roleSelect(attrs, selected) {
  return h('select', { class: 'input select', ...attrs },
    ROLES.map(([value, key]) => h('option', { value, selected: value === selected }, t(key))));
}

function createCard(onCreated) {
  const email = field({ label: t('console.field.email'), type: 'email', testid: 'user-create-email', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true });
  const name = field({
    label: t('console.users.nameLabel'),
    testid: 'user-create-name',
    autocomplete: 'off',
    hint: t('console.users.nameHint'),
  });
  const roleId = 'user-create-role';
  const role = roleSelect({ id: roleId, 'data-testid': 'user-create-role' }, 'agent');
  const password = newPasswordField({
    label: t('console.users.initialPassword'),
    testid: 'user-create-password',
    more: t('console.users.passwordMore'),
  });
  const message = messageLine('user-create-error');
  const form = h('form', { class: 'form form-grid', novalidate: true, 'data-testid': 'user-create-form' },
    email.wrap,
    name.wrap,
    h('div', { class: 'field' }, h('label', { class: 'label', for: roleId }, t('console.users.col.role')), role),
    password.wrap,
    h('div', { class: 'form-grid-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'user-create-submit' }, t('console.users.add'))),
    message.el);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    const body = { email: email.input.value.trim(), role: role.value, password: password.input.value };
    const displayName = name.input.value.trim();
    if (displayName) body.display_name = displayName;
    if (!body.email || !body.password) {
      message.show(t('console.users.missing'));
      return;
    }
    try {
      const { user } = await busy(form, () => api.post('/api/users', body));
      form.reset();
      role.value = 'agent';
      toast(t('console.users.added', { email: user.email, capitalize: false }));
      onCreated(user);
    } catch (err) {
      if (err.error !== 'not_authenticated') message.show(err.message);
    }
  });
  return card({ title: t('console.users.addTitle'), testid: 'user-create' }, form);
}

function actionButton(label, testid, onclick, kind = 'btn-secondary') {
  return h('button', { type: 'button', class: ['btn', 'btn-small', kind], 'data-testid': testid, onclick }, label);
}

/** "Locked" with the time left, counted down by the page (see renderUsers). */
function lockBadge(user, until) {
  const left = h('span', { class: 'lock-left', 'data-until': String(until) }, lockLeftText(until));
  return h('span', { class: 'lock', 'data-testid': `user-locked-${user.email}` },
    badge(t('console.users.locked'), 'warning'), ' ', left);
}

function lockLeftText(until) {
  return t('console.users.lockedFor', { wait: waitText((until - Date.now()) / 1000) });
}

// The largest unit a last sign-in is told in ("5 min ago", "3 h ago", "2 days ago");
// a week or more back it is a date.
const SINCE_UNITS = [['second', 60], ['minute', 3600], ['hour', 86400], ['day', 7 * 86400]];
const UNIT_SECONDS = { second: 1, minute: 60, hour: 3600, day: 86400 };

/** When the user last signed in, relative to now in the console's language, or "Never". */
export function lastSignInText(at, now = Date.now() / 1000) {
  if (at === null || at === undefined) return t('console.users.never');
  const ago = Math.max(0, now - Number(at));
  const found = SINCE_UNITS.find(([, below]) => ago < below);
  if (!found || typeof Intl.RelativeTimeFormat !== 'function') return formatDate(at);
  const [unit] = found;
  const lang = document.documentElement.lang || undefined;
  const words = new Intl.RelativeTimeFormat(lang, { numeric: 'auto', style: 'short' });
  return unit === 'second' ? words.format(0, 'second') : words.format(-Math.floor(ago / UNIT_SECONDS[unit]), unit);
}

function lastSignInCell(user) {
  const at = user.last_sign_in_at;
  const attrs = { class: 'nowrap', 'data-testid': `user-last-sign-in-${user.email}`, 'data-at': at === null || at === undefined ? '' : String(at) };
  if (at !== null && at !== undefined) attrs.title = formatTime(at);
  return h('span', attrs, lastSignInText(at));
}

function userRow(user, app, refresh) {
  const self = user.id === app.me.user.id;
  const key = user.email;
  const run = async (fn, success) => {
    try {
      await fn();
      if (success) toast(success);
    } catch (err) {
      if (err.error !== 'not_authenticated') toast(err.message, 'error');
    }
    await refresh();
  };

  const role = roleSelect({ 'data-testid': `user-role-${key}`, 'aria-label': t('console.users.roleOf', { email: user.email, capitalize: false }), disabled: self }, user.role);
  role.addEventListener('change', () =>
    run(() => api.patch(`/api/users/${user.id}`, { role: role.value }), t(role.value === 'admin' ? 'console.users.nowAdmin' : 'console.users.nowAgent', { email: user.email, capitalize: false })));

  const toggle = actionButton(user.disabled ? t('console.users.enable') : t('console.users.disable'), `user-toggle-disabled-${key}`, () =>
    run(() => api.patch(`/api/users/${user.id}`, { disabled: !user.disabled }), t(user.disabled ? 'console.users.enabled' : 'console.users.disabled', { email: user.email, capitalize: false })));
  toggle.disabled = self;

  const reset = actionButton(t('console.users.reset'), `user-reset-password-${key}`, async () => {
    const done = await promptDialog({
      title: t('console.users.resetTitle', { email: user.email, capitalize: false }),
      text: t('console.users.resetText'),
      label: t('console.field.newPassword'),
      type: 'password',
      testid: 'reset-password',
      autocomplete: 'new-password',
      submitLabel: t('console.users.setPassword'),
      action: (password) => api.patch(`/api/users/${user.id}`, { password }),
    });
    if (done) toast(t('console.users.passwordSet', { email: user.email, capitalize: false }));
  });

  const revoke = actionButton(t('console.users.signOut'), `revoke-sessions-${key}`, () =>
    run(async () => {
      const { revoked } = await api.post(`/api/users/${user.id}/sessions/revoke`);
      const n = Number(revoked) || 0;
      toast(t('console.users.signedOut', { email: user.email, count: n }));
    }));
  revoke.title = t('console.users.signOutTitle');

  const locked = Number(user.locked_for) > 0;
  const unlock = locked ? actionButton(t('console.users.unlock'), `user-unlock-${key}`, () =>
    run(() => api.post(`/api/users/${user.id}/unlock`), t('console.users.unlocked', { email: user.email, capitalize: false })), 'btn-primary') : null;
  if (unlock) unlock.title = t('console.users.unlockTitle');

  const remove = actionButton(t('console.delete'), `user-delete-${key}`, async () => {
    const ok = await confirmDialog({
      title: t('console.users.deleteTitle', { email: user.email, capitalize: false }),
      text: t('console.users.deleteText'),
      confirmLabel: t('console.users.deleteConfirm'),
      danger: true,
    });
    if (ok) await run(() => api.del(`/api/users/${user.id}`), t('console.users.deleted', { email: user.email, capitalize: false }));
  }, 'btn-danger-outline');
  remove.disabled = self;

  return h('tr', { 'data-testid': `user-row-${key}`, 'data-email': user.email },
    // The name people know them by, with the address they sign in with below it.
    h('td', { 'data-label': t('console.users.col.user'), class: 'cell-user' },
      h('span', { class: 'user-cell' },
        h('span', { class: 'user-cell-name', 'data-testid': `user-name-${key}` }, user.display_name || user.email),
        h('span', { class: 'user-cell-email' }, user.email, self ? h('span', { class: 'muted' }, t('console.users.you')) : null))),
    h('td', { 'data-label': t('console.users.col.role') }, role),
    h('td', { 'data-label': t('console.users.col.totp') }, user.totp_enabled ? badge(t('console.on'), 'success') : badge(t('console.off'), 'neutral')),
    h('td', { 'data-label': t('console.users.col.status'), 'data-testid': `user-status-${key}` },
      h('span', { class: 'status-badges' },
        user.disabled ? badge(t('console.users.stateDisabled'), 'danger') : badge(t('console.users.stateActive'), 'success'),
        locked ? lockBadge(user, Date.now() + Number(user.locked_for) * 1000) : null)),
    h('td', { 'data-label': t('console.users.col.lastSignIn') }, lastSignInCell(user)),
    h('td', { 'data-label': t('console.users.col.added'), class: 'nowrap' }, formatDate(user.created_at)),
    h('td', { 'data-label': t('console.users.col.actions'), class: 'cell-actions' }, h('div', { class: 'row row-tight' }, unlock, toggle, reset, revoke, remove)),
  );
}

export async function renderUsers(container, app) {
  const tbody = h('tbody');
  const count = h('span', { class: 'muted small', 'data-testid': 'users-count' });
  const table = h('table', { class: 'table table-responsive', 'data-testid': 'users-table' },
    h('thead', {}, h('tr', {}, ['user', 'role', 'totp', 'status', 'lastSignIn', 'added', 'actions'].map((col) => h('th', { scope: 'col' }, t(`console.users.col.${col}`))))),
    tbody);
  const loadError = messageLine('users-error');

  const refresh = async () => {
    try {
      const { users } = await api.get('/api/users');
      users.sort((a, b) => a.email.localeCompare(b.email));
      tbody.replaceChildren(...users.map((u) => userRow(u, app, refresh)));
      count.textContent = t('console.users.count', { count: users.length });
      loadError.hide();
    } catch (err) {
      if (err.error !== 'not_authenticated') loadError.show(err.message);
    }
  };

  container.replaceChildren(
    sectionHeading(t('console.nav.users'), t('console.users.subtitle')),
    createCard(() => refresh()),
    card({ title: t('console.users.listTitle'), testid: 'users', actions: count }, loadError.el, h('div', { class: 'table-wrap' }, table)),
  );
  // Count the lockouts down; one that ran out is gone from the server too.
  let refreshing = false;
  const ticker = setInterval(() => {
    if (!container.isConnected) {
      clearInterval(ticker);
      return;
    }
    let over = false;
    for (const left of tbody.querySelectorAll('.lock-left')) {
      const until = Number(left.dataset.until);
      if (until <= Date.now()) over = true;
      else left.textContent = lockLeftText(until);
    }
    if (over && !refreshing) {
      refreshing = true;
      refresh().finally(() => {
        refreshing = false;
      });
    }
  }, 1000);
  container.addEventListener('leave', () => clearInterval(ticker), { once: true });
  await refresh();
}
