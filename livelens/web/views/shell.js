// The signed-in frame: header (brand, account, user, sign out), section tabs, content.

import { setTitle } from '../attention.js';
import { h } from '../dom.js';
import { sectionsFor } from '../sections.js';
import { toast } from '../ui.js';

const REGION_NAMES = { eu: 'EU', us: 'US' };

export function header(app) {
  const { user, tenant } = app.me;
  const logout = h('button', { type: 'button', class: 'btn btn-ghost btn-logout', 'data-testid': 'logout' }, 'Sign out');
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
        h('span', { class: 'badge badge-info region', 'data-testid': 'account-region', title: 'Data region' }, REGION_NAMES[tenant.region] || tenant.region)),
      h('div', { class: 'user' },
        h('span', { class: 'avatar', 'aria-hidden': 'true' }, (user.email[0] || '?').toUpperCase()),
        h('span', { class: 'current-user', 'data-testid': 'current-user', title: `${user.email} (${user.role})` },
          h('span', { class: 'current-user-email' }, user.email), ' ', h('span', { class: 'role' }, `(${user.role})`))),
      logout));
}

/** The section and the rest of the address: "#sessions/<id>" → {id: 'sessions', path: '<id>'}. */
function route() {
  const [id, ...rest] = window.location.hash.replace(/^#\/?/, '').split('/');
  return { id, path: rest.join('/') };
}

export function renderShell(root, app) {
  const sections = sectionsFor(app.me.user.role);
  const nav = h('nav', { class: 'tabs', 'aria-label': 'Console sections', 'data-testid': 'nav' });
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
      here.replaceChildren(h('p', { class: 'message message-error', role: 'alert' }, err.message || 'Something went wrong.'));
      toast(err.message || 'Something went wrong.', 'error');
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

  root.replaceChildren(h('div', { class: 'app' }, header(app), h('div', { class: 'tabs-bar' }, h('div', { class: 'tabs-inner' }, nav)), main));
  show();
}
