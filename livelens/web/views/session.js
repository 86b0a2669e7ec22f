// The agent's view of one support session: the invitation (link, PIN, QR code) while
// waiting, then the customer's live camera with two-way audio, and the outcome at the end.
// The picture, its tools, the quality line and Mute/End form the "player", sized to fit
// the window and able to go full screen.

import { api } from '../api.js';
import { alertAgent, alertSettings, setTitle } from '../attention.js';
import { formatTime, h, messageLine, nextId } from '../dom.js';
import { t } from '../i18n.js';
import { icon } from '../icons.js';
import { forgetInvitation, rememberInvitation } from '../invitations.js';
import { LiveLink, qualityText, showStats } from '../live.js';
import { badge, confirmDialog, copyText, toast } from '../ui.js';
import { sessionDeletion } from './deletion.js';
import { sessionExport } from './exports.js';
import { sessionRecordings } from './player.js';
import { sessionRecording } from './session_recording.js';
import { agentTools } from './tools.js';

// What the customer's page reports when its camera cannot reach the agents (catalogue keys).
const CUSTOMER_PROBLEMS = {
  no_webrtc: 'live.problem.noWebrtc',
  connect_failed: 'live.problem.connectFailed',
  camera_blocked: 'live.problem.cameraBlocked',
  no_camera: 'live.problem.noCamera',
  insecure_page: 'live.problem.insecurePage',
  camera_busy: 'live.problem.cameraBusy',
};

/** A table of words by code, each read in the language in use when it is looked up. */
function wordsOf(keys) {
  const table = {};
  for (const [code, key] of Object.entries(keys)) {
    Object.defineProperty(table, code, { get: () => t(key), enumerable: true });
  }
  return Object.freeze(table);
}

export const STATUS_LABELS = wordsOf({
  waiting: 'live.status.waiting',
  joined: 'live.status.joined',
  consented: 'live.status.consented',
  live: 'live.status.live',
  ended: 'live.status.ended',
});

export const OUTCOME_LABELS = wordsOf({
  completed: 'live.outcome.completed',
  declined: 'live.outcome.declined',
  expired: 'live.outcome.expired',
  dropped: 'live.outcome.dropped',
});

// Badge colours and stage icons of the outcomes: only a completed session looks done.
export const OUTCOME_KINDS = { completed: 'success', declined: 'warning', expired: 'neutral', dropped: 'danger' };
const OUTCOME_ICONS = { completed: 'check', declined: 'declined', expired: 'clock', dropped: 'link-off' };
// What the customer's media connection is doing (the state's participants[].media).
const CUSTOMER_MEDIA = {
  connected: 'live.customer.connected',
  connecting: 'live.customer.connecting',
  failed: 'live.customer.failed',
  closed: 'live.customer.disconnected',
};

/** "4 min 05 s" / "42 s" for a number of seconds. */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.round(Number(seconds) || 0));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  if (hours) return t('live.duration.hours', { hours, minutes: String(minutes).padStart(2, '0') });
  if (minutes) return t('live.duration.minutes', { minutes, seconds: String(rest).padStart(2, '0') });
  return t('live.duration.seconds', { seconds: rest });
}

// The text of the status line; in English each contains its plain state word.
const STATUS_TEXT = wordsOf({
  waiting: 'live.statusLine.waiting',
  joined: 'live.statusLine.joined',
  consented: 'live.statusLine.consented',
  live: 'live.statusLine.live',
  ended: 'live.statusLine.ended',
});

const OUTCOME_TEXT = wordsOf({
  completed: 'live.outcomeText.completed',
  declined: 'live.outcomeText.declined',
  expired: 'live.outcomeText.expired',
  dropped: 'live.outcomeText.dropped',
});

const ENDED_BY_SYSTEM = wordsOf({
  expired: 'live.endedBy.expired',
  dropped: 'live.endedBy.dropped',
});

/**
 * Who ended a session, for this viewer: "You" only for the person who did; another
 * agent by display name; the customer; or LiveLens, with the reason.
 * `ended` is {by, by_id, by_name, outcome} (a record's ended_by* fields or an "ended" message).
 */
export function endedByText({ by, by_id: byId, by_name: byName, outcome }, myId) {
  if (by === 'agent') {
    if (byId && byId === myId) return t('live.endedBy.you');
    return byName || t('live.endedBy.agent');
  }
  if (by === 'customer') return t('live.endedBy.customer');
  if (by === 'system') return ENDED_BY_SYSTEM[outcome] || t('live.endedBy.system');
  return '—';
}

