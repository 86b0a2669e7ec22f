// Exports: the "Exports" section (administrators) asks for a ZIP of all the account's
// content and lists the exports with their state and a download link once ready; the
// session view's "Export this session" does the same for one session (a customer's
// request for their data). Exports are made on the server in the background: the page
// asks for their state every few seconds until they are ready.

import { api } from '../api.js';
import { formatTime, h, messageLine } from '../dom.js';
import { formatNumber, t } from '../i18n.js';
import { icon } from '../icons.js';
import { badge, card, sectionHeading, toast } from '../ui.js';

const POLL_MS = 1500;
// (texts are catalogue keys)
const STATES = {
  queued: ['console.exports.queued', 'neutral'],
  running: ['console.exports.running', 'info'],
  ready: ['console.exports.ready', 'success'],
  failed: ['console.exports.failedState', 'danger'],
};
const pending = (job) => job.state === 'queued' || job.state === 'running';

export function sizeText(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  const one = { minimumFractionDigits: 1, maximumFractionDigits: 1 };
  if (bytes < 1024) return t('console.size.bytes', { size: bytes });
  if (bytes < 1024 * 1024) return t('console.size.kb', { size: formatNumber(bytes / 1024, one) });
  return t('console.size.mb', { size: formatNumber(bytes / (1024 * 1024), one) });
}

function stateBadge(job) {
  const [key, kind] = STATES[job.state] || [null, 'neutral'];
  return badge(key ? t(key) : job.state, kind, 'export-state');
}

function downloadLink(job, small = true) {
  return h('a', { class: ['btn', 'btn-primary', small && 'btn-small'], href: job.download_url, download: job.file_name, 'data-testid': 'export-download' },
    icon('download', { size: 16 }), t('console.download'));
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
    h('thead', {}, h('tr', {}, ['asked', 'what', 'state', 'size', 'kept'].map((col) => h('th', { scope: 'col' }, t(`console.exports.col.${col}`))), h('th', { scope: 'col' }, ''))),
    tbody);
  const empty = h('p', { class: 'muted', 'data-testid': 'exports-empty', hidden: true }, t('console.exports.empty'));
  const error = messageLine('exports-error');
  let jobs = [];
  let keptDays = 7;
  let polling = false;

  const rowOf = (job) => h('tr', { 'data-testid': 'export-row', 'data-export-id': job.id, 'data-state': job.state },
    h('td', { 'data-label': t('console.exports.col.asked'), class: 'nowrap' }, formatTime(job.created_at)),
    h('td', { 'data-label': t('console.exports.col.what') }, job.scope === 'account' ? t('console.exports.account') : h('a', { href: `#sessions/${job.session_id}` }, t('console.exports.session'))),
    h('td', { 'data-label': t('console.exports.col.state') }, stateBadge(job), job.error ? h('p', { class: 'small muted' }, job.error) : null),
    h('td', { 'data-label': t('console.exports.col.size'), class: 'nowrap' }, sizeText(job.size)),
    h('td', { 'data-label': t('console.exports.col.kept'), class: 'nowrap' }, formatTime(job.expires_at)),
    h('td', { 'data-label': '', class: 'cell-actions' }, job.state === 'ready' ? downloadLink(job) : null));

  const show = () => {
    tbody.replaceChildren(...jobs.map(rowOf));
    table.hidden = jobs.length === 0;
    empty.hidden = jobs.length > 0;
  };
  const load = async () => {
    ({ exports: jobs, kept_days: keptDays } = await api.get('/api/exports'));
    note.textContent = t('console.exports.kept', { count: keptDays });
    show();
    if (jobs.some(pending) && !polling) {
      polling = true;
      poll(container, load, () => {
        polling = jobs.some(pending);
        return polling;
      });
    }
  };

  const ask = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'export-account' }, t('console.exports.exportAll'));
  ask.addEventListener('click', async () => {
    ask.disabled = true;
    error.hide();
    try {
      await api.post('/api/exports', { scope: 'account' });
      toast(t('console.exports.started'));
      await load();
    } catch (err) {
      if (err.error !== 'not_authenticated') error.show(err.message);
    } finally {
      ask.disabled = false;
    }
  });
  const note = h('p', { class: 'muted small', 'data-testid': 'exports-kept' });

  container.replaceChildren(
    sectionHeading(t('console.nav.exports'), t('console.exports.subtitle')),
    card({ title: t('console.exports.accountTitle'), testid: 'export-account-card',
      description: t('console.exports.accountText') },
    h('div', { class: 'row' }, ask), note),
    card({ title: t('console.nav.exports'), testid: 'exports-card' }, error.el, h('div', { class: 'table-wrap' }, table), empty),
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
    icon('download', { size: 16 }), t('console.exports.thisSession'));
  const el = h('div', { class: 'session-export' }, h('div', { class: 'row' }, button, slot), message.el);
  let job = null;

  const show = () => {
    if (job.state === 'ready') slot.replaceChildren(downloadLink(job, false));
    else slot.replaceChildren(stateBadge(job));
    if (job.state === 'failed') message.show(job.error || t('console.exports.failed'));
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
