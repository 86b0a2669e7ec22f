// The "Sessions" section (agents and administrators): start a support session and see
// recent ones. Starting one, or opening one, shows its view at its own address
// (#sessions/<id>), so that reloading, the back button and a second tab come back to it.

import { api } from '../api.js';
import { busy, field, formatTime, h, messageLine, nextId } from '../dom.js';
import { consoleFeed } from '../feed.js';
import { t } from '../i18n.js';
import { forgetInvitation, invitationOf, rememberInvitation } from '../invitations.js';
import { badge, card, sectionHeading } from '../ui.js';
import { renderPlayer } from './player.js';
import { OUTCOME_KINDS, OUTCOME_LABELS, STATUS_LABELS, formatDuration, renderSessionView } from './session.js';

const sessionAddress = (id) => `#sessions/${encodeURIComponent(id)}`;

const STATUS_KINDS = { waiting: 'neutral', joined: 'info', consented: 'info', live: 'success', ended: 'neutral' };

/** A session that was never joined before its link ran out is shown as expired. */
function shownStatus(session) {
  if (session.status === 'waiting' && session.join_expires_at * 1000 < Date.now()) return 'expired';
  return session.status;
}

function isRunning(session) {
  return ['waiting', 'joined', 'consented', 'live'].includes(shownStatus(session));
}

function timeCell(epochSeconds) {
  if (!epochSeconds) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: new Date(epochSeconds * 1000).toISOString() }, formatTime(epochSeconds));
}

/** Who the session is for and its case reference, as the agent typed them. */
function caseCell(session) {
  const name = session.customer_name;
  const reference = session.reference;
  if (!name && !reference) return h('span', { class: 'muted' }, '—');
  return h('span', { class: 'case' },
    name ? h('span', { class: 'case-name', 'data-testid': 'session-customer-name' }, name) : null,
    reference ? h('span', { class: 'case-reference', 'data-testid': 'session-reference' }, reference) : null);
}

function sessionRow(session, agents) {
  const status = shownStatus(session);
  const statusBadge = status === 'expired'
    ? badge(t('console.sessions.expired'), 'neutral')
    : badge(STATUS_LABELS[status] || status, STATUS_KINDS[status] || 'neutral');
  const outcome = session.outcome
    ? badge(OUTCOME_LABELS[session.outcome] || session.outcome, OUTCOME_KINDS[session.outcome] || 'neutral')
    : h('span', { class: 'muted' }, '—');
  // Ended sessions open too: their snapshots, chat and notes stay with them.
  const running = isRunning(session);
  // A link: it opens in another tab too.
  const action = h('a', {
    href: sessionAddress(session.id),
    class: 'btn btn-small btn-secondary',
    'data-testid': running ? 'session-open' : 'session-view-content',
  }, running ? t('console.sessions.open') : t('console.sessions.view'));
  return h('tr', { 'data-testid': 'session-row', 'data-session-id': session.id, 'data-status': session.status, 'data-outcome': session.outcome || '' },
    h('td', { 'data-label': t('console.sessions.col.started'), class: 'nowrap' }, timeCell(session.created_at)),
    h('td', { 'data-label': t('console.sessions.col.customer'), class: 'cell-case' }, caseCell(session)),
    agents ? h('td', { 'data-label': t('console.sessions.col.agent'), class: 'cell-email' }, agents.get(session.agent_id) || t('console.formerUser')) : null,
    h('td', { 'data-label': t('console.sessions.col.status') }, statusBadge),
    h('td', { 'data-label': t('console.sessions.col.outcome') }, outcome),
    h('td', { 'data-label': t('console.sessions.col.live'), class: 'nowrap' }, timeCell(session.live_at)),
    h('td', { 'data-label': t('console.sessions.col.ended'), class: 'nowrap' }, timeCell(session.ended_at)),
    h('td', { 'data-label': t('console.sessions.col.duration'), class: 'nowrap', 'data-testid': 'session-duration' },
      session.duration === null || session.duration === undefined ? h('span', { class: 'muted' }, '—') : formatDuration(session.duration)),
    h('td', { 'data-label': '', class: 'cell-actions' }, action));
}

async function agentNames(app) {
  if (app.me.user.role !== 'admin') return null;
  try {
    const { users } = await api.get('/api/users');
    return new Map(users.map((u) => [u.id, u.email]));
  } catch {
    return new Map();
  }
}

/** An optional text field of the start form, with its error shown right below it. */
function caseField({ label, testid, hint }) {
  const { wrap, input } = field({ label, testid, hint, autocomplete: 'off', spellcheck: 'false' });
  const error = h('p', { class: 'field-error', id: `${input.id}-error`, 'data-testid': `${testid}-error`, hidden: true });
  input.after(error); // right under the field, above its hint
  const describedBy = input.getAttribute('aria-describedby');
  return {
    wrap,
    input,
    show(text) {
      error.textContent = text;
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', [error.id, describedBy].filter(Boolean).join(' '));
    },
    hide() {
      error.hidden = true;
      error.textContent = '';
      input.removeAttribute('aria-invalid');
      if (describedBy) input.setAttribute('aria-describedby', describedBy);
      else input.removeAttribute('aria-describedby');
    },
  };
}

