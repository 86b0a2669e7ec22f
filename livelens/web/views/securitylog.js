// The "Security log" section (administrators): anomalous traffic against this account,
// newest first: failed sign-ins and lockouts, bad join links and PINs, malformed or
// foreign signalling, forged media, rate limits. Named in words; filters work on what
// is loaded, and "Load more" asks for older events.

import { formatTime, h } from '../dom.js';
import { detailPairs, detailsList, fallbackLabel, logCard, timeCell } from '../logs.js';
import { sectionHeading } from '../ui.js';
import { alertsCard } from './alerts.js';

export const SECURITY_LABELS = {
  'auth.login_failed': 'Failed sign-in',
  'auth.otp_failed': 'Wrong two-factor code at sign-in',
  'auth.recheck_failed': 'Wrong password when asked again',
  'auth.locked': 'Address locked after failed sign-ins',
  'auth.locked_attempt': 'Sign-in tried while locked',
  'ratelimit.signin': 'Too many sign-ins from one network',
  'ratelimit.pin': 'Too many PIN attempts',
  'ratelimit.signalling': 'Too many session messages',
  'join.bad_token': 'Join link not valid',
  'join.bad_pin': 'Wrong PIN',
  'join.expired': 'Join link used after it expired',
  'join.ended': 'Join link used after the session ended',
  'join.other_device': 'Join link used on another device',
  'join.bad_cookie': 'Customer’s session cookie not valid',
  'signalling.bad_origin': 'Connection from a foreign web page',
  'signalling.malformed': 'Malformed session message',
  'signalling.flood': 'Connection cut after many malformed messages',
  'media.srtp_auth_failed': 'Forged media packets',
  'media.stun_bad_integrity': 'Media connection with a forged check',
  'media.stun_wrong_username': 'Media connection with wrong credentials',
  'media.stun_unknown_username': 'Media connection with unknown credentials',
};

const GROUPS = [
  ['', 'All events'],
  ['auth', 'Sign-in'],
  ['join', 'Join links and PINs'],
  ['signalling', 'Session messages'],
  ['media', 'Media'],
  ['ratelimit', 'Rate limits'],
];

const labelOf = (kind) => SECURITY_LABELS[kind] || fallbackLabel(kind);
const groupOf = (kind) => String(kind).split('.')[0];

function row(dir, event) {
  return h('tr', { 'data-testid': 'security-row', 'data-kind': event.kind },
    h('td', { 'data-label': 'Time', class: 'log-time' }, timeCell(event.at)),
    h('td', { 'data-label': 'Event' },
      h('div', {}, h('span', { class: 'audit-label' }, labelOf(event.kind)), h('span', { class: 'audit-code' }, event.kind))),
    h('td', { 'data-label': 'From', class: 'mono log-wrap' }, event.ip || h('span', { class: 'muted' }, '—')),
    h('td', { 'data-label': 'Details', class: 'log-details-cell' }, detailsList(dir, event.details)));
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
    search: { placeholder: 'Search event, IP or detail', label: 'Search the security log' },
    columns: ['Time', 'Event', 'From', 'Details'],
    row,
    matches: (dir, e, needle) => !needle || [e.kind, labelOf(e.kind), e.ip, formatTime(e.at), ...detailPairs(dir, e.details).flat()]
      .some((v) => String(v || '').toLowerCase().includes(needle)),
    extra: alerts.load,
  });

  container.replaceChildren(
    sectionHeading('Security log', 'Suspicious traffic against this account, newest first: failed sign-ins and lockouts, bad join links and PINs, malformed messages, forged media and rate limits.'),
    alerts.el,
    events.el,
  );
  await events.load();
}
