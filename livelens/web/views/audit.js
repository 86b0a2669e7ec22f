// The "Audit log" section (administrators): who did what, from where, and when.

import { api } from '../api.js';
import { formatTime, h, messageLine } from '../dom.js';
import { card, sectionHeading } from '../ui.js';

const LABELS = {
  'auth.login_succeeded': 'Signed in',
  'auth.login_failed': 'Sign-in failed',
  'auth.otp_failed': 'Wrong two-factor code',
  'auth.locked': 'Sign-in locked',
  'auth.login_refused_locked': 'Sign-in refused (locked)',
  'auth.recheck_failed': 'Wrong password when asked again',
  'auth.logout': 'Signed out',
  'auth.recovery_code_used': 'Recovery code used',
  'totp.enrollment_started': '2FA setup started',
  'totp.enabled': '2FA turned on',
  'totp.disabled': '2FA turned off',
  'user.created': 'User added',
  'user.updated': 'User changed',
  'user.deleted': 'User deleted',
  'user.password_changed': 'Password changed',
  'user.sessions_revoked': 'Signed out everywhere',
  'account.created': 'Account created',
  'account.policy_changed': 'Policy changed',
};

const WARN = new Set(['auth.login_failed', 'auth.otp_failed', 'auth.locked', 'auth.login_refused_locked', 'auth.recheck_failed']);

function details(value) {
  if (!value || typeof value !== 'object') return '';
  return Object.entries(value)
    .map(([k, v]) => `${k.replace(/_/g, ' ')}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join(', ');
}

function row(event) {
  const label = LABELS[event.action] || event.action;
  return h('tr', { 'data-testid': 'audit-row', 'data-action': event.action, class: WARN.has(event.action) ? 'row-warn' : null },
    h('td', { 'data-label': 'Time', class: 'nowrap' }, h('time', { datetime: new Date(event.at * 1000).toISOString() }, formatTime(event.at))),
    h('td', { 'data-label': 'Action' }, h('div', {}, h('span', { class: 'audit-label' }, label), h('span', { class: 'audit-code' }, event.action))),
    h('td', { 'data-label': 'By' }, event.actor || ''),
    h('td', { 'data-label': 'Target' }, event.target || ''),
    h('td', { 'data-label': 'IP address', class: 'mono' }, event.ip || ''),
    h('td', { 'data-label': 'Details', class: 'small' }, details(event.details)));
}

export async function renderAudit(container) {
  const tbody = h('tbody');
  const error = messageLine('audit-error');
  const filter = h('input', { type: 'search', class: 'input', placeholder: 'Filter by action, user or IP', 'aria-label': 'Filter the audit log', 'data-testid': 'audit-filter' });
  const refreshButton = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'audit-refresh' }, 'Refresh');
  const empty = h('p', { class: 'muted empty', hidden: true, 'data-testid': 'audit-empty' }, 'No events match.');
  let events = [];

  const show = () => {
    const needle = filter.value.trim().toLowerCase();
    const shown = events.filter((e) => !needle ||
      [e.action, LABELS[e.action], e.actor, e.target, e.ip, details(e.details)].some((v) => String(v || '').toLowerCase().includes(needle)));
    tbody.replaceChildren(...shown.map(row));
    empty.hidden = shown.length > 0;
  };
  const load = async () => {
    refreshButton.disabled = true;
    try {
      ({ events } = await api.get('/api/audit?limit=200'));
      error.hide();
      show();
    } catch (err) {
      if (err.error !== 'not_authenticated') error.show(err.message);
    } finally {
      refreshButton.disabled = false;
    }
  };
  filter.addEventListener('input', show);
  refreshButton.addEventListener('click', load);

  container.replaceChildren(
    sectionHeading('Audit log', 'Sign-ins, security events and administrative changes in this account, newest first.'),
    card({ testid: 'audit' },
      h('div', { class: 'toolbar' }, filter, refreshButton),
      error.el,
      h('div', { class: 'table-wrap' },
        h('table', { class: 'table table-responsive', 'data-testid': 'audit-log' },
          h('thead', {}, h('tr', {}, ['Time', 'Action', 'By', 'Target', 'IP address', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
          tbody)),
      empty),
  );
  await load();
}
