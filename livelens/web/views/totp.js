// Two-factor enrolment: start → scan QR / type secret → confirm a code → save recovery codes.

import { api } from '../api.js';
import { append, busy, clear, field, h, messageLine } from '../dom.js';
import { t } from '../i18n.js';
import { copyText } from '../ui.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An image URL for the server's QR SVG (a standalone SVG image needs its namespace). */
function qrImageUrl(result) {
  if (typeof result.qr_svg === 'string' && result.qr_svg.trim().startsWith('<')) {
    let svg = result.qr_svg.trim();
    if (!/^<svg[^>]*\sxmlns=/.test(svg)) svg = svg.replace(/^<svg\b/, `<svg xmlns="${SVG_NS}"`);
    return URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  }
  if (typeof result.qr_data_uri === 'string' && result.qr_data_uri.startsWith('data:image/')) {
    return result.qr_data_uri;
  }
  return null;
}

/** The list of recovery codes with copy/download and a "continue" button. */
export function recoveryCodesPanel(codes, { onDone, doneLabel = t('console.totp.continue') }) {
  const text = `${t('console.recovery.fileTitle')}\n\n${codes.join('\n')}\n\n${t('console.recovery.fileNote')}\n`;
  const download = h('a', { class: 'btn btn-secondary', download: 'livelens-recovery-codes.txt', 'data-testid': 'recovery-download' }, t('console.download'));
  download.href = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const stored = h('input', { type: 'checkbox', id: 'recovery-stored', 'data-testid': 'recovery-stored' });
  const done = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'recovery-done', disabled: true }, doneLabel);
  stored.addEventListener('change', () => {
    done.disabled = !stored.checked;
  });
  done.addEventListener('click', () => {
    URL.revokeObjectURL(download.href);
    onDone();
  });
  return h(
    'div',
    { class: 'stack', 'data-testid': 'recovery-panel' },
    h('p', { class: 'message message-success', role: 'status' }, t('console.totp.isOn')),
    h('h3', { class: 'subheading' }, t('console.recovery.title')),
    h(
      'p',
      { class: 'muted' },
      t('console.recovery.text'),
    ),
    h('ol', { class: 'recovery-codes', 'data-testid': 'recovery-codes' }, codes.map((c) => h('li', {}, c))),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'recovery-copy', onclick: () => copyText(codes.join('\n'), t('console.recovery.what')) }, t('console.copy')),
      download,
    ),
    h('label', { class: 'checkbox', for: 'recovery-stored' }, stored, t('console.recovery.stored')),
    h('div', { class: 'row' }, done),
  );
}

/**
 * The enrolment flow as one element. onEnabled() (optional) runs as soon as the code
 * is confirmed, onDone() after the user has seen the recovery codes; onCancel
 * (optional) offers a way back before confirming.
 */
export function totpEnrollment({ onDone, onEnabled, onCancel, intro }) {
  const root = h('div', { class: 'stack', 'data-testid': 'totp-enrollment' });
  const startError = messageLine('totp-enroll-error');
  const start = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'totp-enroll' }, t('console.totp.setUp'));

  const showStart = () => {
    // append() skips a missing intro; replaceChildren() would write it as the text "null".
    append(clear(root), [intro ? h('p', { class: 'muted' }, intro) : null, startError.el, h('div', { class: 'row' }, start)]);
  };

  start.addEventListener('click', async () => {
    startError.hide();
    start.disabled = true;
    try {
      showScan(await api.post('/api/auth/totp/enroll'));
    } catch (err) {
      start.disabled = false;
      startError.show(err.message);
    }
  });

  const showScan = (result) => {
    const url = qrImageUrl(result);
    const code = field({
      label: t('console.totp.codeLabel'),
      testid: 'totp-code',
      autocomplete: 'one-time-code',
      inputmode: 'numeric',
      maxlength: '10',
      required: true,
      hint: t('console.totp.codeHint'),
    });
    const error = messageLine('totp-error');
    const confirm = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'totp-confirm' }, t('console.totp.turnOn'));
    const form = h('form', { class: 'form', novalidate: true, 'data-testid': 'totp-confirm-form' }, code.wrap, error.el,
      h('div', { class: 'row' },
        confirm,
        onCancel ? h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'totp-cancel', onclick: onCancel }, t('console.cancel')) : null));

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hide();
      const otp = code.input.value.replace(/\s+/g, '');
      if (!/^\d{6,8}$/.test(otp)) {
        error.show(t('console.login.otpRequired'));
        code.input.focus();
        return;
      }
      try {
        const { recovery_codes: codes } = await busy(form, () => api.post('/api/auth/totp/confirm', { otp }));
        onEnabled?.();
        if (url && url.startsWith('blob:')) URL.revokeObjectURL(url);
        root.replaceChildren(recoveryCodesPanel(codes || [], { onDone }));
        root.querySelector('[data-testid="recovery-stored"]').focus();
      } catch (err) {
        error.show(err.error === 'invalid_otp' ? t('console.totp.invalid') : err.message);
        code.input.value = '';
        code.input.focus();
      }
    });

    root.replaceChildren(
      h('ol', { class: 'steps' },
        h('li', {},
          h('strong', {}, t('console.totp.scan')),
          h('span', { class: 'muted' }, t('console.totp.scanHow')),
        ),
        h('li', {}, h('strong', {}, t('console.totp.enter')), h('span', { class: 'muted' }, t('console.totp.enterHow'))),
      ),
      h('div', { class: 'totp-setup' },
        url
          ? h('img', { src: url, class: 'qr', alt: t('console.totp.qrAlt'), width: '180', height: '180', 'data-testid': 'totp-qr' })
          : null,
        h('div', { class: 'stack' },
          h('p', { class: 'muted small' }, t('console.totp.cantScan')),
          h('code', { class: 'secret', 'data-testid': 'totp-secret' }, result.secret),
          h('div', { class: 'row' },
            h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'totp-copy-secret', onclick: () => copyText(result.secret, t('console.totp.keyWhat')) }, t('console.totp.copyKey')),
          ),
        ),
      ),
      form,
    );
    code.input.focus();
  };

  showStart();
  return root;
}