const MIC_ERRORS = {
  NotAllowedError: 'live.mic.blocked',
  NotFoundError: 'live.mic.missing',
  NotReadableError: 'live.mic.busy',
};

/** The customer's rating as text: "★★★★☆ 4 of 5" and their comment, if any. */
function ratingText(rating) {
  const score = Math.max(0, Math.min(5, Math.round(Number(rating.score) || 0)));
  return h('span', { class: 'rating', 'data-score': String(score) },
    h('span', { class: 'rating-stars', 'aria-hidden': 'true' }, '★'.repeat(score) + '☆'.repeat(5 - score)),
    ' ', h('span', { 'data-testid': 'rating-score' }, t('live.rating.score', { score })),
    rating.comment ? h('q', { class: 'rating-comment', 'data-testid': 'rating-comment' }, rating.comment) : null);
}

/** "123 456" for "123456". */
function groupPin(pin) {
  const digits = String(pin || '').replace(/\D/g, '');
  return digits.length === 6 ? `${digits.slice(0, 3)} ${digits.slice(3)}` : String(pin || '');
}

/** `text` with its {name} placeholder replaced by the element `el` (a list for h()). */
function withElement(text, name, el) {
  const [before, ...after] = text.split(`{${name}}`);
  return after.length ? [before, el, after.join(`{${name}}`)] : [text];
}

/** An address as text that may wrap before its path, never inside a word. */
function addressText(url) {
  const { origin, pathname } = new URL(url);
  return h('span', { class: 'mono address' }, origin, h('wbr'), pathname);
}

/** A new join link, PIN and QR code; the old ones stop working. */
function confirmNewLink() {
  return confirmDialog({
    title: t('live.invite.renewTitle'),
    text: t('live.invite.renewText'),
    confirmLabel: t('live.invite.renewConfirm'),
  });
}

/**
 * The invitation card of a waiting session: the link, PIN and QR code when this page
 * has them (`created`), else why not; and "Send a new link" for the agent who started
 * the session and administrators (`canRenew`). onState(message) notices a link made
 * elsewhere (the state's join_expires_at moves).
 */
