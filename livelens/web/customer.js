// The customer's page (/join): join with the link's token or a PIN, read what will be
// shared and agree (or not), then share the camera and talk to the agent.
//
// Every text comes from the message catalogues (i18n.js, locales/*.json), in the
// browser's language or the one picked on the page. The card screens re-render when
// the language changes; the live screen is built once, in the language of that moment.
//
// The page's parts live in customer/:
//   state.js        what the page knows and holds (shared by all the others)
//   cards.js        the frame of the card screens and the language switcher
//   join.js         joining by link, PIN or after a reload
//   consent.js      the consent screen, then turning the camera on
//   media.js        the camera and microphone stream, and keeping the screen on
//   live_screen.js  the live screen: picture, status bar, controls, chat
//   tools.js        chat and marks, who is there, freeze and bandwidth state
//   camera.js       the agents' camera requests and the device report
//   problems.js     camera refused or busy, no WebRTC, connection failed
//   ended.js        ending, the last screen and the rating
//   link.js         the signalling socket and what each message does

import { startJoining } from './customer/join.js';
import { page } from './customer/state.js';
import { onLanguageChange, startI18n } from './i18n.js';

async function boot() {
  await startI18n();
  onLanguageChange(() => {
    if (page.render) page.render();
  });
  await startJoining();
}

boot();
