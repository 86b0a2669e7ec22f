// The agent's view of one support session: the invitation (link, PIN, QR code) while
// waiting, then the customer's live camera with two-way audio, and the outcome at the end.
// The picture, its tools, the quality line and Mute/End form the "player", sized to fit
// the window and able to go full screen.

import { api } from '../api.js';
import { alertAgent, alertSettings, setTitle } from '../attention.js';
import { formatTime, h, messageLine, nextId } from '../dom.js';
import { icon } from '../icons.js';
import { forgetInvitation, rememberInvitation } from '../invitations.js';
import { LiveLink, QUALITY_TEXT, showStats } from '../live.js';
import { badge, confirmDialog, copyText, toast } from '../ui.js';
import { sessionDeletion } from './deletion.js';
import { sessionExport } from './exports.js';
import { agentTools } from './tools.js';

// What the customer's page reports when its camera cannot reach the agents.
const CUSTOMER_PROBLEMS = {
  no_webrtc: 'The customer’s browser cannot send video. Ask them to open the link in another browser (Chrome, Safari, Firefox).',
  connect_failed: 'The customer’s video could not connect. Their network may block it: ask them to switch between Wi-Fi and mobile data.',
  camera_blocked: 'The customer’s browser blocked the camera. Ask them to allow it in the browser’s site settings.',
  no_camera: 'No camera was found on the customer’s device.',
  insecure_page: 'The customer’s page needs https to use the camera.',
  camera_busy: 'The customer’s camera is busy in another app. Ask them to close it.',
};

export const STATUS_LABELS = {
  waiting: 'Waiting',
  joined: 'Joined',
  consented: 'Consented',
  live: 'Live',
  ended: 'Ended',
};

export const OUTCOME_LABELS = {
  completed: 'Completed',
  declined: 'Declined',
  expired: 'Expired',
  dropped: 'Dropped',
};

// Badge colours and stage icons of the outcomes: only a completed session looks done.
export const OUTCOME_KINDS = { completed: 'success', declined: 'warning', expired: 'neutral', dropped: 'danger' };
const OUTCOME_ICONS = { completed: 'check', declined: 'declined', expired: 'clock', dropped: 'link-off' };

/** "4 min 05 s" / "42 s" for a number of seconds. */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.round(Number(seconds) || 0));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  if (hours) return `${hours} h ${String(minutes).padStart(2, '0')} min`;
  if (minutes) return `${minutes} min ${String(rest).padStart(2, '0')} s`;
  return `${rest} s`;
}

// The text of the status line; each contains its plain state word for people and tests.
const STATUS_TEXT = {
  waiting: 'Waiting for the customer',
  joined: 'Customer joined — asking for consent',
  consented: 'Consented — connecting the camera',
  live: 'Live',
  ended: 'Ended',
};

const OUTCOME_TEXT = {
  completed: 'The session is over.',
  declined: 'The customer declined. Nothing was shared.',
  expired: 'The link was not used in time.',
  dropped: 'The connection was lost and did not come back in time.',
};

const ENDED_BY_SYSTEM = {
  expired: 'LiveLens (the link expired)',
  dropped: 'LiveLens (the connection was lost)',
};

/**
 * Who ended a session, for this viewer: "You" only for the person who did; another
 * agent by display name; the customer; or LiveLens, with the reason.
 * `ended` is {by, by_id, by_name, outcome} (a record's ended_by* fields or an "ended" message).
 */
export function endedByText({ by, by_id: byId, by_name: byName, outcome }, myId) {
  if (by === 'agent') {
    if (byId && byId === myId) return 'You';
    return byName || 'An agent';
  }
  if (by === 'customer') return 'The customer';
  if (by === 'system') return ENDED_BY_SYSTEM[outcome] || 'LiveLens (automatically)';
  return '—';
}

