// The "Customer page branding" card of the account page (administrators): the company's
// name as customers see it, its accent colour (checked for contrast with white text, here
// as a hint and by the server as the rule) and its logo, with a preview of the customer's
// card. GET/PUT /api/account/branding, PUT/DELETE /api/account/branding/logo.

import { api } from '../api.js';
import { busy, h, messageLine, nextId } from '../dom.js';
import { t } from '../i18n.js';
import { card } from '../ui.js';

const MIN_CONTRAST = 4.5; // WCAG 2.x AA, normal text (services/brand_colors.py)
const COLOR = /^#[0-9a-fA-F]{6}$/;
const LIVELENS_ACCENT = '#2563eb';
const MAX_LOGO_BYTES = 256 * 1024; // services/logo_images.py

const quiet = (err) => err.error === 'not_authenticated' || err.error === 'totp_enrollment_required';

function luminance(color) {
  const [r, g, b] = [1, 3, 5].map((at) => {
    const c = parseInt(color.slice(at, at + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG's contrast ratio of `color` (#rrggbb) with white. */
function contrastWithWhite(color) {
  return 1.05 / (luminance(color) + 0.05);
}

/** The card; `tenant` is the account as GET /api/account gives it. */
export async function brandingCard(tenant) {
  let { branding } = await api.get('/api/account/branding');

  // -- the preview: the top of the customer's card and its main button ------------------
  const previewLogo = h('img', { class: 'brand-preview-logo', alt: '', 'data-testid': 'branding-preview-logo' });
  const previewMark = h('img', { class: 'brand-preview-mark', src: '/static/logo.svg', alt: '', width: '24', height: '24' });
  const previewName = h('span', { class: 'brand-preview-name', 'data-testid': 'branding-preview-name' });
  const previewButton = h('span', { class: 'brand-preview-button', 'data-testid': 'branding-preview-button' }, t('console.branding.previewButton'));
  const preview = h('div', { class: 'brand-preview', 'data-testid': 'branding-preview', role: 'group', 'aria-label': t('console.branding.preview') },
    h('div', { class: 'brand-preview-head' }, previewLogo, previewMark, previewName),
    h('p', { class: 'muted small' }, t('console.branding.previewText')),
    previewButton);

  // -- name and colour: a form with Save -------------------------------------------------
  const nameId = nextId('branding');
  const name = h('input', { id: nameId, class: 'input', type: 'text', maxlength: '100', autocomplete: 'organization', placeholder: tenant.name, value: branding.display_name || '', 'data-testid': 'branding-name', 'aria-describedby': `${nameId}-hint` });
  const colorId = nextId('branding');
  const color = h('input', { id: colorId, class: 'input input-small mono', type: 'text', maxlength: '7', spellcheck: 'false', autocomplete: 'off', placeholder: LIVELENS_ACCENT, value: branding.accent_color || '', 'data-testid': 'branding-color', 'aria-describedby': `${colorId}-contrast` });
  const picker = h('input', { class: 'color-picker', type: 'color', value: branding.accent_color || LIVELENS_ACCENT, 'aria-label': t('console.branding.pick'), 'data-testid': 'branding-color-picker' });
  const contrast = h('p', { class: 'hint', id: `${colorId}-contrast`, 'data-testid': 'branding-contrast', 'aria-live': 'polite' });
  const colorError = h('p', { class: 'field-error', id: `${colorId}-error`, 'data-testid': 'branding-color-error', hidden: true });
  const nameError = h('p', { class: 'field-error', id: `${nameId}-error`, 'data-testid': 'branding-name-error', hidden: true });
  const saveMessage = messageLine('branding-save-status');
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'branding-save' }, t('console.save'));

  const showError = (input, el, text) => {
    el.textContent = text;
    el.hidden = !text;
    if (text) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-errormessage', el.id);
    } else {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-errormessage');
    }
  };

  const draw = () => {
    const wanted = color.value.trim();
    const accent = COLOR.test(wanted) ? wanted.toLowerCase() : null;
    if (!wanted) {
      contrast.textContent = t('console.branding.colorEmpty');
    } else if (!accent) {
      contrast.textContent = t('console.branding.colorFormat');
    } else {
      const ratio = contrastWithWhite(accent);
      // Two decimals, never rounded up to the limit (as the server says it).
      const rounded = Math.round(ratio * 100) / 100;
      const shown = `${(ratio < MIN_CONTRAST && rounded >= MIN_CONTRAST ? Math.floor(ratio * 100) / 100 : rounded).toFixed(2)}:1`;
      contrast.textContent = ratio >= MIN_CONTRAST
        ? t('console.branding.readable', { ratio: shown })
        : t('console.branding.tooLight', { ratio: shown, min: MIN_CONTRAST });
    }
    if (accent) picker.value = accent;
    preview.style.setProperty('--brand-accent', accent || LIVELENS_ACCENT);
    previewName.textContent = name.value.trim() || tenant.name;
    previewLogo.hidden = !branding.logo_url;
    previewMark.hidden = Boolean(branding.logo_url);
    if (branding.logo_url) previewLogo.src = branding.logo_url;
    else previewLogo.removeAttribute('src');
  };
  name.addEventListener('input', draw);
  color.addEventListener('input', draw);
  picker.addEventListener('input', () => {
    color.value = picker.value;
    draw();
  });

  const form = h('form', { class: 'branding-form', novalidate: true, 'data-testid': 'branding-form' },
    h('div', { class: 'field' },
      h('label', { class: 'label', for: nameId }, t('console.branding.name')),
      name, nameError,
      h('p', { class: 'hint', id: `${nameId}-hint` }, t('console.branding.nameHint', { account: tenant.name }))),
    h('div', { class: 'field' },
      h('label', { class: 'label', for: colorId }, t('console.branding.color')),
      h('div', { class: 'color-row' }, picker, color),
      colorError, contrast),
    h('div', { class: 'row' }, save), saveMessage.el);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    saveMessage.hide();
    showError(name, nameError, '');
    showError(color, colorError, '');
    const wanted = color.value.trim();
    if (wanted && !COLOR.test(wanted)) {
      showError(color, colorError, t('console.branding.colorFormat'));
      color.focus();
      return;
    }
    try {
      ({ branding } = await busy(form, () => api.put('/api/account/branding', { display_name: name.value, accent_color: wanted || null })));
      name.value = branding.display_name || '';
      color.value = branding.accent_color || '';
      draw();
      saveMessage.show(t('console.branding.saved'), 'success');
    } catch (err) {
      if (quiet(err)) return;
      const at = err.field === 'accent_color' ? [color, colorError] : err.field === 'display_name' ? [name, nameError] : null;
      if (at) {
        showError(at[0], at[1], err.message);
        at[0].focus();
      } else {
        saveMessage.show(err.message);
      }
    }
  });

  // -- the logo: uploaded as soon as it is picked ---------------------------------------
  const fileId = nextId('branding');
  const file = h('input', { id: fileId, class: 'input', type: 'file', accept: 'image/png,image/jpeg', 'data-testid': 'branding-logo-file', 'aria-describedby': `${fileId}-hint` });
  const remove = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'branding-logo-remove' }, t('console.branding.removeLogo'));
  const logoMessage = messageLine('branding-logo-status');
  const logoState = () => {
    remove.hidden = !branding.logo_url;
  };
  const logoChange = async (action, done) => {
    logoMessage.hide();
    file.disabled = true;
    remove.disabled = true;
    try {
      ({ branding } = await action());
      draw();
      logoState();
      logoMessage.show(done, 'success');
    } catch (err) {
      if (!quiet(err)) logoMessage.show(err.message);
    } finally {
      file.disabled = false;
      remove.disabled = false;
      file.value = '';
    }
  };
  file.addEventListener('change', () => {
    const [picked] = file.files;
    if (picked && picked.size > MAX_LOGO_BYTES) {
      // Said here: far larger bodies never reach the part of the server that explains.
      logoMessage.show(t('console.branding.tooBig', { max: MAX_LOGO_BYTES / 1024, size: Math.ceil(picked.size / 1024) }));
      file.value = '';
      return;
    }
    if (picked) logoChange(() => api.put('/api/account/branding/logo', picked), t('console.branding.logoSaved'));
  });
  remove.addEventListener('click', () => logoChange(() => api.del('/api/account/branding/logo'), t('console.branding.logoRemoved')));
  const logo = h('div', { class: 'field branding-logo' },
    h('label', { class: 'label', for: fileId }, t('console.branding.logo')),
    h('div', { class: 'row' }, file, remove),
    h('p', { class: 'hint', id: `${fileId}-hint` }, t('console.branding.logoHint')),
    logoMessage.el);

  draw();
  logoState();
  return card({ title: t('console.branding.title'), description: t('console.branding.text'), testid: 'branding-card' },
    h('div', { class: 'branding-layout' }, h('div', {}, form, logo), preview));
}
