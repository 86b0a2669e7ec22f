// Where a point of the camera's picture appears on a screen, and back. Pure maths, no DOM.
//
// Marks travel in coordinates normalised to the video frame: (0, 0) is the top left
// and (1, 1) the bottom right of the picture the customer's camera produces, whatever
// its pixel size. Each screen shows that picture in its own element box — letterboxed
// (object-fit: contain), cropped (cover) or stretched (fill), and possibly turned by a
// quarter turn — so each side converts between its box pixels and frame coordinates
// with the same functions, and a mark lands on the same spot of the picture.

/** Quarter turns, clockwise, as the picture is shown: 0, 90, 180 or 270. */
function turns(rotation) {
  const r = ((Math.round((Number(rotation) || 0) / 90) % 4) + 4) % 4;
  return r;
}

/**
 * The rectangle, in box pixels, covered by the whole (possibly rotated) picture.
 * box: {width, height} of the element; frame: {width, height} of the picture
 * (e.g. video.videoWidth/videoHeight); fit: 'contain' | 'cover' | 'fill'.
 * With 'cover' the rectangle is larger than the box (parts are cropped off screen).
 */
export function frameRect(box, frame, fit = 'contain', rotation = 0) {
  const sideways = turns(rotation) % 2 === 1;
  const fw = sideways ? frame.height : frame.width;
  const fh = sideways ? frame.width : frame.height;
  if (!(fw > 0 && fh > 0 && box.width > 0 && box.height > 0)) {
    return { x: 0, y: 0, width: box.width || 0, height: box.height || 0 };
  }
  if (fit === 'fill') return { x: 0, y: 0, width: box.width, height: box.height };
  const scaleX = box.width / fw;
  const scaleY = box.height / fh;
  const scale = fit === 'cover' ? Math.max(scaleX, scaleY) : Math.min(scaleX, scaleY);
  const width = fw * scale;
  const height = fh * scale;
  // object-position defaults to 50% 50%: the picture is centred in the box.
  return { x: (box.width - width) / 2, y: (box.height - height) / 2, width, height };
}

/** Displayed (u, v) in 0..1 of the turned picture → frame (x, y) in 0..1. */
function unturn(u, v, r) {
  switch (r) {
    case 1: return { x: v, y: 1 - u }; // shown turned 90° clockwise
    case 2: return { x: 1 - u, y: 1 - v };
    case 3: return { x: 1 - v, y: u };
    default: return { x: u, y: v };
  }
}

/** Frame (x, y) in 0..1 → displayed (u, v) in 0..1 of the turned picture. */
function turn(x, y, r) {
  switch (r) {
    case 1: return { u: 1 - y, v: x };
    case 2: return { u: 1 - x, v: 1 - y };
    case 3: return { u: y, v: 1 - x };
    default: return { u: x, v: y };
  }
}

/** A point in box pixels → frame coordinates (may fall outside 0..1: off the picture). */
export function toFrame(point, box, frame, fit = 'contain', rotation = 0) {
  const rect = frameRect(box, frame, fit, rotation);
  const u = rect.width ? (point.x - rect.x) / rect.width : 0;
  const v = rect.height ? (point.y - rect.y) / rect.height : 0;
  return unturn(u, v, turns(rotation));
}

/** Frame coordinates → a point in box pixels (may fall outside the box: cropped). */
export function fromFrame(point, box, frame, fit = 'contain', rotation = 0) {
  const rect = frameRect(box, frame, fit, rotation);
  const { u, v } = turn(point.x, point.y, turns(rotation));
  return { x: rect.x + u * rect.width, y: rect.y + v * rect.height };
}

/** A length relative to the picture (its shorter side = 1) → box pixels. */
export function frameScale(box, frame, fit = 'contain', rotation = 0) {
  const rect = frameRect(box, frame, fit, rotation);
  return Math.min(rect.width, rect.height);
}

export function insideFrame(point) {
  return point.x >= 0 && point.x <= 1 && point.y >= 0 && point.y <= 1;
}

export function clampToFrame(point) {
  return { x: Math.min(1, Math.max(0, point.x)), y: Math.min(1, Math.max(0, point.y)) };
}

/** Round to 4 decimals (a tenth of a pixel on a 4K frame) to keep messages small. */
export function compact(point) {
  return [Math.round(point.x * 1e4) / 1e4, Math.round(point.y * 1e4) / 1e4];
}

// -- what the other screen shows, and labels that stay on it -------------------------
//
// A region is a rectangle of the frame, {x, y, w, h} in frame coordinates: the part of
// the picture a screen shows. The customer's phone crops the picture (cover), so it
// reports its region and the agents' view outlines it; labels are laid out inside it on
// every screen, so a label the agent places near an edge stays on the phone's screen.

export const WHOLE_FRAME = Object.freeze({ x: 0, y: 0, w: 1, h: 1 });

