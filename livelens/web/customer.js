// The customer's page (/join): join with the link's token or a PIN, read what will be
// shared and agree (or not), then share the camera and talk to the agent.
//
// Camera and microphone are requested only after the customer taps "Allow"; the server
// also refuses the customer's media before their consent is recorded.

import { MarkLayer } from './annotate.js';
import { request } from './api.js';
import { ChatPanel } from './chat.js';
import { h } from './dom.js';
import { icon } from './icons.js';
import { LiveLink, QUALITY_TEXT, formatRate, qualityReport, showStats } from './live.js';

const REPORT_EVERY_MS = 2000;
// What "low bandwidth" means for the camera's stream: about a quarter of the pixels,
// 15 frames a second, at most 250 kbit/s. Enough to see, easy on a weak network.
const LOW_BANDWIDTH = { maxBitrate: 250_000, scaleResolutionDownBy: 2, maxFramerate: 15 };

const root = document.getElementById('join');
const RESUME_KEY = 'livelens.join'; // {id, company, agent}: nothing secret (the binding is an HttpOnly cookie)
const SCOPE_OF = { video: 'camera', audio: 'microphone' };

const MEDIA_ERRORS = {
  blocked: {
    title: 'Camera access is blocked',
    text: 'Your browser did not let this page use the camera and microphone, so nothing was shared and the session has ended.',
    todo: 'To try again, allow the camera and microphone for this site (tap the icon next to the web address, or open your browser’s site settings), then ask your support agent for a new link.',
  },
  missing: {
    title: 'No camera found',
    text: 'We could not find a camera on this device, so nothing was shared and the session has ended.',
    todo: 'Open the link on a phone or tablet with a camera, or ask your support agent for another way to help.',
  },
  insecure: {
    title: 'This page cannot use the camera',
    text: 'The browser allows the camera only on secure (https) pages, so nothing was shared and the session has ended.',
    todo: 'Ask your support agent for a new link.',
  },
  busy: {
    title: 'Your camera is busy',
    text: 'Another app may be using the camera or microphone.',
    todo: 'Close other apps that use the camera (video calls, the camera app), then tap Try again.',
  },
};

function mediaProblem(error) {
  const name = error && error.name;
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return 'blocked';
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') return 'missing';
  if (name === 'InsecureContext') return 'insecure';
  return 'busy';
}

// -- page state -------------------------------------------------------------------

const page = {
  company: '',
  agent: '',
  status: null, // latest session status from the server
  fresh: false, // a state message arrived on the current socket
  needsOffer: false,
  consented: false, // the customer tapped Allow and the camera is on
  resumed: false, // consent was given before (page reloaded or link opened again)
  scopes: [],
  stream: null,
  muted: false,
  videoOn: true,
  agentHere: false,
  agentMuted: false,
  link: null,
  linkState: 'connecting',
  mediaState: 'new',
  over: false,
  wakeLock: null,
  agents: [], // agents present: [{id, name, expert}]
  torchOn: false,
  lowBandwidth: false, // what the agent asked for
  lowApplied: false, // what the camera's sender does
  freezing: false,
  frame: null,
  capturing: false,
  lastReport: 0,
  early: [], // chat and marks that arrived before the live screen was up
};

function agentName() {
  return page.agent || 'your support agent';
}

function show(...children) {
  root.classList.remove('boot');
  root.replaceChildren(...children);
  window.scrollTo(0, 0);
}

function brand() {
  return h('div', { class: 'join-brand' },
    h('img', { src: '/static/logo.svg', alt: '', width: '28', height: '28' }),
    h('span', { class: 'brand-name' }, 'LiveLens'),
    page.company ? h('span', { class: 'join-company', 'data-testid': 'join-company' }, page.company) : null);
}

function panel(testid, ...children) {
  return h('main', { class: 'join-page' },
    h('div', { class: 'join-card', 'data-testid': testid }, brand(), ...children),
    h('p', { class: 'join-footer' }, 'Secure visual support. Your camera is shared only with your permission.'));
}

// -- joining ------------------------------------------------------------------------

