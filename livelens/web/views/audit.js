// The "Audit log" section (administrators): who did what, from where, and when. Events
// are named in words, people and sessions by name where this page knows them; filters
// work on what is loaded, and "Load more" asks for older events.

import { formatTime, h } from '../dom.js';
import {
  detailPairs, detailsList, fallbackLabel, logCard, personCell, personText, targetCell, timeCell,
} from '../logs.js';
import { sectionHeading } from '../ui.js';

export const AUDIT_LABELS = {
  'auth.login_succeeded': 'Signed in',
  'auth.login_failed': 'Sign-in failed',
  'auth.otp_failed': 'Wrong two-factor code',
  'auth.locked': 'Sign-in locked after failures',
  'auth.login_refused_locked': 'Sign-in refused (locked)',
  'auth.unlocked': 'Sign-in unlocked',
  'auth.recheck_failed': 'Wrong password when asked again',
  'auth.logout': 'Signed out',
  'auth.recovery_code_used': 'Recovery code used',
  'totp.enrollment_started': '2FA setup started',
  'totp.enabled': '2FA turned on',
  'totp.disabled': '2FA turned off',
  'totp.reset': '2FA reset by an administrator',
  'user.created': 'User added',
  'user.updated': 'User changed',
  'user.deleted': 'User deleted',
  'user.password_changed': 'Password changed',
  'user.sessions_revoked': 'Signed out everywhere',
  'account.created': 'Account created',
  'account.policy_changed': 'Policy changed',
  'keys.resealed': 'Encryption keys rotated',
  'session.created': 'Session started',
  'session.link_renewed': 'New join link sent',
  'session.customer_joined': 'Customer joined',
  'session.consent_given': 'Customer agreed to share',
  'session.consent_declined': 'Customer declined',
  'session.consent_withdrawn': 'Customer withdrew consent',
  'session.expert_invited': 'Expert invited',
  'session.left': 'Agent left the session',
  'session.ended': 'Session ended',
  'session.snapshot_taken': 'Snapshot taken',
  'session.snapshot_downloaded': 'Snapshot downloaded',
  'export.requested': 'Export asked for',
  'export.ready': 'Export made',
  'export.failed': 'Export failed',
  'export.downloaded': 'Export downloaded',
  'export.expired': 'Export removed (expired)',
  'export.deleted': 'Export removed with its content',
};

// Filter groups, by the code's first part.
const GROUPS = [
  ['', 'All events'],
  ['auth', 'Sign-in'],
  ['totp', 'Two-factor'],
  ['user', 'Users'],
  ['session', 'Support sessions'],
  ['account', 'Account and keys'],
];
const GROUP_OF = { keys: 'account', export: 'account' };

const WARN = new Set(['auth.login_failed', 'auth.otp_failed', 'auth.locked', 'auth.login_refused_locked', 'auth.recheck_failed']);

const labelOf = (action) => AUDIT_LABELS[action] || fallbackLabel(action);
const groupOf = (action) => {
  const head = String(action).split('.')[0];
  return GROUP_OF[head] || head;
};

function row(dir, event) {
  return h('tr', { 'data-testid': 'audit-row', 'data-action': event.action, class: WARN.has(event.action) ? 'row-warn' : null },
    h('td', { 'data-label': 'Time', class: 'log-time' }, timeCell(event.at)),
    h('td', { 'data-label': 'Action' },
      h('div', {}, h('span', { class: 'audit-label' }, labelOf(event.action)), h('span', { class: 'audit-code' }, event.action))),
    h('td', { 'data-label': 'By', 'data-testid': 'audit-actor' },
      h('div', { class: 'log-stack' }, personCell(dir, event.actor), event.ip ? h('span', { class: 'mono small muted' }, event.ip) : null)),
    h('td', { 'data-label': 'Target', 'data-testid': 'audit-target' }, targetCell(dir, event.target)),
    h('td', { 'data-label': 'Details', class: 'log-details-cell' }, detailsList(dir, event.details)));
}

/** Whether `event` concerns the user with this address: they did it, or it was done to them. */
function involves(event, email) {
  const lower = email.toLowerCase();
  return [event.actor, event.target, event.details && event.details.expert]
    .some((v) => typeof v === 'string' && v.toLowerCase() === lower);
}

/** Every word of the event a search can find: codes, names, addresses, details, the time. */
function searchText(dir, e) {
  return [e.action, labelOf(e.action), e.actor, personText(dir, e.actor), e.target,
    personText(dir, e.target), e.ip, ...detailPairs(dir, e.details).flat(), formatTime(e.at)]
    .map((v) => String(v || '').toLowerCase()).join('\n');
}

export async function renderAudit(container) {
  const user = h('select', { class: 'input select', 'data-testid': 'audit-user', 'aria-label': 'User' },
    h('option', { value: '' }, 'Everyone'));

  const fillUsers = (dir) => {
    const chosen = user.value;
    const people = [...dir.users].sort((a, b) => String(a.display_name || a.email).localeCompare(String(b.display_name || b.email)));
    user.replaceChildren(h('option', { value: '' }, 'Everyone'),
      ...people.map((u) => h('option', { value: u.email }, personText(dir, u.email))));
    user.value = people.some((u) => u.email === chosen) ? chosen : '';
  };

  const audit = logCard({
    path: '/api/audit',
    testid: 'audit',
    cardTestid: 'audit',
    errorTestid: 'audit-error',
    groups: GROUPS,
    groupOf: (e) => groupOf(e.action),
    filters: [user],
    search: { placeholder: 'Search action, name, address or IP', label: 'Search the audit log' },
    columns: ['Time', 'Action', 'By', 'Target', 'Details'],
    row,
    matches: (dir, e, needle) => (!user.value || involves(e, user.value)) && (!needle || searchText(dir, e).includes(needle)),
    loaded: fillUsers,
  });

  container.replaceChildren(
    sectionHeading('Audit log', 'Sign-ins, administrative changes and support sessions in this account, newest first.'),
    audit.el,
  );
  await audit.load();
}
