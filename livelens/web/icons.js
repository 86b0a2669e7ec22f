// Line icons drawn as inline SVG through DOM calls (no markup parsing, nothing inline for CSP).

const SVG_NS = 'http://www.w3.org/2000/svg';

// 24×24, stroked with currentColor. Each icon is a list of shapes: a string is a
// <path>'s d, anything else is [element, attributes].
const RING = ['circle', { cx: 12, cy: 12, r: 9.5 }];
const CAMERA_LENS = 'M16 10.5l5.2-3.2a.5.5 0 0 1 .8.4v8.6a.5.5 0 0 1-.8.4L16 13.5';
const SPEAKER = 'M4 9.5h3.5L12 5.5v13l-4.5-4H4z';
const BELL = 'M6 16.5V11a6 6 0 0 1 12 0v5.5l1.5 1.5h-15zM10 20.5a2 2 0 0 0 4 0';
const SLASH = 'M3 3l18 18';

const ICONS = {
  camera: [['rect', { x: 2, y: 6, width: 14, height: 12, rx: 2.5 }], CAMERA_LENS],
  'camera-off': [
    'M10 6h3.5A2.5 2.5 0 0 1 16 8.5V12m0 3.5A2.5 2.5 0 0 1 13.5 18h-9A2.5 2.5 0 0 1 2 15.5v-7A2.5 2.5 0 0 1 4.5 6',
    CAMERA_LENS,
    SLASH,
  ],
  mic: [['rect', { x: 9, y: 2.5, width: 6, height: 11.5, rx: 3 }], 'M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8.5 21h7'],
  'mic-off': [
    'M15 9.5V5.5a3 3 0 0 0-5.9-.8M9 9v2a3 3 0 0 0 4.6 2.5',
    'M5.5 11a6.5 6.5 0 0 0 10.7 5M18.5 11a6.4 6.4 0 0 1-.6 2.7M12 17.5V21M8.5 21h7',
    SLASH,
  ],
  'hang-up': [
    'M2.6 13.6c5.2-4.8 13.6-4.8 18.8 0 .5.5.5 1.2 0 1.7l-1.8 1.8a1.2 1.2 0 0 1-1.6.1l-2.3-1.8a1.2 1.2 0 0 1-.4-1.1l.3-1.8a12 12 0 0 0-7.2 0l.3 1.8c.1.4-.1.9-.4 1.1l-2.3 1.8a1.2 1.2 0 0 1-1.6-.1l-1.8-1.8a1.2 1.2 0 0 1 0-1.7z',
  ],
  shield: ['M12 2.8l7.5 2.8v5.6c0 4.8-3.2 8.6-7.5 10-4.3-1.4-7.5-5.2-7.5-10V5.6z', 'M8.8 12l2.2 2.2 4.2-4.4'],
  warning: [
    'M10.3 4.2L2.5 17.8A2 2 0 0 0 4.2 20.8h15.6a2 2 0 0 0 1.7-3L13.7 4.2a2 2 0 0 0-3.4 0z',
    'M12 9.5v4.2M12 17.2v.1',
  ],
  check: [RING, 'M8 12.3l2.8 2.7L16.2 9.5'],
  declined: [RING, 'M9 9l6 6M15 9l-6 6'],
  info: [RING, 'M12 11v5.5M12 7.6v.1'],
  clock: [RING, 'M12 7v5.2l3.3 2'],
  globe: [RING, 'M2.5 12h19M12 2.5c2.6 2.6 3.8 5.8 3.8 9.5s-1.2 6.9-3.8 9.5c-2.6-2.6-3.8-5.8-3.8-9.5s1.2-6.9 3.8-9.5z'],
  link: ['M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1', 'M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1'],
  'link-off': ['M9.5 14.5l-1.8 1.8a3.2 3.2 0 0 1-4.5-4.5L6 9M14.5 9.5l1.8-1.8a3.2 3.2 0 0 1 4.5 4.5L18 15', 'M8 3v2.5M3 8h2.5M16 21v-2.5M21 16h-2.5'],
  user: [['circle', { cx: 12, cy: 8, r: 4 }], 'M4.5 20.5c.9-3.8 3.9-6 7.5-6s6.6 2.2 7.5 6'],
  pen: ['M4 20l1.2-4.6L15.8 4.8a2 2 0 0 1 2.8 0l.6.6a2 2 0 0 1 0 2.8L8.6 18.8z', 'M14 6.6l3.4 3.4'],
  arrow: ['M5 19L19 5M10 5h9v9'],
  circle: [['ellipse', { cx: 12, cy: 12, rx: 9, ry: 7 }]],
  text: ['M5 6.5V5h14v1.5M12 5v14M9 19h6'],
  pointer: [['circle', { cx: 12, cy: 12, r: 3 }], 'M12 2.5v3M12 18.5v3M2.5 12h3M18.5 12h3'],
  undo: ['M9 14L4 9l5-5', 'M4 9h10.5a5.5 5.5 0 0 1 0 11H11'],
  trash: ['M4 7h16M10 11v6M14 11v6M6 7l1 12.5a1.5 1.5 0 0 0 1.5 1.5h7a1.5 1.5 0 0 0 1.5-1.5L18 7M9 7V4.5h6V7'],
  pause: [['rect', { x: 6, y: 5, width: 4, height: 14, rx: 1 }], ['rect', { x: 14, y: 5, width: 4, height: 14, rx: 1 }]],
  play: ['M7 5l12 7-12 7z'],
  snapshot: [
    'M4 8.5A2.5 2.5 0 0 1 6.5 6h1.8l1.5-2h4.4l1.5 2h1.8A2.5 2.5 0 0 1 20 8.5v9a2.5 2.5 0 0 1-2.5 2.5h-11A2.5 2.5 0 0 1 4 17.5z',
    ['circle', { cx: 12, cy: 13, r: 3.5 }],
  ],
  chat: ['M4 5.5A1.5 1.5 0 0 1 5.5 4h13A1.5 1.5 0 0 1 20 5.5v9a1.5 1.5 0 0 1-1.5 1.5H9l-5 4z'],
  torch: ['M8 3h8v4l-2 3v11h-4V10L8 7z', 'M12 13v2'],
  switch: ['M4 12a8 8 0 0 1 13.7-5.6L20 8.7M20 4v4.7h-4.7', 'M20 12a8 8 0 0 1-13.7 5.6L4 15.3M4 20v-4.7h4.7'],
  // A quarter turn clockwise of the picture (not the camera switch's two arrows).
  rotate: [['rect', { x: 4, y: 10, width: 10, height: 10, rx: 1.5 }], 'M9 6.5h4.5a6 6 0 0 1 6 6v.5M17 10.5l2.5 2.5 2.5-2.5'],
  // A gauge turned down: less data, not a paused picture.
  gauge: ['M4.2 17.5a9 9 0 1 1 15.6 0', 'M12 14.5L8 11', ['circle', { cx: 12, cy: 14.5, r: 1.2 }]],
  speaker: [SPEAKER, 'M15.5 9a4.5 4.5 0 0 1 0 6M18 6.5a8 8 0 0 1 0 11'],
  'speaker-off': [SPEAKER, 'M16 9.5l5 5M21 9.5l-5 5'],
  bell: [BELL],
  'bell-off': [BELL, SLASH],
  maximize: ['M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5'],
  minimize: ['M9 4v5H4M15 4v5h5M9 20v-5H4M15 20v-5h5'],
  copy: [['rect', { x: 8, y: 8, width: 12, height: 12, rx: 2 }], 'M16 8V5.5A1.5 1.5 0 0 0 14.5 4h-9A1.5 1.5 0 0 0 4 5.5v9A1.5 1.5 0 0 0 5.5 16H8'],
  download: ['M12 4v11M7.5 10.5L12 15l4.5-4.5', 'M5 19.5h14'],
};

function shape([tag, attrs]) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  return el;
}

/** An <svg> icon; decorative (aria-hidden) unless given a label. */
export function icon(name, { size = 24, className = 'icon', label = null } = {}) {
  const svg = shape(['svg', {
    viewBox: '0 0 24 24',
    width: size,
    height: size,
    fill: 'none',
    stroke: 'currentColor',
    'stroke-width': 1.8,
    'stroke-linecap': 'round',
    'stroke-linejoin': 'round',
    class: className,
  }]);
  if (label) {
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
  } else {
    svg.setAttribute('aria-hidden', 'true');
  }
  for (const item of ICONS[name] || []) svg.append(shape(typeof item === 'string' ? ['path', { d: item }] : item));
  return svg;
}
