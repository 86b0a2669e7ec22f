// The "Account policy" section (administrators): account facts, seats and subscription,
// the 2FA requirement and the policies every session follows (PATCH /api/account/policy).

import { api } from '../api.js';
import { busy, h, messageLine, nextId } from '../dom.js';
import { card, sectionHeading, toast } from '../ui.js';
import { brandingCard } from './branding.js';
import { dangerZoneCard } from './deletion.js';

const REGIONS = { eu: 'European Union', us: 'United States' };

// The on/off policies of sessions, with what each means for agents and customers.
const SWITCHES = [
  ['two_way_audio', 'Two-way audio', 'The customer hears the agents. Off: only the agents hear the customer.'],
  ['snapshots', 'Snapshots', 'Agents may keep stills of the customer’s camera with the session.'],
  ['chat', 'Chat', 'Agents and the customer may write to each other during the session.'],
  ['pin_joining', 'PIN joining', 'Each invitation has a 6-digit PIN the customer can type at /join. Off: the link or QR code only.'],
  ['customer_rating', 'Customer rating', 'After the session the customer is asked to rate it (1–5, with a comment).'],
];

const NUMBERS = [
  ['join_link_minutes', 'Join link valid for (minutes)', 1, 1440, 'How long a new join link and PIN work until first used: 1 to 1440 minutes (a day).'],
  ['retention_days', 'Keep session content for (days)', 1, 3650, 'Chat, notes and snapshots of a session: 1 to 3650 days (ten years).'],
];

const RECORDING = [
  ['off', 'Off'],
  ['agent_choice', 'The agent chooses'],
  ['always', 'Always'],
];

const quiet = (err) => err.error === 'not_authenticated' || err.error === 'totp_enrollment_required';

/** "12 of 25 used" / "12 used, no limit". */
function seatsText(seats) {
  if (!seats) return '—';
  return seats.total === null || seats.total === undefined
    ? `${seats.used} used, no limit`
    : `${seats.used} of ${seats.total} used`;
}

function subscriptionText(tenant) {
  if (!tenant.subscription_ends) return 'Does not end';
  const day = new Date(`${tenant.subscription_ends}T00:00:00Z`).toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });
  return tenant.subscription_active === false
    ? `Ended on ${day}: no new sessions can be started`
    : `Last day ${day}`;
}

/** A field's error line, right below it. */
function fieldError(input, testid) {
  const el = h('p', { class: 'field-error', id: `${input.id}-error`, 'data-testid': testid, hidden: true });
  return {
    el,
    show(text) {
      el.textContent = text;
      el.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-errormessage', el.id);
    },
    hide() {
      el.hidden = true;
      el.textContent = '';
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-errormessage');
    },
  };
}

