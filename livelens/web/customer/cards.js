// The frame of the page's card screens (joining, consent, problems, the end): the
// language switcher above the card, the brand on it, the footer below. A card screen
// remembers how to draw itself, so a language switch draws it again in the new one.

import { h } from '../dom.js';
import { LANGUAGES, language, setLanguage, t } from '../i18n.js';
import { icon } from '../icons.js';
import { page } from './state.js';

const root = document.getElementById('join');

/** Put `children` on the page in place of what was there. */
export function show(...children) {
  root.classList.remove('boot');
  root.replaceChildren(...children);
  window.scrollTo(0, 0);
}

/** Show a card screen that can draw itself again in another language. */
export function screen(render) {
  page.render = render;
  render();
}

/** True when the screen with this data-testid is the one on the page. */
export function showing(testid) {
  return Boolean(root.querySelector(`[data-testid="${testid}"]`));
}

function languageSwitcher() {
  const select = h('select', { id: 'language-select', class: 'input join-language-select', 'data-testid': 'language-select' },
    LANGUAGES.map(([code, name]) => h('option', { value: code, lang: code }, name)));
  select.value = language();
  select.addEventListener('change', async () => {
    await setLanguage(select.value);
    // The screen was drawn again: keep the keyboard where it was.
    document.getElementById('language-select')?.focus();
  });
  return h('div', { class: 'join-language' },
    h('label', { for: 'language-select', class: 'join-language-label' },
      icon('globe', { size: 18 }), h('span', { class: 'sr-only' }, t('language.label'))),
    select);
}

function brand() {
  // The account's logo and name (brand.js), else LiveLens's mark with the account's name.
  const logo = page.brand.logo_url;
  if (logo) {
    return h('div', { class: 'join-brand join-brand-own', 'data-testid': 'join-brand' },
      h('img', { src: logo, alt: '', class: 'join-brand-logo', 'data-testid': 'brand-logo', onerror: (event) => event.target.remove() }),
      h('span', { class: 'join-company', 'data-testid': 'join-company' }, page.company));
  }
  return h('div', { class: 'join-brand' },
    h('img', { src: '/static/logo.svg', alt: '', width: '28', height: '28' }),
    h('span', { class: 'brand-name' }, t('app.name')),
    page.company ? h('span', { class: 'join-company', 'data-testid': 'join-company' }, page.company) : null);
}

/** A card screen: `testid` names it for the tests. */
export function panel(testid, ...children) {
  // The language can be changed on every card, above it, where it is easy to find.
  return h('main', { class: 'join-page' },
    h('div', { class: 'join-topbar' }, languageSwitcher()),
    h('div', { class: 'join-card', 'data-testid': testid }, brand(), ...children),
    h('p', { class: 'join-footer' }, t('footer')));
}

/** The card's heading (and the tab's title, in the language of the moment). */
export function title(text) {
  document.title = t('page.title');
  return h('h1', { class: 'join-title' }, text);
}
