// What the audit log and the security log pages share: who and what the ids in an
// event stand for (users and sessions the page can see), details as readable
// "key: value" lines, a list that grows with "Load more" up to what the API gives, and
// the card that shows it with its filters.

import { api } from './api.js';
import { formatTime, h, messageLine, waitText } from './dom.js';
import { formatNumber, t, wordsOf } from './i18n.js';
import { card } from './ui.js';

export const MAX_LIMIT = 500; // what /api/audit and /api/security-events give at most
const PAGE = 100;

const HEX_ID = /^[0-9a-f]{32}$/;

const ROLE_NAMES = wordsOf({ agent: 'console.role.agent', admin: 'console.role.admin' });
const OUTCOMES = wordsOf({
  completed: 'console.reports.col.completed', declined: 'console.reports.col.declined', expired: 'console.reports.col.expired', dropped: 'console.reports.col.dropped',
});
const ENDED_BY = wordsOf({ agent: 'console.log.endedBy.agent', customer: 'console.log.actor.customer', system: 'console.log.actor.system' });
// Actors that are not users: the operator's command line, LiveLens itself, a customer.
const ACTORS = wordsOf({ cli: 'console.log.actor.cli', system: 'console.log.actor.system', customer: 'console.log.actor.customer' });

const DETAIL_LABELS = wordsOf({
  failures: 'console.log.detail.failures',
  attempts: 'console.log.detail.attempts',
  seconds: 'console.log.detail.seconds',
  role: 'console.users.col.role',
  disabled: 'console.users.stateDisabled',
  password_reset: 'console.log.detail.passwordReset',
  count: 'console.log.detail.count',
  remaining: 'console.log.detail.remaining',
  region: 'console.log.detail.region',
  require_totp: 'console.log.detail.requireTotp',
  outcome: 'console.sessions.col.outcome',
  by: 'console.log.detail.by',
  expert: 'console.log.detail.expert',
  join_expires_at: 'console.log.detail.joinExpires',
  session: 'console.log.detail.session',
  snapshot: 'console.log.detail.snapshot',
  size: 'console.log.detail.size',
  marked: 'console.log.detail.marked',
  scopes: 'console.log.detail.scopes',
  code: 'console.log.detail.code',
  what: 'console.log.detail.what',
  cookie: 'console.log.detail.cookie',
  origin: 'console.log.detail.origin',
});

/**
 * The people and sessions an administrator's page can name: users from /api/users,
 * sessions (customer name, reference) from /api/sessions. Either may fail; ids are
 * then shown short.
 */
export async function loadDirectory() {
  const [users, sessions] = await Promise.all([
    api.get('/api/users').then((r) => r.users, () => []),
    api.get('/api/sessions').then((r) => r.sessions, () => []),
  ]);
  const byEmail = new Map(users.map((u) => [u.email.toLowerCase(), u]));
  const byId = new Map(users.map((u) => [u.id, u]));
  const sessionsById = new Map(sessions.map((s) => [s.id, s]));
  return { users, byEmail, byId, sessionsById };
}

/** A person as text: "Anna de Vries (anna@example.com)", or the address or actor alone. */
export function personText(dir, value) {
  if (!value) return '';
  if (ACTORS[value]) return ACTORS[value];
  const user = dir.byEmail.get(String(value).toLowerCase()) || dir.byId.get(value);
  if (!user) return String(value);
  return user.display_name && user.display_name !== user.email ? t('console.person', { name: user.display_name, email: user.email, capitalize: false }) : user.email;
}

/** A person as nodes: the name, and the e-mail address below it. */
export function personCell(dir, value) {
  if (!value) return h('span', { class: 'muted' }, '—');
  if (ACTORS[value]) return h('span', { class: 'log-who' }, ACTORS[value]);
  const user = dir.byEmail.get(String(value).toLowerCase()) || dir.byId.get(value);
  if (!user) return h('span', { class: 'log-who log-wrap' }, String(value));
  return h('span', { class: 'log-who' },
    h('span', { class: 'log-name' }, user.display_name || user.email),
    h('span', { class: 'log-email muted small' }, user.email));
}

/** A session as text: its customer and reference if the page knows them, else a short id. */
export function sessionText(dir, id) {
  const session = dir.sessionsById.get(id);
  const known = session ? [session.customer_name, session.reference].filter(Boolean).join(' · ') : '';
  return known ? t('console.log.session', { label: known }) : t('console.log.session', { label: id.slice(0, 8) });
}

