// Marks on the customer's picture: drawn by agents, shown live on every screen.
//
// A MarkLayer keeps the marks (in frame coordinates, see geometry.js) and paints them
// on a <canvas> laid over a <video> or <img>; the agent's page adds a DrawInput that
// turns pointer gestures into marks and streams them while the stroke is in progress.
// Sizes are relative to the picture (its shorter side), so a mark looks the same on
// a phone and on a desktop.
//
// The customer's phone crops the picture: it reports the part it shows (a region, see
// geometry.js) and the agents' layer outlines that part and flags marks outside it.
// Labels are wrapped and kept inside that part on every screen.

import {
  clampToFrame, compact, frameRect, frameScale, fromFrame, insideFrame, insideRegion, isWholeFrame, layoutLabel,
  markAnchor, regionRect, toFrame, visibleRegion,
} from './geometry.js';
import { paintFlag, paintOutline } from './view_outline.js';

export const TOOLS = ['pen', 'arrow', 'circle', 'text', 'pointer'];
// [value, name]: the agent's page shows each name in its language (views/tools.js).
export const COLORS = [
  ['#ff3b30', 'red'],
  ['#ffcc00', 'yellow'],
  ['#34c759', 'green'],
  ['#0a84ff', 'blue'],
  ['#ffffff', 'white'],
];
const LINE = 0.008; // stroke width, relative to the picture's shorter side
const TEXT_SIZE = 0.04; // label text, relative to the picture's shorter side
const LABEL_WIDTH = 0.6; // labels wrap at this width (same unit), or the visible part's
const POINTER_TRAIL_MS = 700;
const POINTER_LINGER_MS = 1200; // a laser dot disappears this long after it stops moving
const FADE_OUT_MS = 800; // the last part of a mark's life, when it fades away
const SEND_EVERY_MS = 50; // points of a stroke in progress go out in batches
const MAX_BATCH = 60;

function mediaSize(media) {
  if (!media) return null;
  const width = media.videoWidth || media.naturalWidth || 0;
  const height = media.videoHeight || media.naturalHeight || 0;
  return width && height ? { width, height } : null;
}

export class MarkLayer {
  /**
   * canvas: the overlay (same box as the media element).
   * media(): the <video> or <img> currently showing the picture.
   * fit: the object-fit to assume when the element has none computed; the media
   * element's own (CSS may switch between cover and contain by screen size) wins.
   * clock(): the time in ms that marks fade by (a recording's player: its media time).
   */
  constructor(canvas, {
    media, fit = 'contain', rotation = () => 0, selfId = null, outsideText = '', onOutside = null, clock = () => performance.now(),
  }) {
    this.canvas = canvas;
    this.now = clock;
    // The part of the frame the customer's screen shows, as reported to agents (null:
    // not known, or this is the customer's layer): outlined, and marks outside flagged.
    this.view = null;
    this.outsideText = outsideText;
    this.onOutside = onOutside; // (number of flagged marks) when it changes
    this.outside = 0;
    this.selfId = selfId; // the server names my own marks by my id; here they are 'me'
    this.media = media;
    this.fit = fit;
    this.rotation = rotation;
    this.marks = new Map(); // `${from}/${id}` → mark
    this.frozen = false;
    this.frame = null;
    this.onResize = () => this.requestDraw();
    window.addEventListener('resize', this.onResize);
    this.observer = typeof ResizeObserver === 'function' ? new ResizeObserver(this.onResize) : null;
    if (this.observer) this.observer.observe(canvas);
  }

  /** The layer is done (the session ended): its marks go, from the screen too. */
  destroy() {
    window.removeEventListener('resize', this.onResize);
    if (this.observer) this.observer.disconnect();
    cancelAnimationFrame(this.frame);
    this.frame = null;
    this.marks.clear();
    const ctx = this.canvas.getContext('2d');
    if (ctx) ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.canvas.dataset.marks = '0';
  }