/**
 * "Record this session", as the account's recording policy has it: a switch the agent
 * turns on where the policy leaves it to them ('agent'), shown on and locked
 * where every session is recorded ('always'), absent where none is ('off').
 */
function recordSwitch(policy) {
  if (policy !== 'agent' && policy !== 'always') return null;
  const always = policy === 'always';
  const id = nextId('record');
  const input = h('input', { type: 'checkbox', id, class: 'switch', role: 'switch', 'data-testid': 'new-session-record',
    checked: always, disabled: always, 'aria-describedby': `${id}-hint` });
  const wrap = h('div', { class: 'setting start-record' },
    h('div', {},
      h('label', { for: id, class: 'setting-label' }, t('console.sessions.record')),
      h('p', { class: 'muted small', id: `${id}-hint` }, t(always ? 'console.sessions.recordAlways' : 'console.sessions.recordHint'))),
    input);
  // Sent only where it is the agent's choice; the server decides for 'always'.
  return { wrap, input, read: () => (always ? null : input.checked) };
}

/** "New session", with who it is for and the case it belongs to (both optional). */
function startForm(app) {
  const customer = caseField({
    label: t('console.sessions.customerLabel'),
    testid: 'new-session-customer',
    hint: t('console.sessions.customerHint'),
  });
  const reference = caseField({
    label: t('console.sessions.referenceLabel'),
    testid: 'new-session-reference',
    hint: t('console.sessions.referenceHint'),
  });
  const record = recordSwitch(app.me.tenant && app.me.tenant.recording);
  const message = messageLine('new-session-error');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-large', 'data-testid': 'new-session' }, t('console.sessions.new'));
  const form = h('form', { class: 'start-form', novalidate: true, 'data-testid': 'new-session-form', 'aria-label': t('console.sessions.startLabel') },
    customer.wrap, reference.wrap, record && record.wrap, h('div', { class: 'start-form-actions' }, submit), message.el);
  if (app.me.tenant && app.me.tenant.subscription_active === false) {
    // Everything stays readable; only starting sessions stops.
    [...form.querySelectorAll('input, button')].forEach((c) => { c.disabled = true; });
    const reason = h('p', { class: 'message message-info', role: 'note', 'data-testid': 'new-session-disabled', id: `${submit.id || 'new-session'}-reason` },
      t('console.sessions.subscriptionEnded'));
    submit.setAttribute('aria-describedby', reason.id);
    form.append(reason);
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    customer.hide();
    reference.hide();
    message.hide();
    const body = {};
    const name = customer.input.value.trim();
    const ref = reference.input.value.trim();
    if (name) body.customer_name = name;
    if (ref) body.reference = ref;
    if (record && record.read() !== null) body.record = record.read();
    try {
      const created = await busy(form, () => api.post('/api/sessions', body));
      rememberInvitation(created);
      window.location.hash = sessionAddress(created.session.id);
    } catch (err) {
      if (err.error === 'not_authenticated') return;
      // The server names the field at fault in its message.
      const text = String(err.message || '').toLowerCase();
      const culprit = err.error !== 'invalid_input' ? null
        : /customer[ _]name/.test(text) ? customer
          : text.includes('reference') ? reference : null;
      if (culprit) {
        culprit.show(err.message);
        culprit.input.focus();
      } else {
        message.show(err.message);
      }
    }
  });
  return form;
}