/** Any value that may be an id: a user's name, a session's label, or the value itself. */
export function idText(dir, value) {
  const text = String(value);
  if (!HEX_ID.test(text)) return personText(dir, text);
  if (dir.byId.has(text)) return personText(dir, text);
  return sessionText(dir, text);
}

/** The target of an event (a user's address, a session id, an account name). */
export function targetCell(dir, value) {
  if (!value) return h('span', { class: 'muted' }, '—');
  const text = String(value);
  if (HEX_ID.test(text) && !dir.byId.has(text)) {
    return h('span', { class: 'log-wrap', title: text }, sessionText(dir, text));
  }
  return personCell(dir, text);
}

function formatBytes(bytes) {
  const n = Number(bytes) || 0;
  return n >= 1024 * 1024
    ? t('console.size.mb', { size: formatNumber(n / 1024 / 1024, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) })
    : t('console.size.kb', { size: Math.max(1, Math.round(n / 1024)) });
}

function detailValue(dir, key, value) {
  if (typeof value === 'boolean') return value ? t('console.yes') : t('console.no');
  if (value === null || value === undefined) return '—';
  switch (key) {
    case 'seconds': return waitText(value);
    case 'role': return ROLE_NAMES[value] || String(value);
    case 'outcome': return OUTCOMES[value] || String(value);
    case 'by': return ENDED_BY[value] || String(value);
    case 'join_expires_at': return formatTime(value);
    case 'size': return formatBytes(value);
    case 'scopes': return String(value).split(',').join(', ');
    case 'snapshot': return String(value).slice(0, 8);
    case 'region': return String(value).toUpperCase();
    default: break;
  }
  if (Array.isArray(value)) return value.map((v) => detailValue(dir, '', v)).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'string') return idText(dir, value);
  return String(value);
}

