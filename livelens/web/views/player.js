// A recorded session played back in the console (#sessions/<id>/recordings/<rid>): the
// video with its sound, sought by byte ranges (the <video> asks for them itself), the
// agents' marks drawn again over the picture at the moments they were drawn (the live
// view's MarkLayer, its clock the video's time), and the chat, marks and freezes on a
// timeline under the picture: each a button that seeks there. Who may see it is the
// server's call (the session's owner, invited experts, the account's administrators);
// any other gets a clear message. Also the list of a session's recordings for the
// ended session's view (sessionRecordings).

import { MarkLayer } from '../annotate.js';
import { api } from '../api.js';
import { setTitle } from '../attention.js';
import { formatTime, h, messageLine } from '../dom.js';
import { t } from '../i18n.js';
import { icon } from '../icons.js';
import { badge } from '../ui.js';
import { sizeText } from './exports.js';

const TOOL_LABELS = { pen: 'live.tool.pen', arrow: 'live.tool.arrow', circle: 'live.tool.circle', text: 'live.tool.text', pointer: 'live.tool.pointer' };
const LANES = ['mark', 'chat', 'freeze']; // the timeline's rows, top to bottom
const STATES = ['recording', 'stopped', 'failed', 'interrupted']; // each shown as a badge ('complete' is not)
const SLACK = 0.001; // seconds: an event at the current time counts as passed
const STEP = 5; // seconds the arrow keys move the position by (the range's own step)

const sessionAddress = (sessionId) => `#sessions/${encodeURIComponent(sessionId)}`;
const playerAddress = (sessionId, recordingId) => `${sessionAddress(sessionId)}/recordings/${encodeURIComponent(recordingId)}`;

