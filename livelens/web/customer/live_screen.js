// The live screen, built once when the camera comes on (in the language of that moment).
//
// The picture gets the screen: a thin bar above it (status, who is there, connection),
// the controls below it, and the chat as a bubble that opens a panel between the two,
// so the picture shrinks rather than being covered. Notices lie on the picture's top
// edge, one short line each, and only while they matter.

import { MarkLayer } from '../annotate.js';
import { ChatPanel } from '../chat.js';
import { h } from '../dom.js';
import { compactRegion } from '../geometry.js';
import { formatNumber, formatTime, t } from '../i18n.js';
import { icon } from '../icons.js';
import { qualityReport, showStats } from '../live.js';
import { show } from './cards.js';
import { endByCustomer } from './ended.js';
import { sendMediaState } from './media.js';
import { recordingIndicator } from './recording.js';
import { agentName, live, page } from './state.js';
import { renderTools, toolMessage } from './tools.js';

function controlButton(testid, iconName, label) {
  const text = h('span', { class: 'control-label' }, label);
  const button = h('button', { type: 'button', class: 'round-button', 'data-testid': testid, 'aria-pressed': 'false' },
    h('span', { class: 'round-button-icon' }, icon(iconName, { size: 24 })), text);
  return { button, text, setIcon: (name) => button.firstChild.replaceChildren(icon(name, { size: 24 })) };
}

function chatPanel() {
  // One panel for the whole visit: it survives a restart of the camera ("Try again").
  if (live.chat) return live.chat;
  return new ChatPanel({
    send: (type, fields) => page.link.send(type, fields),
    isMine: (m) => m.role === 'customer',
    placeholder: t('chat.placeholder'),
    compact: true,
    labels: {
      sending: t('chat.sending'), sent: t('chat.sent'), delivered: t('chat.delivered'), failed: t('chat.failed'),
      you: t('chat.you'), empty: t('chat.empty'), log: t('chat.log'), message: t('chat.message'), send: t('chat.send'),
    },
    formatTime,
    onIncoming: (message) => {
      if (live.chatOpen) return;
      live.unread += 1;
      renderChatButton();
      live.announce.textContent = t('chat.newFrom', { name: message.name || agentName() });
    },
  });
}

