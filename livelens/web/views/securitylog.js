// The "Security log" section (administrators): anomalous traffic against this account,
// newest first: failed sign-ins and lockouts, bad join links and PINs, malformed or
// foreign signalling, forged media, rate limits. Named in words; filters work on what
// is loaded, and "Load more" asks for older events.

import { formatTime, h } from '../dom.js';
import { t, wordsOf } from '../i18n.js';
import { detailPairs, detailsList, fallbackLabel, logCard, timeCell } from '../logs.js';
import { sectionHeading } from '../ui.js';
import { alertsCard } from './alerts.js';

export const SECURITY_LABELS = wordsOf({
  'auth.login_failed': 'console.security.event.auth_login_failed',
  'auth.otp_failed': 'console.security.event.auth_otp_failed',
  'auth.recheck_failed': 'console.security.event.auth_recheck_failed',
  'auth.locked': 'console.security.event.auth_locked',
  'auth.locked_attempt': 'console.security.event.auth_locked_attempt',
  'ratelimit.signin': 'console.security.event.ratelimit_signin',
  'ratelimit.pin': 'console.security.event.ratelimit_pin',
  'ratelimit.signalling': 'console.security.event.ratelimit_signalling',
  'join.bad_token': 'console.security.event.join_bad_token',
  'join.bad_pin': 'console.security.event.join_bad_pin',
  'join.expired': 'console.security.event.join_expired',
  'join.ended': 'console.security.event.join_ended',
  'join.other_device': 'console.security.event.join_other_device',
  'join.bad_cookie': 'console.security.event.join_bad_cookie',
  'signalling.bad_origin': 'console.security.event.signalling_bad_origin',
  'signalling.malformed': 'console.security.event.signalling_malformed',
  'signalling.flood': 'console.security.event.signalling_flood',
  'media.srtp_auth_failed': 'console.security.event.media_srtp_auth_failed',
  'media.stun_bad_integrity': 'console.security.event.media_stun_bad_integrity',
  'media.stun_wrong_username': 'console.security.event.media_stun_wrong_username',
  'media.stun_unknown_username': 'console.security.event.media_stun_unknown_username',
});

// (labels are catalogue keys)
const GROUPS = [
  ['', 'console.log.allEvents'],
  ['auth', 'console.log.group.auth'],
  ['join', 'console.log.group.join'],
  ['signalling', 'console.log.group.signalling'],
  ['media', 'console.log.group.media'],
  ['ratelimit', 'console.log.group.ratelimit'],
];

const labelOf = (kind) => SECURITY_LABELS[kind] || fallbackLabel(kind);
const groupOf = (kind) => String(kind).split('.')[0];

function row(dir, event) {
  return h('tr', { 'data-testid': 'security-row', 'data-kind': event.kind },
    h('td', { 'data-label': t('console.log.col.time'), class: 'log-time' }, timeCell(event.at)),
    h('td', { 'data-label': t('console.log.col.event') },
      h('div', {}, h('span', { class: 'audit-label' }, labelOf(event.kind)), h('span', { class: 'audit-code' }, event.kind))),
    h('td', { 'data-label': t('console.log.col.from'), class: 'mono log-wrap' }, event.ip || h('span', { class: 'muted' }, '—')),
    h('td', { 'data-label': t('console.log.col.details'), class: 'log-details-cell' }, detailsList(dir, event.details)));
}

export async function renderSecurityLog(container) {
  const alerts = alertsCard();
  const events = logCard({
    path: '/api/security-events',
    testid: 'security',
    cardTestid: 'security-log-card',
    errorTestid: 'security-log-error',
    groups: GROUPS,
    groupOf: (e) => groupOf(e.kind),
    search: { placeholder: t('console.securityLog.search'), label: t('console.securityLog.searchLabel') },
    columns: ['time', 'event', 'from', 'details'].map((col) => t(`console.log.col.${col}`)),
    row,
    matches: (dir, e, needle) => !needle || [e.kind, labelOf(e.kind), e.ip, formatTime(e.at), ...detailPairs(dir, e.details).flat()]
      .some((v) => String(v || '').toLowerCase().includes(needle)),
    extra: alerts.load,
  });

  container.replaceChildren(
    sectionHeading(t('console.nav.securityLog'), t('console.securityLog.subtitle')),
    alerts.el,
    events.el,
  );
  await events.load();
}
