// The "Security log" section (administrators): anomalous traffic against this account,
// newest first: failed sign-ins and lockouts, bad join links and PINs, malformed or
// foreign signalling, forged media, rate limits. Named in words; filters work on what
// is loaded, and "Load more" asks for older events.

import { formatTime, h, messageLine } from '../dom.js';
import {
  detailPairs, detailsList, emptyDirectory, fallbackLabel, loadDirectory, pagedLog, pagerRow, reloading, timeCell,
} from '../logs.js';
import { card, sectionHeading } from '../ui.js';

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
  const tbody = h('tbody');
  const error = messageLine('security-log-error');
  const log = pagedLog('/api/security-events');
  let dir = emptyDirectory();

  const group = h('select', { class: 'input select', 'data-testid': 'security-group', 'aria-label': 'Kind of event' },
    GROUPS.map(([value, label]) => h('option', { value }, label)));
  const filter = h('input', { type: 'search', class: 'input', placeholder: 'Search event, IP or detail', 'aria-label': 'Search the security log', 'data-testid': 'security-filter' });
  const refreshButton = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'security-refresh' }, 'Refresh');
  const empty = h('p', { class: 'muted empty', hidden: true, 'data-testid': 'security-empty' }, 'No events match.');

  const pager = pagerRow('security', log, error, () => show());

  const show = () => {
    const needle = filter.value.trim().toLowerCase();
    const shown = log.events().filter((e) => (!group.value || groupOf(e.kind) === group.value)
      && (!needle || [e.kind, labelOf(e.kind), e.ip, formatTime(e.at), ...detailPairs(dir, e.details).flat()]
        .some((v) => String(v || '').toLowerCase().includes(needle))));
    tbody.replaceChildren(...shown.map((e) => row(dir, e)));
    empty.hidden = shown.length > 0;
    pager.show(log, shown.length);
  };

  const load = async () => {
    await reloading(refreshButton, error, async () => {
      [dir] = await Promise.all([loadDirectory(), log.load()]);
      show();
    });
  };
  group.addEventListener('change', show);
  filter.addEventListener('input', show);
  refreshButton.addEventListener('click', load);

  container.replaceChildren(
    sectionHeading('Security log', 'Suspicious traffic against this account, newest first: failed sign-ins and lockouts, bad join links and PINs, malformed messages, forged media and rate limits.'),
    card({ testid: 'security-log-card' },
      h('div', { class: 'toolbar log-filters', role: 'group', 'aria-label': 'Filters' }, group, filter, refreshButton),
      error.el,
      h('div', { class: 'table-wrap' },
        h('table', { class: 'table table-responsive log-table security-table', 'data-testid': 'security-log' },
          h('thead', {}, h('tr', {}, ['Time', 'Event', 'From', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
          tbody)),
      empty,
      pager.el),
  );
  await load();
}