/** "0:05", "12:40", "1:02:05" for seconds of media. */
export function clockText(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = String(total % 60).padStart(2, '0');
  return hours ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

/**
 * What the timeline shows of a recording's events ({t, kind, data}, oldest first): a mark
 * when it was started, its marks cleared, each chat message, each freeze (until the
 * next unfreeze, or the end). [{t, lane, kind, what, text, until?}]: `what` happened,
 * `text` says when too (a marker's label).
 */
export function moments(events, length) {
  const found = [];
  const add = (moment) => {
    found.push({ ...moment, text: t('player.at', { what: moment.what, time: clockText(moment.t) }) });
    return found[found.length - 1];
  };
  let freeze = null;
  for (const { t: at, kind, data = {} } of events) {
    if (kind === 'mark' && data.type === 'mark_start') {
      const tool = TOOL_LABELS[data.tool] ? t(TOOL_LABELS[data.tool]) : String(data.tool || '');
      add({ t: at, lane: 'mark', kind, what: t('player.moment.mark', { tool: data.tool === 'text' && data.text ? `${tool}: ${data.text}` : tool }) });
    } else if (kind === 'marks_cleared') {
      add({ t: at, lane: 'mark', kind, what: t('player.moment.cleared') });
    } else if (kind === 'chat') {
      const name = data.name || t(data.role === 'customer' ? 'player.customer' : 'player.agent');
      const message = String(data.text || '');
      const short = message.length > 80 ? `${message.slice(0, 79)}…` : message;
      add({ t: at, lane: 'chat', kind, name, message, what: t('player.moment.chat', { name, text: short }) });
    } else if (kind === 'freeze' && !freeze) {
      freeze = add({ t: at, lane: 'freeze', kind, until: length, what: t('player.frozen') });
    } else if (kind === 'unfreeze' && freeze) {
      freeze.until = at;
      freeze = null;
    }
  }
  return found;
}

function problemText(err) {
  if (err.status === 404) return t('player.missing');
  if (err.status === 403) return t('player.forbidden');
  return err.message || t('console.error.generic');
}

/** The player for one recording of a session. */
export async function renderPlayer(container, app, sessionId, recordingId) {
  const back = h('a', { class: 'link-button back-link', href: sessionAddress(sessionId), 'data-testid': 'player-back' }, t('player.back'));
  let recording;
  let events;
  try {
    const [{ recordings }, answer] = await Promise.all([
      api.get(`/api/sessions/${encodeURIComponent(sessionId)}/recordings`),
      api.get(`/api/sessions/${encodeURIComponent(sessionId)}/recordings/${encodeURIComponent(recordingId)}/events`),
    ]);
    recording = recordings.find((r) => r.id === recordingId);
    if (!recording) throw Object.assign(new Error(''), { status: 404 });
    events = [...answer.events].sort((a, b) => a.t - b.t);
  } catch (err) {
    if (err.error === 'not_authenticated') return;
    container.replaceChildren(back,
      h('p', { class: 'message message-error', role: 'alert', 'data-testid': 'player-problem' }, problemText(err)));
    return;
  }
  setTitle(`${t('player.title')} · LiveLens`);

  // -- the picture and its marks ------------------------------------------------------

  const video = h('video', { class: 'stage-video', 'data-testid': 'player-video', preload: 'metadata', playsinline: true, src: recording.download_url });
  video.playsInline = true;
  let replaying = null; // ms: the time of the event being applied, or null (the video's)
  const canvas = h('canvas', { class: 'annotation-layer', 'data-testid': 'annotation-layer', 'aria-hidden': 'true' });
  const layer = new MarkLayer(canvas, { media: () => video, clock: () => replaying ?? video.currentTime * 1000 });
  const frozenBadge = h('span', { class: 'stage-badge stage-badge-frozen', 'data-testid': 'player-frozen', hidden: true }, t('player.frozen'));
  const stage = h('div', { class: 'stage player-stage', role: 'group', tabindex: '0', 'aria-label': t('player.stageLabel'), 'data-testid': 'player-stage' },
    video, canvas, frozenBadge);
  const problem = messageLine('player-error');

  // -- the controls ---------------------------------------------------------------------

  const playButton = h('button', { type: 'button', class: 'btn btn-primary player-play', 'data-testid': 'player-play' });
  const seek = h('input', { type: 'range', class: 'player-seek', min: '0', step: 'any', value: '0', 'data-testid': 'player-seek', 'aria-label': t('player.position') });
  const timeText = h('span', { class: 'player-time mono', 'data-testid': 'player-time', 'aria-hidden': 'true' });
  const muteButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'player-mute', 'aria-pressed': 'false' },
    icon('speaker', { size: 16 }), t('player.mute'));
  const fullButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'player-fullscreen', hidden: !document.fullscreenEnabled });
  const download = h('a', { class: 'btn btn-secondary btn-small', href: recording.download_url, download: '', 'data-testid': 'player-download' },
    icon('download', { size: 16 }), t('player.download'));
  const lanes = new Map(LANES.map((lane) => [lane, h('div', { class: `player-lane player-lane-${lane}`, role: 'group', 'aria-label': t(`player.lane.${lane}`) })]));
  const timeline = h('div', { class: 'player-timeline', 'data-testid': 'player-timeline' }, [...lanes.values()]);
  const list = h('ol', { class: 'player-moments', 'data-testid': 'player-moments' });
  const player = h('div', { class: 'player', 'data-testid': 'player', 'data-recording-id': recording.id },
    stage,
    // The timeline right under the position bar, at the same scale.
    h('div', { class: 'player-bar' }, playButton, h('div', { class: 'player-track' }, seek, timeline), timeText),
    h('div', { class: 'player-actions' }, muteButton, fullButton, download));

  const length = () => (Number.isFinite(video.duration) && video.duration > 0 ? video.duration : Number(recording.duration_s) || 0);
  const seekTo = (seconds) => {
    video.currentTime = Math.min(Math.max(0, seconds), length() || seconds);
    sync();
  };
  const toggle = () => {
    if (video.paused || video.ended) video.play().catch(() => {});
    else video.pause();
  };

  // -- the timeline: a button per moment, and the same as a list -------------------------

  const empty = h('p', { class: 'muted', 'data-testid': 'player-no-moments', hidden: true }, t('player.noMoments'));
  const drawMoments = () => {
    const total = length();
    const shown = moments(events, total);
    for (const lane of lanes.values()) lane.replaceChildren();
    list.replaceChildren();
    for (const moment of shown) {
      const marker = h('button', {
        type: 'button', class: `player-marker player-marker-${moment.lane}`, 'data-testid': 'timeline-marker', 'data-kind': moment.kind,
        'data-t': String(moment.t), 'aria-label': moment.text, title: moment.text, onclick: () => seekTo(moment.t),
      });
      const where = total > 0 ? Math.min(100, (moment.t / total) * 100) : 0;
      marker.style.setProperty('--at', `${where}%`);
      if (moment.until !== undefined && total > 0) marker.style.setProperty('--span', `${Math.max(0, Math.min(100, (moment.until / total) * 100) - where)}%`);
      lanes.get(moment.lane).append(marker);
      list.append(h('li', { class: `player-moment player-moment-${moment.lane}`, 'data-testid': 'player-moment', 'data-kind': moment.kind },
        h('button', { type: 'button', class: 'link-button mono', 'aria-label': t('player.seekTo', { time: clockText(moment.t) }), onclick: () => seekTo(moment.t) }, clockText(moment.t)),
        moment.lane === 'chat'
          ? h('span', {}, h('strong', {}, moment.name), ' ', moment.message)
          : h('span', {}, moment.what)));
    }
    timeline.hidden = shown.length === 0;
    list.hidden = shown.length === 0;
    empty.hidden = shown.length > 0;
  };

  // -- replaying the events up to the video's time ------------------------------------

  let next = 0; // events[next] is the first not applied yet
  let applied = 0; // the time they were applied up to
  const apply = (event) => {
    replaying = event.t * 1000;
    if (event.kind === 'mark') layer.apply(event.data || {});
    else if (event.kind === 'marks_cleared') layer.clear();
    else if (event.kind === 'freeze') layer.setFrozen(true);
    else if (event.kind === 'unfreeze') layer.setFrozen(false);
    replaying = null;
  };
  const sync = () => {
    const now = video.currentTime;
    if (now + SLACK < applied) { // back in time: from the start again
      layer.clear();
      layer.setFrozen(false);
      next = 0;
    }
    while (next < events.length && events[next].t <= now + SLACK) apply(events[next++]);
    applied = now;
    layer.requestDraw(); // the clock moved: marks fade by it
    frozenBadge.hidden = !layer.frozen;
    stage.dataset.frozen = String(layer.frozen);
    const total = length();
    seek.max = String(total);
    if (!dragging) seek.value = String(now);
    seek.setAttribute('aria-valuetext', t('player.positionText', { time: clockText(now), length: clockText(total) }));
    timeText.textContent = `${clockText(now)} / ${clockText(total)}`;
    player.dataset.time = now.toFixed(2);
  };

  let frame = null;
  const loop = () => {
    frame = null;
    if (!player.isConnected) return;
    sync();
    if (!video.paused && !video.ended) frame = requestAnimationFrame(loop);
  };
  const showPlaying = () => {
    const playing = !video.paused && !video.ended;
    playButton.replaceChildren(icon(playing ? 'pause' : 'play', { size: 18 }), h('span', { class: 'player-play-text' }, t(playing ? 'player.pause' : 'player.play')));
    playButton.setAttribute('aria-label', t(playing ? 'player.pause' : 'player.play'));
    player.dataset.playing = String(playing);
    if (playing && !frame) frame = requestAnimationFrame(loop);
  };
  for (const name of ['play', 'pause', 'ended']) video.addEventListener(name, () => { showPlaying(); sync(); });
  for (const name of ['seeking', 'seeked', 'timeupdate']) video.addEventListener(name, sync);
  video.addEventListener('durationchange', () => { drawMoments(); sync(); });
  // The picture's own shape (a phone's camera may be upright), again when it changes.
  const fit = () => {
    if (video.videoWidth && video.videoHeight) stage.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
    layer.requestDraw();
  };
  video.addEventListener('loadedmetadata', () => { fit(); sync(); });
  video.addEventListener('resize', fit);
  video.addEventListener('error', () => problem.show(t('player.cannotPlay')));

  playButton.addEventListener('click', toggle);
  stage.addEventListener('click', toggle);
  seek.addEventListener('input', () => seekTo(Number(seek.value)));
  let dragging = false; // the thumb stays where the user holds it
  seek.addEventListener('pointerdown', () => { dragging = true; });
  for (const name of ['pointerup', 'pointercancel']) seek.addEventListener(name, () => { dragging = false; });
  seek.addEventListener('keydown', (event) => {
    // The range's own keys move by its (fine) step: whole seconds make more sense.
    const by = { ArrowLeft: -STEP, ArrowDown: -STEP, ArrowRight: STEP, ArrowUp: STEP }[event.key];
    if (by === undefined) return;
    event.preventDefault();
    seekTo(video.currentTime + by);
  });
  muteButton.addEventListener('click', () => {
    video.muted = !video.muted;
    muteButton.setAttribute('aria-pressed', String(video.muted));
    muteButton.replaceChildren(icon('speaker', { size: 16 }), t(video.muted ? 'player.unmute' : 'player.mute'));
  });
  const showFullscreen = () => {
    const on = document.fullscreenElement === player;
    fullButton.replaceChildren(icon(on ? 'minimize' : 'maximize', { size: 16 }), t(on ? 'live.fullscreen.exit' : 'live.fullscreen.enter'));
  };
  fullButton.addEventListener('click', () => {
    if (document.fullscreenElement === player) document.exitFullscreen().catch(() => {});
    else player.requestFullscreen().catch((err) => problem.show(t('live.fullscreen.failed', { error: err.message })));
  });
  document.addEventListener('fullscreenchange', showFullscreen);

  // Space plays and pauses anywhere in the page but on a control that has its own use.
  const onKey = (event) => {
    if (!player.isConnected) return stop();
    if (event.key !== ' ' || event.altKey || event.ctrlKey || event.metaKey || event.defaultPrevented) return;
    const target = event.target;
    const own = target.closest && target.closest('button, a, select, textarea, [contenteditable], dialog, input:not([type="range"])');
    if (own) return;
    event.preventDefault();
    toggle();
  };
  document.addEventListener('keydown', onKey);
  const stop = () => {
    document.removeEventListener('keydown', onKey);
    document.removeEventListener('fullscreenchange', showFullscreen);
    if (frame) cancelAnimationFrame(frame);
    video.pause();
    layer.destroy();
  };
  container.addEventListener('leave', stop, { once: true });

  const stopped = recording.state === 'stopped'
    ? h('p', { class: 'message message-warning', role: 'note', 'data-testid': 'player-stopped' },
      t('player.stoppedEarly', { reason: recording.stopped_reason || '—' }))
    : null;
  container.replaceChildren(
    h('div', { class: 'player-view', 'data-testid': 'player-view', 'data-session-id': sessionId },
      h('div', { class: 'session-head' }, back, h('h1', { class: 'section-title' }, t('player.title'))),
      h('p', { class: 'muted', 'data-testid': 'player-about' },
        t('player.about', { started: formatTime(recording.started_at), length: clockText(recording.duration_s) })),
      stopped, problem.el,
      h('div', { class: 'player-layout' },
        player,
        h('section', { class: 'card player-side', 'aria-labelledby': 'player-moments-title' },
          h('h2', { class: 'card-title', id: 'player-moments-title' }, t('player.momentsTitle')), list, empty))));
  drawMoments();
  showFullscreen();
  showPlaying();
  sync();
}