const clamp01 = (value) => Math.min(1, Math.max(0, value));

/** The part of the frame a box shows: all of it when letterboxed, a band when cropped. */
export function visibleRegion(box, frame, fit = 'contain', rotation = 0) {
  const a = toFrame({ x: 0, y: 0 }, box, frame, fit, rotation);
  const b = toFrame({ x: box.width, y: box.height }, box, frame, fit, rotation);
  const x = clamp01(Math.min(a.x, b.x));
  const y = clamp01(Math.min(a.y, b.y));
  return { x, y, w: clamp01(Math.max(a.x, b.x)) - x, h: clamp01(Math.max(a.y, b.y)) - y };
}

/** A region rounded for a message (4 decimals), still within the frame. */
export function compactRegion(region) {
  const round = (value) => Math.round(clamp01(value) * 1e4) / 1e4;
  const x = round(region.x);
  const y = round(region.y);
  return { x, y, w: Math.min(round(region.w), Math.round((1 - x) * 1e4) / 1e4), h: Math.min(round(region.h), Math.round((1 - y) * 1e4) / 1e4) };
}

/** Whether a region is (nearly) the whole frame: nothing is cropped. */
export function isWholeFrame(region, tolerance = 0.002) {
  return region.x <= tolerance && region.y <= tolerance && region.w >= 1 - 2 * tolerance && region.h >= 1 - 2 * tolerance;
}

export function insideRegion(point, region) {
  return point.x >= region.x && point.x <= region.x + region.w && point.y >= region.y && point.y <= region.y + region.h;
}

/** A region of the frame → the rectangle it covers in box pixels {x, y, width, height}. */
export function regionRect(region, box, frame, fit = 'contain', rotation = 0) {
  const a = fromFrame({ x: region.x, y: region.y }, box, frame, fit, rotation);
  const b = fromFrame({ x: region.x + region.w, y: region.y + region.h }, box, frame, fit, rotation);
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x, b.x) - x, height: Math.max(a.y, b.y) - y };
}

/**
 * The point of a mark that says where it is (frame coordinates): an arrow's tip, a
 * circle's centre, a label's start, a pointer's dot, the middle of a pen stroke's extent.
 */
export function markAnchor(tool, pts) {
  if (!pts.length) return null;
  const first = pts[0];
  const last = pts[pts.length - 1];
  switch (tool) {
    case 'arrow':
    case 'pointer':
      return { x: last.x, y: last.y };
    case 'circle':
      return { x: (first.x + last.x) / 2, y: (first.y + last.y) / 2 };
    case 'pen': {
      const xs = pts.map((p) => p.x);
      const ys = pts.map((p) => p.y);
      return { x: (Math.min(...xs) + Math.max(...xs)) / 2, y: (Math.min(...ys) + Math.max(...ys)) / 2 };
    }
    default:
      return { x: first.x, y: first.y };
  }
}

/** `rect` moved (not resized, unless it is larger) to lie inside `area`; both {x, y, width, height}. */
export function clampRect(rect, area) {
  const width = Math.min(rect.width, area.width);
  const height = Math.min(rect.height, area.height);
  const x = Math.min(Math.max(rect.x, area.x), area.x + area.width - width);
  const y = Math.min(Math.max(rect.y, area.y), area.y + area.height - height);
  return { x, y, width, height };
}

/**
 * Break `text` into lines no wider than `maxWidth`, at spaces where it can, inside a
 * word where a word alone is too wide. measure(string) gives a string's width.
 */
export function wrapText(text, maxWidth, measure) {
  const lines = [];
  let line = '';
  const fits = (s) => measure(s) <= maxWidth;
  for (const word of String(text).split(/\s+/).filter(Boolean)) {
    const joined = line ? `${line} ${word}` : word;
    if (fits(joined)) {
      line = joined;
      continue;
    }
    if (line) lines.push(line);
    line = '';
    let rest = word;
    while (!fits(rest) && rest.length > 1) {
      let cut = 1;
      while (cut < rest.length && fits(rest.slice(0, cut + 1))) cut += 1;
      lines.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    line = rest;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * Where a label goes, in box pixels: its lines (wrapped to maxWidth) in a box whose
 * first line is centred on the anchor, moved as little as needed to lie inside `area`
 * (the customer's visible part of the picture). Returns {lines, lineHeight, box, pad}.
 */
export function layoutLabel(text, anchor, { size, maxWidth, area, measure }) {
  const pad = size * 0.3;
  const lineHeight = size * 1.25;
  const lines = wrapText(text, Math.max(size, Math.min(maxWidth, area.width - 2 * pad)), measure);
  const width = Math.max(0, ...lines.map(measure)) + 2 * pad;
  const height = lines.length * lineHeight + 2 * pad;
  const box = clampRect({ x: anchor.x - pad, y: anchor.y - lineHeight / 2 - pad, width, height }, area);
  return { lines, lineHeight, box, pad };
}