  fitOf(media) {
    const fit = media ? getComputedStyle(media).objectFit : '';
    if (fit === 'cover' || fit === 'fill' || fit === 'contain') return fit;
    return this.fit;
  }

  key(from, id) {
    return `${from}/${id}`;
  }

  /** The customer's visible part of the frame ({x, y, w, h} or null), as they report it. */
  setView(region) {
    this.view = region ? { x: region.x, y: region.y, w: region.w, h: region.h } : null;
    this.canvas.dataset.view = this.view ? [this.view.x, this.view.y, this.view.w, this.view.h].join(',') : '';
    this.requestDraw();
  }

  /** The part of the frame this layer's own screen shows (null: no picture yet). */
  visibleRegion() {
    const media = this.media();
    const frame = mediaSize(media);
    if (!frame) return null;
    return visibleRegion({ width: this.canvas.clientWidth, height: this.canvas.clientHeight }, frame,
      this.fitOf(media), this.rotation());
  }

  // -- changes (from the server or from this page's own drawing) ----------------

  /** Apply a server message: mark_start | mark_add | mark_end | mark_remove | marks_clear | marks. */
  apply(message) {
    const from = !message.from || message.from === this.selfId ? 'me' : message.from;
    switch (message.type) {
      case 'mark_start':
        this.start(from, message);
        break;
      case 'mark_add':
        this.add(from, message.id, message.pts);
        break;
      case 'mark_end':
        this.end(from, message.id);
        break;
      case 'mark_remove':
        this.remove(from, message.id);
        break;
      case 'marks_clear':
        this.clear();
        break;
      case 'view':
        this.setView(message);
        return;
      case 'marks':
        this.marks.clear();
        for (const item of message.items || []) {
          const owner = item.from === this.selfId ? 'me' : item.from;
          this.start(owner, item);
          if (item.done) this.end(owner, item.id);
        }
        break;
      default:
        return;
    }
    this.requestDraw();
  }

  start(from, { id, tool, color, pts, text = '', fade = 0, frozen }) {
    const now = this.now();
    this.marks.set(this.key(from, id), {
      id,
      from,
      tool,
      color,
      text,
      fade: Number(fade) || 0,
      frozen: frozen ?? this.frozen,
      pts: (pts || []).map(([x, y]) => ({ x, y, t: now })),
      endedAt: null,
      lastAt: now,
    });
    this.requestDraw();
  }

  add(from, id, pts) {
    const mark = this.marks.get(this.key(from, id));
    if (!mark || !pts || !pts.length) return;
    const now = this.now();
    const points = pts.map(([x, y]) => ({ x, y, t: now }));
    if (mark.tool === 'arrow' || mark.tool === 'circle') mark.pts = [mark.pts[0], points[points.length - 1]];
    else if (mark.tool === 'text') mark.pts = [points[points.length - 1]];
    else mark.pts.push(...points);
    mark.lastAt = now;
    this.requestDraw();
  }

  end(from, id) {
    const mark = this.marks.get(this.key(from, id));
    if (mark && mark.endedAt === null) mark.endedAt = this.now();
    this.requestDraw();
  }

  remove(from, id) {
    this.marks.delete(this.key(from, id));
    this.requestDraw();
  }

  clear() {
    this.marks.clear();
    this.requestDraw();
  }

  /** While frozen, new marks stay until the picture is released; then they go with it. */
  setFrozen(frozen) {
    if (this.frozen === frozen) return;
    this.frozen = frozen;
    if (!frozen) {
      for (const [key, mark] of this.marks) if (mark.frozen) this.marks.delete(key);
    }
    this.requestDraw();
  }

  // -- painting -------------------------------------------------------------------

  requestDraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.draw();
    });
  }

  /** How opaque a mark is now (0: gone). */
  opacity(mark, now) {
    if (mark.tool === 'pointer') {
      const idle = now - mark.lastAt;
      return idle > POINTER_LINGER_MS ? 0 : Math.min(1, (POINTER_LINGER_MS - idle) / FADE_OUT_MS);
    }
    if (mark.frozen || !mark.fade || mark.endedAt === null) return 1;
    const left = mark.endedAt + mark.fade * 1000 - now;
    return left <= 0 ? 0 : Math.min(1, left / FADE_OUT_MS);
  }

  draw() {
    const { canvas } = this;
    const box = { width: canvas.clientWidth, height: canvas.clientHeight };
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(box.width * ratio);
    const height = Math.round(box.height * ratio);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const media = this.media();
    const frame = mediaSize(media);
    const fit = this.fitOf(media);
    const rotation = this.rotation();
    const now = this.now();
    // Labels stay inside what the customer sees: the reported part, else this screen's.
    const shown = this.view || (frame ? visibleRegion(box, frame, fit, rotation) : null);
    const area = frame && shown ? regionRect(shown, box, frame, fit, rotation) : { x: 0, y: 0, ...box };
    const outlined = Boolean(frame && this.view && !isWholeFrame(this.view));
    if (outlined) paintOutline(ctx, frameRect(box, frame, fit, rotation), area, box);
    let animating = false;
    const flagged = [];
    for (const [key, mark] of this.marks) {
      const alpha = this.opacity(mark, now);
      if (alpha <= 0) {
        if (mark.endedAt !== null || mark.tool === 'pointer') this.marks.delete(key);
        continue;
      }
      if (alpha < 1 || mark.tool === 'pointer' || (mark.fade && !mark.frozen)) animating = true;
      if (frame) paintMark(ctx, mark, alpha, box, frame, fit, rotation, now, area);
      const anchor = this.view ? markAnchor(mark.tool, mark.pts) : null;
      if (anchor && !insideRegion(anchor, this.view)) flagged.push({ anchor, alpha });
    }
    if (frame) {
      const size = Math.max(11, frameScale(box, frame, fit, rotation) * TEXT_SIZE * 0.6);
      for (const { anchor, alpha } of flagged) {
        paintFlag(ctx, fromFrame(anchor, box, frame, fit, rotation), this.outsideText, size, alpha, box);
      }
    }
    canvas.dataset.marks = String(this.marks.size);
    canvas.dataset.outside = String(flagged.length);
    if (flagged.length !== this.outside) {
      this.outside = flagged.length;
      if (this.onOutside) this.onOutside(flagged.length);
    }
    if (animating || (!frame && this.marks.size)) this.requestDraw();
  }

  /** Burn the current marks into a still of the picture (snapshot with marks). */
  paintInto(ctx, size) {
    const now = this.now();
    const area = this.view ? regionRect(this.view, size, size, 'fill', 0) : { x: 0, y: 0, ...size };
    for (const mark of this.marks.values()) {
      const alpha = this.opacity(mark, now);
      if (alpha > 0) paintMark(ctx, mark, alpha, size, size, 'fill', 0, now, area);
    }
  }
}