const MIC_ERRORS = {
  NotAllowedError: 'Microphone access is blocked for this site, so the customer cannot hear you. Allow it in the browser’s site settings and open the session again.',
  NotFoundError: 'No microphone was found, so the customer cannot hear you. Connect a headset and open the session again.',
  NotReadableError: 'The microphone is in use by another application, so the customer cannot hear you.',
};

/** The customer's rating as text: "★★★★☆ 4 of 5" and their comment, if any. */
function ratingText(rating) {
  const score = Math.max(0, Math.min(5, Math.round(Number(rating.score) || 0)));
  return h('span', { class: 'rating', 'data-score': String(score) },
    h('span', { class: 'rating-stars', 'aria-hidden': 'true' }, '★'.repeat(score) + '☆'.repeat(5 - score)),
    ' ', h('span', { 'data-testid': 'rating-score' }, `${score} of 5`),
    rating.comment ? h('q', { class: 'rating-comment', 'data-testid': 'rating-comment' }, rating.comment) : null);
}

/** "123 456" for "123456". */
function groupPin(pin) {
  const digits = String(pin || '').replace(/\D/g, '');
  return digits.length === 6 ? `${digits.slice(0, 3)} ${digits.slice(3)}` : String(pin || '');
}

/** An address as text that may wrap before its path, never inside a word. */
function addressText(url) {
  const { origin, pathname } = new URL(url);
  return h('span', { class: 'mono address' }, origin, h('wbr'), pathname);
}

