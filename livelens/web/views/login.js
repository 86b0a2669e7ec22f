// The sign-in screen: e-mail and password, then a TOTP or recovery code when asked.

import { api } from '../api.js';
import { busy, field, h, messageLine, waitText } from '../dom.js';

const MESSAGES = {
  invalid_credentials: 'Wrong e-mail or password.',
  otp_required: 'Enter the 6-digit code from your authenticator app.',
  invalid_otp: 'That code is not valid. Check the time on your phone and try again, or use a recovery code.',
  invalid_input: 'Enter your e-mail address and password.',
};

export function lockoutMessage(retryAfter) {
  return `Too many failed sign-ins. For your security, sign-in is paused. Try again in ${waitText(retryAfter)}.`;
}

/**
 * Render the sign-in screen into `root`. `notice` is an optional line shown above
 * the form (e.g. "You have been signed out."). Calls onSignedIn(result) on success.
 */
export function renderLogin(root, { notice, onSignedIn }) {
  const email = field({
    label: 'E-mail',
    type: 'email',
    testid: 'login-email',
    name: 'email',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    required: true,
  });
  const password = field({
    label: 'Password',
    type: 'password',
    testid: 'login-password',
    name: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const otp = field({
    label: 'Authentication code',
    hint: 'The 6-digit code from your authenticator app.',
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
    'Use a recovery code instead',
  );
  recoveryToggle.addEventListener('click', () => {
    recoveryMode = !recoveryMode;
    otpLabel.textContent = recoveryMode ? 'Recovery code' : 'Authentication code';
    hint.textContent = recoveryMode
      ? 'One of the recovery codes you saved when you set up two-factor authentication. Each works once.'
      : 'The 6-digit code from your authenticator app.';
    otp.input.inputMode = recoveryMode ? 'text' : 'numeric';
    recoveryToggle.textContent = recoveryMode ? 'Use a code from the app instead' : 'Use a recovery code instead';
    otp.input.value = '';
    otp.input.focus();
  });
  otp.wrap.append(recoveryToggle);

  const error = messageLine('login-error');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'login-submit' }, 'Sign in');

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
    submit.textContent = 'Verify and sign in';
    startOver.hidden = false;
  };
  const startOver = h(
    'button',
    { type: 'button', class: 'link-button', 'data-testid': 'login-start-over', hidden: true },
    'Sign in as someone else',
  );
  startOver.addEventListener('click', () => {
    otp.wrap.hidden = true;
    otp.input.required = false;
    otp.input.value = '';
    email.input.readOnly = false;
    password.input.readOnly = false;
    password.input.value = '';
    submit.textContent = 'Sign in';
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
      error.show(MESSAGES.invalid_input);
      (body.email ? password.input : email.input).focus();
      return;
    }
    if (!otp.wrap.hidden) {
      const code = otp.input.value.trim();
      if (!code) {
        error.show(MESSAGES.otp_required);
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
        error.show(MESSAGES.otp_required, 'info');
        otp.input.focus();
      } else if (err.error === 'invalid_otp') {
        error.show(MESSAGES.invalid_otp);
        otp.input.value = '';
        otp.input.focus();
      } else if (err.error === 'account_locked') {
        error.show(lockoutMessage(err.retry_after));
      } else if (err.error === 'invalid_credentials') {
        error.show(MESSAGES.invalid_credentials);
        password.input.value = '';
        password.input.focus();
      } else {
        error.show(MESSAGES[err.error] || err.message);
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
      h('h1', { class: 'auth-title', id: 'login-title' }, 'Sign in to your account'),
      h('p', { class: 'auth-subtitle' }, 'Visual remote support for your team.'),
      noticeEl,
      form,
      h('div', { class: 'auth-links' }, startOver),
    ),
    h('p', { class: 'auth-footer' }, 'Forgot your password? Ask your account administrator to reset it.'),
  );
  root.replaceChildren(page);
  email.input.focus();
}
