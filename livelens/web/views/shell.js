// The signed-in frame: header (brand, account, user, sign out), section tabs, content.

import { alertAgent, setTitle } from '../attention.js';
import { h } from '../dom.js';
import { consoleFeed } from '../feed.js';
import { LANGUAGES, language, setLanguage, t } from '../i18n.js';
import { icon } from '../icons.js';
import { sectionsFor } from '../sections.js';
import { toast } from '../ui.js';

const REGION_NAMES = { eu: 'EU', us: 'US' };
const ROLE_KEYS = { admin: 'console.shell.role.admin', agent: 'console.shell.role.agent' };

/**
 * The language menu (the languages named in their own language). Choosing one switches
 * the console, which draws itself again (console.js), and is remembered on this device.
 */
export function languageSwitcher() {
  const select = h('select', {
    class: 'input select language-select', 'data-testid': 'language-select', 'aria-label': t('console.language.label'), title: t('console.language.label'),
  }, LANGUAGES.map(([code, name]) => h('option', { value: code, lang: code }, name)));
  select.value = language();
  select.addEventListener('change', async () => {
    await setLanguage(select.value);
    // The page was drawn again: keep the keyboard on the (new) menu.
    document.querySelector('[data-testid="language-select"]')?.focus();
  });
  return h('div', { class: 'language-switch' }, icon('globe', { size: 18 }), select);
}

export function header(app) {
  const { user, tenant } = app.me;
  const role = ROLE_KEYS[user.role] ? t(ROLE_KEYS[user.role]) : user.role;
  const logout = h('button', { type: 'button', class: 'btn btn-ghost btn-logout', 'data-testid': 'logout' }, t('console.shell.signOut'));
  logout.addEventListener('click', () => {
    logout.disabled = true;
    app.logout();
  });
  return h('header', { class: 'topbar' },
    h('div', { class: 'topbar-inner' },
      h('a', { class: 'brand', href: '#' },
        h('img', { src: '/static/logo.svg', alt: '', class: 'brand-logo', width: '28', height: '28' }),
        h('span', { class: 'brand-name' }, 'LiveLens')),
      h('div', { class: 'account', 'data-testid': 'account' },
        h('span', { class: 'account-name', 'data-testid': 'account-name' }, tenant.name),
        h('span', { class: 'badge badge-info region', 'data-testid': 'account-region', title: t('console.shell.dataRegion') }, REGION_NAMES[tenant.region] || tenant.region)),
      h('div', { class: 'user' },
        h('span', { class: 'avatar', 'aria-hidden': 'true' }, (user.email[0] || '?').toUpperCase()),
        h('span', { class: 'current-user', 'data-testid': 'current-user', title: `${user.email} (${role})` },
          h('span', { class: 'current-user-email' }, user.email), ' ', h('span', { class: 'role' }, `(${role})`)),
        languageSwitcher()),
      logout));
}

