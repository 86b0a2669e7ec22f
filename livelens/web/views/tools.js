// The agent's in-session tools: marks on the picture, freeze, snapshots, chat, the
// customer's camera (torch, zoom, switch, low bandwidth), connection quality, people
// (invite an expert) and notes. session.js owns the connection; these only send
// signalling messages through it and react to what the server says.

import { MarkLayer, DrawInput, COLORS, TOOLS } from '../annotate.js';
import { api, request } from '../api.js';
import { ChatPanel } from '../chat.js';
import { fromFrame } from '../geometry.js';
import { formatTime, h } from '../dom.js';
import { formatNumber, t } from '../i18n.js';
import { icon } from '../icons.js';
import { formatRate, qualityReport, qualityText } from '../live.js';
import { toast } from '../ui.js';

// Catalogue keys of the tools' and colours' names.
const TOOL_LABELS = { pen: 'live.tool.pen', arrow: 'live.tool.arrow', circle: 'live.tool.circle', text: 'live.tool.text', pointer: 'live.tool.pointer' };
const COLOR_LABELS = { red: 'live.color.red', yellow: 'live.color.yellow', green: 'live.color.green', blue: 'live.color.blue', white: 'live.color.white' };
// How long a mark stays: seconds (0: until removed), and how that reads.
const FADES = [[5, 'live.fade.after'], [10, 'live.fade.after'], [30, 'live.fade.after'], [0, 'live.fade.keep']];
const REPORT_EVERY_MS = 2000;
// How colleagues show in the expert picker, those most likely to help first.
const PRESENCE = {
  online: { label: 'live.presence.online', kind: 'success' },
  in_session: { label: 'live.presence.inSession', kind: 'warning' },
  offline: { label: 'live.presence.offline', kind: 'neutral' },
};
const PRESENCE_ORDER = ['online', 'in_session', 'offline'];
const NOTES_SAVE_DELAY_MS = 800;

function readCookie(name) {
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return null;
}

