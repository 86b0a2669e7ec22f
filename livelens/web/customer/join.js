// Joining: with the token of the link the agent sent (in the address's #fragment), with
// the PIN the agent reads out, or again after a reload (this device is already bound to
// the session by an HttpOnly cookie; the page only remembers whom it is talking to).

import { request } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { setBrand } from './brand.js';
import { panel, screen, show, title } from './cards.js';
import { showConsent } from './consent.js';
import { startLink } from './link.js';
import { showNoWebrtc, webrtcMissing } from './problems.js';
import { page } from './state.js';

const RESUME_KEY = 'livelens.join'; // {company, agent, brand}: nothing secret (the binding is an HttpOnly cookie)

/** The first screen: join with the link's token, resume after a reload, or ask for the PIN. */
export async function startJoining() {
  const token = tokenFromAddress();
  if (token) {
    forgetAddressToken();
    try {
      await join({ token });
    } catch (err) {
      showPinForm({ heading: 'link.unusableTitle', error: joinError(err, 'token') });
    }
    return;
  }
  const saved = remembered();
  if (saved) {
    // The page was reloaded: this device is already bound to the session (HttpOnly cookie).
    page.company = saved.company || '';
    page.agent = saved.agent || '';
    setBrand(saved.brand);
    screen(() => show(panel('resume-screen',
      h('div', { class: 'join-wait' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }),
        title(t('resume.title'))))));
    startLink();
    return;
  }
  showPinForm();
}

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
    sessionStorage.setItem(RESUME_KEY, JSON.stringify({ company: page.company, agent: page.agent, brand: page.brand }));
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

/** The visit is over: a reload asks for a PIN again. */
export function forget() {
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
  page.recording = answer.recording || 'off';
  setBrand(answer.brand);
  remember();
  startLink();
  if (webrtcMissing()) showNoWebrtc();
  else if (answer.session && answer.session.status === 'joined') showConsent();
  else showConsent({ resume: true });
}

/** The catalogue key (and its parameters) that explains a refused join. */
function joinError(err, via) {
  switch (err.error) {
    case 'link_used':
      return ['error.linkUsed'];
    case 'rate_limited':
      return ['error.rateLimited', { count: Math.max(1, Math.ceil(Number(err.retry_after) || 60)) }];
    case 'not_found':
      return [via === 'pin' ? 'error.badPin' : 'error.badLink'];
    case 'invalid_input':
      return [via === 'pin' ? 'pin.invalidFormat' : 'error.badLink'];
    case 'session_ended':
      return [err.outcome === 'expired' ? 'error.linkExpired' : 'error.sessionEnded'];
    case 'pin_joining_off':
      return ['error.pinJoiningOff'];
    case 'network_error':
      return ['error.network'];
    default:
      return ['error.generic'];
  }
}

/** The PIN form; `error` is a catalogue key and its parameters, `heading` a key. */
export function showPinForm({ error = null, heading = 'pin.title' } = {}) {
  screen(() => renderPinForm({ error, heading }));
}

function renderPinForm({ error, heading }) {
  const input = h('input', {
    id: 'pin',
    class: 'input pin-input',
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9 ]*',
    maxlength: '7',
    placeholder: t('pin.placeholder'),
    required: true,
    'aria-describedby': 'pin-hint',
    'data-testid': 'pin-input',
  });
  const message = h('p', { class: 'message message-error', role: 'alert', 'data-testid': 'join-error', hidden: !error },
    error ? t(...error) : '');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block btn-large', 'data-testid': 'pin-submit' }, t('pin.submit'));
  const form = h('form', { class: 'form', novalidate: true, 'data-testid': 'pin-form' },
    h('div', { class: 'field' },
      h('label', { class: 'label', for: 'pin' }, t('pin.label')),
      input,
      h('p', { class: 'hint', id: 'pin-hint' }, t('pin.hint'))),
    submit);
  const fail = (reason) => {
    // Kept for a language switch: the message is drawn again in the new language.
    page.render = () => renderPinForm({ error: reason, heading });
    message.textContent = t(...reason);
    message.hidden = false;
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const digits = input.value.replace(/\D/g, '');
    if (digits.length !== 6) {
      fail(['pin.invalidFormat']);
      input.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = t('pin.checking');
    try {
      await join({ pin: digits });
    } catch (err) {
      fail(joinError(err, 'pin'));
      submit.disabled = false;
      submit.textContent = t('pin.submit');
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
    title(t(heading)),
    error ? null : h('p', { class: 'join-lead' }, t('pin.lead')),
    message,
    form,
    h('p', { class: 'hint join-alt' }, t('pin.alt'))));
  if (!error) input.focus();
}