export function showLive() {
  page.render = null;
  const video = h('video', { class: 'live-video', 'data-testid': 'local-video', autoplay: true, playsinline: true, muted: true });
  video.muted = true; // the property, not just the attribute: never play our own sound back
  video.playsInline = true;
  video.srcObject = page.stream;
  video.play().catch(() => {});
  const audio = live.audio || h('audio', { class: 'remote-audio', 'data-testid': 'remote-audio', autoplay: true });
  const statusText = h('span', { class: 'live-status-text' });
  const status = h('span', { class: 'live-status', 'data-testid': 'live-status', role: 'status', 'aria-live': 'polite' },
    h('span', { class: 'live-dot', 'aria-hidden': 'true' }), statusText);
  const qualityText = h('span', { class: 'sr-only' }, t('quality.connecting'));
  const qualityDetail = h('span', { class: 'live-quality-detail', 'data-testid': 'quality-detail' });
  const quality = h('span', { class: 'quality quality-dark live-quality', 'data-testid': 'connection-quality', 'data-quality': 'connecting' },
    h('span', { class: 'quality-bars', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), qualityText, qualityDetail);
  const agentMuted = h('span', { class: 'live-icon-chip', 'data-testid': 'agent-muted', title: t('live.agentMuted'), hidden: true },
    icon('mic-off', { size: 16 }), h('span', { class: 'sr-only' }, t('live.agentMuted')));
  const lowNote = h('span', { class: 'live-icon-chip', 'data-testid': 'low-bandwidth-note', title: t('live.lowBandwidth'), hidden: true },
    icon('gauge', { size: 16 }), h('span', { class: 'sr-only' }, t('live.lowBandwidth')));
  const recording = recordingIndicator();
  const participants = h('span', { class: 'live-people', 'data-testid': 'participants', 'aria-live': 'polite', title: t('live.sharedOnlyWith') });
  const problem = h('p', { class: 'live-note live-problem', role: 'alert', 'data-testid': 'live-problem', hidden: true });
  const frozenNote = h('p', { class: 'live-note live-note-frozen', 'data-testid': 'frozen-note', hidden: true },
    icon('pause', { size: 14 }), t('live.frozen'));
  const notice = h('p', { class: 'live-note', 'data-testid': 'camera-notice', role: 'status', hidden: true });
  const paused = h('div', { class: 'live-paused', 'data-testid': 'video-paused-note', hidden: true },
    icon('camera-off', { size: 34 }),
    h('p', {}, t('live.pausedTitle')),
    h('p', { class: 'live-paused-text' }, t('live.pausedText', { agent: agentName() })));
  const sound = h('button', { type: 'button', class: 'btn btn-primary live-sound', 'data-testid': 'enable-sound', hidden: true },
    icon('speaker', { size: 20 }), t('live.sound'));
  // What the agents draw and the still they froze lie over the camera picture, with the
  // same object-fit, so a mark lands on the same spot of the picture as on their screen.
  const frozen = h('img', { class: 'live-video live-frozen', 'data-testid': 'frozen-frame', alt: t('live.frozenAlt'), hidden: true });
  const canvas = h('canvas', { class: 'annotation-layer', 'data-testid': 'annotation-layer', 'aria-hidden': 'true' });
  const layer = new MarkLayer(canvas, {
    media: () => (page.frame && frozen.complete && frozen.naturalWidth ? frozen : video),
    fit: 'cover',
  });
  frozen.addEventListener('load', () => {
    layer.requestDraw();
    viewChanged();
  });
  video.addEventListener('resize', () => {
    layer.requestDraw();
    viewChanged();
  });
  video.addEventListener('loadedmetadata', viewChanged);
  watchView(canvas);
  const chat = chatPanel();
  const sheet = h('section', { class: 'live-chat', id: 'live-chat', 'data-testid': 'chat-panel', 'aria-label': t('live.chat'), hidden: true }, chat.el);
  const unreadBadge = h('span', { class: 'live-unread', 'data-testid': 'chat-unread', 'aria-hidden': 'true', hidden: true });
  const unreadText = h('span', { class: 'sr-only' });
  const chatButton = controlButton('chat-toggle', 'chat', t('live.chat'));
  chatButton.button.removeAttribute('aria-pressed');
  chatButton.button.setAttribute('aria-expanded', 'false');
  chatButton.button.setAttribute('aria-controls', 'live-chat');
  chatButton.button.firstChild.append(unreadBadge);
  chatButton.button.append(unreadText);
  const announce = h('span', { class: 'sr-only', role: 'status' });
  const mute = controlButton('customer-mute', 'mic', t('live.mute'));
  const pause = controlButton('customer-pause-video', 'camera', t('live.pauseVideo'));
  const end = controlButton('customer-end', 'hang-up', t('live.end'));
  end.button.classList.add('round-button-danger');
  end.button.removeAttribute('aria-pressed');

  mute.button.addEventListener('click', () => {
    page.muted = !page.muted;
    page.stream.getAudioTracks().forEach((track) => { track.enabled = !page.muted; });
    sendMediaState();
    renderLive();
  });
  pause.button.addEventListener('click', () => {
    page.videoOn = !page.videoOn;
    page.stream.getVideoTracks().forEach((track) => { track.enabled = page.videoOn; });
    sendMediaState();
    renderLive();
  });
  chatButton.button.addEventListener('click', () => {
    live.chatOpen = !live.chatOpen;
    if (live.chatOpen) live.unread = 0;
    renderChatButton();
  });
  end.button.addEventListener('click', () => endByCustomer());
  sound.addEventListener('click', () => playRemote());
  mute.button.disabled = page.stream.getAudioTracks().length === 0;

  Object.assign(live, { video, audio, status, statusText, quality, qualityText, qualityDetail, agentMuted, problem, paused, sound,
    mute, pause, frozen, canvas, layer, frozenNote, lowNote, participants, notice, chat, sheet, chatButton, unreadBadge,
    unreadText, announce });
  live.chatOpen = live.chatOpen || false;
  live.unread = live.unread || 0;
  show(h('main', { class: 'live', 'data-testid': 'live-screen' },
    h('header', { class: 'live-bar' }, status, recording.el,
      h('span', { class: 'live-people-wrap' }, icon('shield', { size: 16 }), participants),
      agentMuted, lowNote, quality),
    h('div', { class: 'live-stage', 'data-testid': 'live-stage' },
      video, frozen, canvas, paused,
      h('div', { class: 'live-notes' }, problem, recording.stoppedEl, frozenNote, notice),
      sound),
    sheet,
    h('footer', { class: 'live-dock' },
      h('p', { class: 'live-reminder' }, t('live.reminder')),
      h('div', { class: 'live-controls' }, mute.button, pause.button, chatButton.button, end.button),
      announce),
    audio));
  page.early.splice(0).forEach(toolMessage);
  reportView();
  renderLive();
  renderTools();
  renderChatButton();
}

export function renderChatButton() {
  if (!live.chatButton) return;
  const { button } = live.chatButton;
  button.hidden = !page.chatAllowed;
  if (!page.chatAllowed) live.chatOpen = false;
  button.setAttribute('aria-expanded', String(live.chatOpen));
  button.classList.toggle('round-button-open', live.chatOpen);
  live.sheet.hidden = !live.chatOpen;
  live.unreadBadge.hidden = live.unread === 0;
  live.unreadBadge.textContent = formatNumber(live.unread);
  live.unreadText.textContent = live.unread ? t('chat.unread', { count: live.unread }) : '';
}

// -- the part of the picture this screen shows -----------------------------------------

const VIEW_SETTLE_MS = 250; // a turn of the phone resizes in steps: report where it ends

/** Report the screen's part again when the stage changes size or the phone turns. */
function watchView(canvas) {
  if (live.viewObserver) live.viewObserver.disconnect();
  live.viewObserver = typeof ResizeObserver === 'function' ? new ResizeObserver(viewChanged) : null;
  if (live.viewObserver) live.viewObserver.observe(canvas);
  if (!live.viewWatched) {
    live.viewWatched = true;
    window.addEventListener('resize', viewChanged);
    window.addEventListener('orientationchange', viewChanged);
  }
}

function viewChanged() {
  clearTimeout(live.viewTimer);
  live.viewTimer = setTimeout(reportView, VIEW_SETTLE_MS);
}

/**
 * Tell the agents which part of the camera's frame this screen shows (it crops the
 * picture to fill a phone): on a change, and once on every new connection.
 */
export function reportView() {
  if (page.over || !page.fresh || !live.layer || !live.canvas || !live.canvas.isConnected || !page.link || !page.link.connected) return;
  const region = live.layer.visibleRegion();
  if (!region || !(region.w > 0 && region.h > 0)) return;
  const fields = compactRegion(region);
  const key = [fields.x, fields.y, fields.w, fields.h].join(',');
  if (key === live.viewSent && page.link.ws === live.viewSocket) return;
  if (page.link.send('view', fields)) {
    live.viewSent = key;
    live.viewSocket = page.link.ws;
    live.canvas.dataset.view = key;
  }
}

/** Draw the status bar and the controls again from the page's state. */
export function renderLive() {
  if (!live.status || !live.status.isConnected) return;
  // The marks go with the session: none stays on the picture once it has ended.
  if (page.over || page.status === 'ended') live.layer.clear();
  reportView();
  let state = 'connecting';
  let text = t('live.statusConnecting');
  if (page.linkState === 'reconnecting') {
    state = 'reconnecting';
    text = t('live.statusReconnecting');
  } else if (!page.agentHere) {
    state = 'waiting';
    text = t('live.statusWaiting', { agent: agentName() });
  } else if (page.status === 'live' && page.mediaState === 'connected') {
    state = 'live';
    text = t(page.videoOn ? 'live.statusLive' : 'live.statusLivePaused');
  }
  live.status.dataset.state = state;
  live.status.dataset.session = page.status || '';
  live.statusText.textContent = text;
  live.agentMuted.hidden = !(page.agentHere && page.agentMuted);
  live.paused.hidden = page.videoOn;
  live.mute.text.textContent = t(page.muted ? 'live.unmute' : 'live.mute');
  live.mute.setIcon(page.muted ? 'mic-off' : 'mic');
  live.mute.button.setAttribute('aria-pressed', String(page.muted));
  live.pause.text.textContent = t(page.videoOn ? 'live.pauseVideo' : 'live.resumeVideo');
  live.pause.setIcon(page.videoOn ? 'camera' : 'camera-off');
  live.pause.button.setAttribute('aria-pressed', String(!page.videoOn));
  if (page.linkState === 'reconnecting') {
    live.quality.dataset.quality = 'offline';
    live.qualityText.textContent = t('quality.offline');
  }
}

/** Show what is wrong with the connection on the picture ('' when nothing is). */
export function liveProblem(text) {
  if (live.problem && live.problem.isConnected) {
    live.problem.textContent = text;
    live.problem.hidden = !text;
  }
}

/** A short notice on the picture (the agent turned the torch on, ...), for five seconds. */
export function noticeOf(text) {
  if (!live.notice || !live.notice.isConnected) return;
  live.notice.textContent = text;
  live.notice.hidden = !text;
  clearTimeout(live.noticeTimer);
  if (text) live.noticeTimer = setTimeout(() => { live.notice.hidden = true; }, 5000);
}

/** The connection's quality in the bar: its bars and the upload rate. */
export function renderQuality(stats) {
  showStats(live.quality, stats);
  live.qualityText.textContent = t(`quality.${stats.quality}`);
  live.qualityDetail.textContent = uploadText(qualityReport(stats).kbps_out);
}

/** "↑ 1.2 Mbit/s" in the language's numbers. */
function uploadText(kbps) {
  const rate = kbps >= 1000
    ? t('rate.mbps', { value: formatNumber(kbps / 1000, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) })
    : t('rate.kbps', { value: formatNumber(Math.max(0, Math.round(kbps || 0))) });
  return t('live.upload', { rate });
}

/** Play the agent's voice (a track of the peer connection). */
export function hearAgent(track) {
  live.audio.srcObject = new MediaStream([track]);
  playRemote();
}

function playRemote() {
  const attempt = live.audio.play();
  if (attempt && attempt.then) {
    attempt.then(() => {
      live.sound.hidden = true;
    }, (err) => {
      if (err && err.name === 'NotAllowedError') live.sound.hidden = false;
    });
  }
}