export async function renderPolicy(container, app) {
  let { tenant } = await api.get('/api/account');
  const status = messageLine('policy-status');
  const toggle = h('input', { type: 'checkbox', id: 'require-totp', class: 'switch', role: 'switch', 'data-testid': 'require-totp', checked: tenant.require_totp });

  const remember = (updated) => {
    tenant = { ...tenant, ...updated };
    app.me.tenant = { ...app.me.tenant, ...updated };
  };

  toggle.addEventListener('change', async () => {
    const wanted = toggle.checked;
    toggle.disabled = true;
    status.hide();
    try {
      const { tenant: updated } = await api.patch('/api/account/policy', { require_totp: wanted });
      toggle.checked = updated.require_totp;
      remember(updated);
      status.show(
        updated.require_totp
          ? 'Saved. Everyone without two-factor authentication must set it up before they can continue.'
          : 'Saved. Two-factor authentication is now optional.',
        'success',
      );
      if (updated.require_totp && !app.me.totp_enabled) await app.reload();
    } catch (err) {
      toggle.checked = !wanted;
      if (!quiet(err)) status.show(err.message);
    } finally {
      toggle.disabled = false;
    }
  });

  // -- session switches: each saved as soon as it is flipped ------------------------------

  const switchRows = SWITCHES.map(([name, label, hint]) => {
    const id = nextId('policy');
    const input = h('input', { type: 'checkbox', id, class: 'switch', role: 'switch', 'data-testid': `policy-${name}`, checked: tenant[name] !== false, 'aria-describedby': `${id}-hint` });
    const error = fieldError(input, `policy-${name}-error`);
    input.addEventListener('change', async () => {
      const wanted = input.checked;
      input.disabled = true;
      error.hide();
      try {
        const { tenant: updated } = await api.patch('/api/account/policy', { [name]: wanted });
        input.checked = updated[name];
        remember(updated);
        toast(`${label}: ${updated[name] ? 'on' : 'off'}. New sessions follow it.`);
      } catch (err) {
        input.checked = !wanted;
        if (!quiet(err)) error.show(err.message);
      } finally {
        input.disabled = false;
      }
    });
    return h('div', { class: 'setting policy-setting' },
      h('div', {},
        h('label', { for: id, class: 'setting-label' }, label),
        h('p', { class: 'muted small', id: `${id}-hint` }, hint),
        error.el),
      input);
  });

  // -- numbers and recording: a form with Save -------------------------------------------

  const inputs = new Map(); // policy name -> {input, error}
  const numberFields = NUMBERS.map(([name, label, min, max, hint]) => {
    const id = nextId('policy');
    const input = h('input', {
      id, type: 'number', class: 'input input-small', min: String(min), max: String(max), step: '1',
      inputmode: 'numeric', required: true, value: String(tenant[name]), 'data-testid': `policy-${name}`, 'aria-describedby': `${id}-hint`,
    });
    const error = fieldError(input, `policy-${name}-error`);
    inputs.set(name, { input, error, read: () => Number(input.value.trim()), min, max, label });
    return h('div', { class: 'field' },
      h('label', { class: 'label', for: id }, label), input, error.el,
      h('p', { class: 'hint', id: `${id}-hint` }, hint));
  });
  const recordingId = nextId('policy');
  const recording = h('select', { id: recordingId, class: 'input select', 'data-testid': 'policy-recording' },
    RECORDING.map(([value, text]) => h('option', { value, selected: tenant.recording === value }, text)));
  const recordingError = fieldError(recording, 'policy-recording-error');
  inputs.set('recording', { input: recording, error: recordingError, read: () => recording.value });
  const saveMessage = messageLine('policy-save-status');
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'policy-save' }, 'Save');
  const form = h('form', { class: 'policy-form', novalidate: true, 'data-testid': 'policy-form' },
    numberFields,
    h('div', { class: 'field' },
      h('label', { class: 'label', for: recordingId }, 'Recording'), recording, recordingError.el,
      h('p', { class: 'hint' }, 'Whether sessions are recorded: never, when the agent chooses, or always. Stored for the recording feature.')),
    h('div', { class: 'row' }, save), saveMessage.el);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    saveMessage.hide();
    const changes = {};
    let first = null;
    for (const [name, { input, error, read, min, max, label }] of inputs) {
      error.hide();
      const value = read();
      if (min !== undefined && (input.value.trim() === '' || !Number.isInteger(value) || value < min || value > max)) {
        error.show(`${label.replace(/ \(.*\)$/, '')}: a whole number from ${min} to ${max}.`);
        first = first || input;
      } else if (value !== tenant[name]) {
        changes[name] = value;
      }
    }
    if (first) {
      first.focus();
      return;
    }
    if (!Object.keys(changes).length) {
      saveMessage.show('Nothing to save: these are the policies in force.', 'info');
      return;
    }
    try {
      const { tenant: updated } = await busy(form, () => api.patch('/api/account/policy', changes));
      remember(updated);
      saveMessage.show('Saved. New sessions and new links follow it.', 'success');
    } catch (err) {
      if (quiet(err)) return;
      const at = err.field && inputs.get(err.field);
      if (at) {
        at.error.show(err.message);
        at.input.focus();
      } else {
        saveMessage.show(err.message);
      }
    }
  });

  const facts = h('dl', { class: 'facts', 'data-testid': 'account-facts' },
    h('div', {}, h('dt', {}, 'Account'), h('dd', { 'data-testid': 'policy-account-name' }, tenant.name)),
    h('div', {}, h('dt', {}, 'Data region'), h('dd', {}, `${REGIONS[tenant.region] || tenant.region} (${tenant.region})`)),
    h('div', {}, h('dt', {}, 'Seats'), h('dd', { 'data-testid': 'policy-seats' }, seatsText(tenant.seats))),
    h('div', {}, h('dt', {}, 'Subscription'), h('dd', { 'data-testid': 'policy-subscription', 'data-active': String(tenant.subscription_active !== false) }, subscriptionText(tenant))),
    h('div', {}, h('dt', {}, 'Account ID'), h('dd', { class: 'mono' }, tenant.id)));

  container.replaceChildren(
    sectionHeading('Account policy', 'Rules that apply to every user of this account.'),
    card({ title: 'Account', description: 'Seats and the subscription are set by the operator of this LiveLens server. Recordings, snapshots and session data of this account stay in its region.', testid: 'account-info' }, facts),
    card({ title: 'Two-factor authentication', testid: 'policy-totp' },
      h('div', { class: 'setting' },
        h('div', {},
          h('label', { for: 'require-totp', class: 'setting-label' }, 'Require two-factor authentication for everyone'),
          h('p', { class: 'muted small' },
            'Users who have not set it up are asked to do so right after their next sign-in, and can do nothing else until they have.')),
        toggle),
      status.el),
    card({ title: 'In every session', description: 'A session keeps the policy it started with; a change applies to sessions started afterwards. The server refuses what is off.', testid: 'policy-session' },
      h('div', { class: 'policy-settings' }, switchRows)),
    card({ title: 'Links, retention and recording', testid: 'policy-limits' }, form),
    await brandingCard(tenant), // the customer page's branding (views/branding.js)
    dangerZoneCard(tenant, container), // deleting the account (views/deletion.js)
  );
}