function inviteCard({ created, session, canRenew }) {
  const sessionId = session.id;
  let current = created; // what the customer can use now, if this page knows it
  let knownExpiry = created ? created.session.join_expires_at : session.join_expires_at;
  let renewing = false;
  let note = null; // 'renewed' here, or 'replaced' elsewhere
  const titleId = nextId('invite-title');
  const error = messageLine('renew-error');
  const el = h('section', { class: 'card invite', 'data-testid': 'invite', 'aria-labelledby': titleId });
  const renewButton = canRenew
    ? h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'renew-link' }, icon('link', { size: 16 }), t('live.invite.renew'))
    : null;

  const linkParts = (invitation) => {
    const url = invitation.join_url;
    const linkId = nextId('join-link');
    const link = h('input', {
      id: linkId,
      class: 'input join-link',
      type: 'text',
      value: url,
      readonly: true,
      spellcheck: 'false',
      autocomplete: 'off',
      'data-testid': 'join-link',
    });
    // One click selects all of it, ready to copy by hand.
    link.addEventListener('focus', () => link.select());
    const qr = h('img', {
      class: 'invite-qr',
      src: invitation.qr_data_uri,
      alt: t('live.invite.qrAlt'),
      width: '176',
      height: '176',
      'data-testid': 'join-qr',
    });
    // No PIN where the account's policy turned PIN joining off.
    const pin = invitation.pin === null || invitation.pin === undefined ? null : String(invitation.pin);
    return [
      h('div', { class: 'invite-grid' },
        qr,
        pin ? h('div', { class: 'invite-pin' },
          h('span', { class: 'label' }, t('live.invite.pin')),
          h('span', { class: 'pin', 'data-testid': 'session-pin', 'aria-label': t('live.invite.pinDigits', { digits: pin.split('').join(' ') }) }, groupPin(pin))) : null),
      pin
        ? h('p', { class: 'hint' }, ...withElement(t('live.invite.readPin'), 'address', addressText(new URL('/join', url).href)))
        : h('p', { class: 'hint', 'data-testid': 'no-pin' }, t('live.invite.noPin')),
      h('div', { class: 'field' },
        h('label', { class: 'label', for: linkId }, t('live.invite.joinLink')),
        h('div', { class: 'copy-row' },
          link,
          h('button', {
            type: 'button',
            class: 'btn btn-secondary btn-small',
            'data-testid': 'copy-join-link',
            onclick: () => copyText(url, t('live.invite.joinLink')),
          }, icon('copy', { size: 16 }), t('live.invite.copy')))),
      h('p', { class: 'hint', 'data-testid': 'join-expiry' },
        t('live.invite.expiry', { time: formatTime(invitation.session.join_expires_at) })),
    ];
  };

  // Title, note, content, error, button: the note is one element that stays in the
  // page, so that screen readers announce what it says when it changes.
  const title = h('h2', { class: 'card-title', id: titleId });
  const noteEl = h('p', { class: 'message', role: 'status', 'data-testid': 'invite-note', hidden: true });
  const body = h('div', { class: 'invite-body' });
  el.append(title, noteEl, body, error.el);
  if (renewButton) el.append(h('div', { class: 'row' }, renewButton));

  const render = () => {
    title.textContent = current ? t('live.invite.title') : t('live.invite.titleNoLink');
    if (current) {
      body.replaceChildren(...linkParts(current));
    } else {
      // Reloaded, opened from the list or replaced: there is no link to show.
      const gone = h('p', { class: 'muted small', 'data-testid': 'invite-gone' },
        t('live.invite.gone'), canRenew ? ` ${t('live.invite.goneRenew')}` : '');
      body.replaceChildren(gone, ...(canRenew ? [] : [
        h('p', { class: 'hint' }, t('live.invite.onlyOwner'))]));
    }
    const notes = {
      renewed: ['link-renewed', 'success', t('live.invite.renewed')],
      replaced: ['link-replaced', 'info', t('live.invite.replaced')],
    };
    const [testid, kind, text] = notes[note] || ['invite-note', 'info', ''];
    noteEl.dataset.testid = testid;
    noteEl.className = `message message-${kind}`;
    noteEl.textContent = text;
    noteEl.hidden = !text;
  };

  renewButton?.addEventListener('click', async () => {
    if (!(await confirmNewLink())) return;
    renewing = true;
    renewButton.disabled = true;
    error.hide();
    try {
      const answer = await api.post(`/api/sessions/${encodeURIComponent(sessionId)}/link`);
      current = answer;
      knownExpiry = answer.session.join_expires_at;
      note = 'renewed';
      rememberInvitation(answer);
      render();
      el.querySelector('[data-testid="join-link"]')?.focus();
    } catch (err) {
      if (err.error !== 'not_authenticated') error.show(err.message);
    } finally {
      renewing = false;
      renewButton.disabled = false;
    }
  });

  render();
  return {
    el,
    hasLink: () => current !== null,
    onState(message) {
      const expiry = message.join_expires_at;
      // Our own new link announces itself too; its answer settles what we know.
      if (typeof expiry !== 'number' || expiry === knownExpiry || renewing) return;
      knownExpiry = expiry;
      current = null;
      forgetInvitation(sessionId);
      note = 'replaced';
      render();
    },
  };
}

/** The session's customer and case in its heading, when the agent gave them. */
function caseLine(session) {
  if (!session.customer_name && !session.reference) return null;
  return h('p', { class: 'session-case', 'data-testid': 'session-case', title: caseText(session) },
    session.customer_name ? h('span', { 'data-testid': 'session-customer-name' }, session.customer_name) : null,
    session.customer_name && session.reference ? h('span', { class: 'muted', 'aria-hidden': 'true' }, ' · ') : null,
    session.reference ? h('span', { class: 'session-reference', 'data-testid': 'session-reference', title: t('live.session.caseTitle') }, session.reference) : null);
}

/** "Jan Peeters · TCK-4711": who the session is for and its case, as typed. */
export function caseText(session) {
  return [session.customer_name, session.reference].filter(Boolean).join(' · ');
}

/**
 * Show the session in `container`. `created` is the answer of POST /api/sessions
 * (link, PIN, QR) when the session was started in this page; `session` its current
 * record. The view lets go of the call when the container gets a 'leave' event (the
 * console shows something else) or leaves the page.
 */
