// The "Users" section (administrators): add, change, disable, sign out and delete users.

import { api } from '../api.js';
import { busy, field, formatDate, h, messageLine, newPasswordField, waitText } from '../dom.js';
import { badge, card, confirmDialog, promptDialog, sectionHeading, toast } from '../ui.js';

const ROLES = [
  ['agent', 'Agent'],
  ['admin', 'Administrator'],
];

function roleSelect(attrs, selected) {
  return h('select', { class: 'input select', ...attrs },
    ROLES.map(([value, label]) => h('option', { value, selected: value === selected }, label)));
}

function createCard(onCreated) {
  const email = field({ label: 'E-mail', type: 'email', testid: 'user-create-email', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true });
  const name = field({
    label: 'Display name',
    testid: 'user-create-name',
    autocomplete: 'off',
    hint: 'What customers see, e.g. "Anna de Vries". Left empty, it is made from the e-mail address.',
  });
  const roleId = 'user-create-role';
  const role = roleSelect({ id: roleId, 'data-testid': 'user-create-role' }, 'agent');
  const password = newPasswordField({
    label: 'Initial password',
    testid: 'user-create-password',
    more: 'Give it to the user over a safe channel.',
  });
  const message = messageLine('user-create-error');
  const form = h('form', { class: 'form form-grid', novalidate: true, 'data-testid': 'user-create-form' },
    email.wrap,
    name.wrap,
    h('div', { class: 'field' }, h('label', { class: 'label', for: roleId }, 'Role'), role),
    password.wrap,
    h('div', { class: 'form-grid-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'user-create-submit' }, 'Add user')),
    message.el);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    const body = { email: email.input.value.trim(), role: role.value, password: password.input.value };
    const displayName = name.input.value.trim();
    if (displayName) body.display_name = displayName;
    if (!body.email || !body.password) {
      message.show('Enter an e-mail address and an initial password.');
      return;
    }
    try {
      const { user } = await busy(form, () => api.post('/api/users', body));
      form.reset();
      role.value = 'agent';
      toast(`Added ${user.email}.`);
      onCreated(user);
    } catch (err) {
      if (err.error !== 'not_authenticated') message.show(err.message);
    }
  });
  return card({ title: 'Add a user', testid: 'user-create' }, form);
}

function actionButton(label, testid, onclick, kind = 'btn-secondary') {
  return h('button', { type: 'button', class: ['btn', 'btn-small', kind], 'data-testid': testid, onclick }, label);
}

/** "Locked" with the time left, counted down by the page (see renderUsers). */
function lockBadge(user, until) {
  const left = h('span', { class: 'lock-left', 'data-until': String(until) }, lockLeftText(until));
  return h('span', { class: 'lock', 'data-testid': `user-locked-${user.email}` },
    badge('Locked', 'warning'), ' ', left);
}