function detailLabel(key) {
  if (DETAIL_LABELS[key]) return DETAIL_LABELS[key];
  const words = key.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Details as [label, value] pairs of text. */
export function detailPairs(dir, details) {
  if (!details || typeof details !== 'object') return [];
  return Object.entries(details).map(([k, v]) => [detailLabel(k), detailValue(dir, k, v)]);
}

/** Details as "key: value" lines, which wrap instead of widening the table. */
export function detailsList(dir, details) {
  const pairs = detailPairs(dir, details);
  if (!pairs.length) return h('span', { class: 'muted' }, '—');
  return h('dl', { class: 'log-details' },
    pairs.map(([k, v]) => h('div', {}, h('dt', {}, `${k}:`), ' ', h('dd', {}, v))));
}

/** The time of an event, as a <time>. */
export function timeCell(at) {
  return h('time', { datetime: new Date(Number(at) * 1000).toISOString() }, formatTime(at));
}

/** A label for a code no map knows: "account.export_started" → "Account: export started". */
export function fallbackLabel(code) {
  const [group, ...rest] = String(code).split('.');
  const what = rest.join(' ').replace(/_/g, ' ');
  const head = group.charAt(0).toUpperCase() + group.slice(1);
  return what ? `${head}: ${what}` : head; // codes no map knows are left in English
}

/**
 * A log that loads PAGE events, then more on request, up to MAX_LIMIT (the API has no
 * cursor: each load asks for the newest N). `path` is '/api/audit' or
 * '/api/security-events'. Returns {load(), more(), events(), limit(), complete()}.
 */
export function pagedLog(path) {
  let limit = PAGE;
  let events = [];
  return {
    async load() {
      ({ events } = await api.get(`${path}?limit=${limit}`));
      return events;
    },
    async more() {
      limit = Math.min(MAX_LIMIT, limit + PAGE);
      return this.load();
    },
    events: () => events,
    limit: () => limit,
    /** Everything there is has been loaded (fewer came than asked for). */
    complete: () => events.length < limit,
    /** More exist than the API gives: the oldest must come from the export. */
    capped: () => limit >= MAX_LIMIT && events.length >= MAX_LIMIT,
  };
}

/** A directory with nobody in it yet (until loadDirectory() answers). */
export function emptyDirectory() {
  return { users: [], byEmail: new Map(), byId: new Map(), sessionsById: new Map() };
}

/**
 * Run `work` (a load) with `button` disabled; its failure is shown in `error` (a signed-out
 * user is not told here: the console takes them to the sign-in page).
 */
export async function reloading(button, error, work) {
  button.disabled = true;
  try {
    await work();
    error.hide();
  } catch (err) {
    if (err.error !== 'not_authenticated') error.show(err.message);
  } finally {
    button.disabled = false;
  }
}

/**
 * The "Load more" row under a log: the button, and what is shown out of what exists.
 * A click loads more of `log`, then calls `shown()` to redraw; a failure goes to `error`.
 */
export function pagerRow(testid, log, error, shown) {
  const button = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': `${testid}-more` }, t('console.loadMore'));
  const status = h('p', { class: 'muted small', 'data-testid': `${testid}-pager`, 'aria-live': 'polite' });
  button.addEventListener('click', () => reloading(button, error, async () => {
    await log.more();
    shown();
  }));
  const el = h('div', { class: 'log-pager' }, status, button);
  return {
    el,
    button,
    show(log, shown) {
      const loaded = log.events().length;
      let text = t('console.log.showingNewest', { shown, count: loaded });
      if (log.complete()) text = shown === loaded ? t('console.log.showingAll', { count: loaded }) : t('console.log.showing', { shown, count: loaded });
      else if (log.capped()) text += ` ${t('console.log.capped', { max: MAX_LIMIT })}`;
      status.textContent = text;
      button.hidden = log.complete() || log.capped();
    },
  };
}

/**
 * A log page's card (the audit log, the security log): a "Kind of event" select of
 * `groups` ([value, label]; an event's group is `groupOf(event)`), the page's own
 * `filters` (selects), a search box (`search`: its placeholder and label), Refresh, the
 * table of `columns` with a `row(dir, event)` for each event that `matches(dir, event,
 * needle)`, "No events match." and "Load more". Test ids start with `testid` (the card's
 * and the error line's are `cardTestid` and `errorTestid`). load() fetches the events of
 * `path`, the directory and whatever `extra()` loads, calls `loaded(dir)`, then redraws.
 */
export function logCard({
  path, testid, cardTestid, errorTestid, groups, groupOf, filters = [], search, columns, row, matches,
  extra = async () => {}, loaded = () => {},
}) {
  const tbody = h('tbody');
  const error = messageLine(errorTestid);
  const log = pagedLog(path);
  let dir = emptyDirectory();

  const group = h('select', { class: 'input select', 'data-testid': `${testid}-group`, 'aria-label': t('console.log.kind') },
    groups.map(([value, key]) => h('option', { value }, t(key))));
  const filter = h('input', { type: 'search', class: 'input', placeholder: search.placeholder, 'aria-label': search.label, 'data-testid': `${testid}-filter` });
  const refreshButton = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': `${testid}-refresh` }, t('console.refresh'));
  const empty = h('p', { class: 'muted empty', hidden: true, 'data-testid': `${testid}-empty` }, t('console.log.noMatch'));
  const pager = pagerRow(testid, log, error, () => show());

  const show = () => {
    const needle = filter.value.trim().toLowerCase();
    const shown = log.events().filter((e) => (!group.value || groupOf(e) === group.value) && matches(dir, e, needle));
    tbody.replaceChildren(...shown.map((e) => row(dir, e)));
    empty.hidden = shown.length > 0;
    pager.show(log, shown.length);
  };

  const load = () => reloading(refreshButton, error, async () => {
    [dir] = await Promise.all([loadDirectory(), log.load(), extra()]);
    loaded(dir);
    show();
  });
  for (const control of [group, ...filters]) control.addEventListener('change', show);
  filter.addEventListener('input', show);
  refreshButton.addEventListener('click', load);

  const el = card({ testid: cardTestid },
    h('div', { class: 'toolbar log-filters', role: 'group', 'aria-label': t('console.log.filters') }, group, ...filters, filter, refreshButton),
    error.el,
    h('div', { class: 'table-wrap' },
      h('table', { class: `table table-responsive log-table ${testid}-table`, 'data-testid': `${testid}-log` },
        h('thead', {}, h('tr', {}, columns.map((t) => h('th', { scope: 'col' }, t)))),
        tbody)),
    empty,
    pager.el);
  return { el, load };
}
