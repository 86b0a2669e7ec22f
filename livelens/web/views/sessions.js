// The "Sessions" section (agents and administrators): start a support session and see
// recent ones. Starting one, or opening one, shows its view at its own address
// (#sessions/<id>), so that reloading, the back button and a second tab come back to it.

import { api } from '../api.js';
import { formatTime, h, messageLine } from '../dom.js';
import { badge, card, sectionHeading, toast } from '../ui.js';
import { OUTCOME_KINDS, OUTCOME_LABELS, STATUS_LABELS, formatDuration, renderSessionView } from './session.js';

// Invitations (link, PIN, QR code) of the sessions started in this page, by session id.
// The server keeps no readable copy, so they can be shown again only while the page
// lives (back and forth between the list and the session), never after a reload.
const invitations = new Map();

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

function renderList(container, app) {
  const admin = app.me.user.role === 'admin';
  const tbody = h('tbody');
  const error = messageLine('sessions-error');
  const empty = h('div', { class: 'empty-state', hidden: true, 'data-testid': 'sessions-empty' },
    h('p', { class: 'empty-title' }, 'No support sessions yet'),
    h('p', { class: 'muted' }, 'Start one, then send the customer the link or read them the PIN.'));
  const count = h('span', { class: 'muted small', 'data-testid': 'sessions-count' });
  const refreshButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'sessions-refresh' }, 'Refresh');
  const headers = ['Started', admin ? 'Agent' : null, 'Status', 'Outcome', 'Went live', 'Ended', 'Duration', '']
    .filter((t) => t !== null);
  const table = h('table', { class: 'table table-responsive', 'data-testid': 'session-list' },
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    tbody);

  const start = h('button', { type: 'button', class: 'btn btn-primary btn-large', 'data-testid': 'new-session' }, 'New session');
  start.addEventListener('click', async () => {
    start.disabled = true;
    try {
      const created = await api.post('/api/sessions');
      invitations.set(created.session.id, created);
      window.location.hash = sessionAddress(created.session.id);
    } catch (err) {
      start.disabled = false;
      if (err.error !== 'not_authenticated') toast(err.message, 'error');
    }
  });

  const load = async () => {
    refreshButton.disabled = true;
    try {
      const [{ sessions }, agents] = await Promise.all([api.get('/api/sessions'), agentNames(app)]);
      sessions.sort((a, b) => b.created_at - a.created_at);
      tbody.replaceChildren(...sessions.map((s) => sessionRow(s, agents)));
      table.hidden = sessions.length === 0;
      empty.hidden = sessions.length > 0;
      count.textContent = `${sessions.length} session${sessions.length === 1 ? '' : 's'}`;
      error.hide();
    } catch (err) {
      if (err.error !== 'not_authenticated') error.show(err.message);
    } finally {
      refreshButton.disabled = false;
    }
  };
  refreshButton.addEventListener('click', load);

  container.replaceChildren(
    sectionHeading('Support sessions', admin
      ? 'Start a live session with a customer, and see the sessions of everyone in this account.'
      : 'Start a live session with a customer, and see your recent sessions.'),
    card({ testid: 'session-start' },
      h('div', { class: 'start-session' },
        h('div', { class: 'start-session-text' },
          h('h2', { class: 'card-title' }, 'See what your customer sees'),
          h('p', { class: 'card-description' },
            'You get a link, a QR code and a 6-digit PIN for the customer. They open it on their phone — no app needed — agree to share, and you see their camera and talk to them.')),
        start)),
    card({ title: 'Recent sessions', testid: 'sessions', actions: h('div', { class: 'row' }, count, refreshButton) },
      error.el, h('div', { class: 'table-wrap' }, table), empty),
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
  const created = session.status === 'waiting' ? invitations.get(session.id) || null : null;
  if (!created) invitations.delete(session.id); // used up: the link is of no use any more
  renderSessionView(container, app, { created, session });
}

/** The list, or with a path (#sessions/<id>) that session's view. */
export async function renderSessions(container, app, path = '') {
  if (path) await renderSession(container, app, decodeURIComponent(path));
  else await renderList(container, app);
}
