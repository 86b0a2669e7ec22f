// The "Security" section: two-factor authentication, password, and signed-in browsers.

import { api } from '../api.js';
import { busy, field, h, messageLine, newPasswordField } from '../dom.js';
import { askFirst, badge, card, sectionHeading, toast } from '../ui.js';
import { totpEnrollment } from './totp.js';

function twoFactorCard(app) {
  const body = h('div', { class: 'stack' });
  const status = h('span', { 'data-testid': 'totp-status' });
  const required = app.me.tenant.require_totp;

  const showStatus = (on) => {
    status.replaceChildren(on ? badge('On', 'success') : badge('Off', required ? 'danger' : 'neutral'));
  };

  const render = () => {
    const on = app.me.totp_enabled;
    showStatus(on);
    if (!on) {
      body.replaceChildren(
        totpEnrollment({
          intro: required
            ? 'Your account administrator requires two-factor authentication.'
            : 'Protect your account with a second step at sign-in: a code from an authenticator app on your phone.',
          // On from the moment it is confirmed, while the recovery codes are still shown.
          onEnabled: () => showStatus(true),
          onDone: async () => {
            await app.refreshMe();
            render();
          },
          onCancel: () => render(),
        }),
      );
      return;
    }
    if (required) {
      body.replaceChildren(
        h('p', { class: 'muted', 'data-testid': 'totp-required-note' },
          'Sign-in asks for a code from your authenticator app. Your account administrator requires two-factor authentication, so it cannot be turned off.'),
      );
      return;
    }
    const password = field({ label: 'Your password', type: 'password', testid: 'totp-disable-password', autocomplete: 'current-password', required: true });
    const error = messageLine('totp-disable-error');
    const form = h('form', { class: 'form form-inline', novalidate: true, 'data-testid': 'totp-disable-form' },
      password.wrap,
      h('button', { type: 'submit', class: 'btn btn-danger-outline', 'data-testid': 'totp-disable' }, 'Turn off'),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hide();
      if (!password.input.value) {
        error.show('Enter your password to turn off two-factor authentication.');
        password.input.focus();
        return;
      }
      try {
        await busy(form, () => api.post('/api/auth/totp/disable', { password: password.input.value }));
        await app.refreshMe();
        toast('Two-factor authentication is off.');
        render();
      } catch (err) {
        error.show(err.error === 'invalid_credentials' ? 'Your password is not correct.' : err.message);
        password.input.value = '';
        password.input.focus();
      }
    });
    body.replaceChildren(
      h('p', { class: 'muted' }, 'Sign-in asks for a code from your authenticator app, or one of your recovery codes.'),
      h('h3', { class: 'subheading' }, 'Turn off two-factor authentication'),
      form,
      error.el,
    );
  };
  render();
  return card({ title: 'Two-factor authentication', testid: 'security-totp', actions: status }, body);
}

function passwordCard() {
  const current = field({ label: 'Current password', type: 'password', testid: 'password-current', autocomplete: 'current-password', required: true });
  const next = newPasswordField({ label: 'New password', testid: 'password-new' });
  const message = messageLine('password-message');
  const form = h('form', { class: 'form', novalidate: true, 'data-testid': 'password-form' },
    current.wrap, next.wrap, message.el,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'password-submit' }, 'Change password')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    if (!current.input.value || !next.input.value) {
      message.show('Enter your current password and a new one.');
      return;
    }
    try {
      await busy(form, () => api.post('/api/auth/password', { current_password: current.input.value, new_password: next.input.value }));
      form.reset();
      message.show('Password changed. Other browsers signed in to your account were signed out.', 'success');
    } catch (err) {
      if (err.error === 'invalid_credentials') {
        message.show('Your current password is not correct.');
        current.input.value = '';
        current.input.focus();
      } else if (err.error !== 'not_authenticated') {
        message.show(err.message);
        next.input.focus();
      }
    }
  });
  return card({ title: 'Password', description: 'Changing it signs out your other browsers.', testid: 'security-password' }, form);
}

function sessionsCard(app) {
  const button = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'revoke-own-sessions' }, 'Sign out everywhere');
  askFirst(button, {
    ask: {
      title: 'Sign out everywhere?',
      text: 'This signs you out of every browser and device, including this one.',
      confirmLabel: 'Sign out everywhere',
    },
    run: async () => {
      const { revoked } = await api.post('/api/auth/sessions/revoke');
      const n = Number(revoked) || 0;
      app.signedOut(`You were signed out of ${n} browser${n === 1 ? '' : 's'}.`);
    },
    failed: (err) => toast(err.message, 'error'),
  });
  return card(
    { title: 'Signed-in browsers', description: 'Lost a device or used a shared computer? End all your sign-ins at once.', testid: 'security-sessions' },
    h('div', { class: 'row' }, button),
  );
}

export function renderSecurity(container, app) {
  container.replaceChildren(
    sectionHeading('Security', `Sign-in settings for ${app.me.user.email}.`),
    twoFactorCard(app),
    passwordCard(app),
    sessionsCard(app),
  );
}
