// Tiny DOM helpers. Text always goes in through text nodes, never through HTML parsing.

import { formatDateTime, t } from './i18n.js';

const PROPERTIES = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'required']);

/**
 * h('button', {class: 'btn', 'data-testid': 'x', onclick: fn}, 'Label', child, ...)
 * Children may be strings, numbers, nodes, arrays, or null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (PROPERTIES.has(key)) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

let uid = 0;
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled input block: returns {wrap, input}. */
export function field({ label, hint, testid, type = 'text', ...attrs }) {
  const id = nextId('field');
  const hintId = hint ? `${id}-hint` : null;
  const input = h('input', {
    id,
    type,
    class: 'input',
    'data-testid': testid,
    'aria-describedby': hintId,
    ...attrs,
  });
  const wrap = h(
    'div',
    { class: 'field' },
    h('label', { for: id, class: 'label' }, label),
    input,
    hint ? h('p', { id: hintId, class: 'hint' }, hint) : null,
  );
  return { wrap, input };
}

/** A field for choosing a password, with the password rule (and `more`) as its hint. */
export function newPasswordField({ label, testid, more = '' }) {
  const rule = t('console.password.rule');
  return field({
    label,
    testid,
    type: 'password',
    autocomplete: 'new-password',
    required: true,
    hint: more ? `${rule} ${more}` : rule,
  });
}

/** A message line for a form: hidden until show(text, kind). */
export function messageLine(testid) {
  const el = h('p', { class: 'message', role: 'alert', 'data-testid': testid, hidden: true });
  return {
    el,
    show(text, kind = 'error') {
      el.textContent = text;
      el.className = `message message-${kind}`;
      el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
      el.hidden = false;
    },
    hide() {
      el.hidden = true;
      el.textContent = '';
    },
  };
}

/** Disable a form's controls and mark its submit button busy while fn runs. */
export async function busy(form, fn) {
  const controls = [...form.querySelectorAll('button, input, select, textarea')];
  const before = controls.map((c) => c.disabled);
  controls.forEach((c) => {
    c.disabled = true;
  });
  form.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    form.removeAttribute('aria-busy');
    controls.forEach((c, i) => {
      if (c.isConnected) c.disabled = before[i];
    });
  }
}

/** "in 5 minutes" / "in 42 seconds" for a number of seconds to wait. */
export function waitText(seconds) {
  const s = Math.max(1, Math.ceil(Number(seconds) || 0));
  if (s >= 60) return t('console.wait.minutes', { count: Math.ceil(s / 60) });
  return t('console.wait.seconds', { count: s });
}

/** A date and time in the console's language ("Dec 3, 2026, 02:35:53 PM"). */
export function formatTime(epochSeconds) {
  return formatDateTime(Number(epochSeconds), {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** A day in the console's language ("Dec 3, 2026"). */
export function formatDate(epochSeconds) {
  return formatDateTime(Number(epochSeconds), { year: 'numeric', month: 'short', day: 'numeric' });
}