function tokenFromAddress() {
  const raw = window.location.hash.replace(/^#/, '').trim();
  if (!raw) return null;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function forgetAddressToken() {
  // The token is single-use per device; keep it out of the history and bookmarks.
  history.replaceState(null, '', window.location.pathname);
}

function remember() {
  try {
    sessionStorage.setItem(RESUME_KEY, JSON.stringify({ company: page.company, agent: page.agent }));
  } catch {
    // Private mode without storage: a reload then asks for the PIN again.
  }
}

function remembered() {
  try {
    return JSON.parse(sessionStorage.getItem(RESUME_KEY) || 'null');
  } catch {
    return null;
  }
}

function forget() {
  try {
    sessionStorage.removeItem(RESUME_KEY);
  } catch {
    // Nothing stored.
  }
}

async function join(body) {
  const answer = await request('POST', '/api/join', body, { hooks: false });
  page.company = answer.company || '';
  page.agent = answer.agent || '';
  remember();
  startLink();
  if (answer.session && answer.session.status === 'joined') showConsent();
  else showConsent({ resume: true });
}

function errorText(err) {
  if (err.error === 'link_used') {
    return 'This link has already been used on another device. Continue on the phone you first opened it on, or ask your support agent for a new link.';
  }
  if (err.error === 'rate_limited') {
    return `${err.message} If your support agent sent you a link, you can open it instead.`;
  }
  return err.message || 'Something went wrong. Try again.';
}

function showPinForm({ error = null, title = 'Join a support session' } = {}) {
  const input = h('input', {
    id: 'pin',
    class: 'input pin-input',
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9 ]*',
    maxlength: '7',
    placeholder: '123 456',
    required: true,
    'aria-describedby': 'pin-hint',
    'data-testid': 'pin-input',
  });
  const message = h('p', { class: 'message message-error', role: 'alert', 'data-testid': 'join-error', hidden: !error }, error || '');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block btn-large', 'data-testid': 'pin-submit' }, 'Continue');
  const form = h('form', { class: 'form', novalidate: true, 'data-testid': 'pin-form' },
    h('div', { class: 'field' },
      h('label', { class: 'label', for: 'pin' }, 'PIN'),
      input,
      h('p', { class: 'hint', id: 'pin-hint' }, 'The 6-digit number your support agent gave you.')),
    submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const digits = input.value.replace(/\D/g, '');
    if (digits.length !== 6) {
      message.textContent = 'Enter the 6-digit PIN your support agent gave you.';
      message.hidden = false;
      input.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Checking…';
    try {
      await join({ pin: digits });
    } catch (err) {
      message.textContent = errorText(err);
      message.hidden = false;
      submit.disabled = false;
      submit.textContent = 'Continue';
      input.select();
    }
  });
  input.addEventListener('input', () => {
    // Group as "123 456" while typing, the way the agent reads it out.
    const digits = input.value.replace(/\D/g, '').slice(0, 6);
    const grouped = digits.length > 3 ? `${digits.slice(0, 3)} ${digits.slice(3)}` : digits;
    if (grouped !== input.value) input.value = grouped;
  });
  show(panel('pin-screen',
    h('h1', { class: 'join-title' }, title),
    error ? null : h('p', { class: 'join-lead' }, 'Enter the PIN your support agent read out to you.'),
    message,
    form,
    h('p', { class: 'hint join-alt' }, 'Got a link by text message or e-mail? Just open it on your phone.')));
  if (!error) input.focus();
}

// -- consent ------------------------------------------------------------------------

function scopeItem(name, title, text) {
  return h('li', { class: 'scope' },
    h('span', { class: 'scope-icon' }, icon(name)),
    h('span', {}, h('strong', {}, title), h('span', { class: 'scope-text' }, text)));
}

function showConsent({ resume = false } = {}) {
  if (page.over) return;
  page.resumed = resume;
  const accept = h('button', { type: 'button', class: 'btn btn-primary btn-block btn-large', 'data-testid': 'consent-accept' },
    resume ? 'Continue sharing' : 'Allow camera and microphone');
  const decline = h('button', { type: 'button', class: 'btn btn-secondary btn-block btn-large', 'data-testid': 'consent-decline' },
    resume ? 'End session' : 'Decline');
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
  const who = page.company || 'Your support agent';
  show(panel('consent-screen',
    h('div', { class: 'consent-who' },
      h('span', { class: 'consent-avatar' }, icon('user', { size: 26 })),
      h('div', {},
        h('p', { class: 'consent-kicker' }, page.company || 'Support session'),
        h('p', { class: 'consent-agent', 'data-testid': 'consent-agent' }, agentName()))),
    h('h1', { class: 'join-title' }, resume
      ? `Continue sharing with ${who}?`
      : `${who} would like to see your camera`),
    h('p', { class: 'join-lead' }, resume
      ? 'You agreed to share earlier in this session. Continue to turn your camera and microphone back on.'
      : 'If you allow it, this is shared with them:'),
    h('ul', { class: 'scopes', 'data-testid': 'consent-scopes' },
      scopeItem('camera', 'Live video from your camera', 'The rear camera, so they can see what you point it at.'),
      scopeItem('mic', 'Sound from your microphone', 'So you can talk to each other. You hear them too.'),
      scopeItem('shield', 'Only with this agent, for this session only',
        'You can mute, pause the video or end the session at any time.')),
    h('div', { class: 'consent-notice', role: 'note', 'data-testid': 'consent-notice' },
      icon('warning', { className: 'icon consent-notice-icon' }),
      h('p', {},
        h('strong', {}, 'Please don’t show identity documents, payment cards or health information. '),
        'Keep passports, ID cards, bank cards, prescriptions and medical letters out of the picture.')),
    h('div', { class: 'consent-actions' }, accept, decline),
    h('p', { class: 'hint consent-fineprint' }, resume
      ? 'Your browser may ask again for the camera and microphone.'
      : 'Your browser asks for permission next. Nothing is shared unless you allow it.')));
}

async function getMedia() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw Object.assign(new Error('insecure'), { name: 'InsecureContext' });
  }
  const video = { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } };
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  try {
    return await navigator.mediaDevices.getUserMedia({ video, audio });
  } catch (err) {
    // A device with a camera but no microphone can still show the agent the problem.
    if (err && err.name === 'NotFoundError') return navigator.mediaDevices.getUserMedia({ video, audio: false });
    throw err;
  }
}

