// The end of the visit: the customer ends it or declines, or the server says it is
// over (or continues on another device). The last screen says how it ended and, where
// the account asks for one, takes the customer's rating.

import { request } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { icon } from '../icons.js';
import { panel, screen, show, showing, title } from './cards.js';
import { forget } from './join.js';
import { stopMedia } from './media.js';
import { agentName, page } from './state.js';

const ENDED_TEXT = { declined: 'ended.declined', expired: 'ended.expired', dropped: 'ended.dropped' };
// Icon and tone of an end: only a session that ran its course gets the green check.
const ENDED_ICONS = { declined: ['declined', 'info'], expired: ['clock', 'warning'], dropped: ['link-off', 'warning'] };

/** The customer said no on the consent screen: nothing was shared. */
export function declineConsent() {
  page.link.deliver('consent', { accept: false });
  showEnded({ outcome: 'declined', by: 'customer' });
}

/** The customer ends the session. */
export function endByCustomer() {
  stopMedia();
  page.link.end();
  showEnded({ outcome: 'completed', by: 'customer' });
}

/** The last screen; title, text and todo are catalogue keys (defaults: from how it ended). */
export function showEnded({ outcome = null, by = null, byName = null, kind = null, title: heading = null, text = null, todo = null, rate = false } = {}) {
  const already = page.over;
  page.over = true;
  stopMedia();
  forget();
  if (already && !kind && showing('session-ended')) return;
  screen(() => renderEnded({ outcome, by, byName, kind, heading, text, todo, rate }));
}

/** The customer's rating of the session (1 to 5, a comment if they like), where the
 * account asks for one; sent once, then only thanked for. */
function ratingForm() {
  if (page.rated) return h('p', { class: 'message message-success', 'data-testid': 'rating-thanks', role: 'status' }, t('rating.thanks'));
  const error = h('p', { class: 'message message-error', role: 'alert', hidden: true });
  const scores = [1, 2, 3, 4, 5].map((score) => h('label', { class: 'rating-score' },
    h('input', { type: 'radio', name: 'rating', value: String(score), required: true }),
    h('span', {}, t('rating.score', { count: score }))));
  const comment = h('textarea', { name: 'comment', maxlength: '500', rows: '3', id: 'rating-comment' });
  const form = h('form', { class: 'rating-form', 'data-testid': 'rating-form' },
    h('fieldset', {}, h('legend', {}, t('rating.question')), ...scores),
    h('label', { for: 'rating-comment' }, t('rating.comment')),
    comment,
    error,
    h('button', { type: 'submit', class: 'btn btn-primary' }, t('rating.send')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = form.querySelector('input[name="rating"]:checked');
    if (!chosen) return;
    const body = { rating: Number(chosen.value) };
    if (comment.value.trim()) body.comment = comment.value.trim();
    try {
      await request('POST', '/api/join/rating', body, { hooks: false });
    } catch (err) {
      // Rated already (another tab, a reload): as good as done.
      if (err.error !== 'already_rated') {
        error.textContent = t('rating.failed');
        error.hidden = false;
        return;
      }
    }
    page.rated = true;
    form.replaceWith(ratingForm());
  });
  return form;
}

function renderEnded({ outcome, by, byName, kind, heading, text, todo, rate }) {
  let line = text ? t(text) : '';
  if (!line) {
    if (ENDED_TEXT[outcome]) line = t(ENDED_TEXT[outcome]);
    else if (by === 'customer') line = t('ended.byYou');
    // The agent who ended it (the one who invited them, or an expert), by name.
    else if (by === 'agent') line = t('ended.byAgent', { name: byName || agentName() });
    else line = t('ended.generic');
  }
  const declined = outcome === 'declined' || kind === 'media';
  const [symbol, tone] = kind === 'media' ? ['camera-off', 'warning'] : ENDED_ICONS[outcome] || ['check', 'done'];
  show(panel('session-ended',
    h('div', { class: ['join-icon', `join-icon-${tone}`] }, icon(symbol, { size: 30 })),
    title(t(heading || (declined ? 'ended.titleDeclined' : 'ended.title'))),
    h('p', { class: 'join-lead', 'data-testid': 'session-ended-message', 'data-outcome': outcome || kind || '' }, line),
    todo ? h('p', { class: 'message message-info', 'data-testid': 'media-error' }, t(todo)) : null,
    rate ? ratingForm() : null,
    h('p', { class: 'hint' }, t('ended.thanks'))));
}

/** The session continues on another device (this page's socket was replaced). */
export function showMoved() {
  page.over = true;
  stopMedia();
  screen(() => show(panel('session-moved',
    h('div', { class: 'join-icon join-icon-info' }, icon('info', { size: 30 })),
    title(t('moved.title')),
    h('p', { class: 'join-lead' }, t('moved.text')))));
}