/** A recording as a line of the session's list: when, how long, its size, Play and Download. */
function recordingItem(sessionId, recording) {
  const ready = Boolean(recording.download_url);
  const state = recording.state === 'complete' ? null
    : badge(STATES.includes(recording.state) ? t(`player.state.${recording.state}`) : recording.state,
      recording.state === 'stopped' ? 'warning' : 'neutral', 'recording-state-badge');
  return h('li', { class: 'recording-item', 'data-testid': 'recording-item', 'data-recording-id': recording.id },
    h('span', { class: 'recording-what' },
      h('span', {}, formatTime(recording.started_at)),
      h('span', { class: 'muted' }, `${clockText(recording.duration_s)} · ${sizeText(recording.bytes)}`),
      state),
    ready ? h('span', { class: 'row' },
      h('a', { class: 'btn btn-primary btn-small', href: playerAddress(sessionId, recording.id), 'data-testid': 'recording-play' },
        icon('play', { size: 16 }), t('player.open')),
      h('a', { class: 'btn btn-secondary btn-small', href: recording.download_url, download: '', 'data-testid': 'recording-download' },
        icon('download', { size: 16 }), t('player.download'))) : null);
}

/**
 * The session's recordings, for its view once it has ended: hidden while there are none;
 * each opens in the player or downloads as WebM.
 */
export function sessionRecordings(sessionId) {
  const list = h('ul', { class: 'recording-list', 'data-testid': 'recording-list' });
  const message = messageLine('recordings-error');
  const el = h('div', { class: 'session-recordings', 'data-testid': 'session-recordings', hidden: true },
    h('h3', { class: 'recordings-title' }, t('player.listTitle')), list, message.el);
  api.get(`/api/sessions/${encodeURIComponent(sessionId)}/recordings`).then(({ recordings }) => {
    list.replaceChildren(...recordings.map((recording) => recordingItem(sessionId, recording)));
    el.hidden = recordings.length === 0;
  }, (err) => {
    if (err.error === 'not_authenticated') return;
    message.show(problemText(err));
    el.hidden = false;
  });
  return el;
}