async function allow() {
  show(panel('starting-screen',
    h('div', { class: 'join-wait' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }),
      h('h1', { class: 'join-title' }, 'Starting your camera…'),
      h('p', { class: 'join-lead' }, 'If your browser asks, tap Allow to use the camera and microphone.'))));
  let stream;
  try {
    stream = await getMedia();
  } catch (err) {
    mediaFailed(err);
    return;
  }
  if (page.over) {
    stream.getTracks().forEach((t) => t.stop());
    return;
  }
  page.stream = stream;
  page.scopes = [...new Set(stream.getTracks().map((t) => SCOPE_OF[t.kind]))];
  page.consented = true;
  for (const track of stream.getTracks()) {
    track.addEventListener('ended', () => {
      if (!page.over) liveProblem('Your camera or microphone was turned off by the device. End the session and ask for a new link if you want to continue.');
    });
  }
  showLive();
  holdScreenOn();
  syncMedia();
}

function mediaFailed(error) {
  const kind = mediaProblem(error);
  const info = MEDIA_ERRORS[kind];
  if (kind === 'busy') {
    const retry = h('button', { type: 'button', class: 'btn btn-primary btn-block btn-large', 'data-testid': 'media-retry' }, 'Try again');
    const stop = h('button', { type: 'button', class: 'btn btn-secondary btn-block btn-large', 'data-testid': 'media-give-up' },
      page.resumed ? 'End session' : 'Decline');
    retry.addEventListener('click', () => allow());
    stop.addEventListener('click', () => (page.resumed ? endByCustomer() : declineConsent()));
    show(panel('media-error',
      h('div', { class: 'join-icon join-icon-warning' }, icon('camera-off', { size: 30 })),
      h('h1', { class: 'join-title' }, info.title),
      h('p', { class: 'join-lead' }, info.text),
      h('p', { class: 'message message-info' }, info.todo),
      h('div', { class: 'consent-actions' }, retry, stop)));
    return;
  }
  // The camera cannot be used: tell the agent at once (nothing was shared).
  if (page.resumed) page.link.end();
  else page.link.deliver('consent', { accept: false });
  showEnded({ kind: 'media', title: info.title, text: info.text, todo: info.todo });
}

function declineConsent() {
  page.link.deliver('consent', { accept: false });
  showEnded({ outcome: 'declined', by: 'customer' });
}

function endByCustomer() {
  stopMedia();
  page.link.end();
  showEnded({ outcome: 'completed', by: 'customer' });
}

/** Send consent (if still needed) and the offer once the socket knows the session state. */
function syncMedia() {
  const { link } = page;
  if (!page.consented || page.over || !link || !link.connected || !page.fresh || !page.needsOffer) return;
  if (!['joined', 'consented', 'live'].includes(page.status)) return;
  if (page.status === 'joined') link.send('consent', { accept: true, scopes: page.scopes });
  page.needsOffer = false;
  link.negotiate();
  sendMediaState();
}

function sendMediaState() {
  if (page.link) page.link.send('media_state', { muted: page.muted, video: page.videoOn });
}

function stopMedia() {
  if (page.stream) page.stream.getTracks().forEach((t) => t.stop());
  if (live.layer) live.layer.destroy();
  releaseScreen();
}

