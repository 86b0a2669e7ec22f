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