export function renderSessionView(container, app, { created = null, session }) {
  const sessionId = session.id;
  let status = session.status;
  let outcome = session.outcome;
  const myId = app.me && app.me.user ? app.me.user.id : null;
  const owner = session.agent_id === myId; // the agent who started it; others are experts
  let ended = { by: session.ended_by, by_id: session.ended_by_user_id, by_name: session.ended_by_name };
  let ownerHere = owner;
  let left = false;
  let customer = null; // the customer participant from the latest state message
  let linkState = 'connecting';
  let liveSince = session.live_at ? session.live_at * 1000 : null;
  let micStream = null;
  let muted = false;
  let finished = false;
  let summarised = false;

  // -- elements ---------------------------------------------------------------

  const statusEl = h('span', { class: 'session-status', 'data-testid': 'session-status', 'data-state': status, role: 'status', 'aria-live': 'polite' });
  const timer = h('span', { class: 'session-timer mono', 'data-testid': 'session-timer', hidden: true });
  const remoteVideo = h('video', { class: 'stage-video', 'data-testid': 'remote-video', autoplay: true, playsinline: true });
  remoteVideo.playsInline = true;
  const remoteStream = new MediaStream();
  const overlayTitle = h('p', { class: 'stage-title' });
  const overlayText = h('p', { class: 'stage-text' });
  const overlayIcon = h('span', { class: 'stage-icon' });
  const overlay = h('div', { class: 'stage-overlay', 'data-testid': 'stage-overlay' }, overlayIcon, overlayTitle, overlayText);
  const customerMuted = h('span', { class: 'stage-badge', 'data-testid': 'customer-muted', hidden: true }, t('live.stage.customerMuted'));
  const customerPaused = h('span', { class: 'stage-badge', 'data-testid': 'customer-video-paused', hidden: true }, t('live.stage.videoPaused'));
  const qualityLabel = h('span', {}, qualityText('connecting'));
  const qualityEl = h('span', { class: 'quality', 'data-testid': 'connection-quality', 'data-quality': 'connecting', title: t('live.session.qualityTitle') },
    h('span', { class: 'quality-bars', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), qualityLabel);
  const soundButton = h('button', { type: 'button', class: 'btn btn-primary stage-sound', 'data-testid': 'enable-sound', hidden: true }, t('live.stage.turnOnSound'));
  const stage = h('div', { class: 'stage', 'data-state': status },
    remoteVideo, overlay,
    h('div', { class: 'stage-badges' }, customerMuted, customerPaused),
    soundButton);

  const alertTag = `livelens-session-${sessionId}`; // one notification per session at a time
  const tools = agentTools({
    sessionId,
    app,
    stage,
    video: remoteVideo,
    send: (type, fields) => link.send(type, fields),
    onChat: (message) => alertAgent({
      title: message.role === 'customer' ? t('live.alert.customerWrote') : t('live.alert.someoneWrote', { name: message.name }),
      body: String(message.text || '').slice(0, 140),
      tag: alertTag,
    }),
  });

  // What the account's policy allowed when the session started.
  const policy = { chat: true, snapshots: true, two_way_audio: true, rating: true, ...(session.policy || {}) };
  tools.setPolicy(policy);

  const muteButton = h('button', { type: 'button', class: 'btn btn-secondary control', 'data-testid': 'mute-mic', 'aria-pressed': 'false', disabled: true }, t('live.session.mute'));
  // The owner ends the session for everyone; an expert leaves it (it goes on), and may
  // end it for everyone only while the owner is not in it.
  const endButton = h('button', { type: 'button', class: 'btn btn-danger control', 'data-testid': 'end-session' }, t('live.session.endForEveryone'));
  const leaveButton = h('button', { type: 'button', class: 'btn btn-secondary control', 'data-testid': 'leave-session', hidden: owner }, t('live.session.leave'));
  const fullButton = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'fullscreen', hidden: !document.fullscreenEnabled });
  const controls = h('div', { class: 'session-controls' }, fullButton, muteButton, leaveButton, endButton);
  const micNote = messageLine('mic-error');
  const problem = messageLine('session-error');
  // Why the customer's camera cannot reach us, as their page reported it (state.media_problem).
  const customerProblem = messageLine('customer-media-problem');
  const recording = sessionRecording(session);
  const audioNote = policy.two_way_audio === false
    ? h('p', { class: 'message message-info', role: 'note', 'data-testid': 'one-way-audio' },
      t('live.session.oneWayAudio'))
    : null;

  const customerState = h('dd', { 'data-testid': 'customer-state' }, t('live.customer.notHereYet'));
  const micState = h('dd', { 'data-testid': 'agent-mic-state' }, t('live.mic.starting'));
  const details = h('section', { class: 'card', 'data-testid': 'session-details' },
    h('h2', { class: 'card-title' }, t('live.session.details')),
    h('dl', { class: 'facts facts-compact' },
      h('div', {}, h('dt', {}, t('live.session.customer')), customerState),
      h('div', {}, h('dt', {}, t('live.session.yourMicrophone')), micState),
      recording.fact,
      h('div', {}, h('dt', {}, t('live.session.started')), h('dd', {}, formatTime(session.created_at)))));
  const canRenew = owner || (app.me && app.me.user && app.me.user.role === 'admin');
  const invite = inviteCard({ created, session, canRenew });
  const summary = h('section', { class: 'card summary', 'data-testid': 'session-summary', hidden: true });

  const alerts = alertSettings();
  const top = h('div', { class: 'session-top' },
    h('div', { class: 'session-head' },
      h('a', { class: 'link-button back-link', href: '#sessions', 'data-testid': 'back-to-sessions' }, t('live.session.allSessions')),
      h('h1', { class: 'section-title' }, t('live.session.title')),
      caseLine(session),
      statusEl, recording.indicator, timer, alerts),
    recording.stoppedNote,
    audioNote,
    micNote.el,
    customerProblem.el,
    problem.el);
  const player = h('div', { class: 'session-player', 'data-testid': 'session-player' }, tools.toolbar, stage,
    h('div', { class: 'session-bar' }, h('div', { class: 'quality-wrap' }, qualityEl, tools.qualityPanel), controls));
  const view = h('div', { class: 'session-view', 'data-testid': 'session-view', 'data-session-id': sessionId },
    top,
    h('div', { class: 'session-layout' },
      h('div', { class: 'session-main' }, player, tools.cards.cameraCard),
      h('aside', { class: 'session-side' }, summary, invite.el, details, tools.cards.chatCard,
        tools.cards.peopleCard, tools.cards.snapshotsCard, tools.cards.notesCard)));
  container.replaceChildren(view);
  setTitle(t('live.session.pageTitle'));

  // -- fitting the window, full screen ------------------------------------------

  // The player gets the window's height below what is above it (at the top of the
  // page), so that picture, quality line, Mute and End show without scrolling.
  const fitPlayer = () => {
    if (!view.isConnected || document.fullscreenElement === player) return;
    const offset = player.getBoundingClientRect().top + window.scrollY;
    player.style.setProperty('--player-top', `${Math.round(offset)}px`);
  };
  const topObserver = typeof ResizeObserver === 'function' ? new ResizeObserver(fitPlayer) : null;
  if (topObserver) topObserver.observe(top);
  window.addEventListener('resize', fitPlayer);
  fitPlayer();

  const showFullscreen = () => {
    const on = document.fullscreenElement === player;
    fullButton.replaceChildren(icon(on ? 'minimize' : 'maximize', { size: 18 }), on ? t('live.fullscreen.exit') : t('live.fullscreen.enter'));
    fullButton.title = on ? t('live.fullscreen.exitHint') : t('live.fullscreen.enterHint');
  };
  fullButton.addEventListener('click', () => {
    if (document.fullscreenElement === player) {
      document.exitFullscreen().catch(() => {});
    } else {
      player.requestFullscreen().catch((err) => toast(t('live.fullscreen.failed', { error: err.message }), 'error'));
    }
  });
  document.addEventListener('fullscreenchange', showFullscreen);
  showFullscreen();

  // -- rendering --------------------------------------------------------------

  const customerHere = () => customer !== null;

  const render = () => {
    const waitingForReturn = ['joined', 'consented', 'live'].includes(status) && !customerHere();
    let text = STATUS_TEXT[status] || status;
    if (status === 'ended' && outcome) text = t('live.statusLine.endedWith', { outcome: (OUTCOME_LABELS[outcome] || outcome).toLocaleLowerCase() });
    else if (waitingForReturn) text = t('live.statusLine.customerReconnecting', { status: text });
    else if (left) text = t('live.statusLine.youLeft', { status: text });
    else if (status !== 'ended' && linkState === 'reconnecting') text = t('live.statusLine.reconnecting', { status: text });
    statusEl.textContent = text;
    statusEl.dataset.state = status;
    statusEl.dataset.outcome = outcome || '';
    stage.dataset.state = status;

    const showVideo = status === 'live' && customerHere() && customer.video !== false;
    let title = '';
    let line = '';
    let symbol = 'camera';
    if (status === 'waiting') {
      symbol = 'clock';
      title = t('live.stage.waitingTitle');
      line = invite.hasLink() ? t('live.stage.waitingWithLink') : t('live.stage.waitingNoLink');
    } else if (status === 'joined') {
      symbol = 'user';
      title = customerHere() ? t('live.stage.consentTitle') : t('live.stage.leftTitle');
      line = customerHere() ? t('live.stage.consentText') : t('live.stage.leftText');
    } else if (status === 'consented') {
      title = t('live.stage.connectingTitle');
      line = t('live.stage.connectingText');
    } else if (status === 'live' && !customerHere()) {
      symbol = 'warning';
      title = t('live.stage.droppedTitle');
      line = t('live.stage.droppedText');
    } else if (status === 'live' && customer.video === false) {
      symbol = 'camera-off';
      title = t('live.stage.pausedTitle');
      line = t('live.stage.pausedText');
    } else if (status === 'ended') {
      symbol = OUTCOME_ICONS[outcome] || 'info';
      title = t('live.session.endedTitle');
      line = OUTCOME_TEXT[outcome] || '';
    }
    stage.dataset.outcome = outcome || '';
    if (overlayIcon.dataset.icon !== symbol) {
      overlayIcon.dataset.icon = symbol;
      overlayIcon.replaceChildren(icon(symbol, { size: 30 }));
    }
    overlayTitle.textContent = title;
    overlayText.textContent = line;
    overlay.hidden = showVideo;
    customerMuted.hidden = !(customerHere() && customer.muted && status !== 'ended');
    customerPaused.hidden = true;

    if (!customerHere()) {
      customerState.textContent = t(status === 'waiting' ? 'live.customer.notHereYet'
        : status === 'ended' ? 'live.customer.gone' : 'live.customer.reconnecting');
    } else {
      const media = CUSTOMER_MEDIA[customer.media] || (status === 'joined' ? 'live.customer.readingConsent' : 'live.customer.connecting');
      const parts = [t(media)];
      if (customer.muted) parts.push(t('live.customer.micMuted'));
      if (customer.video === false) parts.push(t('live.customer.videoPaused'));
      customerState.textContent = parts.join(', ');
    }

    invite.el.hidden = status !== 'waiting';
    tools.setLive(!left && (showVideo || (status === 'live' && customerHere())));
    const over = status === 'ended' || left;
    // While a customer is in it, a change of language leaves this view as it is (shell.js).
    view.dataset.call = !over && status !== 'waiting' ? 'on' : 'off';
    if (!endButton.disabled) endButton.textContent = status === 'waiting' ? t('live.session.end') : t('live.session.endForEveryone');
    endButton.hidden = !owner && ownerHere;
    controls.hidden = over;
    details.hidden = over;
    alerts.hidden = over;
    if (over && liveSince === null) timer.hidden = true;
  };

  const tick = () => {
    if (!view.isConnected) {
      // The agent went to another section or signed out: let go of the call.
      teardown();
      return;
    }
    if (status === 'live' && liveSince !== null) {
      timer.hidden = false;
      timer.textContent = formatDuration((Date.now() - liveSince) / 1000);
    }
  };
  const ticker = setInterval(tick, 1000);

  const showSummary = async () => {
    let record = null;
    try {
      ({ session: record } = await api.get(`/api/sessions/${sessionId}`));
    } catch {
      record = null;
    }
    if (record) {
      outcome = record.outcome || outcome;
      if (record.ended_by) ended = { by: record.ended_by, by_id: record.ended_by_user_id, by_name: record.ended_by_name };
    }
    render();
    // [test id, label, value]
    const facts = [
      ['outcome', t('live.summary.outcome'), badge(OUTCOME_LABELS[outcome] || outcome || '—', OUTCOME_KINDS[outcome] || 'neutral')],
      ['ended-by', t('live.summary.endedBy'), endedByText({ ...ended, outcome }, myId)],
      ['duration', t('live.summary.duration'), record && record.duration !== null && record.duration !== undefined ? formatDuration(record.duration) : '—'],
      ['ended', t('live.summary.ended'), record && record.ended_at ? formatTime(record.ended_at) : '—'],
    ];
    if (record && record.rating) facts.push(['customer-rating', t('live.summary.rating'), ratingText(record.rating)]);
    timer.hidden = true;
    summary.replaceChildren(
      h('h2', { class: 'card-title' }, t('live.session.endedTitle')),
      h('p', { class: 'muted', 'data-testid': 'session-outcome' }, OUTCOME_TEXT[outcome] || ''),
      h('dl', { class: 'facts facts-compact' }, facts.map(([id, k, v]) => h('div', {}, h('dt', {}, k), h('dd', { 'data-testid': `summary-${id}` }, v)))),
      sessionRecordings(sessionId),
      sessionExport(sessionId),
      sessionDeletion(sessionId),
      doneRow());
    summary.hidden = false;
  };

  // -- media --------------------------------------------------------------------

  const attachTrack = (track) => {
    for (const old of remoteStream.getTracks()) {
      if (old.kind === track.kind && old !== track) remoteStream.removeTrack(old);
    }
    if (!remoteStream.getTracks().includes(track)) remoteStream.addTrack(track);
    if (remoteVideo.srcObject !== remoteStream) remoteVideo.srcObject = remoteStream;
    play();
  };

  const play = () => {
    const attempt = remoteVideo.play();
    if (attempt && attempt.catch) {
      attempt.then(() => {
        soundButton.hidden = true;
      }, (err) => {
        // Autoplay with sound needs a click on this page first.
        if (err && err.name === 'NotAllowedError') soundButton.hidden = false;
      });
    }
  };
  soundButton.addEventListener('click', () => play());

  const sendMediaState = () => link.send('media_state', { muted });

  const setMuted = (value) => {
    muted = value;
    if (micStream) micStream.getAudioTracks().forEach((t) => { t.enabled = !muted; });
    muteButton.textContent = muted ? t('live.session.unmute') : t('live.session.mute');
    muteButton.setAttribute('aria-pressed', String(muted));
    muteButton.classList.toggle('is-active', muted);
    micState.textContent = micStream ? t(muted ? 'live.mic.muted' : 'live.mic.on') : micState.textContent;
    sendMediaState();
  };
  muteButton.addEventListener('click', () => setMuted(!muted));

  const micReady = (async () => {
    if (policy.two_way_audio === false) {
      // The customer would not hear it: the microphone is not asked for at all.
      micState.textContent = t('live.mic.offByPolicy');
      return;
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      micState.textContent = t('live.mic.unavailable');
      micNote.show(t('live.mic.noHttps'), 'info');
      return;
    }
    try {
      micStream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
        video: false,
      });
      if (finished) {
        micStream.getTracks().forEach((t) => t.stop());
        return;
      }
      muteButton.disabled = false;
      micState.textContent = t('live.mic.on');
    } catch (err) {
      micStream = null;
      micState.textContent = t('live.mic.unavailable');
      micNote.show(t(MIC_ERRORS[err && err.name] || 'live.mic.failed'), 'info');
    }
  })();

  const link = new LiveLink(`/ws/agent/${sessionId}`, {
    preparePeer(pc) {
      const track = micStream && micStream.getAudioTracks()[0];
      if (track && track.readyState === 'live') pc.addTransceiver(track, { direction: 'sendrecv', streams: [micStream] });
      else pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
    },
    onOpen() {
      micReady.then(() => {
        if (finished || !link.connected) return;
        link.negotiate();
        if (muted) sendMediaState();
      });
    },
    onMessage(message) {
      if (message.type === 'state') {
        const before = status;
        status = message.status || status;
        announce(before, status);
        outcome = message.outcome || outcome;
        customer = (message.participants || []).find((p) => p.role === 'customer') || null;
        ownerHere = owner || (message.participants || []).some((p) => p.id === session.agent_id);
        if (status === 'live' && liveSince === null) liveSince = Date.now();
        tools.onState(message);
        invite.onState(message);
        recording.onState(message);
        if (message.media_problem && CUSTOMER_PROBLEMS[message.media_problem]) {
          customerProblem.show(t(CUSTOMER_PROBLEMS[message.media_problem]), 'warning');
        } else {
          customerProblem.hide();
        }
        render();
      } else if (message.type === 'ended') {
        status = 'ended';
        outcome = message.outcome || outcome;
        ended = { by: message.by, by_id: message.by_id, by_name: message.by_name };
        customer = null;
        finish();
      } else if (message.type === 'left') {
        left = true;
        leftSession();
      } else if (message.type === 'error') {
        if (message.code !== 'session_ended') problem.show(message.message || t('live.error.refused'));
      } else {
        tools.onMessage(message);
      }
    },
    onTrack(event) {
      attachTrack(event.track);
    },
    onLink(state) {
      linkState = state;
      if (state === 'reconnecting') {
        qualityEl.dataset.quality = 'offline';
        qualityLabel.textContent = qualityText('offline');
      } else if (state === 'open') {
        problem.hide();
      }
      render();
    },
    onStats(stats) {
      if (linkState === 'reconnecting') return;
      showStats(qualityEl, stats);
      qualityLabel.textContent = qualityText(stats.quality);
      tools.onStats(stats);
    },
    onProblem(error) {
      problem.show(t('live.error.media', { error: error && error.message ? error.message : String(error) }));
    },
    onFinal(reason, detail) {
      if (reason === 'stopped') return;
      if (reason === 'replaced') {
        problem.show(t('live.error.replaced'), 'info');
        teardown();
        return;
      }
      if (reason === 'refused') {
        if (detail && detail.code === 'session_ended') {
          status = 'ended';
          finish();
          return;
        }
        if (detail && detail.code === 'not_authenticated') {
          // Signed out (here, elsewhere or by an administrator): back to the sign-in page.
          problem.show(detail.message || t('live.error.signedOut'));
          teardown();
          app.refreshMe().catch(() => {});
          return;
        }
        problem.show((detail && detail.message) || t('live.error.unavailable'));
        teardown();
        return;
      }
      finish();
    },
  });

  /** Tell an agent who is not looking that the customer came or agreed. */
  function announce(before, now) {
    if (before === now) return;
    if (before === 'waiting' && now === 'joined') {
      alertAgent({ title: t('live.alert.joined'), body: t('live.alert.joinedText'), tag: alertTag });
    } else if (['waiting', 'joined'].includes(before) && ['consented', 'live'].includes(now)) {
      alertAgent({ title: t('live.alert.consented'), body: t('live.alert.consentedText'), tag: alertTag });
    }
  }

  function teardown() {
    if (finished) return;
    finished = true;
    clearInterval(ticker);
    window.removeEventListener('resize', fitPlayer);
    if (topObserver) topObserver.disconnect();
    document.removeEventListener('fullscreenchange', showFullscreen);
    if (document.fullscreenElement === player) document.exitFullscreen().catch(() => {});
    link.stop();
    tools.destroy();
    if (micStream) micStream.getTracks().forEach((t) => t.stop());
    remoteStream.getTracks().forEach((t) => remoteStream.removeTrack(t));
    remoteVideo.srcObject = null;
  }

  function finish() {
    tools.ended();
    recording.ended();
    teardown();
    qualityEl.hidden = true;
    render();
    if (!summarised) {
      summarised = true;
      showSummary();
    }
  }

  /** This agent left (the server confirmed): the session goes on for the others. */
  function leftSession() {
    tools.ended();
    teardown();
    qualityEl.hidden = true;
    render();
    summary.replaceChildren(
      h('h2', { class: 'card-title' }, t('live.session.leftTitle')),
      h('p', { class: 'muted', 'data-testid': 'session-left' }, t('live.session.leftText')),
      doneRow());
    summary.hidden = false;
  }

  function doneRow() {
    return h('div', { class: 'row' }, h('a', { class: 'btn btn-primary', href: '#sessions', 'data-testid': 'session-done' }, t('live.session.backToSessions')));
  }

  // Going elsewhere in the console only closes this window's connection: the session
  // goes on (a running one waits the rejoin grace for an agent to come back).
  container.addEventListener('leave', teardown, { once: true });

  const stopTalking = () => {
    muteButton.disabled = true;
    endButton.disabled = true;
    leaveButton.disabled = true;
    // Stop at once; the server confirms with "ended" or "left" (or the link delivers it later).
    if (micStream) micStream.getTracks().forEach((t) => { t.enabled = false; });
  };

  endButton.addEventListener('click', async () => {
    const waiting = status === 'waiting';
    const confirmed = await confirmDialog({
      title: waiting ? t('live.end.waitingTitle') : t('live.end.title'),
      text: waiting ? t('live.end.waitingText') : t('live.end.text'),
      confirmLabel: waiting ? t('live.session.end') : t('live.session.endForEveryone'),
      danger: true,
    });
    if (!confirmed || finished) return;
    stopTalking();
    endButton.textContent = t('live.session.ending');
    link.end();
  });

  leaveButton.addEventListener('click', () => {
    stopTalking();
    leaveButton.textContent = t('live.session.leaving');
    link.leave();
  });

  render();
  link.start();
}