/** area: where labels must stay, in box pixels (the customer's visible part). */
function paintMark(ctx, mark, alpha, box, frame, fit, rotation, now, area) {
  const scale = frameScale(box, frame, fit, rotation);
  const at = (p) => fromFrame(p, box, frame, fit, rotation);
  const width = Math.max(2, scale * LINE);
  ctx.save();
  ctx.globalAlpha = alpha;
  ctx.strokeStyle = mark.color;
  ctx.fillStyle = mark.color;
  ctx.lineWidth = width;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  // A soft dark edge keeps light colours readable on a bright picture.
  ctx.shadowColor = 'rgba(0, 0, 0, 0.55)';
  ctx.shadowBlur = Math.max(2, width);
  const pts = mark.pts.map(at);
  if (!pts.length) {
    ctx.restore();
    return;
  }
  switch (mark.tool) {
    case 'pen': {
      ctx.beginPath();
      ctx.moveTo(pts[0].x, pts[0].y);
      if (pts.length === 1) ctx.lineTo(pts[0].x + 0.01, pts[0].y);
      for (const p of pts.slice(1)) ctx.lineTo(p.x, p.y);
      ctx.stroke();
      break;
    }
    case 'arrow': {
      const [a, b = a] = pts;
      const angle = Math.atan2(b.y - a.y, b.x - a.x);
      const head = width * 4.5;
      ctx.beginPath();
      ctx.moveTo(a.x, a.y);
      ctx.lineTo(b.x, b.y);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(b.x, b.y);
      ctx.lineTo(b.x - head * Math.cos(angle - 0.45), b.y - head * Math.sin(angle - 0.45));
      ctx.lineTo(b.x - head * Math.cos(angle + 0.45), b.y - head * Math.sin(angle + 0.45));
      ctx.closePath();
      ctx.fill();
      break;
    }
    case 'circle': {
      // Dragged from one corner of the ellipse's bounding box to the other.
      const [a, b = a] = pts;
      const rx = Math.max(width, Math.abs(b.x - a.x) / 2);
      const ry = Math.max(width, Math.abs(b.y - a.y) / 2);
      ctx.beginPath();
      ctx.ellipse((a.x + b.x) / 2, (a.y + b.y) / 2, rx, ry, 0, 0, Math.PI * 2);
      ctx.stroke();
      break;
    }
    case 'text': {
      paintLabel(ctx, mark, pts[0], scale, area);
      break;
    }
    case 'pointer': {
      // A laser dot with a short fading trail.
      const recent = mark.pts.filter((p) => now - p.t < POINTER_TRAIL_MS).map((p) => ({ ...at(p), t: p.t }));
      for (let i = 1; i < recent.length; i += 1) {
        ctx.globalAlpha = alpha * (1 - (now - recent[i].t) / POINTER_TRAIL_MS) * 0.6;
        ctx.beginPath();
        ctx.moveTo(recent[i - 1].x, recent[i - 1].y);
        ctx.lineTo(recent[i].x, recent[i].y);
        ctx.stroke();
      }
      const tip = pts[pts.length - 1];
      ctx.globalAlpha = alpha;
      ctx.shadowColor = mark.color;
      ctx.shadowBlur = width * 4;
      ctx.beginPath();
      ctx.arc(tip.x, tip.y, width * 1.6, 0, Math.PI * 2);
      ctx.fill();
      break;
    }
    default:
      break;
  }
  ctx.restore();
}

/**
 * A label: its size and wrapping width relative to the picture (so it breaks the same
 * way on every screen), on a dark plate, inside `area` whatever the anchor.
 */