/** The section and the rest of the address: "#sessions/<id>" → {id: 'sessions', path: '<id>'}. */
function route() {
  const [id, ...rest] = window.location.hash.replace(/^#\/?/, '').split('/');
  return { id, path: rest.join('/') };
}

/**
 * Notices that stay until dealt with (unlike toasts): a colleague's invitation into a
 * session, with a link to open it. Returns the element and the feed handler.
 */
function inviteNotices() {
  // Always in the page, empty when there is nothing to say: a live region must exist
  // before its content arrives for screen readers to announce it.
  const live = h('div', { class: 'notices-inner', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const list = h('div', { class: 'notices', 'data-testid': 'notices' }, live);
  const shown = new Map(); // session id -> notice

  const dismiss = (sessionId) => {
    shown.get(sessionId)?.remove();
    shown.delete(sessionId);
  };

  const invited = (message) => {
    const sessionId = String(message.session_id || '');
    if (!/^[0-9a-f]{32}$/.test(sessionId)) return;
    const by = String(message.by || t('console.invite.someone'));
    dismiss(sessionId); // invited again: one notice per session, the newest
    const open = h('a', {
      class: 'btn btn-primary btn-small',
      href: `#sessions/${sessionId}`,
      'data-testid': 'invite-notice-open',
      // After the click has done its work: a link taken out of the page may not navigate.
      onclick: () => setTimeout(() => dismiss(sessionId)),
    }, t('console.invite.open'));
    const close = h('button', {
      type: 'button',
      class: 'btn btn-ghost btn-small',
      'data-testid': 'invite-notice-dismiss',
      'aria-label': t('console.invite.dismissLabel'),
      onclick: () => dismiss(sessionId),
    }, t('console.invite.dismiss'));
    const notice = h('div', { class: 'notice', 'data-testid': 'invite-notice', 'data-session-id': sessionId },
      icon('user', { size: 18 }),
      h('p', { class: 'notice-text' }, h('strong', {}, by), ' ', t('console.invite.text')),
      h('div', { class: 'notice-actions' }, open, close));
    shown.set(sessionId, notice);
    live.prepend(notice);
    alertAgent({
      title: t('console.invite.title'),
      body: t('console.invite.body', { by, capitalize: false }),
      tag: `livelens-invite-${sessionId}`,
    });
  };
  return { el: list, invited };
}

export function renderShell(root, app) {
  const sections = sectionsFor(app.me.user.role);
  const nav = h('nav', { class: 'tabs', 'aria-label': t('console.shell.sections'), 'data-testid': 'nav' });
  const main = h('main', { class: 'content', id: 'content', tabindex: '-1' });
  const links = new Map();
  for (const section of sections) {
    const link = h('a', { href: `#${section.id}`, class: 'tab', 'data-testid': `nav-${section.id}` }, section.title);
    links.set(section.id, link);
    nav.append(link);
  }

  let generation = 0;
  let shown = null; // "section/path" on screen
  let container = null;
  const show = async () => {
    const wanted = route();
    const section = sections.find((s) => s.id === wanted.id) || sections[0];
    const path = section.id === wanted.id ? wanted.path : '';
    if (`${section.id}/${path}` === shown) return; // already on screen: keep what the user typed
    shown = `${section.id}/${path}`;
    for (const [id, link] of links) {
      if (id === section.id) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    const mine = ++generation;
    // What was on screen lets go of what it holds (a session view its live connection).
    container?.dispatchEvent(new Event('leave'));
    const here = h('div', { class: 'section', 'data-testid': `section-${section.id}`, 'aria-busy': 'true' });
    container = here;
    main.replaceChildren(here);
    setTitle(`${section.title} · LiveLens`);
    try {
      await section.render(here, app, path);
    } catch (err) {
      if (mine !== generation || !here.isConnected) return;
      if (err.error === 'not_authenticated' || err.error === 'totp_enrollment_required') return;
      here.replaceChildren(h('p', { class: 'message message-error', role: 'alert' }, err.message || t('console.error.generic')));
      toast(err.message || t('console.error.generic'), 'error');
    } finally {
      here.removeAttribute('aria-busy');
    }
  };

  const onHash = () => {
    if (!root.contains(main)) {
      window.removeEventListener('hashchange', onHash);
      return;
    }
    // Re-check the sign-in on every navigation so a revoked session is noticed at once.
    app.refreshMe().then(() => {
      if (root.contains(main)) show();
    }, () => {});
  };
  window.addEventListener('hashchange', onHash);

  const notices = inviteNotices();
  let top = header(app);
  const frame = h('div', { class: 'app', 'data-feed': consoleFeed.state },
    top, h('div', { class: 'tabs-bar' }, h('div', { class: 'tabs-inner' }, nav)), notices.el, main);
  // The feed outlives a shell drawn again (a reload of the console): each shell lets go
  // of it once it is off screen.
  const offInvited = consoleFeed.on('invited', (message) => {
    if (root.contains(frame)) notices.invited(message);
    else offInvited();
  });
  const offState = consoleFeed.on('state', ({ state }) => {
    if (root.contains(frame)) frame.dataset.feed = state; // for tests and styling
    else offState();
  });
  root.replaceChildren(frame);
  show();

  /** In another language: the header and tabs anew, and the section on screen drawn again
   * (but for a session with its customer in it). */
  const redraw = () => {
    if (!root.contains(frame)) return;
    const fresh = header(app);
    top.replaceWith(fresh);
    top = fresh;
    nav.setAttribute('aria-label', t('console.shell.sections'));
    for (const section of sections) links.get(section.id).textContent = section.title;
    // A session with its customer in it is not drawn again: that would drop and re-open
    // the call. It is in the new language the next time it is opened.
    if (container?.querySelector('[data-call="on"]')) return;
    shown = null;
    show();
  };
  return { redraw };
}