async function holdScreenOn() {
  // Keep the phone from dimming while the customer points the camera.
  try {
    if ('wakeLock' in navigator && document.visibilityState === 'visible') {
      page.wakeLock = await navigator.wakeLock.request('screen');
    }
  } catch {
    page.wakeLock = null;
  }
}

function releaseScreen() {
  if (page.wakeLock) page.wakeLock.release().catch(() => {});
  page.wakeLock = null;
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && page.consented && !page.over && !page.wakeLock) holdScreenOn();
});

// -- live ---------------------------------------------------------------------------

const live = {};

function controlButton(testid, iconName, label) {
  const text = h('span', { class: 'control-label' }, label);
  const button = h('button', { type: 'button', class: 'round-button', 'data-testid': testid, 'aria-pressed': 'false' },
    h('span', { class: 'round-button-icon' }, icon(iconName, { size: 26 })), text);
  return { button, text, setIcon: (name) => button.firstChild.replaceChildren(icon(name, { size: 26 })) };
}

function showLive() {
  const video = h('video', { class: 'live-video', 'data-testid': 'local-video', autoplay: true, playsinline: true, muted: true });
  video.muted = true; // the property, not just the attribute: never play our own sound back
  video.playsInline = true;
  video.srcObject = page.stream;
  video.play().catch(() => {});
  const audio = h('audio', { class: 'remote-audio', 'data-testid': 'remote-audio', autoplay: true });
  const statusText = h('span', {});
  const status = h('span', { class: 'live-status', 'data-testid': 'live-status', role: 'status', 'aria-live': 'polite' },
    h('span', { class: 'live-dot', 'aria-hidden': 'true' }), statusText);
  const qualityText = h('span', {}, QUALITY_TEXT.connecting);
  const quality = h('span', { class: 'quality quality-dark', 'data-testid': 'connection-quality', 'data-quality': 'connecting' },
    h('span', { class: 'quality-bars', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), qualityText);
  const agentMuted = h('span', { class: 'live-chip', 'data-testid': 'agent-muted', hidden: true }, icon('mic-off', { size: 16 }), 'Agent muted');
  const problem = h('p', { class: 'live-problem', role: 'alert', 'data-testid': 'live-problem', hidden: true });
  const paused = h('div', { class: 'live-paused', 'data-testid': 'video-paused-note', hidden: true },
    icon('camera-off', { size: 34 }),
    h('p', {}, 'Video paused'),
    h('p', { class: 'live-paused-text' }, `${agentName()} cannot see your camera. They can still hear you.`));
  const sound = h('button', { type: 'button', class: 'btn btn-primary live-sound', 'data-testid': 'enable-sound', hidden: true },
    icon('speaker', { size: 20 }), 'Tap to hear your agent');
  // What the agents draw and the still they froze lie over the camera picture, with the
  // same object-fit, so a mark lands on the same spot of the picture as on their screen.
  const frozen = h('img', { class: 'live-video live-frozen', 'data-testid': 'frozen-frame', alt: 'The picture your agent froze', hidden: true });
  const canvas = h('canvas', { class: 'annotation-layer', 'data-testid': 'annotation-layer', 'aria-hidden': 'true' });
  const layer = new MarkLayer(canvas, {
    media: () => (page.frame && frozen.complete && frozen.naturalWidth ? frozen : video),
    fit: 'cover',
  });
  frozen.addEventListener('load', () => layer.requestDraw());
  video.addEventListener('resize', () => layer.requestDraw());
  const frozenNote = h('span', { class: 'live-chip live-chip-frozen', 'data-testid': 'frozen-note', hidden: true }, icon('pause', { size: 16 }), 'Picture frozen by your agent');
  const lowNote = h('span', { class: 'live-chip', 'data-testid': 'low-bandwidth-note', hidden: true }, 'Low-bandwidth mode');
  const participants = h('p', { class: 'live-people', 'data-testid': 'participants', 'aria-live': 'polite' });
  const notice = h('p', { class: 'live-notice', 'data-testid': 'camera-notice', role: 'status', hidden: true });
  const qualityDetail = h('span', { class: 'live-quality-detail', 'data-testid': 'quality-detail' });
  const chat = new ChatPanel({
    send: (type, fields) => page.link.send(type, fields),
    isMine: (m) => m.role === 'customer',
    placeholder: 'Message your agent',
    compact: true,
  });
  const mute = controlButton('customer-mute', 'mic', 'Mute');
  const pause = controlButton('customer-pause-video', 'camera', 'Pause video');
  const end = controlButton('customer-end', 'hang-up', 'End');
  end.button.classList.add('round-button-danger');
  end.button.removeAttribute('aria-pressed');

  mute.button.addEventListener('click', () => {
    page.muted = !page.muted;
    page.stream.getAudioTracks().forEach((t) => { t.enabled = !page.muted; });
    sendMediaState();
    renderLive();
  });
  pause.button.addEventListener('click', () => {
    page.videoOn = !page.videoOn;
    page.stream.getVideoTracks().forEach((t) => { t.enabled = page.videoOn; });
    sendMediaState();
    renderLive();
  });
  end.button.addEventListener('click', () => endByCustomer());
  sound.addEventListener('click', () => playRemote());
  mute.button.disabled = page.stream.getAudioTracks().length === 0;

  Object.assign(live, { video, audio, status, statusText, quality, qualityText, agentMuted, problem, paused, sound, mute, pause,
    frozen, canvas, layer, frozenNote, lowNote, participants, notice, qualityDetail, chat });
  show(h('main', { class: 'live', 'data-testid': 'live-screen' },
    video,
    frozen,
    canvas,
    paused,
    h('div', { class: 'live-top' },
      h('div', { class: 'live-top-row' }, status, h('span', { class: 'live-quality' }, quality, qualityDetail)),
      h('div', { class: 'live-top-row' },
        h('span', { class: 'live-with' }, icon('shield', { size: 16 }), 'Shared only with the people below'),
        agentMuted),
      participants,
      h('div', { class: 'live-chips' }, frozenNote, lowNote),
      notice,
      problem),
    h('div', { class: 'live-bottom' },
      sound,
      h('div', { class: 'live-chat' }, chat.el),
      h('p', { class: 'live-reminder' }, 'Don’t show ID documents, payment cards or health information.'),
      h('div', { class: 'live-controls' }, mute.button, pause.button, end.button)),
    audio));
  page.early.splice(0).forEach(toolMessage);
  renderLive();
  renderTools();
}

// -- tools: marks, freeze, camera requests, bandwidth ---------------------------------

function renderTools() {
  if (!live.participants || !live.participants.isConnected) return;
  const names = page.agents.map((a) => (a.expert ? `${a.name} (expert)` : a.name));
  live.participants.textContent = names.length ? `With you: ${names.join(', ')}` : `Waiting for ${agentName()}…`;
  live.participants.dataset.count = String(page.agents.length);
  live.frozenNote.hidden = !page.frame;
  live.lowNote.hidden = !page.lowApplied;
  live.frozen.hidden = !page.frame;
  live.layer.setFrozen(Boolean(page.freezing || page.frame));
}

function noticeOf(text) {
  if (!live.notice || !live.notice.isConnected) return;
  live.notice.textContent = text;
  live.notice.hidden = !text;
  clearTimeout(live.noticeTimer);
  if (text) live.noticeTimer = setTimeout(() => { live.notice.hidden = true; }, 5000);
}

/** The agent asked to freeze: send a still of the camera at its full resolution. */
async function captureFrame() {
  if (page.capturing || !live.video || !live.video.videoWidth) return;
  page.capturing = true;
  try {
    const { video } = live;
    const still = document.createElement('canvas');
    still.width = video.videoWidth;
    still.height = video.videoHeight;
    still.getContext('2d').drawImage(video, 0, 0, still.width, still.height);
    const blob = await new Promise((resolve) => still.toBlob(resolve, 'image/jpeg', 0.9));
    if (!blob) throw new Error('no image');
    const token = (document.cookie.split(';').map((c) => c.trim()).find((c) => c.startsWith('_xsrf=')) || '').slice(6);
    const response = await fetch('/api/join/frame', {
      method: 'POST', body: blob, credentials: 'same-origin',
      headers: { 'Content-Type': 'image/jpeg', 'X-XSRFToken': token },
    });
    if (!response.ok && response.status !== 409) throw new Error(`HTTP ${response.status}`);
  } catch {
    reportDevice('The picture could not be frozen on the customer’s phone.');
  } finally {
    page.capturing = false;
  }
}

function videoTrack() {
  return page.stream ? page.stream.getVideoTracks()[0] || null : null;
}

function torchCapable(caps) {
  return Boolean(caps && 'torch' in caps && (caps.torch === true || (Array.isArray(caps.torch) && caps.torch.includes(true))));
}

/** Tell the agents what this camera can do, so they only offer what works. */
async function reportDevice(error = '') {
  const track = videoTrack();
  if (!track || !page.link) return;
  const caps = typeof track.getCapabilities === 'function' ? track.getCapabilities() : null;
  const settings = track.getSettings ? track.getSettings() : {};
  let cameras = 0;
  try {
    cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput').length;
  } catch {
    cameras = 1;
  }
  const noCaps = 'This browser does not say what the camera can do.';
  const zoom = caps && caps.zoom && Number(caps.zoom.max) > Number(caps.zoom.min) ? caps.zoom : null;
  const facing = ['user', 'environment'].includes(settings.facingMode) ? settings.facingMode : 'unknown';
  const report = { torch: torchCapable(caps), torch_on: page.torchOn, zoom: Boolean(zoom), switch: cameras > 1, facing, low_bandwidth: page.lowApplied };
  if (!report.torch) report.torch_reason = caps ? 'The customer’s camera has no torch (flashlight).' : noCaps;
  if (zoom) {
    const bound = (v) => Math.min(1000, Math.max(0, Number(v) || 0));
    Object.assign(report, { zoom_min: bound(zoom.min), zoom_max: bound(zoom.max), zoom_step: bound(zoom.step || 0.1) });
    if (typeof settings.zoom === 'number') report.zoom_value = bound(settings.zoom);
  } else {
    report.zoom_reason = caps ? 'The customer’s camera cannot zoom in this browser.' : noCaps;
  }
  if (!report.switch) report.switch_reason = 'Only one camera was found on the customer’s device.';
  if (error) report.error = error.slice(0, 160);
  page.link.send('device', report);
}

async function switchCamera() {
  const old = videoTrack();
  const settings = old ? old.getSettings() : {};
  const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
  const other = cameras.find((d) => d.deviceId && d.deviceId !== settings.deviceId);
  const wanted = settings.facingMode === 'user' ? 'environment' : 'user';
  const size = { width: { ideal: 1280 }, height: { ideal: 720 } };
  const open = (constraints) => navigator.mediaDevices.getUserMedia({ video: { ...constraints, ...size } });
  // Phones say which way a camera faces: ask for the opposite side (a phone may list
  // depth or wide-angle cameras too, which "any other device" could pick). Otherwise,
  // or if that fails, take the next device.
  let fresh;
  if (settings.facingMode || !other) {
    try {
      fresh = await open({ facingMode: { exact: wanted } });
    } catch (error) {
      if (!other) throw error;
    }
  }
  if (!fresh) fresh = await open({ deviceId: { exact: other.deviceId } });
  const track = fresh.getVideoTracks()[0];
  track.enabled = page.videoOn;
  const sender = page.link.pc && page.link.pc.getSenders().find((s) => s.track && s.track.kind === 'video');
  if (sender) await sender.replaceTrack(track);
  if (old) {
    page.stream.removeTrack(old);
    old.stop();
  }
  page.stream.addTrack(track);
  page.torchOn = false;
  live.video.srcObject = page.stream;
  live.video.play().catch(() => {});
}

async function onCameraRequest(message) {
  const track = videoTrack();
  if (!track) return;
  const who = message.by || agentName();
  try {
    if (typeof message.torch === 'boolean') {
      await track.applyConstraints({ advanced: [{ torch: message.torch }] });
      page.torchOn = message.torch;
      noticeOf(`${who} turned the torch ${message.torch ? 'on' : 'off'}.`);
    }
    if (typeof message.zoom === 'number') {
      const caps = track.getCapabilities ? track.getCapabilities() : {};
      if (!caps.zoom) throw new Error('no zoom');
      const value = Math.min(caps.zoom.max, Math.max(caps.zoom.min, message.zoom));
      await track.applyConstraints({ advanced: [{ zoom: value }] });
      noticeOf(`${who} zoomed to ${value.toFixed(1)}×.`);
    }
    if (message.switch) {
      await switchCamera();
      noticeOf(`${who} switched your camera.`);
    }
    reportDevice();
  } catch {
    reportDevice('The customer’s camera could not do that.');
  }
}

/** Apply (or lift) low-bandwidth mode on the camera's sender. */
async function applyBandwidth() {
  const pc = page.link && page.link.pc;
  const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === 'video');
  if (!sender || page.lowApplied === page.lowBandwidth) return;
  const on = page.lowBandwidth;
  try {
    const params = sender.getParameters();
    if (!params.encodings || !params.encodings.length) params.encodings = [{}];
    for (const encoding of params.encodings) {
      if (on) Object.assign(encoding, LOW_BANDWIDTH);
      else {
        delete encoding.maxBitrate;
        delete encoding.maxFramerate;
        encoding.scaleResolutionDownBy = 1;
      }
    }
    await sender.setParameters(params);
    page.lowApplied = on;
    noticeOf(on ? 'Low-bandwidth mode: your video is sent in lower quality to save data.' : 'Video quality is back to normal.');
  } catch {
    page.lowApplied = false;
  }
  renderTools();
  reportDevice();
}