function paintLabel(ctx, mark, anchor, scale, area) {
  const size = Math.max(10, scale * TEXT_SIZE);
  ctx.font = `600 ${size}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
  const measure = (s) => ctx.measureText(s).width;
  const { lines, lineHeight, box, pad } = layoutLabel(mark.text, anchor,
    { size, maxWidth: (size / TEXT_SIZE) * LABEL_WIDTH, area, measure });
  ctx.shadowBlur = 0;
  ctx.fillStyle = 'rgba(0, 0, 0, 0.55)';
  ctx.beginPath();
  if (ctx.roundRect) ctx.roundRect(box.x, box.y, box.width, box.height, pad);
  else ctx.rect(box.x, box.y, box.width, box.height);
  ctx.fill();
  ctx.fillStyle = mark.color;
  ctx.textBaseline = 'middle';
  ctx.lineWidth = Math.max(2, size / 6);
  ctx.strokeStyle = 'rgba(0, 0, 0, 0.75)';
  lines.forEach((line, i) => {
    const y = box.y + pad + lineHeight * (i + 0.5);
    ctx.strokeText(line, box.x + pad, y);
    ctx.fillText(line, box.x + pad, y);
  });
  // Where the last label went, for tests (an offscreen canvas has no dataset).
  const data = ctx.canvas.dataset;
  if (data) {
    data.labelBox = [box.x, box.y, box.width, box.height].map((v) => v.toFixed(1)).join(',');
    data.labelLines = String(lines.length);
  }
}

let counter = 0;
function newMarkId() {
  counter += 1;
  return `m${Date.now().toString(36)}${counter}`;
}

/**
 * The agent's drawing: pointer gestures on the layer's canvas become marks, drawn at
 * once on this screen and streamed to the others (send(type, fields)).
 * options(): {tool, color, fade}; askText(point) resolves to a label or ''.
 */
export class DrawInput {
  constructor(layer, { send, options, askText, enabled }) {
    this.layer = layer;
    this.send = send;
    this.options = options;
    this.askText = askText;
    this.enabled = enabled;
    this.current = null; // {id, tool, pending: [], timer}
    this.history = []; // ids of my marks, newest last (undo)
    const canvas = layer.canvas;
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.up(e));
    canvas.addEventListener('pointercancel', (e) => this.up(e));
  }

  framePoint(event) {
    const rect = this.layer.canvas.getBoundingClientRect();
    const media = this.layer.media();
    const frame = mediaSize(media);
    if (!frame) return null;
    const box = { width: rect.width, height: rect.height };
    return toFrame({ x: event.clientX - rect.left, y: event.clientY - rect.top }, box, frame,
      this.layer.fitOf(media), this.layer.rotation());
  }

  async down(event) {
    if (!this.enabled() || event.button > 0 || this.current) return;
    const point = this.framePoint(event);
    if (!point || !insideFrame(point)) return; // on the letterbox, not the picture
    event.preventDefault();
    const { tool, color, fade } = this.options();
    const id = newMarkId();
    if (tool === 'text') {
      const text = (await this.askText(point)).trim().slice(0, 120);
      if (!text) return;
      const fields = { id, tool, color, pts: [compact(point)], text, fade };
      this.layer.start('me', fields);
      this.layer.end('me', id);
      this.send('mark_start', fields);
      this.send('mark_end', { id });
      this.history.push(id);
      return;
    }
    this.layer.canvas.setPointerCapture?.(event.pointerId);
    const fields = { id, tool, color, pts: [compact(point)], fade: tool === 'pointer' ? 0 : fade };
    this.layer.start('me', fields);
    this.send('mark_start', fields);
    this.current = { id, tool, pending: [], timer: null, pointerId: event.pointerId };
  }

  move(event) {
    const current = this.current;
    if (!current || event.pointerId !== current.pointerId) return;
    const point = this.framePoint(event);
    if (!point) return;
    const p = compact(clampToFrame(point));
    this.layer.add('me', current.id, [p]);
    if (current.tool === 'arrow' || current.tool === 'circle') current.pending = [p];
    else current.pending.push(p);
    if (!current.timer) current.timer = setTimeout(() => this.flush(), SEND_EVERY_MS);
  }

  flush() {
    const current = this.current;
    if (!current) return;
    clearTimeout(current.timer);
    current.timer = null;
    while (current.pending.length) {
      this.send('mark_add', { id: current.id, pts: current.pending.splice(0, MAX_BATCH) });
    }
  }

  up(event) {
    const current = this.current;
    if (!current || event.pointerId !== current.pointerId) return;
    this.move(event);
    this.flush();
    this.current = null;
    this.layer.end('me', current.id);
    this.send('mark_end', { id: current.id });
    if (current.tool !== 'pointer') this.history.push(current.id);
  }

  undo() {
    // The newest of my marks still on screen (faded ones are gone already).
    while (this.history.length) {
      const id = this.history.pop();
      if (this.layer.marks.has(this.layer.key('me', id))) {
        this.layer.remove('me', id);
        this.send('mark_remove', { id });
        return true;
      }
    }
    return false;
  }

  clear() {
    this.history = [];
    this.layer.clear();
    this.send('marks_clear', {});
  }
}

