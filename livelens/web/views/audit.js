// The "Audit log" section (administrators): who did what, from where, and when. Events
// are named in words, people and sessions by name where this page knows them; filters
// work on what is loaded, and "Load more" asks for older events.

import { formatTime, h } from '../dom.js';
import { t, wordsOf } from '../i18n.js';
import {
  detailPairs, detailsList, fallbackLabel, logCard, personCell, personText, targetCell, timeCell,
} from '../logs.js';
import { sectionHeading } from '../ui.js';

export const AUDIT_LABELS = wordsOf({
  'auth.login_succeeded': 'console.audit.event.auth_login_succeeded',
  'auth.login_failed': 'console.audit.event.auth_login_failed',
  'auth.otp_failed': 'console.audit.event.auth_otp_failed',
  'auth.locked': 'console.audit.event.auth_locked',
  'auth.login_refused_locked': 'console.audit.event.auth_login_refused_locked',
  'auth.unlocked': 'console.audit.event.auth_unlocked',
  'auth.recheck_failed': 'console.audit.event.auth_recheck_failed',
  'auth.logout': 'console.audit.event.auth_logout',
  'auth.recovery_code_used': 'console.audit.event.auth_recovery_code_used',
  'totp.enrollment_started': 'console.audit.event.totp_enrollment_started',
  'totp.enabled': 'console.audit.event.totp_enabled',
  'totp.disabled': 'console.audit.event.totp_disabled',
  'totp.reset': 'console.audit.event.totp_reset',
  'user.created': 'console.audit.event.user_created',
  'user.updated': 'console.audit.event.user_updated',
  'user.deleted': 'console.audit.event.user_deleted',
  'user.password_changed': 'console.audit.event.user_password_changed',
  'user.sessions_revoked': 'console.audit.event.user_sessions_revoked',
  'account.created': 'console.audit.event.account_created',
  'account.policy_changed': 'console.audit.event.account_policy_changed',
  'keys.resealed': 'console.audit.event.keys_resealed',
  'session.created': 'console.audit.event.session_created',
  'session.link_renewed': 'console.audit.event.session_link_renewed',
  'session.customer_joined': 'console.audit.event.session_customer_joined',
  'session.consent_given': 'console.audit.event.session_consent_given',
  'session.consent_declined': 'console.audit.event.session_consent_declined',
  'session.consent_withdrawn': 'console.audit.event.session_consent_withdrawn',
  'session.expert_invited': 'console.audit.event.session_expert_invited',
  'session.left': 'console.audit.event.session_left',
  'session.ended': 'console.audit.event.session_ended',
  'session.snapshot_taken': 'console.audit.event.session_snapshot_taken',
  'session.snapshot_downloaded': 'console.audit.event.session_snapshot_downloaded',
  'export.requested': 'console.audit.event.export_requested',
  'export.ready': 'console.audit.event.export_ready',
  'export.failed': 'console.audit.event.export_failed',
  'export.downloaded': 'console.audit.event.export_downloaded',
  'export.expired': 'console.audit.event.export_expired',
  'export.deleted': 'console.audit.event.export_deleted',
});

// Filter groups, by the code's first part.
// (labels are catalogue keys)
const GROUPS = [
  ['', 'console.log.allEvents'],
  ['auth', 'console.log.group.auth'],
  ['totp', 'console.log.group.totp'],
  ['user', 'console.nav.users'],
  ['session', 'console.sessions.title'],
  ['account', 'console.log.group.account'],
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
    h('td', { 'data-label': t('console.log.col.time'), class: 'log-time' }, timeCell(event.at)),
    h('td', { 'data-label': t('console.log.col.action') },
      h('div', {}, h('span', { class: 'audit-label' }, labelOf(event.action)), h('span', { class: 'audit-code' }, event.action))),
    h('td', { 'data-label': t('console.log.col.by'), 'data-testid': 'audit-actor' },
      h('div', { class: 'log-stack' }, personCell(dir, event.actor), event.ip ? h('span', { class: 'mono small muted' }, event.ip) : null)),
    h('td', { 'data-label': t('console.log.col.target'), 'data-testid': 'audit-target' }, targetCell(dir, event.target)),
    h('td', { 'data-label': t('console.log.col.details'), class: 'log-details-cell' }, detailsList(dir, event.details)));
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
  const user = h('select', { class: 'input select', 'data-testid': 'audit-user', 'aria-label': t('console.users.col.user') },
    h('option', { value: '' }, t('console.everyone')));

  const fillUsers = (dir) => {
    const chosen = user.value;
    const people = [...dir.users].sort((a, b) => String(a.display_name || a.email).localeCompare(String(b.display_name || b.email)));
    user.replaceChildren(h('option', { value: '' }, t('console.everyone')),
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
    search: { placeholder: t('console.audit.search'), label: t('console.audit.searchLabel') },
    columns: ['time', 'action', 'by', 'target', 'details'].map((col) => t(`console.log.col.${col}`)),
    row,
    matches: (dir, e, needle) => (!user.value || involves(e, user.value)) && (!needle || searchText(dir, e).includes(needle)),
    loaded: fillUsers,
  });

  container.replaceChildren(
    sectionHeading(t('console.nav.audit'), t('console.audit.subtitle')),
    audit.el,
  );
  await audit.load();
}
