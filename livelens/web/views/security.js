// The "Security" section: two-factor authentication, password, and signed-in browsers.

import { api } from '../api.js';
import { busy, field, h, messageLine, newPasswordField } from '../dom.js';
import { t } from '../i18n.js';
import { askFirst, badge, card, sectionHeading, toast } from '../ui.js';
import { totpEnrollment } from './totp.js';

function twoFactorCard(app) {
  const body = h('div', { class: 'stack' });
  const status = h('span', { 'data-testid': 'totp-status' });
  const required = app.me.tenant.require_totp;

  const showStatus = (on) => {
    status.replaceChildren(on ? badge(t('console.on'), 'success') : badge(t('console.off'), required ? 'danger' : 'neutral'));
  };

  const render = () => {
    const on = app.me.totp_enabled;
    showStatus(on);
    if (!on) {
      body.replaceChildren(
        totpEnrollment({
          intro: required
            ? t('console.security.required')
            : t('console.security.intro'),
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
          t('console.security.requiredNote')),
      );
      return;
    }
    const password = field({ label: t('console.security.yourPassword'), type: 'password', testid: 'totp-disable-password', autocomplete: 'current-password', required: true });
    const error = messageLine('totp-disable-error');
    const form = h('form', { class: 'form form-inline', novalidate: true, 'data-testid': 'totp-disable-form' },
      password.wrap,
      h('button', { type: 'submit', class: 'btn btn-danger-outline', 'data-testid': 'totp-disable' }, t('console.security.turnOff')),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hide();
      if (!password.input.value) {
        error.show(t('console.security.enterPassword'));
        password.input.focus();
        return;
      }
      try {
        await busy(form, () => api.post('/api/auth/totp/disable', { password: password.input.value }));
        await app.refreshMe();
        toast(t('console.security.isOff'));
        render();
      } catch (err) {
        error.show(err.error === 'invalid_credentials' ? t('console.security.wrongPassword') : err.message);
        password.input.value = '';
        password.input.focus();
      }
    });
    body.replaceChildren(
      h('p', { class: 'muted' }, t('console.security.onNote')),
      h('h3', { class: 'subheading' }, t('console.security.turnOffTitle')),
      form,
      error.el,
    );
  };
  render();
  return card({ title: t('console.totp.title'), testid: 'security-totp', actions: status }, body);
}

function passwordCard() {
  const current = field({ label: t('console.security.currentPassword'), type: 'password', testid: 'password-current', autocomplete: 'current-password', required: true });
  const next = newPasswordField({ label: t('console.field.newPassword'), testid: 'password-new' });
  const message = messageLine('password-message');
  const form = h('form', { class: 'form', novalidate: true, 'data-testid': 'password-form' },
    current.wrap, next.wrap, message.el,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'password-submit' }, t('console.security.changePassword'))));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    if (!current.input.value || !next.input.value) {
      message.show(t('console.security.missing'));
      return;
    }
    try {
      await busy(form, () => api.post('/api/auth/password', { current_password: current.input.value, new_password: next.input.value }));
      form.reset();
      message.show(t('console.security.changed'), 'success');
    } catch (err) {
      if (err.error === 'invalid_credentials') {
        message.show(t('console.security.wrongCurrent'));
        current.input.value = '';
        current.input.focus();
      } else if (err.error !== 'not_authenticated') {
        message.show(err.message);
        next.input.focus();
      }
    }
  });
  return card({ title: t('console.field.password'), description: t('console.security.passwordText'), testid: 'security-password' }, form);
}

function sessionsCard(app) {
  const button = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'revoke-own-sessions' }, t('console.security.everywhere'));
  askFirst(button, {
    ask: {
      title: t('console.security.everywhereTitle'),
      text: t('console.security.everywhereText'),
      confirmLabel: t('console.security.everywhere'),
    },
    run: async () => {
      const { revoked } = await api.post('/api/auth/sessions/revoke');
      const n = Number(revoked) || 0;
      app.signedOut(t('console.security.signedOut', { count: n }));
    },
    failed: (err) => toast(err.message, 'error'),
  });
  return card(
    { title: t('console.security.browsers'), description: t('console.security.browsersText'), testid: 'security-sessions' },
    h('div', { class: 'row' }, button),
  );
}

export function renderSecurity(container, app) {
  container.replaceChildren(
    sectionHeading(t('console.nav.security'), t('console.security.subtitle', { email: app.me.user.email })),
    twoFactorCard(app),
    passwordCard(app),
    sessionsCard(app),
  );
}
