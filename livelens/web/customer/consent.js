// Consent: what will be shared and with whom, then "Allow" (or not). Camera and
// microphone are requested only after the customer taps "Allow"; the server also
// refuses the customer's media before their consent is recorded.
//
// A recorded session says so before "Allow": where the account records every session,
// the recording is part of what is allowed; where the agent chose to record it, the
// customer ticks "Yes, record this session" or not, and gets help either way.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { icon } from '../icons.js';
import { panel, screen, show, title } from './cards.js';
import { declineConsent, endByCustomer } from './ended.js';
import { liveProblem, showLive } from './live_screen.js';
import { getMedia, holdScreenOn, syncMedia } from './media.js';
import { mediaFailed } from './problems.js';
import { agentName, page } from './state.js';

const SCOPE_OF = { video: 'camera', audio: 'microphone' };

/** Ask for consent; `resume`: it was given before (page reloaded or link opened again). */
export function showConsent({ resume = false } = {}) {
  if (page.over) return;
  page.resumed = resume;
  screen(() => renderConsent(resume));
}

function scopeItem(name, key) {
  return h('li', { class: 'scope' },
    h('span', { class: 'scope-icon' }, icon(name)),
    h('span', {}, h('strong', {}, t(`${key}.title`)), h('span', { class: 'scope-text' }, t(`${key}.text`))));
}

/** What the screen says about the recording, if the session is recorded. */
function recordingPart(resume, who) {
  const dot = h('span', { class: 'scope-icon scope-icon-rec' }, h('span', { class: 'rec-dot', 'aria-hidden': 'true' }));
  const item = (key) => h('li', { class: 'scope', 'data-testid': 'consent-recording' }, dot,
    h('span', {}, h('strong', {}, t(`${key}.title`)), h('span', { class: 'scope-text' }, t(`${key}.text`, { who }))));
  if (resume) return page.recordingAgreed ? item('consent.recordAlways') : null;
  if (page.recording === 'always') return item('consent.recordAlways');
  if (page.recording !== 'asked') return null;
  const agree = h('input', { type: 'checkbox', id: 'consent-record', class: 'consent-record-input', 'data-testid': 'consent-record',
    checked: page.recordingAgreed });
  agree.addEventListener('change', () => { page.recordingAgreed = agree.checked; });
  return [item('consent.recordAsked'),
    h('li', { class: 'consent-record' }, agree, h('label', { for: 'consent-record' }, t('consent.recordAsked.agree')))];
}

function renderConsent(resume) {
  const accept = h('button', { type: 'button', class: 'btn btn-primary btn-block btn-large', 'data-testid': 'consent-accept' },
    t(resume ? 'consent.continue' : 'consent.allow'));
  const decline = h('button', { type: 'button', class: 'btn btn-secondary btn-block btn-large', 'data-testid': 'consent-decline' },
    t(resume ? 'session.end' : 'consent.decline'));
  accept.addEventListener('click', () => {
    accept.disabled = true;
    decline.disabled = true;
    allow();
  });
  decline.addEventListener('click', () => {
    accept.disabled = true;
    decline.disabled = true;
    if (resume) endByCustomer();
    else declineConsent();
  });
  // The agent is named once, in the card above; the title stays short on a phone.
  const who = page.company || t('consent.whoFallback');
  if (!resume && page.recording === 'always') page.recordingAgreed = true; // part of this consent
  show(panel('consent-screen',
    h('div', { class: 'consent-who' },
      h('span', { class: 'consent-avatar' }, icon('user', { size: 26 })),
      h('div', {},
        h('p', { class: 'consent-kicker' }, page.company || t('consent.kicker')),
        h('p', { class: 'consent-agent', 'data-testid': 'consent-agent' }, agentName()))),
    title(t(resume ? 'consent.titleResume' : 'consent.title', { who })),
    h('p', { class: 'join-lead' }, t(resume ? 'consent.leadResume' : 'consent.lead')),
    h('ul', { class: 'scopes', 'data-testid': 'consent-scopes' },
      scopeItem('camera', 'consent.scopeCamera'),
      scopeItem('mic', 'consent.scopeMic'),
      scopeItem('shield', 'consent.scopePrivate'),
      recordingPart(resume, who)),
    h('div', { class: 'consent-notice', role: 'note', 'data-testid': 'consent-notice' },
      icon('warning', { className: 'icon consent-notice-icon' }),
      h('p', {}, h('strong', {}, t('consent.noticeStrong')), ' ', t('consent.noticeText'))),
    h('div', { class: 'consent-actions' }, accept, decline),
    h('p', { class: 'hint consent-fineprint' }, t(resume ? 'consent.fineprintResume' : 'consent.fineprint'))));
}

/** The customer agreed (or tries again): turn the camera on and go live. */
export async function allow() {
  screen(() => show(panel('starting-screen',
    h('div', { class: 'join-wait' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }),
      title(t('starting.title')),
      h('p', { class: 'join-lead' }, t('starting.lead'))))));
  let stream;
  try {
    stream = await getMedia();
  } catch (err) {
    mediaFailed(err);
    return;
  }
  if (page.over) {
    stream.getTracks().forEach((track) => track.stop());
    return;
  }
  page.stream = stream;
  page.scopes = [...new Set(stream.getTracks().map((track) => SCOPE_OF[track.kind]))];
  if (page.recording !== 'off' && page.recordingAgreed) page.scopes.push('recording');
  page.consented = true;
  page.problem = null;
  page.needsOffer = true; // an offer from this stream (also after "Try again")
  page.link.retryMedia();
  for (const track of stream.getTracks()) {
    track.addEventListener('ended', () => {
      if (!page.over && page.stream === stream) liveProblem(t('live.problemTrackEnded'));
    });
  }
  showLive();
  holdScreenOn();
  syncMedia();
}