function lockLeftText(until) {
  return `for ${waitText((until - Date.now()) / 1000)}`;
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

  const role = roleSelect({ 'data-testid': `user-role-${key}`, 'aria-label': `Role of ${user.email}`, disabled: self }, user.role);
  role.addEventListener('change', () =>
    run(() => api.patch(`/api/users/${user.id}`, { role: role.value }), `${user.email} is now ${role.value === 'admin' ? 'an administrator' : 'an agent'}.`));

  const toggle = actionButton(user.disabled ? 'Enable' : 'Disable', `user-toggle-disabled-${key}`, () =>
    run(() => api.patch(`/api/users/${user.id}`, { disabled: !user.disabled }), `${user.email} is ${user.disabled ? 'enabled' : 'disabled'}.`));
  toggle.disabled = self;

  const reset = actionButton('Reset password', `user-reset-password-${key}`, async () => {
    const done = await promptDialog({
      title: `Reset password of ${user.email}`,
      text: 'The user is signed out of every browser and signs in again with the new password (a sign-in lockout is lifted too). Give it to them over a safe channel.',
      label: 'New password',
      type: 'password',
      testid: 'reset-password',
      autocomplete: 'new-password',
      submitLabel: 'Set password',
      action: (password) => api.patch(`/api/users/${user.id}`, { password }),
    });
    if (done) toast(`New password set for ${user.email}.`);
  });

  const revoke = actionButton('Sign out', `revoke-sessions-${key}`, () =>
    run(async () => {
      const { revoked } = await api.post(`/api/users/${user.id}/sessions/revoke`);
      const n = Number(revoked) || 0;
      toast(`Signed ${user.email} out of ${n} browser${n === 1 ? '' : 's'}.`);
    }));
  revoke.title = 'Sign this user out of every browser';

  const locked = Number(user.locked_for) > 0;
  const unlock = locked ? actionButton('Unlock', `user-unlock-${key}`, () =>
    run(() => api.post(`/api/users/${user.id}/unlock`), `${user.email} can sign in again.`), 'btn-primary') : null;
  if (unlock) unlock.title = 'Lift the lockout after too many failed sign-ins';

  const remove = actionButton('Delete', `user-delete-${key}`, async () => {
    const ok = await confirmDialog({
      title: `Delete ${user.email}?`,
      text: 'The user is signed out and can no longer sign in. This cannot be undone.',
      confirmLabel: 'Delete user',
      danger: true,
    });
    if (ok) await run(() => api.del(`/api/users/${user.id}`), `Deleted ${user.email}.`);
  }, 'btn-danger-outline');
  remove.disabled = self;

  return h('tr', { 'data-testid': `user-row-${key}`, 'data-email': user.email },
    // The name people know them by, with the address they sign in with below it.
    h('td', { 'data-label': 'User', class: 'cell-user' },
      h('span', { class: 'user-cell' },
        h('span', { class: 'user-cell-name', 'data-testid': `user-name-${key}` }, user.display_name || user.email),
        h('span', { class: 'user-cell-email' }, user.email, self ? h('span', { class: 'muted' }, ' (you)') : null))),
    h('td', { 'data-label': 'Role' }, role),
    h('td', { 'data-label': '2FA' }, user.totp_enabled ? badge('On', 'success') : badge('Off', 'neutral')),
    h('td', { 'data-label': 'Status', 'data-testid': `user-status-${key}` },
      h('span', { class: 'status-badges' },
        user.disabled ? badge('Disabled', 'danger') : badge('Active', 'success'),
        locked ? lockBadge(user, Date.now() + Number(user.locked_for) * 1000) : null)),
    h('td', { 'data-label': 'Added', class: 'nowrap' }, formatDate(user.created_at)),
    h('td', { 'data-label': 'Actions', class: 'cell-actions' }, h('div', { class: 'row row-tight' }, unlock, toggle, reset, revoke, remove)),
  );
}

export async function renderUsers(container, app) {
  const tbody = h('tbody');
  const count = h('span', { class: 'muted small', 'data-testid': 'users-count' });
  const table = h('table', { class: 'table table-responsive', 'data-testid': 'users-table' },
    h('thead', {}, h('tr', {}, ['User', 'Role', '2FA', 'Status', 'Added', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody);
  const loadError = messageLine('users-error');

  const refresh = async () => {
    try {
      const { users } = await api.get('/api/users');
      users.sort((a, b) => a.email.localeCompare(b.email));
      tbody.replaceChildren(...users.map((u) => userRow(u, app, refresh)));
      count.textContent = `${users.length} user${users.length === 1 ? '' : 's'}`;
      loadError.hide();
    } catch (err) {
      if (err.error !== 'not_authenticated') loadError.show(err.message);
    }
  };

  container.replaceChildren(
    sectionHeading('Users', 'Agents run support sessions; administrators also manage users, policy and the audit log.'),
    createCard(() => refresh()),
    card({ title: 'Users of this account', testid: 'users', actions: count }, loadError.el, h('div', { class: 'table-wrap' }, table)),
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