/** A new join link, PIN and QR code; the old ones stop working. */
function confirmNewLink() {
  return confirmDialog({
    title: 'Send a new link?',
    text: 'You get a new join link, PIN and QR code to send to the customer. The link and PIN made before stop working at once.',
    confirmLabel: 'Make a new link',
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
    ? h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'renew-link' }, icon('link', { size: 16 }), 'Send a new link')
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
      alt: 'QR code of the join link',
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
          h('span', { class: 'label' }, 'PIN'),
          h('span', { class: 'pin', 'data-testid': 'session-pin', 'aria-label': `PIN ${pin.split('').join(' ')}` }, groupPin(pin))) : null),
      pin
        ? h('p', { class: 'hint' }, 'Read the PIN over the phone: the customer opens ', addressText(new URL('/join', url).href), ' and types it.')
        : h('p', { class: 'hint', 'data-testid': 'no-pin' }, 'No PIN: the account’s policy allows joining with the link or QR code only.'),
      h('div', { class: 'field' },
        h('label', { class: 'label', for: linkId }, 'Join link'),
        h('div', { class: 'copy-row' },
          link,
          h('button', {
            type: 'button',
            class: 'btn btn-secondary btn-small',
            'data-testid': 'copy-join-link',
            onclick: () => copyText(url, 'Join link'),
          }, icon('copy', { size: 16 }), 'Copy'))),
      h('p', { class: 'hint', 'data-testid': 'join-expiry' },
        `Send it by text message or e-mail, or let the customer scan the code. It works until ${formatTime(invitation.session.join_expires_at)} and then only on the phone that opened it.`),
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
    title.textContent = current ? 'Invite the customer' : 'Invitation';
    if (current) {
      body.replaceChildren(...linkParts(current));
    } else {
      // Reloaded, opened from the list or replaced: there is no link to show.
      const gone = h('p', { class: 'muted small', 'data-testid': 'invite-gone' },
        'The join link and PIN are shown only in the window where they were made; LiveLens keeps no readable copy.',
        canRenew ? ' If the customer does not have them, send a new link: the old link and PIN then stop working.' : '');
      body.replaceChildren(gone, ...(canRenew ? [] : [
        h('p', { class: 'hint' }, 'Only the agent who started the session, or an administrator, can send a new link.')]));
    }
    const notes = {
      renewed: ['link-renewed', 'success', 'This is a new link and PIN. The ones made before no longer work.'],
      replaced: ['link-replaced', 'info', 'A new link and PIN were made for this session elsewhere (another window, or an administrator). The ones made before, including any shown here, no longer work.'],
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
    session.reference ? h('span', { class: 'session-reference', 'data-testid': 'session-reference', title: 'Case or ticket' }, session.reference) : null);
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
  const customerMuted = h('span', { class: 'stage-badge', 'data-testid': 'customer-muted', hidden: true }, 'Customer muted');
  const customerPaused = h('span', { class: 'stage-badge', 'data-testid': 'customer-video-paused', hidden: true }, 'Video paused');
  const qualityText = h('span', {}, QUALITY_TEXT.connecting);
  const qualityEl = h('span', { class: 'quality', 'data-testid': 'connection-quality', 'data-quality': 'connecting', title: 'Connection to the server' },
    h('span', { class: 'quality-bars', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), qualityText);
  const soundButton = h('button', { type: 'button', class: 'btn btn-primary stage-sound', 'data-testid': 'enable-sound', hidden: true }, 'Turn on sound');
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
      title: message.role === 'customer' ? 'New message from the customer' : `New message from ${message.name}`,
      body: String(message.text || '').slice(0, 140),
      tag: alertTag,
    }),
  });

  // What the account's policy allowed when the session started.
  const policy = { chat: true, snapshots: true, two_way_audio: true, rating: true, ...(session.policy || {}) };
  tools.setPolicy(policy);

  const muteButton = h('button', { type: 'button', class: 'btn btn-secondary control', 'data-testid': 'mute-mic', 'aria-pressed': 'false', disabled: true }, 'Mute');
  // The owner ends the session for everyone; an expert leaves it (it goes on), and may
  // end it for everyone only while the owner is not in it.
  const endButton = h('button', { type: 'button', class: 'btn btn-danger control', 'data-testid': 'end-session' }, 'End for everyone');
  const leaveButton = h('button', { type: 'button', class: 'btn btn-secondary control', 'data-testid': 'leave-session', hidden: owner }, 'Leave');
  const fullButton = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'fullscreen', hidden: !document.fullscreenEnabled });
  const controls = h('div', { class: 'session-controls' }, fullButton, muteButton, leaveButton, endButton);
  const micNote = messageLine('mic-error');
  const problem = messageLine('session-error');
  // Why the customer's camera cannot reach us, as their page reported it (state.media_problem).
  const customerProblem = messageLine('customer-media-problem');
  const audioNote = policy.two_way_audio === false
    ? h('p', { class: 'message message-info', role: 'note', 'data-testid': 'one-way-audio' },
      'Two-way audio is off by the account’s policy: the customer cannot hear you. You hear them; use the chat or the phone to answer.')
    : null;

  const customerState = h('dd', { 'data-testid': 'customer-state' }, 'Not here yet');
  const micState = h('dd', { 'data-testid': 'agent-mic-state' }, 'Starting…');
  const details = h('section', { class: 'card', 'data-testid': 'session-details' },
    h('h2', { class: 'card-title' }, 'Session'),
    h('dl', { class: 'facts facts-compact' },
      h('div', {}, h('dt', {}, 'Customer'), customerState),
      h('div', {}, h('dt', {}, 'Your microphone'), micState),
      h('div', {}, h('dt', {}, 'Started'), h('dd', {}, formatTime(session.created_at)))));
  const canRenew = owner || (app.me && app.me.user && app.me.user.role === 'admin');
  const invite = inviteCard({ created, session, canRenew });
  const summary = h('section', { class: 'card summary', 'data-testid': 'session-summary', hidden: true });

  const alerts = alertSettings();
  const top = h('div', { class: 'session-top' },
    h('div', { class: 'session-head' },
      h('a', { class: 'link-button back-link', href: '#sessions', 'data-testid': 'back-to-sessions' }, '← All sessions'),
      h('h1', { class: 'section-title' }, 'Support session'),
      caseLine(session),
      statusEl, timer, alerts),
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
  setTitle('Support session · LiveLens');

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
    fullButton.replaceChildren(icon(on ? 'minimize' : 'maximize', { size: 18 }), on ? 'Exit full screen' : 'Full screen');
    fullButton.title = on ? 'Back to the console (Esc)' : 'The picture and its tools on the whole screen (Esc leaves)';
  };
  fullButton.addEventListener('click', () => {
    if (document.fullscreenElement === player) {
      document.exitFullscreen().catch(() => {});
    } else {
      player.requestFullscreen().catch((err) => toast(`Full screen is not available here: ${err.message}`, 'error'));
    }
  });
  document.addEventListener('fullscreenchange', showFullscreen);
  showFullscreen();

  // -- rendering --------------------------------------------------------------

  const customerHere = () => customer !== null;

  const render = () => {
    const waitingForReturn = ['joined', 'consented', 'live'].includes(status) && !customerHere();
    let text = STATUS_TEXT[status] || status;
    if (status === 'ended' && outcome) text = `Ended — ${(OUTCOME_LABELS[outcome] || outcome).toLowerCase()}`;
    else if (waitingForReturn) text = `${text} · customer reconnecting…`;
    else if (left) text = `${text} · you left`;
    else if (status !== 'ended' && linkState === 'reconnecting') text = `${text} · reconnecting…`;
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
      title = 'Waiting for the customer';
      line = invite.hasLink()
        ? 'Send the link, show the QR code or read out the PIN. The customer’s camera appears here.'
        : 'The customer’s camera appears here once they have joined with the link or PIN they were given.';
    } else if (status === 'joined') {
      symbol = 'user';
      title = customerHere() ? 'The customer is reading the consent screen' : 'The customer left the page';
      line = customerHere()
        ? 'Their camera and microphone are asked for only after they agree.'
        : 'Waiting for them to come back.';
    } else if (status === 'consented') {
      title = 'Connecting to the customer’s camera…';
      line = 'The customer agreed to share.';
    } else if (status === 'live' && !customerHere()) {
      symbol = 'warning';
      title = 'The customer’s connection dropped';
      line = 'Waiting for them to reconnect…';
    } else if (status === 'live' && customer.video === false) {
      symbol = 'camera-off';
      title = 'The customer paused their video';
      line = 'You can still talk to each other.';
    } else if (status === 'ended') {
      symbol = OUTCOME_ICONS[outcome] || 'info';
      title = 'Session ended';
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

    if (!customerHere()) customerState.textContent = status === 'waiting' ? 'Not here yet' : status === 'ended' ? 'Gone' : 'Reconnecting…';
    else {
      const parts = [{ connected: 'Connected', connecting: 'Connecting…', failed: 'Connection failed', closed: 'Disconnected' }[customer.media]
        || (status === 'joined' ? 'Reading the consent screen' : 'Connecting…')];
      if (customer.muted) parts.push('microphone muted');
      if (customer.video === false) parts.push('video paused');
      customerState.textContent = parts.join(', ');
    }

    invite.el.hidden = status !== 'waiting';
    tools.setLive(!left && (showVideo || (status === 'live' && customerHere())));
    const over = status === 'ended' || left;
    if (!endButton.disabled) endButton.textContent = status === 'waiting' ? 'End session' : 'End for everyone';
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
    const facts = [
      ['Outcome', badge(OUTCOME_LABELS[outcome] || outcome || '—', OUTCOME_KINDS[outcome] || 'neutral')],
      ['Ended by', endedByText({ ...ended, outcome }, myId)],
      ['Duration', record && record.duration !== null && record.duration !== undefined ? formatDuration(record.duration) : '—'],
      ['Ended', record && record.ended_at ? formatTime(record.ended_at) : '—'],
    ];
    if (record && record.rating) facts.push(['Customer rating', ratingText(record.rating)]);
    timer.hidden = true;
    summary.replaceChildren(
      h('h2', { class: 'card-title' }, 'Session ended'),
      h('p', { class: 'muted', 'data-testid': 'session-outcome' }, OUTCOME_TEXT[outcome] || ''),
      h('dl', { class: 'facts facts-compact' }, facts.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', { 'data-testid': `summary-${k.toLowerCase().replace(/\s+/g, '-')}` }, v)))),
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
    muteButton.textContent = muted ? 'Unmute' : 'Mute';
    muteButton.setAttribute('aria-pressed', String(muted));
    muteButton.classList.toggle('is-active', muted);
    micState.textContent = micStream ? (muted ? 'Muted' : 'On') : micState.textContent;
    sendMediaState();
  };
  muteButton.addEventListener('click', () => setMuted(!muted));

  const micReady = (async () => {
    if (policy.two_way_audio === false) {
      // The customer would not hear it: the microphone is not asked for at all.
      micState.textContent = 'Off (account policy)';
      return;
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      micState.textContent = 'Not available';
      micNote.show('This browser cannot use a microphone here (the console must be opened over HTTPS). The customer cannot hear you.', 'info');
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
      micState.textContent = 'On';
    } catch (err) {
      micStream = null;
      micState.textContent = 'Not available';
      micNote.show(MIC_ERRORS[err && err.name] || 'The microphone could not be started, so the customer cannot hear you.', 'info');
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
        if (message.media_problem && CUSTOMER_PROBLEMS[message.media_problem]) {
          customerProblem.show(CUSTOMER_PROBLEMS[message.media_problem], 'warning');
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
        if (message.code !== 'session_ended') problem.show(message.message || 'The server refused a request.');
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
        qualityText.textContent = QUALITY_TEXT.offline;
      } else if (state === 'open') {
        problem.hide();
      }
      render();
    },
    onStats(stats) {
      if (linkState === 'reconnecting') return;
      showStats(qualityEl, stats);
      qualityText.textContent = QUALITY_TEXT[stats.quality] || '';
      tools.onStats(stats);
    },
    onProblem(error) {
      problem.show(`The media connection could not be set up: ${error && error.message ? error.message : error}`);
    },
    onFinal(reason, detail) {
      if (reason === 'stopped') return;
      if (reason === 'replaced') {
        problem.show('This session was opened in another window; it continues there.', 'info');
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
          problem.show(detail.message || 'Your sign-in has ended.');
          teardown();
          app.refreshMe().catch(() => {});
          return;
        }
        problem.show((detail && detail.message) || 'The session is not available.');
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
      alertAgent({ title: 'Customer joined', body: 'The customer opened the link and reads what will be shared.', tag: alertTag });
    } else if (['waiting', 'joined'].includes(before) && ['consented', 'live'].includes(now)) {
      alertAgent({ title: 'Customer agreed to share', body: 'Their camera is connecting.', tag: alertTag });
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
      h('h2', { class: 'card-title' }, 'You left this session'),
      h('p', { class: 'muted', 'data-testid': 'session-left' },
        'It goes on for the others. You can join it again from Sessions while it runs.'),
      doneRow());
    summary.hidden = false;
  }

  function doneRow() {
    return h('div', { class: 'row' }, h('a', { class: 'btn btn-primary', href: '#sessions', 'data-testid': 'session-done' }, 'Back to sessions'));
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
      title: waiting ? 'End this session?' : 'End the session for everyone?',
      text: waiting
        ? 'The customer has not joined yet. The join link and PIN stop working.'
        : 'The customer’s camera and everyone’s audio stop, for the customer and every agent in the session.',
      confirmLabel: waiting ? 'End session' : 'End for everyone',
      danger: true,
    });
    if (!confirmed || finished) return;
    stopTalking();
    endButton.textContent = 'Ending…';
    link.end();
  });

  leaveButton.addEventListener('click', () => {
    stopTalking();
    leaveButton.textContent = 'Leaving…';
    link.leave();
  });

  render();
  link.start();
}
