// The "Account policy" section (administrators): account facts, seats and subscription,
// the 2FA requirement and the policies every session follows (PATCH /api/account/policy).

import { api } from '../api.js';
import { busy, h, messageLine, nextId } from '../dom.js';
import { formatDateTime, t, wordsOf } from '../i18n.js';
import { card, sectionHeading, toast } from '../ui.js';
import { brandingCard } from './branding.js';
import { dangerZoneCard } from './deletion.js';

const REGIONS = wordsOf({ eu: 'console.region.eu', us: 'console.region.us' });

// The on/off policies of sessions, with what each means for agents and customers.
// (label and hint are catalogue keys)
const SWITCHES = [
  ['two_way_audio', 'console.policy.audio', 'console.policy.audioHint'],
  ['snapshots', 'console.policy.snapshots', 'console.policy.snapshotsHint'],
  ['chat', 'console.policy.chat', 'console.policy.chatHint'],
  ['pin_joining', 'console.policy.pin', 'console.policy.pinHint'],
  ['customer_rating', 'console.policy.rating', 'console.policy.ratingHint'],
];

// (label, name in an error and hint are catalogue keys)
const NUMBERS = [
  ['join_link_minutes', 'console.policy.joinLink', 'console.policy.joinLinkName', 1, 1440, 'console.policy.joinLinkHint'],
  ['retention_days', 'console.policy.retention', 'console.policy.retentionName', 1, 3650, 'console.policy.retentionHint'],
];

const RECORDING = [
  ['off', 'console.off'],
  ['agent', 'console.policy.agentChooses'],
  ['always', 'console.policy.always'],
];

const quiet = (err) => err.error === 'not_authenticated' || err.error === 'totp_enrollment_required';

/** "12 of 25 used" / "12 used, no limit". */
function seatsText(seats) {
  if (!seats) return '—';
  return seats.total === null || seats.total === undefined
    ? t('console.policy.seatsUnlimited', { used: seats.used })
    : t('console.policy.seats', { used: seats.used, total: seats.total });
}

function subscriptionText(tenant) {
  if (!tenant.subscription_ends) return t('console.policy.noEnd');
  const day = formatDateTime(new Date(`${tenant.subscription_ends}T00:00:00Z`), { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });
  return tenant.subscription_active === false
    ? t('console.policy.ended', { day })
    : t('console.policy.lastDay', { day });
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
          ? t('console.policy.totpOn')
          : t('console.policy.totpOff'),
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

  const switchRows = SWITCHES.map(([name, labelKey, hintKey]) => {
    const [label, hint] = [t(labelKey), t(hintKey)];
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
        toast(t(updated[name] ? 'console.policy.switchedOn' : 'console.policy.switchedOff', { label }));
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
  const numberFields = NUMBERS.map(([name, labelKey, nameKey, min, max, hintKey]) => {
    const [label, hint] = [t(labelKey), t(hintKey)];
    const id = nextId('policy');
    const input = h('input', {
      id, type: 'number', class: 'input input-small', min: String(min), max: String(max), step: '1',
      inputmode: 'numeric', required: true, value: String(tenant[name]), 'data-testid': `policy-${name}`, 'aria-describedby': `${id}-hint`,
    });
    const error = fieldError(input, `policy-${name}-error`);
    inputs.set(name, { input, error, read: () => Number(input.value.trim()), min, max, what: t(nameKey) });
    return h('div', { class: 'field' },
      h('label', { class: 'label', for: id }, label), input, error.el,
      h('p', { class: 'hint', id: `${id}-hint` }, hint));
  });
  const recordingId = nextId('policy');
  const recording = h('select', { id: recordingId, class: 'input select', 'data-testid': 'policy-recording' },
    RECORDING.map(([value, key]) => h('option', { value, selected: tenant.recording === value }, t(key))));
  const recordingError = fieldError(recording, 'policy-recording-error');
  inputs.set('recording', { input: recording, error: recordingError, read: () => recording.value });
  const saveMessage = messageLine('policy-save-status');
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'policy-save' }, t('console.save'));
  const form = h('form', { class: 'policy-form', novalidate: true, 'data-testid': 'policy-form' },
    numberFields,
    h('div', { class: 'field' },
      h('label', { class: 'label', for: recordingId }, t('console.policy.recording')), recording, recordingError.el,
      h('p', { class: 'hint' }, t('console.policy.recordingHint'))),
    h('div', { class: 'row' }, save), saveMessage.el);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    saveMessage.hide();
    const changes = {};
    let first = null;
    for (const [name, { input, error, read, min, max, what }] of inputs) {
      error.hide();
      const value = read();
      if (min !== undefined && (input.value.trim() === '' || !Number.isInteger(value) || value < min || value > max)) {
        error.show(t('console.policy.wholeNumber', { what, min: String(min), max: String(max) }));
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
      saveMessage.show(t('console.policy.nothing'), 'info');
      return;
    }
    try {
      const { tenant: updated } = await busy(form, () => api.patch('/api/account/policy', changes));
      remember(updated);
      saveMessage.show(t('console.policy.saved'), 'success');
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
    h('div', {}, h('dt', {}, t('console.policy.account')), h('dd', { 'data-testid': 'policy-account-name' }, tenant.name)),
    h('div', {}, h('dt', {}, t('console.shell.dataRegion')), h('dd', {}, `${REGIONS[tenant.region] || tenant.region} (${tenant.region})`)),
    h('div', {}, h('dt', {}, t('console.policy.seatsLabel')), h('dd', { 'data-testid': 'policy-seats' }, seatsText(tenant.seats))),
    h('div', {}, h('dt', {}, t('console.policy.subscription')), h('dd', { 'data-testid': 'policy-subscription', 'data-active': String(tenant.subscription_active !== false) }, subscriptionText(tenant))),
    h('div', {}, h('dt', {}, t('console.policy.accountId')), h('dd', { class: 'mono' }, tenant.id)));

  container.replaceChildren(
    sectionHeading(t('console.nav.policy'), t('console.policy.subtitle')),
    card({ title: t('console.policy.account'), description: t('console.policy.accountText'), testid: 'account-info' }, facts),
    card({ title: t('console.totp.title'), testid: 'policy-totp' },
      h('div', { class: 'setting' },
        h('div', {},
          h('label', { for: 'require-totp', class: 'setting-label' }, t('console.policy.requireTotp')),
          h('p', { class: 'muted small' },
            t('console.policy.requireTotpHint'))),
        toggle),
      status.el),
    card({ title: t('console.policy.sessionTitle'), description: t('console.policy.sessionText'), testid: 'policy-session' },
      h('div', { class: 'policy-settings' }, switchRows)),
    card({ title: t('console.policy.limitsTitle'), testid: 'policy-limits' }, form),
    await brandingCard(tenant), // the customer page's branding (views/branding.js)
    dangerZoneCard(tenant, container), // deleting the account (views/deletion.js)
  );
}
