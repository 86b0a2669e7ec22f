// Console entry point: decides between sign-in, forced 2FA enrolment and the console.

import { api, onAuthLost, onEnrollmentRequired } from './api.js';
import { setTitle } from './attention.js';
import { h } from './dom.js';
import { consoleFeed } from './feed.js';
import { onLanguageChange, startI18n, t } from './i18n.js';
import { renderEnrollmentGate } from './views/enrol.js';
import { renderLogin } from './views/login.js';
import { renderShell } from './views/shell.js';

const root = document.getElementById('app');

function mount() {
  root.classList.remove('boot');
  // Only the console listens to the feed; every other screen lets go of it.
  consoleFeed.stop();
}

const app = {
  me: null,
  view: null,
  redraw: null, // draws the screen on show again, in another language

  /** Fetch /api/me again; switches screens if the sign-in ended or 2FA became required. */
  async refreshMe() {
    const me = await api.get('/api/me');
    const wasGated = app.me && app.me.totp_enrollment_required;
    app.me = me;
    if (me.totp_enrollment_required && !wasGated) showEnrollment();
    return me;
  },

  /** Start over: ask the server who we are and show the right screen. */
  async reload(notice) {
    let me;
    try {
      me = await api.get('/api/me', { hooks: false });
    } catch (err) {
      if (err.status === 401) {
        showLogin(notice);
      } else {
        showFatal(err);
      }
      return;
    }
    app.me = me;
    if (me.totp_enrollment_required) showEnrollment();
    else showConsole();
  },

  async logout() {
    try {
      await api.post('/api/auth/logout', {}, { hooks: false });
    } catch {
      // Signed out either way: the server forgets the session or it was gone already.
    }
    app.signedOut(t('console.signedOut'));
  },

  signedOut(notice) {
    app.me = null;
    if (window.location.hash) history.replaceState(null, '', window.location.pathname);
    showLogin(notice);
  },
};

function showLogin(notice) {
  mount();
  app.view = 'login';
  app.me = null;
  setTitle(t('console.login.pageTitle'));
  renderLogin(root, {
    notice,
    onSignedIn: () => app.reload(),
  });
  app.redraw = () => showLogin(notice);
}

function showEnrollment() {
  mount();
  app.view = 'enrol';
  renderEnrollmentGate(root, app);
  app.redraw = showEnrollment;
}

function showConsole() {
  mount();
  app.view = 'console';
  const shell = renderShell(root, app);
  consoleFeed.start();
  app.redraw = shell.redraw;
}

function showFatal(err) {
  mount();
  app.view = 'error';
  const retry = h('button', { type: 'button', class: 'btn btn-primary', onclick: () => app.reload() }, t('console.fatal.retry'));
  root.replaceChildren(
    h('main', { class: 'auth-page' },
      h('div', { class: 'auth-card', role: 'alert', 'data-testid': 'fatal-error' },
        h('h1', { class: 'auth-title' }, t('console.fatal.title')),
        h('p', { class: 'muted' }, err.message || t('console.error.generic')),
        retry)),
  );
  app.redraw = () => showFatal(err);
}

onAuthLost(() => {
  if (app.view !== 'login') showLogin(t('console.signInEnded'));
});
onEnrollmentRequired(() => {
  if (app.view !== 'enrol') app.reload();
});

// Notice a revoked or expired sign-in when the user comes back to the tab.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && app.view === 'console') app.refreshMe().catch(() => {});
});

// The language: chosen earlier on this device, else the browser's; both catalogues of
// the console (its own texts and the live session's) before anything is drawn.
onLanguageChange(() => app.redraw?.());
startI18n({ catalogues: ['console/live', 'console/admin', 'console/player'] }).finally(() => app.reload());