function toolMessage(message) {
  if (message.type === 'chat') live.chat.receive(message);
  else if (message.type === 'chat_history') live.chat.history(message.messages || []);
  else if (message.type === 'chat_ack') live.chat.acked(message);
  else live.layer.apply(message);
}

function onToolState(message) {
  page.agents = (message.participants || []).filter((p) => p.role === 'agent');
  page.freezing = Boolean(message.freezing);
  if (message.frame && message.frame !== page.frame && live.frozen) live.frozen.src = `/api/join/frame?f=${message.frame}`;
  page.frame = message.frame || null;
  if (!page.frame && live.frozen) live.frozen.removeAttribute('src');
  if (page.freezing && !page.frame) captureFrame();
  page.lowBandwidth = Boolean(message.low_bandwidth);
  if (page.mediaState === 'connected') applyBandwidth();
  renderTools();
}

function renderLive() {
  if (!live.status || !live.status.isConnected) return;
  let state = 'connecting';
  let text = 'Connecting…';
  if (page.linkState === 'reconnecting') {
    state = 'reconnecting';
    text = 'Reconnecting…';
  } else if (!page.agentHere) {
    state = 'waiting';
    text = `Waiting for ${agentName()}…`;
  } else if (page.status === 'live' && page.mediaState === 'connected') {
    state = 'live';
    text = page.videoOn ? 'Live' : 'Live · video paused';
  }
  live.status.dataset.state = state;
  live.status.dataset.session = page.status || '';
  live.statusText.textContent = text;
  live.agentMuted.hidden = !(page.agentHere && page.agentMuted);
  live.paused.hidden = page.videoOn;
  live.mute.text.textContent = page.muted ? 'Unmute' : 'Mute';
  live.mute.setIcon(page.muted ? 'mic-off' : 'mic');
  live.mute.button.setAttribute('aria-pressed', String(page.muted));
  live.pause.text.textContent = page.videoOn ? 'Pause video' : 'Resume video';
  live.pause.setIcon(page.videoOn ? 'camera' : 'camera-off');
  live.pause.button.setAttribute('aria-pressed', String(!page.videoOn));
  if (page.linkState === 'reconnecting') {
    live.quality.dataset.quality = 'offline';
    live.qualityText.textContent = QUALITY_TEXT.offline;
  }
}

