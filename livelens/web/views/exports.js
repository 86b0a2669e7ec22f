// Exports: the "Exports" section (administrators) asks for a ZIP of all the account's
// content and lists the exports with their state and a download link once ready; the
// session view's "Export this session" does the same for one session (a customer's
// request for their data). Exports are made on the server in the background: the page
// asks for their state every few seconds until they are ready.

import { api } from '../api.js';
import { formatTime, h, messageLine } from '../dom.js';
import { icon } from '../icons.js';
import { badge, card, sectionHeading, toast } from '../ui.js';

const POLL_MS = 1500;
const STATES = {
  queued: ['Waiting', 'neutral'],
  running: ['Being made', 'info'],
  ready: ['Ready', 'success'],
  failed: ['Failed', 'danger'],
};
const pending = (job) => job.state === 'queued' || job.state === 'running';

function sizeText(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function stateBadge(job) {
  const [text, kind] = STATES[job.state] || [job.state, 'neutral'];
  return badge(text, kind, 'export-state');
}

function downloadLink(job, small = true) {
  return h('a', { class: ['btn', 'btn-primary', small && 'btn-small'], href: job.download_url, download: job.file_name, 'data-testid': 'export-download' },
    icon('download', { size: 16 }), 'Download');
}

/** Calls `tick` every POLL_MS while `more()` holds and `el` is on the page. */
function poll(el, tick, more) {
  const step = async () => {
    if (!el.isConnected || !more()) return;
    try {
      await tick();
    } catch (err) {
      if (err.error === 'not_authenticated') return;
    }
    setTimeout(step, POLL_MS);
  };
  setTimeout(step, POLL_MS);
}

export async function renderExports(container) {
  const tbody = h('tbody');
  const table = h('table', { class: 'table table-responsive', 'data-testid': 'exports' },
    h('thead', {}, h('tr', {}, ['Asked for', 'What', 'State', 'Size', 'Kept until', ''].map((t) => h('th', { scope: 'col' }, t)))),
    tbody);
  const empty = h('p', { class: 'muted', 'data-testid': 'exports-empty', hidden: true }, 'No exports yet.');
  const error = messageLine('exports-error');
  let jobs = [];
  let keptDays = 7;
  let polling = false;

  const rowOf = (job) => h('tr', { 'data-testid': 'export-row', 'data-export-id': job.id, 'data-state': job.state },
    h('td', { 'data-label': 'Asked for', class: 'nowrap' }, formatTime(job.created_at)),
    h('td', { 'data-label': 'What' }, job.scope === 'account' ? 'The whole account' : h('a', { href: `#sessions/${job.session_id}` }, 'One session')),
    h('td', { 'data-label': 'State' }, stateBadge(job), job.error ? h('p', { class: 'small muted' }, job.error) : null),
    h('td', { 'data-label': 'Size', class: 'nowrap' }, sizeText(job.size)),
    h('td', { 'data-label': 'Kept until', class: 'nowrap' }, formatTime(job.expires_at)),
    h('td', { 'data-label': '', class: 'cell-actions' }, job.state === 'ready' ? downloadLink(job) : null));

  const show = () => {
    tbody.replaceChildren(...jobs.map(rowOf));
    table.hidden = jobs.length === 0;
    empty.hidden = jobs.length > 0;
  };
  const load = async () => {
    ({ exports: jobs, kept_days: keptDays } = await api.get('/api/exports'));
    note.textContent = `Each export is kept for ${keptDays} days, then removed.`;
    show();
    if (jobs.some(pending) && !polling) {
      polling = true;
      poll(container, load, () => {
        polling = jobs.some(pending);
        return polling;
      });
    }
  };

  const ask = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'export-account' }, 'Export all account data');
  ask.addEventListener('click', async () => {
    ask.disabled = true;
    error.hide();
    try {
      await api.post('/api/exports', { scope: 'account' });
      toast('The export is being made. It appears below when it is ready.');
      await load();
    } catch (err) {
      if (err.error !== 'not_authenticated') error.show(err.message);
    } finally {
      ask.disabled = false;
    }
  });
  const note = h('p', { class: 'muted small', 'data-testid': 'exports-kept' });

  container.replaceChildren(
    sectionHeading('Exports', 'Take the account’s data with you, or answer a customer’s request for theirs.'),
    card({ title: 'Export the account', testid: 'export-account-card',
      description: 'One ZIP file with every session (record, chat, notes, snapshots, rating), the users (without passwords or two-factor secrets) and the audit log, with a manifest of checksums. Only administrators can download it.' },
    h('div', { class: 'row' }, ask), note),
    card({ title: 'Exports', testid: 'exports-card' }, error.el, h('div', { class: 'table-wrap' }, table), empty),
  );
  await load();
}

/**
 * "Export this session" for an ended session's view: asks for the session's export,
 * follows it and offers its download.
 */
export function sessionExport(sessionId) {
  const message = messageLine('session-export-error');
  const slot = h('span', { class: 'session-export-state', 'data-testid': 'session-export-state', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'session-export' },
    icon('download', { size: 16 }), 'Export this session');
  const el = h('div', { class: 'session-export' }, h('div', { class: 'row' }, button, slot), message.el);
  let job = null;

  const show = () => {
    if (job.state === 'ready') slot.replaceChildren(downloadLink(job, false));
    else slot.replaceChildren(stateBadge(job));
    if (job.state === 'failed') message.show(job.error || 'The export failed.');
    button.disabled = pending(job);
  };
  button.addEventListener('click', async () => {
    button.disabled = true;
    message.hide();
    try {
      job = await api.post('/api/exports', { scope: 'session', session_id: sessionId });
      show();
      poll(el, async () => {
        job = await api.get(`/api/exports/${job.id}`);
        show();
      }, () => pending(job));
    } catch (err) {
      button.disabled = false;
      if (err.error !== 'not_authenticated') message.show(err.message);
    }
  });
  return el;
}