function renderList(container, app) {
  const admin = app.me.user.role === 'admin';
  const tbody = h('tbody');
  const error = messageLine('sessions-error');
  const empty = h('div', { class: 'empty-state', hidden: true, 'data-testid': 'sessions-empty' },
    h('p', { class: 'empty-title' }, t('console.sessions.emptyTitle')),
    h('p', { class: 'muted' }, t('console.sessions.emptyText')));
  const count = h('span', { class: 'muted small', 'data-testid': 'sessions-count' });
  const refreshButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'sessions-refresh' }, t('console.refresh'));
  const headers = [t('console.sessions.col.started'), t('console.sessions.col.customer'), admin ? t('console.sessions.col.agent') : null,
    t('console.sessions.col.status'), t('console.sessions.col.outcome'), t('console.sessions.col.live'), t('console.sessions.col.ended'),
    t('console.sessions.col.duration'), ''].filter((text) => text !== null);
  const table = h('table', { class: 'table table-responsive', 'data-testid': 'session-list' },
    h('thead', {}, h('tr', {}, headers.map((text) => h('th', { scope: 'col' }, text)))),
    tbody);

  const start = startForm(app);

  // Search and filters: the server searches the case reference and pages with a cursor.
  const search = h('input', { type: 'search', class: 'input', 'data-testid': 'sessions-search', placeholder: t('console.sessions.search'), 'aria-label': t('console.sessions.search'), maxlength: '100', autocomplete: 'off', spellcheck: 'false' });
  const outcomeFilter = h('select', { class: 'input select', 'data-testid': 'sessions-outcome', 'aria-label': t('console.sessions.col.outcome') },
    h('option', { value: '' }, t('console.anyOutcome')),
    Object.entries(OUTCOME_LABELS).map(([value, text]) => h('option', { value }, text)));
  const filters = h('form', { class: 'toolbar session-filters', role: 'search', 'aria-label': t('console.sessions.find'), 'data-testid': 'sessions-filters' },
    search, outcomeFilter,
    h('button', { type: 'submit', class: 'btn btn-secondary', 'data-testid': 'sessions-search-submit' }, t('console.sessions.searchSubmit')));
  const more = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'sessions-more', hidden: true }, t('console.loadMore'));
  let cursor = null;
  let shown = 0;
  let loading = 0; // the newest request wins
  const emptyTitle = empty.querySelector('.empty-title');

  const query = (next) => {
    const params = new URLSearchParams({ limit: '50' });
    const q = search.value.trim();
    if (q) params.set('q', q);
    if (outcomeFilter.value) params.set('outcome', outcomeFilter.value);
    if (next) params.set('cursor', next);
    return `/api/sessions?${params}`;
  };

  const load = async ({ append: adding = false } = {}) => {
    const mine = ++loading;
    refreshButton.disabled = true;
    more.disabled = true;
    try {
      const [page, agents] = await Promise.all([api.get(query(adding ? cursor : null)), agentNames(app)]);
      if (mine !== loading) return;
      const rows = page.sessions.map((s) => sessionRow(s, agents));
      if (adding) tbody.append(...rows);
      else tbody.replaceChildren(...rows);
      shown = adding ? shown + rows.length : rows.length;
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      const filtered = Boolean(search.value.trim() || outcomeFilter.value);
      table.hidden = shown === 0;
      empty.hidden = shown > 0;
      emptyTitle.textContent = filtered ? t('console.sessions.noMatch') : t('console.sessions.emptyTitle');
      count.textContent = t(cursor ? 'console.sessions.countMore' : 'console.sessions.count', { count: shown });
      error.hide();
    } catch (err) {
      if (mine === loading && err.error !== 'not_authenticated') error.show(err.message);
    } finally {
      if (mine === loading) {
        refreshButton.disabled = false;
        more.disabled = false;
      }
    }
  };
  refreshButton.addEventListener('click', () => load());
  more.addEventListener('click', () => load({ append: true }));
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  outcomeFilter.addEventListener('change', () => load());
  search.addEventListener('search', () => load()); // the clear button of the search box
  // A colleague's invitation adds a session to this list; after a lost connection to
  // the feed, one may have been missed.
  const stop = () => {
    offInvited();
    offReady();
  };
  const offInvited = consoleFeed.on('invited', () => (container.isConnected ? load() : stop()));
  const offReady = consoleFeed.on('ready', ({ reconnected }) => {
    if (!container.isConnected) stop();
    else if (reconnected) load();
  });
  container.addEventListener('leave', stop, { once: true });

  container.replaceChildren(
    sectionHeading(t('console.sessions.title'), admin
      ? t('console.sessions.subtitleAdmin')
      : t('console.sessions.subtitle')),
    card({ testid: 'session-start' },
      h('div', { class: 'start-session-text' },
        h('h2', { class: 'card-title' }, t('console.sessions.startTitle')),
        h('p', { class: 'card-description' },
          t('console.sessions.startText'))),
      start),
    card({ title: t('console.sessions.recent'), testid: 'sessions', actions: h('div', { class: 'row' }, count, refreshButton) },
      filters, error.el, h('div', { class: 'table-wrap' }, table), empty,
      h('div', { class: 'row load-more' }, more)),
  );
  return load();
}

async function renderSession(container, app, id) {
  let session;
  try {
    ({ session } = await api.get(`/api/sessions/${encodeURIComponent(id)}`));
  } catch (err) {
    if (err.status !== 404) throw err;
    container.replaceChildren(
      h('a', { class: 'link-button back-link', href: '#sessions', 'data-testid': 'back-to-sessions' }, t('console.sessions.back')),
      h('p', { class: 'message message-error', role: 'alert', 'data-testid': 'session-missing' },
        t('console.sessions.missing')));
    return;
  }
  const created = session.status === 'waiting' ? invitationOf(session.id) : null;
  if (!created) forgetInvitation(session.id); // used up: the link is of no use any more
  renderSessionView(container, app, { created, session });
}

/** The list, or with a path (#sessions/<id>) that session's view, or one of its
 * recordings in the player (#sessions/<id>/recordings/<rid>). */
export async function renderSessions(container, app, path = '') {
  const [id, part, recordingId] = path.split('/');
  if (part === 'recordings' && recordingId) await renderPlayer(container, app, decodeURIComponent(id), decodeURIComponent(recordingId));
  else if (path) await renderSession(container, app, decodeURIComponent(path));
  else await renderList(container, app);
}
