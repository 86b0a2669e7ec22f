// The sign-in screen: e-mail and password, then a TOTP or recovery code when asked.

import { api } from '../api.js';
import { busy, field, h, messageLine, waitText } from '../dom.js';
import { t } from '../i18n.js';
import { languageSwitcher } from './shell.js';

// The server's refusals the sign-in form explains in its own words (read when shown).
const MESSAGES = {
  invalid_credentials: 'console.login.wrongPassword',
  otp_required: 'console.login.otpRequired',
  invalid_otp: 'console.login.invalidOtp',
  invalid_input: 'console.login.missing',
};

export function lockoutMessage(retryAfter) {
  return t('console.login.locked', { wait: waitText(retryAfter) });
}

/**
 * Render the sign-in screen into `root`. `notice` is an optional line shown above
 * the form (e.g. "You have been signed out."). Calls onSignedIn(result) on success.
 */
export function renderLogin(root, { notice, onSignedIn }) {
  const email = field({
    label: t('console.field.email'),
    type: 'email',
    testid: 'login-email',
    name: 'email',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    required: true,
  });
  const password = field({
    label: t('console.field.password'),
    type: 'password',
    testid: 'login-password',
    name: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const otp = field({
    label: t('console.login.otpLabel'),
    hint: t('console.login.otpHint'),
    testid: 'login-otp',
    name: 'otp',
    autocomplete: 'one-time-code',
    inputmode: 'numeric',
    autocapitalize: 'none',
    spellcheck: 'false',
    maxlength: '32',
  });
  otp.wrap.hidden = true;
  const hint = otp.wrap.querySelector('.hint');
  const otpLabel = otp.wrap.querySelector('label');

  let recoveryMode = false;
  const recoveryToggle = h(
    'button',
    { type: 'button', class: 'link-button', 'data-testid': 'login-use-recovery' },
    t('console.login.useRecovery'),
  );
  recoveryToggle.addEventListener('click', () => {
    recoveryMode = !recoveryMode;
    otpLabel.textContent = recoveryMode ? t('console.login.recoveryLabel') : t('console.login.otpLabel');
    hint.textContent = recoveryMode
      ? t('console.login.recoveryHint')
      : t('console.login.otpHint');
    otp.input.inputMode = recoveryMode ? 'text' : 'numeric';
    recoveryToggle.textContent = recoveryMode ? t('console.login.useApp') : t('console.login.useRecovery');
    otp.input.value = '';
    otp.input.focus();
  });
  otp.wrap.append(recoveryToggle);

  const error = messageLine('login-error');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'login-submit' }, t('console.login.submit'));

  const form = h(
    'form',
    { class: 'form', novalidate: true, 'data-testid': 'login-form', 'aria-labelledby': 'login-title' },
    email.wrap,
    password.wrap,
    otp.wrap,
    error.el,
    submit,
  );

  const showOtp = () => {
    if (!otp.wrap.hidden) return;
    otp.wrap.hidden = false;
    otp.input.required = true;
    email.input.readOnly = true;
    password.input.readOnly = true;
    submit.textContent = t('console.login.verify');
    startOver.hidden = false;
  };
  const startOver = h(
    'button',
    { type: 'button', class: 'link-button', 'data-testid': 'login-start-over', hidden: true },
    t('console.login.startOver'),
  );
  startOver.addEventListener('click', () => {
    otp.wrap.hidden = true;
    otp.input.required = false;
    otp.input.value = '';
    email.input.readOnly = false;
    password.input.readOnly = false;
    password.input.value = '';
    submit.textContent = t('console.login.submit');
    startOver.hidden = true;
    error.hide();
    email.input.focus();
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hide();
    noticeEl?.remove();
    const body = { email: email.input.value.trim(), password: password.input.value };
    if (!body.email || !body.password) {
      error.show(t(MESSAGES.invalid_input));
      (body.email ? password.input : email.input).focus();
      return;
    }
    if (!otp.wrap.hidden) {
      const code = otp.input.value.trim();
      if (!code) {
        error.show(t(MESSAGES.otp_required));
        otp.input.focus();
        return;
      }
      body.otp = recoveryMode ? code : code.replace(/\s+/g, '');
    }
    try {
      const result = await busy(form, () => api.post('/api/auth/login', body, { hooks: false }));
      onSignedIn(result);
    } catch (err) {
      if (err.error === 'otp_required') {
        showOtp();
        error.show(t(MESSAGES.otp_required), 'info');
        otp.input.focus();
      } else if (err.error === 'invalid_otp') {
        error.show(t(MESSAGES.invalid_otp));
        otp.input.value = '';
        otp.input.focus();
      } else if (err.error === 'account_locked') {
        error.show(lockoutMessage(err.retry_after));
      } else if (err.error === 'invalid_credentials') {
        error.show(t(MESSAGES.invalid_credentials));
        password.input.value = '';
        password.input.focus();
      } else {
        error.show(MESSAGES[err.error] ? t(MESSAGES[err.error]) : err.message);
      }
    }
  });

  const noticeEl = notice
    ? h('p', { class: 'message message-info', role: 'status', 'data-testid': 'login-notice' }, notice)
    : null;
  const page = h(
    'main',
    { class: 'auth-page' },
    h(
      'div',
      { class: 'auth-card' },
      h(
        'div',
        { class: 'auth-brand' },
        h('img', { src: '/static/logo.svg', alt: '', class: 'auth-logo', width: '40', height: '40' }),
        h('span', { class: 'brand-name' }, 'LiveLens'),
      ),
      h('h1', { class: 'auth-title', id: 'login-title' }, t('console.login.title')),
      h('p', { class: 'auth-subtitle' }, t('console.login.subtitle')),
      noticeEl,
      form,
      h('div', { class: 'auth-links' }, startOver),
    ),
    h('p', { class: 'auth-footer' }, t('console.login.forgot')),
    h('div', { class: 'auth-footer auth-language' }, languageSwitcher()),
  );
  root.replaceChildren(page);
  email.input.focus();
}
