// The "Account policy" section (administrators): account facts and the 2FA requirement.

import { api } from '../api.js';
import { h, messageLine } from '../dom.js';
import { card, sectionHeading } from '../ui.js';

const REGIONS = { eu: 'European Union', us: 'United States' };

export async function renderPolicy(container, app) {
  const { tenant } = await api.get('/api/account');
  const status = messageLine('policy-status');
  const toggle = h('input', { type: 'checkbox', id: 'require-totp', class: 'switch', role: 'switch', 'data-testid': 'require-totp', checked: tenant.require_totp });

  toggle.addEventListener('change', async () => {
    const wanted = toggle.checked;
    toggle.disabled = true;
    status.hide();
    try {
      const { tenant: updated } = await api.patch('/api/account/policy', { require_totp: wanted });
      toggle.checked = updated.require_totp;
      app.me.tenant = updated;
      status.show(
        updated.require_totp
          ? 'Saved. Everyone without two-factor authentication must set it up before they can continue.'
          : 'Saved. Two-factor authentication is now optional.',
        'success',
      );
      if (updated.require_totp && !app.me.totp_enabled) await app.reload();
    } catch (err) {
      toggle.checked = !wanted;
      if (err.error !== 'not_authenticated' && err.error !== 'totp_enrollment_required') status.show(err.message);
    } finally {
      toggle.disabled = false;
    }
  });

  const facts = h('dl', { class: 'facts', 'data-testid': 'account-facts' },
    h('div', {}, h('dt', {}, 'Account'), h('dd', { 'data-testid': 'policy-account-name' }, tenant.name)),
    h('div', {}, h('dt', {}, 'Data region'), h('dd', {}, `${REGIONS[tenant.region] || tenant.region} (${tenant.region})`)),
    h('div', {}, h('dt', {}, 'Account ID'), h('dd', { class: 'mono' }, tenant.id)));

  container.replaceChildren(
    sectionHeading('Account policy', 'Rules that apply to every user of this account.'),
    card({ title: 'Account', description: 'Recordings, snapshots and session data of this account stay in its region.', testid: 'account-info' }, facts),
    card({ title: 'Two-factor authentication', testid: 'policy-totp' },
      h('div', { class: 'setting' },
        h('div', {},
          h('label', { for: 'require-totp', class: 'setting-label' }, 'Require two-factor authentication for everyone'),
          h('p', { class: 'muted small' },
            'Users who have not set it up are asked to do so right after their next sign-in, and can do nothing else until they have.')),
        toggle),
      status.el),
  );
}
