// When the video cannot work: the camera is refused, missing or busy, the browser
// cannot make video calls at all, or the connection never comes up. Each screen says
// what the customer can try, and the agents are told why (signalling "media_problem";
// the server accepts exactly these codes, messages.MEDIA_PROBLEMS).

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { icon } from '../icons.js';
import { panel, screen, show, title } from './cards.js';
import { allow } from './consent.js';
import { declineConsent, endByCustomer, showEnded } from './ended.js';
import { stopMedia } from './media.js';
import { agentName, page } from './state.js';

// Why the camera cannot reach the agents, as the page reports it to them.
const PROBLEM_OF_CAMERA = { blocked: 'camera_blocked', missing: 'no_camera', insecure: 'insecure_page', busy: 'camera_busy' };

/** True when this browser cannot make a WebRTC connection at all (too old, or turned off). */
export function webrtcMissing() {
  const Peer = window.RTCPeerConnection;
  return typeof Peer !== 'function' || typeof Peer.prototype.addTransceiver !== 'function';
}

function cameraProblem(error) {
  const name = error && error.name;
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return 'blocked';
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') return 'missing';
  if (name === 'InsecureContext') return 'insecure';
  return 'busy';
}

/** Tell the agents why the camera cannot reach them (shown in their session view). */
function reportProblem(reason) {
  if (page.link) page.link.deliver('media_problem', { reason });
}

/** The camera could not be opened: a busy one can be tried again, otherwise it ends here. */
export function mediaFailed(error) {
  const kind = cameraProblem(error);
  reportProblem(PROBLEM_OF_CAMERA[kind]);
  if (kind === 'busy') {
    screen(() => {
      const retry = h('button', { type: 'button', class: 'btn btn-primary btn-block btn-large', 'data-testid': 'media-retry' }, t('media.retry'));
      const stop = h('button', { type: 'button', class: 'btn btn-secondary btn-block btn-large', 'data-testid': 'media-give-up' },
        t(page.resumed ? 'session.end' : 'consent.decline'));
      retry.addEventListener('click', () => allow());
      stop.addEventListener('click', () => (page.resumed ? endByCustomer() : declineConsent()));
      show(panel('media-error',
        h('div', { class: 'join-icon join-icon-warning' }, icon('camera-off', { size: 30 })),
        title(t('media.busy.title')),
        h('p', { class: 'join-lead' }, t('media.busy.text')),
        h('p', { class: 'message message-info' }, t('media.busy.todo')),
        h('div', { class: 'consent-actions' }, retry, stop)));
    });
    return;
  }
  // The camera cannot be used: tell the agent at once (nothing was shared).
  if (page.resumed) page.link.end();
  else page.link.deliver('consent', { accept: false });
  showEnded({ kind: 'media', title: `media.${kind}.title`, text: `media.${kind}.text`, todo: `media.${kind}.todo` });
}

/** A card that says what went wrong with the video and what the customer can try. */
function problemCard({ reason, heading, lead, tips, told, actions }) {
  return panel('media-problem',
    h('div', { class: 'join-icon join-icon-warning' }, icon(reason === 'no_webrtc' ? 'camera-off' : 'link-off', { size: 30 })),
    title(t(heading)),
    h('p', { class: 'join-lead', 'data-testid': 'media-problem-text', 'data-reason': reason }, t(lead)),
    h('div', { class: 'join-tips' },
      h('p', { class: 'join-tips-title' }, t('problem.whatToTry')),
      h('ul', { 'data-testid': 'media-problem-tips' }, tips.map((key) => h('li', {}, t(key))))),
    h('p', { class: 'message message-info', 'data-testid': 'media-problem-told' }, t(told, { agent: agentName() })),
    h('div', { class: 'consent-actions' }, ...actions()));
}

/** This browser cannot make video calls: nothing to ask consent for. */
export function showNoWebrtc() {
  if (page.over) return;
  page.problem = 'no_webrtc';
  reportProblem('no_webrtc');
  screen(() => show(problemCard({
    reason: 'no_webrtc',
    heading: 'problem.noWebrtc.title',
    lead: 'problem.noWebrtc.text',
    tips: ['problem.noWebrtc.tipBrowser', 'problem.noWebrtc.tipNewLink', 'problem.noWebrtc.tipSettings'],
    told: 'problem.noWebrtc.told',
    actions: () => {
      const end = h('button', { type: 'button', class: 'btn btn-secondary btn-block btn-large', 'data-testid': 'media-problem-end' }, t('session.end'));
      end.addEventListener('click', () => {
        end.disabled = true;
        if (page.status && page.status !== 'joined') {
          endByCustomer();
          return;
        }
        // Nothing was shared: on record as not agreed, as when the camera cannot be used.
        page.link.deliver('consent', { accept: false });
        showEnded({ outcome: 'declined', kind: 'media', title: 'ended.title', text: 'ended.nothingShared' });
      });
      return [end];
    },
  })));
}

/** The video did not connect after all its tries (link.js): stop the camera, say what to try. */
export function showConnectFailed() {
  if (page.over) return;
  page.problem = 'connect_failed';
  reportProblem('connect_failed');
  stopMedia();
  page.stream = null;
  screen(() => show(problemCard({
    reason: 'connect_failed',
    heading: 'problem.connect.title',
    lead: 'problem.connect.text',
    tips: ['problem.connect.tipNetwork', 'problem.connect.tipVpn', 'problem.connect.tipWifi', 'problem.connect.tipBrowser'],
    told: 'problem.connect.told',
    actions: () => {
      const retry = h('button', { type: 'button', class: 'btn btn-primary btn-block btn-large', 'data-testid': 'media-problem-retry' }, t('media.retry'));
      const end = h('button', { type: 'button', class: 'btn btn-secondary btn-block btn-large', 'data-testid': 'media-problem-end' }, t('session.end'));
      retry.addEventListener('click', () => allow());
      end.addEventListener('click', () => endByCustomer());
      return [retry, end];
    },
  })));
}