function liveProblem(text) {
  if (live.problem && live.problem.isConnected) {
    live.problem.textContent = text;
    live.problem.hidden = !text;
  }
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

// -- the end ----------------------------------------------------------------------

const ENDED_TEXT = {
  declined: 'You declined. Nothing was shared.',
  expired: 'This link has expired. Ask your support agent for a new one.',
  dropped: 'The connection was lost for too long, so the session ended.',
};
// Icon and tone of an end: only a session that ran its course gets the green check.
const ENDED_ICONS = { declined: ['declined', 'info'], expired: ['clock', 'warning'], dropped: ['link-off', 'warning'] };

function showEnded({ outcome = null, by = null, byName = null, kind = null, title = null, text = null, todo = null } = {}) {
  const already = page.over;
  page.over = true;
  stopMedia();
  forget();
  if (already && !kind && root.querySelector('[data-testid="session-ended"]')) return;
  let line = text;
  if (!line) {
    if (ENDED_TEXT[outcome]) line = ENDED_TEXT[outcome];
    else if (by === 'customer') line = 'You ended the session. Your camera and microphone are off.';
    // The agent who ended it (the one who invited them, or an expert), by name.
    else if (by === 'agent') line = `${byName || agentName()} ended the session. Your camera and microphone are off.`;
    else line = 'The session has ended. Your camera and microphone are off.';
  }
  const declined = outcome === 'declined' || kind === 'media';
  const [symbol, tone] = kind === 'media' ? ['camera-off', 'warning'] : ENDED_ICONS[outcome] || ['check', 'done'];
  show(panel('session-ended',
    h('div', { class: ['join-icon', `join-icon-${tone}`] }, icon(symbol, { size: 30 })),
    h('h1', { class: 'join-title' }, title || (declined ? 'No problem' : 'Session ended')),
    h('p', { class: 'join-lead', 'data-testid': 'session-ended-message', 'data-outcome': outcome || kind || '' }, line),
    todo ? h('p', { class: 'message message-info', 'data-testid': 'media-error' }, todo) : null,
    h('p', { class: 'hint' }, 'Thank you. You can close this page now.')));
}

function showMoved() {
  page.over = true;
  stopMedia();
  show(panel('session-moved',
    h('div', { class: 'join-icon join-icon-info' }, icon('info', { size: 30 })),
    h('h1', { class: 'join-title' }, 'Continued in another window'),
    h('p', { class: 'join-lead' }, 'This session was opened in another window or tab on this device and continues there. You can close this page.')));
}

// -- the connection ---------------------------------------------------------------

function startLink() {
  if (page.link) return;
  const link = new LiveLink('/ws/customer', {
    preparePeer(pc) {
      const audio = page.stream.getAudioTracks()[0];
      if (audio) pc.addTransceiver(audio, { direction: 'sendrecv', streams: [page.stream] });
      else pc.addTransceiver('audio', { direction: 'recvonly' });
      const video = page.stream.getVideoTracks()[0];
      if (video) pc.addTransceiver(video, { direction: 'sendonly', streams: [page.stream] });
    },
    onOpen() {
      page.fresh = false; // wait for this socket's first state message
      page.needsOffer = true;
    },
    onMessage(message) {
      if (message.type === 'state') {
        page.status = message.status;
        page.fresh = true;
        const agent = (message.participants || []).find((p) => p.role === 'agent');
        page.agentHere = Boolean(agent);
        page.agentMuted = Boolean(agent && agent.muted);
        if (root.querySelector('[data-testid="resume-screen"]')) showConsent({ resume: page.status !== 'joined' });
        syncMedia();
        onToolState(message);
        renderLive();
      } else if (message.type === 'ended') {
        showEnded({ outcome: message.outcome, by: message.by, byName: message.by_name });
      } else if (message.type === 'error') {
        if (message.code === 'session_ended') showEnded({});
        else if (page.consented && message.code !== 'rate_limited') liveProblem(message.message || '');
      } else if (['chat', 'chat_history', 'chat_ack'].includes(message.type) || message.type.startsWith('mark')) {
        if (live.chat) toolMessage(message);
        else page.early.push(message);
      } else if (message.type === 'camera') {
        onCameraRequest(message);
      }
    },
    onTrack(event) {
      if (event.track.kind !== 'audio' || !live.audio) return;
      live.audio.srcObject = new MediaStream([event.track]);
      playRemote();
    },
    onLink(state) {
      page.linkState = state;
      if (state === 'open') liveProblem('');
      renderLive();
    },
    onMedia(state) {
      page.mediaState = state;
      if (state === 'new') page.lowApplied = false; // a fresh sender starts at full quality
      if (state === 'connected') {
        applyBandwidth();
        reportDevice();
      }
      renderLive();
    },
    onStats(stats) {
      if (!live.quality || page.linkState === 'reconnecting') return;
      showStats(live.quality, stats);
      live.qualityText.textContent = QUALITY_TEXT[stats.quality] || '';
      const report = qualityReport(stats);
      const rtt = report.rtt !== undefined ? ` · ${report.rtt} ms` : '';
      live.qualityDetail.textContent = `↑ ${formatRate(report.kbps_out)}${rtt}`;
      if (performance.now() - page.lastReport > REPORT_EVERY_MS) {
        page.lastReport = performance.now();
        page.link.send('quality', report);
      }
    },
    onProblem() {
      liveProblem('The video connection could not be set up. Trying again…');
    },
    onFinal(reason, detail) {
      if (reason === 'stopped' || page.over) return;
      if (reason === 'replaced') {
        showMoved();
      } else if (reason === 'refused' && detail && detail.code === 'not_authenticated') {
        page.over = true;
        stopMedia();
        forget();
        showPinForm({ error: 'Your session on this page has ended. Open the link again or enter the PIN.' });
      } else if (reason === 'refused' && detail && detail.code !== 'session_ended') {
        showEnded({ text: detail.message || 'This session is not available.' });
      } else {
        showEnded({});
      }
    },
  });
  page.link = link;
  link.start();
}

// -- start --------------------------------------------------------------------------

async function boot() {
  const token = tokenFromAddress();
  if (token) {
    forgetAddressToken();
    try {
      await join({ token });
    } catch (err) {
      showPinForm({ title: 'This link can’t be used', error: errorText(err) });
    }
    return;
  }
  const saved = remembered();
  if (saved) {
    // The page was reloaded: this device is already bound to the session (HttpOnly cookie).
    page.company = saved.company || '';
    page.agent = saved.agent || '';
    show(panel('resume-screen',
      h('div', { class: 'join-wait' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }),
        h('h1', { class: 'join-title' }, 'Reconnecting to your session…'))));
    startLink();
    return;
  }
  showPinForm();
}

boot();
