// The "Sessions" section (agents and administrators): start a support session and see
// recent ones. Starting one, or opening one, shows its view at its own address
// (#sessions/<id>), so that reloading, the back button and a second tab come back to it.

import { api } from '../api.js';
import { busy, field, formatTime, h, messageLine } from '../dom.js';
import { consoleFeed } from '../feed.js';
import { forgetInvitation, invitationOf, rememberInvitation } from '../invitations.js';
import { badge, card, sectionHeading } from '../ui.js';
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
    ? badge('Expired', 'neutral')
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
  }, running ? 'Open' : 'View');
  return h('tr', { 'data-testid': 'session-row', 'data-session-id': session.id, 'data-status': session.status, 'data-outcome': session.outcome || '' },
    h('td', { 'data-label': 'Started', class: 'nowrap' }, timeCell(session.created_at)),
    h('td', { 'data-label': 'Customer', class: 'cell-case' }, caseCell(session)),
    agents ? h('td', { 'data-label': 'Agent', class: 'cell-email' }, agents.get(session.agent_id) || 'Former user') : null,
    h('td', { 'data-label': 'Status' }, statusBadge),
    h('td', { 'data-label': 'Outcome' }, outcome),
    h('td', { 'data-label': 'Went live', class: 'nowrap' }, timeCell(session.live_at)),
    h('td', { 'data-label': 'Ended', class: 'nowrap' }, timeCell(session.ended_at)),
    h('td', { 'data-label': 'Duration', class: 'nowrap', 'data-testid': 'session-duration' },
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

/** "New session", with who it is for and the case it belongs to (both optional). */
function startForm(app) {
  const customer = caseField({
    label: 'Customer name (optional)',
    testid: 'new-session-customer',
    hint: 'Who the session is for, e.g. "Jan Peeters". At most 100 characters.',
  });
  const reference = caseField({
    label: 'Case or ticket (optional)',
    testid: 'new-session-reference',
    hint: 'Your case or ticket number, e.g. "TCK-4711". At most 100 characters.',
  });
  const message = messageLine('new-session-error');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-large', 'data-testid': 'new-session' }, 'New session');
  const form = h('form', { class: 'start-form', novalidate: true, 'data-testid': 'new-session-form', 'aria-label': 'Start a support session' },
    customer.wrap, reference.wrap, h('div', { class: 'start-form-actions' }, submit), message.el);
  if (app.me.tenant && app.me.tenant.subscription_active === false) {
    // Everything stays readable; only starting sessions stops.
    [...form.querySelectorAll('input, button')].forEach((c) => { c.disabled = true; });
    const reason = h('p', { class: 'message message-info', role: 'note', 'data-testid': 'new-session-disabled', id: `${submit.id || 'new-session'}-reason` },
      'The account’s subscription has ended, so no new session can be started. Past sessions and reports stay available; an administrator can ask for the subscription to be renewed.');
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
    h('p', { class: 'empty-title' }, 'No support sessions yet'),
    h('p', { class: 'muted' }, 'Start one, then send the customer the link or read them the PIN.'));
  const count = h('span', { class: 'muted small', 'data-testid': 'sessions-count' });
  const refreshButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'sessions-refresh' }, 'Refresh');
  const headers = ['Started', 'Customer', admin ? 'Agent' : null, 'Status', 'Outcome', 'Went live', 'Ended', 'Duration', '']
    .filter((t) => t !== null);
  const table = h('table', { class: 'table table-responsive', 'data-testid': 'session-list' },
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    tbody);

  const start = startForm(app);

  // Search and filters: the server searches the case reference and pages with a cursor.
  const search = h('input', { type: 'search', class: 'input', 'data-testid': 'sessions-search', placeholder: 'Search case reference', 'aria-label': 'Search case reference', maxlength: '100', autocomplete: 'off', spellcheck: 'false' });
  const outcomeFilter = h('select', { class: 'input select', 'data-testid': 'sessions-outcome', 'aria-label': 'Outcome' },
    h('option', { value: '' }, 'Any outcome'),
    Object.entries(OUTCOME_LABELS).map(([value, text]) => h('option', { value }, text)));
  const filters = h('form', { class: 'toolbar session-filters', role: 'search', 'aria-label': 'Find sessions', 'data-testid': 'sessions-filters' },
    search, outcomeFilter,
    h('button', { type: 'submit', class: 'btn btn-secondary', 'data-testid': 'sessions-search-submit' }, 'Search'));
  const more = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'sessions-more', hidden: true }, 'Load more');
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
      emptyTitle.textContent = filtered ? 'No session matches' : 'No support sessions yet';
      count.textContent = `${shown}${cursor ? '+' : ''} session${shown === 1 ? '' : 's'}`;
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
    sectionHeading('Support sessions', admin
      ? 'Start a live session with a customer, and see the sessions of everyone in this account.'
      : 'Start a live session with a customer, and see your recent sessions.'),
    card({ testid: 'session-start' },
      h('div', { class: 'start-session-text' },
        h('h2', { class: 'card-title' }, 'See what your customer sees'),
        h('p', { class: 'card-description' },
          'You get a link, a QR code and a 6-digit PIN for the customer. They open it on their phone — no app needed — agree to share, and you see their camera and talk to them.')),
      start),
    card({ title: 'Recent sessions', testid: 'sessions', actions: h('div', { class: 'row' }, count, refreshButton) },
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
      h('a', { class: 'link-button back-link', href: '#sessions', 'data-testid': 'back-to-sessions' }, '← All sessions'),
      h('p', { class: 'message message-error', role: 'alert', 'data-testid': 'session-missing' },
        'This session does not exist, or it is not one of yours.'));
    return;
  }
  const created = session.status === 'waiting' ? invitationOf(session.id) : null;
  if (!created) forgetInvitation(session.id); // used up: the link is of no use any more
  renderSessionView(container, app, { created, session });
}

/** The list, or with a path (#sessions/<id>) that session's view. */
export async function renderSessions(container, app, path = '') {
  if (path) await renderSession(container, app, decodeURIComponent(path));
  else await renderList(container, app);
}
