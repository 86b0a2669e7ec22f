// Line icons drawn as inline SVG through DOM calls (no markup parsing, nothing inline for CSP).

const SVG_NS = 'http://www.w3.org/2000/svg';

// 24×24, stroked with currentColor. Each entry: list of [element, attributes].
const ICONS = {
  camera: [
    ['rect', { x: 2, y: 6, width: 14, height: 12, rx: 2.5 }],
    ['path', { d: 'M16 10.5l5.2-3.2a.5.5 0 0 1 .8.4v8.6a.5.5 0 0 1-.8.4L16 13.5' }],
  ],
  'camera-off': [
    ['path', { d: 'M10 6h3.5A2.5 2.5 0 0 1 16 8.5V12m0 3.5A2.5 2.5 0 0 1 13.5 18h-9A2.5 2.5 0 0 1 2 15.5v-7A2.5 2.5 0 0 1 4.5 6' }],
    ['path', { d: 'M16 10.5l5.2-3.2a.5.5 0 0 1 .8.4v8.6a.5.5 0 0 1-.8.4L16 13.5' }],
    ['path', { d: 'M3 3l18 18' }],
  ],
  mic: [
    ['rect', { x: 9, y: 2.5, width: 6, height: 11.5, rx: 3 }],
    ['path', { d: 'M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8.5 21h7' }],
  ],
  'mic-off': [
    ['path', { d: 'M15 9.5V5.5a3 3 0 0 0-5.9-.8M9 9v2a3 3 0 0 0 4.6 2.5' }],
    ['path', { d: 'M5.5 11a6.5 6.5 0 0 0 10.7 5M18.5 11a6.4 6.4 0 0 1-.6 2.7M12 17.5V21M8.5 21h7' }],
    ['path', { d: 'M3 3l18 18' }],
  ],
  'hang-up': [
    ['path', { d: 'M2.6 13.6c5.2-4.8 13.6-4.8 18.8 0 .5.5.5 1.2 0 1.7l-1.8 1.8a1.2 1.2 0 0 1-1.6.1l-2.3-1.8a1.2 1.2 0 0 1-.4-1.1l.3-1.8a12 12 0 0 0-7.2 0l.3 1.8c.1.4-.1.9-.4 1.1l-2.3 1.8a1.2 1.2 0 0 1-1.6-.1l-1.8-1.8a1.2 1.2 0 0 1 0-1.7z' }],
  ],
  shield: [
    ['path', { d: 'M12 2.8l7.5 2.8v5.6c0 4.8-3.2 8.6-7.5 10-4.3-1.4-7.5-5.2-7.5-10V5.6z' }],
    ['path', { d: 'M8.8 12l2.2 2.2 4.2-4.4' }],
  ],
  warning: [
    ['path', { d: 'M10.3 4.2L2.5 17.8A2 2 0 0 0 4.2 20.8h15.6a2 2 0 0 0 1.7-3L13.7 4.2a2 2 0 0 0-3.4 0z' }],
    ['path', { d: 'M12 9.5v4.2M12 17.2v.1' }],
  ],
  check: [
    ['circle', { cx: 12, cy: 12, r: 9.5 }],
    ['path', { d: 'M8 12.3l2.8 2.7L16.2 9.5' }],
  ],
  info: [
    ['circle', { cx: 12, cy: 12, r: 9.5 }],
    ['path', { d: 'M12 11v5.5M12 7.6v.1' }],
  ],
  clock: [
    ['circle', { cx: 12, cy: 12, r: 9.5 }],
    ['path', { d: 'M12 7v5.2l3.3 2' }],
  ],
  user: [
    ['circle', { cx: 12, cy: 8, r: 4 }],
    ['path', { d: 'M4.5 20.5c.9-3.8 3.9-6 7.5-6s6.6 2.2 7.5 6' }],
  ],
  speaker: [
    ['path', { d: 'M4 9.5h3.5L12 5.5v13l-4.5-4H4z' }],
    ['path', { d: 'M15.5 9a4.5 4.5 0 0 1 0 6M18 6.5a8 8 0 0 1 0 11' }],
  ],
};

/** An <svg> icon; decorative (aria-hidden) unless given a label. */
export function icon(name, { size = 24, className = 'icon', label = null } = {}) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '1.8');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('class', className);
  if (label) {
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
  } else {
    svg.setAttribute('aria-hidden', 'true');
  }
  for (const [tag, attrs] of ICONS[name] || []) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
    svg.append(el);
  }
  return svg;
}