/** POST an image body (api.js speaks JSON only). */
async function postImage(path, blob) {
  const response = await fetch(path, {
    method: 'POST',
    body: blob,
    credentials: 'same-origin',
    headers: { 'Content-Type': blob.type, 'X-XSRFToken': readCookie('_xsrf') || '' },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || t('live.snapshot.uploadFailed', { status: String(response.status) }));
  return body;
}

const ONE_DECIMAL = { minimumFractionDigits: 1, maximumFractionDigits: 1 };

function formatSize(bytes) {
  return bytes >= 1024 * 1024
    ? t('live.size.mb', { size: formatNumber(bytes / 1024 / 1024, ONE_DECIMAL) })
    : t('live.size.kb', { size: Math.max(1, Math.round(bytes / 1024)) });
}

function qualityLine(report) {
  if (!report) return '—';
  const parts = [qualityText(report.level) || report.level];
  parts.push(`↓ ${formatRate(report.kbps_in)}`, `↑ ${formatRate(report.kbps_out)}`,
    t('live.quality.loss', { loss: formatNumber(Number(report.loss), ONE_DECIMAL) }));
  if (report.rtt !== undefined && report.rtt !== null) {
    parts.push(t('live.quality.rtt', { rtt: formatNumber(Math.round(report.rtt), { useGrouping: false }) }));
  }
  return parts.join(' · ');
}

const zoomText = (value) => t('live.camera.zoomValue', { zoom: formatNumber(Number(value), ONE_DECIMAL) });

function toolButton(testid, iconName, label, extra = {}) {
  // Named by its label's text (no aria-label), which changes with the state ("Torch on").
  return h('button', { type: 'button', class: 'tool', 'data-testid': testid, title: label, ...extra },
    icon(iconName, { size: 20 }), h('span', { class: 'tool-label' }, label));
}

/** A tool shown as its icon alone (the name is its tooltip and accessible name), so
 *  that the toolbar stays one row above the picture. */
function iconTool(testid, iconName, label, extra = {}) {
  const button = toolButton(testid, iconName, label, extra);
  button.classList.add('tool-icon');
  return button;
}

/**
 * Build the tools around the stage. Returns the pieces session.js places and the
 * hooks it calls: onMessage, onStats, setLive, ended, destroy.
 */
export function agentTools({ sessionId, app, stage, video, send, onChat = null }) {
  const myId = app.me && app.me.user ? app.me.user.id : null;
  let live = false;
  let over = false;
  let frozen = false; // freezing or showing a still
  let frameId = null;
  let tool = 'pen';
  let color = COLORS[0][0];
  let lowBandwidth = false;
  let device = null;
  let lastReport = 0;
  let participants = [];
  let rotation = 0; // quarter turns of the agent's view, for a picture that arrives sideways
  // What the account's policy allows in this session (fixed when it started).
  let policy = { chat: true, snapshots: true, two_way_audio: true, rating: true };

  // -- the picture: frozen still and marks ---------------------------------------------

  const frozenImg = h('img', { class: 'stage-frozen', 'data-testid': 'frozen-frame', alt: t('live.freeze.stillAlt'), hidden: true });
  const canvas = h('canvas', { class: 'annotation-layer', 'data-testid': 'annotation-layer', 'aria-label': t('live.marks.area') });
  const textBox = h('input', { type: 'text', class: 'input mark-text-input', 'data-testid': 'mark-text-input', maxlength: '120', placeholder: t('live.marks.labelPlaceholder'), hidden: true, 'aria-label': t('live.marks.labelText') });
  const frozenBadge = h('span', { class: 'stage-badge stage-badge-frozen', 'data-testid': 'frozen-badge', hidden: true }, t('live.freeze.badge'));
  // Marks the customer cannot see (outside the part of the picture their phone shows).
  const outsideBadge = h('span', { class: 'stage-badge stage-badge-outside', 'data-testid': 'marks-outside', role: 'status', hidden: true });
  stage.append(frozenImg, canvas, textBox, frozenBadge, outsideBadge);

  const showingStill = () => frozen && frameId !== null && frozenImg.complete && frozenImg.naturalWidth > 0;
  const layer = new MarkLayer(canvas, {
    media: () => (showingStill() ? frozenImg : video),
    fit: 'contain',
    selfId: myId,
    rotation: () => rotation,
    outsideText: t('live.marks.outside'),
    onOutside: (count) => {
      outsideBadge.hidden = count === 0;
      outsideBadge.textContent = count ? t('live.marks.outsideCount', { count }) : '';
    },
  });
  // A turned view: the media elements are laid out with the stage's sides swapped and
  // turned by CSS; the drawing layer is not turned, geometry.js does the maths.
  const sizeStage = () => {
    stage.style.setProperty('--stage-w', `${stage.clientWidth}px`);
    stage.style.setProperty('--stage-h', `${stage.clientHeight}px`);
  };
  const stageObserver = typeof ResizeObserver === 'function' ? new ResizeObserver(sizeStage) : null;
  if (stageObserver) stageObserver.observe(stage);
  frozenImg.addEventListener('load', () => layer.requestDraw());
  video.addEventListener('resize', () => layer.requestDraw());

  const askText = (point) => new Promise((resolve) => {
    const box = { width: canvas.clientWidth, height: canvas.clientHeight };
    const media = layer.media();
    const frame = { width: media.videoWidth || media.naturalWidth, height: media.videoHeight || media.naturalHeight };
    const at = fromFrame(point, box, frame, layer.fitOf(media), layer.rotation());
    // The field opens where the label goes.
    textBox.style.setProperty('--x', `${Math.min(Math.max(0, at.x), box.width - 180)}px`);
    textBox.style.setProperty('--y', `${Math.min(Math.max(0, at.y - 18), box.height - 40)}px`);
    textBox.value = '';
    textBox.hidden = false;
    textBox.focus();
    const done = (value) => {
      textBox.hidden = true;
      textBox.removeEventListener('keydown', onKey);
      textBox.removeEventListener('blur', onBlur);
      resolve(value);
    };
    const onKey = (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        done(textBox.value);
      } else if (event.key === 'Escape') {
        done('');
      }
    };
    const onBlur = () => done(textBox.value);
    textBox.addEventListener('keydown', onKey);
    textBox.addEventListener('blur', onBlur);
  });

  const fadeSelect = h('select', { class: 'input input-small', 'data-testid': 'mark-fade', 'aria-label': t('live.fade.label') },
    FADES.map(([seconds, key]) => h('option', { value: String(seconds) }, t(key, { seconds }))));
  fadeSelect.value = '10';
  const drawing = new DrawInput(layer, {
    send,
    options: () => ({ tool, color, fade: Number(fadeSelect.value) }),
    askText,
    enabled: () => live,
  });

  // -- toolbar ------------------------------------------------------------------------

  const toolButtons = TOOLS.map((name) => {
    const button = iconTool(`tool-${name}`, name, t(TOOL_LABELS[name]), { 'aria-pressed': String(name === tool) });
    button.addEventListener('click', () => {
      tool = name;
      toolButtons.forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
      canvas.dataset.tool = name;
    });
    return button;
  });
  canvas.dataset.tool = tool;
  const swatches = COLORS.map(([value, name]) => {
    const label = t(COLOR_LABELS[name]);
    const swatch = h('button', { type: 'button', class: 'swatch', 'data-color': value, 'data-testid': `color-${name}`, 'aria-label': label, title: label, 'aria-pressed': String(value === color) });
    swatch.addEventListener('click', () => {
      color = value;
      swatches.forEach((s) => s.setAttribute('aria-pressed', String(s === swatch)));
    });
    return swatch;
  });
  const undo = iconTool('annot-undo', 'undo', t('live.marks.undo'));
  undo.addEventListener('click', () => drawing.undo());
  const clearAll = iconTool('annot-clear', 'trash', t('live.marks.clear'));
  clearAll.addEventListener('click', () => drawing.clear());

  const freeze = toolButton('freeze', 'pause', t('live.freeze.freeze'));
  const unfreeze = toolButton('unfreeze', 'play', t('live.freeze.unfreeze'), { hidden: true });
  freeze.addEventListener('click', () => {
    if (send('freeze', {})) {
      freeze.disabled = true;
      freeze.querySelector('.tool-label').textContent = t('live.freeze.freezing');
    }
  });
  unfreeze.addEventListener('click', () => send('unfreeze', {}));

  const rotate = iconTool('rotate-view', 'rotate', t('live.marks.rotate'));
  rotate.addEventListener('click', () => {
    rotation = (rotation + 90) % 360;
    sizeStage();
    stage.dataset.rotation = String(rotation);
    rotate.setAttribute('aria-pressed', String(rotation !== 0));
    layer.requestDraw();
  });

  const snapshotMarks = h('input', { type: 'checkbox', 'data-testid': 'snapshot-marks', checked: true });
  const snapshot = toolButton('snapshot', 'snapshot', t('live.snapshot.take'));
  snapshot.addEventListener('click', () => takeSnapshot());
  const snapshotGroup = h('div', { class: 'tool-group' }, snapshot,
    h('label', { class: 'tool-check' }, snapshotMarks, t('live.snapshot.withMarks')));

  const toolbar = h('div', { class: 'stage-tools', role: 'toolbar', 'aria-label': t('live.marks.toolbar'), 'data-testid': 'toolbar' },
    h('div', { class: 'tool-group' }, toolButtons),
    h('div', { class: 'tool-group swatches', role: 'group', 'aria-label': t('live.marks.colour') }, swatches),
    h('div', { class: 'tool-group' }, fadeSelect, undo, clearAll, rotate),
    h('div', { class: 'tool-group' }, freeze, unfreeze), snapshotGroup);

  // -- snapshots --------------------------------------------------------------------------

  const snapshotList = h('ul', { class: 'snapshot-list', 'data-testid': 'snapshot-list' });
  const snapshotEmpty = h('p', { class: 'muted small', 'data-testid': 'snapshot-empty' }, t('live.snapshot.empty'));
  const snapshotsOff = h('p', { class: 'muted small policy-off', 'data-testid': 'snapshots-off', hidden: true },
    t('live.snapshot.off'));
  const snapshotsCard = h('section', { class: 'card', 'data-testid': 'snapshots-card' },
    h('h2', { class: 'card-title' }, t('live.snapshot.title')), snapshotsOff, snapshotEmpty, snapshotList);

  const thumbUrls = []; // object URLs of stills taken here, freed with the view
  const addSnapshotRow = (item, thumbUrl = null) => {
    snapshotEmpty.hidden = true;
    const link = h('a', { class: 'btn btn-secondary btn-small', href: item.url, download: '', 'data-testid': 'snapshot-download' }, t('live.snapshot.download'));
    // A still taken in this window shows from memory; a stored one (after a reload, or
    // once the session is over) from the server, loaded when it scrolls into view.
    const thumb = h('img', {
      class: 'snapshot-thumb',
      src: thumbUrl || item.thumb_url || item.url,
      alt: t('live.snapshot.alt', { time: formatTime(item.at) }),
      width: '72',
      height: '54',
      loading: 'lazy',
      decoding: 'async',
      'data-testid': 'snapshot-thumb',
    });
    snapshotList.append(h('li', { class: 'snapshot-item', 'data-testid': 'snapshot-item', 'data-id': item.id },
      thumb,
      h('span', { class: 'snapshot-meta' },
        h('span', {}, formatTime(item.at)),
        h('span', { class: 'muted small' }, `${item.media_type === 'image/png' ? 'PNG' : 'JPEG'} · ${formatSize(item.size)}`)),
      link));
  };

  const loadSnapshots = async () => {
    try {
      const { snapshots } = await api.get(`/api/sessions/${sessionId}/snapshots`);
      snapshotList.replaceChildren();
      snapshots.forEach((s) => addSnapshotRow(s));
      snapshotEmpty.hidden = snapshots.length > 0 || policy.snapshots === false;
    } catch {
      // The list stays as it is; the next snapshot adds to it.
    }
  };

  async function takeSnapshot() {
    const source = showingStill() ? frozenImg : video;
    const width = source.videoWidth || source.naturalWidth;
    const height = source.videoHeight || source.naturalHeight;
    if (!width || !height) {
      toast(t('live.snapshot.noPicture'), 'error');
      return;
    }
    snapshot.disabled = true;
    try {
      const still = document.createElement('canvas');
      still.width = width;
      still.height = height;
      const ctx = still.getContext('2d');
      ctx.drawImage(source, 0, 0, width, height);
      const marked = snapshotMarks.checked && layer.marks.size > 0;
      if (marked) layer.paintInto(ctx, { width, height });
      const blob = await new Promise((resolve) => still.toBlob(resolve, 'image/jpeg', 0.92));
      if (!blob) throw new Error(t('live.snapshot.encodeFailed'));
      const { snapshot: item } = await postImage(`/api/sessions/${sessionId}/snapshots?marked=${marked ? 1 : 0}`, blob);
      const thumbUrl = URL.createObjectURL(blob);
      thumbUrls.push(thumbUrl);
      addSnapshotRow(item, thumbUrl);
      toast(t('live.snapshot.saved'));
    } catch (err) {
      toast(err.message || t('live.snapshot.saveFailed'), 'error');
    } finally {
      snapshot.disabled = !live;
    }
  }

  // -- chat ----------------------------------------------------------------------------------

  const chat = new ChatPanel({
    send,
    isMine: (m) => m.role === 'agent' && m.author_id === myId,
    placeholder: t('live.chat.placeholderAgent'),
    onIncoming: onChat,
  });
  const chatHint = h('p', { class: 'hint' }, t('live.chat.hint'));
  const chatOff = h('p', { class: 'muted small policy-off', 'data-testid': 'chat-off' }, t('live.chat.off'));
  const chatCard = h('section', { class: 'card chat-card', 'data-testid': 'chat-card' },
    h('h2', { class: 'card-title' }, t('live.chat.title')), chat.el, chatHint);

  /** Leave out what the session's policy turned off (the server refuses it anyway). */
  const applyPolicy = (next) => {
    if (!next || typeof next !== 'object') return;
    policy = { ...policy, ...next };
    if (policy.chat === false && chatCard.contains(chat.el)) chatCard.replaceChildren(chatCard.firstChild, chatOff);
    const noSnapshots = policy.snapshots === false;
    snapshotGroup.hidden = noSnapshots;
    snapshotsOff.hidden = !noSnapshots;
    snapshotEmpty.hidden = noSnapshots || snapshotList.childElementCount > 0;
    if (noSnapshots) snapshot.disabled = true;
  };

  // -- the customer's camera --------------------------------------------------------------

  const torch = toolButton('torch', 'torch', t('live.camera.torch'), { 'aria-pressed': 'false', disabled: true });
  const zoom = h('input', { type: 'range', class: 'zoom', 'data-testid': 'zoom', min: '1', max: '1', step: '0.1', value: '1', disabled: true, 'aria-label': t('live.camera.zoom') });
  const zoomValue = h('span', { class: 'zoom-value mono' }, t('live.camera.zoomValue', { zoom: 1 }));
  const switchCamera = toolButton('switch-camera', 'switch', t('live.camera.switch'), { disabled: true });
  const lowButton = toolButton('low-bandwidth', 'gauge', t('live.camera.low'), { 'aria-pressed': 'false', disabled: true });
  const cameraNotes = h('ul', { class: 'camera-notes muted small', 'data-testid': 'camera-notes' }, h('li', {}, t('live.camera.waiting')));
  let zoomTimer = null;
  torch.addEventListener('click', () => send('camera', { torch: !(device && device.torch_on) }));
  zoom.addEventListener('input', () => {
    zoomValue.textContent = zoomText(zoom.value);
    clearTimeout(zoomTimer);
    zoomTimer = setTimeout(() => send('camera', { zoom: Number(zoom.value) }), 120);
  });
  switchCamera.addEventListener('click', () => {
    switchCamera.disabled = true;
    send('camera', { switch: true });
  });
  lowButton.addEventListener('click', () => send('low_bandwidth', { on: !lowBandwidth }));
  const cameraCard = h('section', { class: 'card', 'data-testid': 'camera-card' },
    h('h2', { class: 'card-title' }, t('live.camera.title')),
    h('div', { class: 'camera-controls' }, torch, switchCamera, lowButton,
      h('label', { class: 'zoom-field' }, h('span', { class: 'label' }, t('live.camera.zoom')), zoom, zoomValue)),
    cameraNotes);

  const renderDevice = () => {
    const notes = [];
    const usable = live && device;
    const torchOk = Boolean(usable && device.torch);
    torch.disabled = !torchOk;
    torch.dataset.available = String(Boolean(device && device.torch));
    torch.setAttribute('aria-pressed', String(Boolean(device && device.torch_on)));
    torch.querySelector('.tool-label').textContent = t(device && !device.torch ? 'live.camera.torchUnavailable'
      : device && device.torch_on ? 'live.camera.torchOff' : 'live.camera.torchOn');
    if (device && !device.torch) notes.push(t('live.camera.torchNote', { reason: device.torch_reason || t('live.camera.notOnThisCamera') }));
    const zoomOk = Boolean(usable && device.zoom);
    zoom.disabled = !zoomOk;
    zoom.dataset.available = String(Boolean(device && device.zoom));
    if (device && device.zoom) {
      zoom.min = String(device.zoom_min ?? 1);
      zoom.max = String(device.zoom_max ?? 1);
      zoom.step = String(device.zoom_step || 0.1);
      if (device.zoom_value !== undefined && document.activeElement !== zoom) zoom.value = String(device.zoom_value);
      zoomValue.textContent = zoomText(zoom.value);
    } else if (device) {
      zoomValue.textContent = t('live.camera.zoomUnavailable');
      notes.push(t('live.camera.zoomNote', { reason: device.zoom_reason || t('live.camera.notOnThisCamera') }));
    }
    switchCamera.disabled = !(usable && device.switch);
    switchCamera.dataset.available = String(Boolean(device && device.switch));
    switchCamera.querySelector('.tool-label').textContent = t(device && !device.switch ? 'live.camera.switchUnavailable' : 'live.camera.switch');
    if (device && !device.switch) notes.push(t('live.camera.switchNote', { reason: device.switch_reason || t('live.camera.oneCamera') }));
    if (device && device.error) notes.push(device.error);
    lowButton.disabled = !live;
    lowButton.setAttribute('aria-pressed', String(lowBandwidth));
    lowButton.querySelector('.tool-label').textContent = t(lowBandwidth
      ? (device && device.low_bandwidth ? 'live.camera.lowOn' : 'live.camera.lowAsking') : 'live.camera.low');
    if (!device) notes.push(t(live ? 'live.camera.waiting' : 'live.camera.whileSharing'));
    cameraNotes.replaceChildren(...notes.map((n) => h('li', {}, n)));
  };

  // -- quality --------------------------------------------------------------------------

  const mine = h('span', { 'data-testid': 'quality-mine' }, '—');
  const theirs = h('span', { 'data-testid': 'quality-customer' }, '—');
  const qualityPanel = h('div', { class: 'quality-panel', 'data-testid': 'quality' },
    h('div', {}, h('span', { class: 'quality-who' }, t('live.quality.you')), mine),
    h('div', {}, h('span', { class: 'quality-who' }, t('live.quality.customer')), theirs));

  // -- people ---------------------------------------------------------------------------

  const peopleList = h('ul', { class: 'people', 'data-testid': 'session-people' });
  const invite = async (email, button) => {
    button.disabled = true;
    try {
      const answer = await api.post(`/api/sessions/${sessionId}/experts`, { email });
      // Filled here, not by t(): it would capitalise the address that starts the sentence.
      toast(t('live.people.invited').replace('{email}', () => answer.expert.email));
      return true;
    } catch (err) {
      if (err.error !== 'not_authenticated') toast(err.message, 'error');
      return false;
    } finally {
      button.disabled = false;
    }
  };

  // Colleagues to pick from, with whether they are at their console now; by e-mail too.
  const pickerList = h('ul', { class: 'expert-list', 'data-testid': 'expert-list', 'aria-label': t('live.people.colleagues') });
  const pickerNote = h('p', { class: 'muted small', 'data-testid': 'expert-list-note', 'aria-live': 'polite' });
  const pickerRefresh = h('button', { type: 'button', class: 'btn btn-ghost btn-small', 'data-testid': 'expert-refresh' }, t('live.people.refresh'));
  const expertEmailId = `expert-email-${sessionId}`;
  const expertEmail = h('input', { id: expertEmailId, type: 'email', class: 'input', 'data-testid': 'expert-email', placeholder: t('live.people.emailPlaceholder'), autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true });
  const expertSubmit = h('button', { type: 'submit', class: 'btn btn-primary btn-small', 'data-testid': 'expert-submit' }, t('live.people.invite'));
  const expertForm = h('form', { class: 'expert-form', novalidate: true },
    h('label', { class: 'label', for: expertEmailId }, t('live.people.byEmail')),
    h('div', { class: 'copy-row' }, expertEmail, expertSubmit));
  const picker = h('div', { class: 'expert-picker', 'data-testid': 'expert-picker', id: `expert-picker-${sessionId}`, hidden: true },
    h('div', { class: 'expert-picker-head' }, h('span', { class: 'label' }, t('live.people.colleagues')), pickerRefresh),
    pickerNote, pickerList, expertForm);
  const inviteButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'invite-expert', 'aria-expanded': 'false', 'aria-controls': picker.id }, t('live.people.inviteExpert'));

  const loadColleagues = async () => {
    pickerRefresh.disabled = true;
    pickerNote.textContent = t('live.people.loading');
    try {
      const { agents } = await api.get('/api/agents');
      const here = new Set(participants.filter((p) => p.role === 'agent').map((p) => p.id));
      const others = agents.filter((a) => !a.you)
        .sort((a, b) => PRESENCE_ORDER.indexOf(a.presence) - PRESENCE_ORDER.indexOf(b.presence)
          || String(a.display_name).localeCompare(String(b.display_name)));
      pickerList.replaceChildren(...others.map((agent) => colleagueRow(agent, here.has(agent.id))));
      pickerNote.textContent = others.length ? '' : t('live.people.none');
    } catch (err) {
      pickerNote.textContent = err.error === 'not_authenticated' ? '' : t('live.people.loadFailed', { error: err.message });
    } finally {
      pickerRefresh.disabled = false;
    }
  };

  const colleagueRow = (agent, inSession) => {
    const presence = PRESENCE[agent.presence] || PRESENCE.offline;
    const button = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'expert-invite' });
    // The accessible name starts with the visible word and says whom it is about.
    const label = (text, done) => {
      button.textContent = text;
      button.setAttribute('aria-label', t('live.people.actionFor', { action: text, name: agent.display_name }));
      button.disabled = done;
    };
    label(t(inSession ? 'live.people.inThisSession' : 'live.people.invite'), inSession);
    button.addEventListener('click', async () => {
      if (await invite(agent.email, button)) label(t('live.people.invitedShort'), true);
    });
    return h('li', { class: 'expert-option', 'data-testid': 'expert-option', 'data-email': agent.email, 'data-presence': agent.presence },
      h('span', { class: `presence-dot presence-${agent.presence}`, 'aria-hidden': 'true' }),
      h('span', { class: 'expert-who' },
        h('span', { class: 'expert-name' }, agent.display_name),
        h('span', { class: 'muted small expert-email' }, agent.email)),
      h('span', { class: `badge badge-${presence.kind}`, 'data-testid': 'expert-presence' }, t(presence.label)),
      button);
  };

  const showPicker = (open) => {
    picker.hidden = !open;
    inviteButton.setAttribute('aria-expanded', String(open));
    if (open) loadColleagues(); // who is online changes all the time
  };
  // A disclosure: focus stays on the button, which says whether the picker is open.
  inviteButton.addEventListener('click', () => showPicker(picker.hidden));
  pickerRefresh.addEventListener('click', loadColleagues);
  expertForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const email = expertEmail.value.trim();
    if (!email) {
      expertEmail.focus();
      return;
    }
    if (await invite(email, expertSubmit)) {
      expertEmail.value = '';
      showPicker(false);
      inviteButton.focus();
    }
  });
  const peopleCard = h('section', { class: 'card', 'data-testid': 'people-card' },
    h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, t('live.people.title')), inviteButton),
    peopleList, picker,
    h('p', { class: 'hint' }, t('live.people.hint')));

  const personRole = (p) => {
    if (p.id === myId) return t('live.people.you');
    if (p.role === 'customer') return '';
    return t(p.expert ? 'live.people.expert' : 'live.people.agent');
  };
  const renderPeople = () => {
    peopleList.replaceChildren(...participants.map((p) => h('li', { class: 'person', 'data-role': p.role },
      icon('user', { size: 16 }),
      h('span', {}, p.role === 'customer' ? t('live.people.customer') : p.name),
      h('span', { class: 'muted small' }, personRole(p)))));
  };

  // -- notes ----------------------------------------------------------------------------------

  const notes = h('textarea', { class: 'input notes', 'data-testid': 'session-notes', rows: '5', maxlength: '20000', placeholder: t('live.notes.placeholder'), 'aria-label': t('live.notes.label') });
  const notesStatus = h('span', { class: 'muted small', 'data-testid': 'notes-status', 'aria-live': 'polite' });
  let notesTimer = null;
  let savedText = '';
  const saveNotes = async () => {
    clearTimeout(notesTimer);
    const text = notes.value;
    if (text === savedText) return;
    notesStatus.textContent = t('live.notes.saving');
    try {
      await request('PUT', `/api/sessions/${sessionId}/notes`, { text });
      savedText = text;
      notesStatus.textContent = t('live.notes.saved');
      notesStatus.dataset.state = 'saved';
    } catch (err) {
      notesStatus.textContent = t('live.notes.notSaved', { error: err.message });
      notesStatus.dataset.state = 'error';
    }
  };
  notes.addEventListener('input', () => {
    notesStatus.textContent = t('live.notes.editing');
    notesStatus.dataset.state = 'editing';
    clearTimeout(notesTimer);
    notesTimer = setTimeout(saveNotes, NOTES_SAVE_DELAY_MS);
  });
  notes.addEventListener('blur', saveNotes);
  const notesCard = h('section', { class: 'card', 'data-testid': 'notes-card' },
    h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, t('live.notes.title')), notesStatus),
    notes, h('p', { class: 'hint' }, t('live.notes.hint')));
  api.get(`/api/sessions/${sessionId}/notes`).then(({ notes: stored }) => {
    if (!notes.value) {
      notes.value = stored.text;
      savedText = stored.text;
    }
  }).catch(() => {});
  loadSnapshots();

  // -- state ---------------------------------------------------------------------------------

  const renderFreeze = (state) => {
    const wasFrozen = frozen;
    frozen = Boolean(state.freezing || state.frame);
    if (state.frame && state.frame !== frameId) frozenImg.src = `/api/sessions/${sessionId}/frame?f=${state.frame}`;
    frameId = state.frame || null;
    frozenImg.hidden = !frameId;
    frozenBadge.hidden = !frameId;
    if (frozen !== wasFrozen) layer.setFrozen(frozen);
    freeze.hidden = Boolean(frameId);
    unfreeze.hidden = !frozen || (!frameId && !state.freezing);
    freeze.disabled = !live || frozen;
    freeze.querySelector('.tool-label').textContent = t(state.freezing ? 'live.freeze.freezing' : 'live.freeze.freeze');
    unfreeze.disabled = !live;
    if (!frameId) frozenImg.removeAttribute('src');
    layer.requestDraw();
  };
  let lastState = { freezing: false, frame: null };

  const setLive = (value) => {
    live = value && !over;
    const controls = [...toolButtons, ...swatches, undo, clearAll, snapshot, fadeSelect, snapshotMarks, rotate];
    controls.forEach((c) => { c.disabled = !live; });
    if (policy.snapshots === false) snapshot.disabled = true;
    canvas.classList.toggle('is-drawing', live);
    chat.setEnabled(!over);
    renderFreeze(lastState);
    renderDevice();
  };

  return {
    toolbar,
    qualityPanel,
    cards: { chatCard, cameraCard, peopleCard, notesCard, snapshotsCard },
    setLive,
    setPolicy: applyPolicy,
    onState(message) {
      if (message.policy) applyPolicy(message.policy);
      lastState = message;
      lowBandwidth = Boolean(message.low_bandwidth);
      participants = message.participants || [];
      renderFreeze(message);
      renderPeople();
      renderDevice();
    },
    onMessage(message) {
      switch (message.type) {
        case 'chat': chat.receive(message); break;
        case 'chat_history': chat.history(message.messages || []); break;
        case 'chat_ack': chat.acked(message); break;
        case 'device':
          device = message;
          renderDevice();
          break;
        case 'quality':
          if (message.role === 'customer') theirs.textContent = qualityLine(message);
          break;
        default:
          if (message.type.startsWith('mark') || message.type === 'view') layer.apply(message);
      }
    },
    onStats(stats) {
      const report = qualityReport(stats);
      mine.textContent = qualityLine(report);
      qualityPanel.dataset.quality = stats.quality;
      if (performance.now() - lastReport > REPORT_EVERY_MS) {
        lastReport = performance.now();
        send('quality', report);
      }
    },
    ended() {
      if (over) return;
      over = true;
      setLive(false);
      frozen = false;
      renderFreeze({ freezing: false, frame: null });
      layer.clear();
      layer.setView(null);
      saveNotes();
      toolbar.hidden = true;
      cameraCard.hidden = true;
      peopleCard.hidden = true;
      qualityPanel.hidden = true;
      chat.form.hidden = true;
      // Opened after the end (or reloaded): the conversation comes from the record.
      api.get(`/api/sessions/${sessionId}/chat`).then(({ messages }) => chat.history(messages)).catch(() => {});
    },
    destroy() {
      saveNotes();
      layer.destroy();
      thumbUrls.forEach((url) => URL.revokeObjectURL(url));
      if (stageObserver) stageObserver.disconnect();
    },
  };
}
