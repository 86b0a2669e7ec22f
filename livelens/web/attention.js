// Getting the agent's attention when a customer joins, agrees to share or writes: while
// the agent is not looking at the tab, its title and icon say so until they look again;
// a short chime plays (made with WebAudio, no sound file); and a desktop notification
// appears while the tab is hidden, if the agent turned those on. Notification
// permission is asked for only when the agent clicks the button, never by itself.

import { h } from './dom.js';
import { t } from './i18n.js';
import { icon } from './icons.js';
import { toast } from './ui.js';

const SOUND_KEY = 'livelens.sound'; // 'off' turns the chime off; on by default
const NOTIFY_KEY = 'livelens.notifications'; // 'off' mutes notifications the browser allows
const ICON = '/static/logo.svg';
const ALERT_ICON = '/static/logo-alert.svg';

let baseTitle = document.title;
let unseen = 0;
let latest = '';
let audio = null;

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage blocked (private mode settings): the defaults apply
  }
}

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Not remembered; the choice still holds for this page.
  }
}

export const soundOn = () => stored(SOUND_KEY) !== 'off';

const notificationsSupported = () => typeof window.Notification === 'function';
const notificationsOn = () =>
  notificationsSupported() && Notification.permission === 'granted' && stored(NOTIFY_KEY) !== 'off';

const looking = () => document.visibilityState === 'visible' && document.hasFocus();

function showTitle() {
  document.title = unseen ? `(${unseen}) ${latest} · ${baseTitle}` : baseTitle;
  const link = document.querySelector('link[rel~="icon"]');
  const href = unseen ? ALERT_ICON : ICON;
  if (link && link.getAttribute('href') !== href) link.setAttribute('href', href);
}

/** The page's own title; an unseen alert stays in front of it. */
export function setTitle(title) {
  baseTitle = title;
  showTitle();
}

function seen() {
  if (!unseen || !looking()) return;
  unseen = 0;
  showTitle();
}
document.addEventListener('visibilitychange', seen);
window.addEventListener('focus', seen);
// A click or key press in the page means the agent is looking at it, even if the
// browser's focus tracking says otherwise (an embedded view, a second screen).
window.addEventListener('pointerdown', seen, true);
window.addEventListener('keydown', seen, true);

function chime() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!soundOn() || !Context) return;
  if (!audio) {
    // Browsers let a page make sound only once the user has interacted with it;
    // creating the context earlier only earns a console warning.
    if (navigator.userActivation && !navigator.userActivation.hasBeenActive) return;
    audio = new Context();
  }
  if (audio.state === 'suspended') audio.resume().catch(() => {});
  const note = (frequency, start, length) => {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'sine';
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.18, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
    osc.connect(gain).connect(audio.destination);
    osc.start(start);
    osc.stop(start + length + 0.05);
  };
  const now = audio.currentTime;
  note(880, now, 0.18); // A5, then E6: a short rising two-tone chime
  note(1318.5, now + 0.13, 0.3);
}

function desktopNotice(title, body, tag) {
  if (!notificationsOn() || document.visibilityState !== 'hidden') return;
  try {
    const notice = new Notification(title, { body, tag, renotify: Boolean(tag), icon: ICON });
    notice.addEventListener('click', () => {
      window.focus();
      notice.close();
    });
  } catch {
    // Chrome on Android shows notifications only through a service worker: the
    // title, icon and sound still tell the agent.
  }
}

/**
 * Something happened that the agent should see: `title` is a few words ("Customer
 * joined"), `body` a line more for the notification, `tag` groups notifications (one
 * per session) so that a new one replaces the last.
 */
export function alertAgent({ title, body = '', tag = '' }) {
  chime();
  desktopNotice(`${title} · LiveLens`, body, tag);
  if (looking()) return;
  unseen += 1;
  latest = title;
  showTitle();
}

/** The agent's switches for the chime and for desktop notifications. */
export function alertSettings() {
  const sound = h('button', { type: 'button', class: 'btn btn-ghost btn-small alert-toggle', 'data-testid': 'alert-sound' });
  const notify = h('button', { type: 'button', class: 'btn btn-ghost btn-small alert-toggle', 'data-testid': 'alert-notifications' });
  const render = () => {
    const on = soundOn();
    sound.replaceChildren(icon(on ? 'speaker' : 'speaker-off', { size: 18 }), t('live.alerts.sound'));
    sound.setAttribute('aria-pressed', String(on));
    sound.title = t(on ? 'live.alerts.soundOnHint' : 'live.alerts.soundOffHint');
    notify.hidden = !notificationsSupported();
    if (notify.hidden) return;
    const blocked = Notification.permission === 'denied';
    const active = notificationsOn();
    notify.replaceChildren(icon(active ? 'bell' : 'bell-off', { size: 18 }), t('live.alerts.notifications'));
    notify.setAttribute('aria-pressed', String(active));
    notify.title = t(blocked ? 'live.alerts.blockedHint'
      : active ? 'live.alerts.notificationsOnHint' : 'live.alerts.notificationsOffHint');
  };
  sound.addEventListener('click', () => {
    store(SOUND_KEY, soundOn() ? 'off' : 'on');
    render();
  });
  notify.addEventListener('click', async () => {
    if (notificationsOn()) {
      store(NOTIFY_KEY, 'off');
    } else if (Notification.permission === 'denied') {
      // Said on click rather than by a disabled button, which keyboards cannot reach.
      toast(t('live.alerts.blocked'), 'info');
    } else {
      store(NOTIFY_KEY, 'on');
      // Asked here only: a click on this button is the agent asking for notifications.
      if (Notification.permission === 'default') await Notification.requestPermission();
    }
    render();
  });
  // The agent may allow or block notifications in the browser's site settings meanwhile.
  navigator.permissions?.query({ name: 'notifications' }).then((status) => {
    const changed = () => {
      if (notify.isConnected) render();
      else status.removeEventListener('change', changed); // the view is gone
    };
    status.addEventListener('change', changed);
  }, () => {});
  render();
  return h('div', { class: 'alert-settings', role: 'group', 'aria-label': t('live.alerts.label') }, sound, notify);
}
