// What the customer's page knows and holds while it is open: one object for the visit
// (`page`) and one for the live screen's elements once it is built (`live`). Every
// module of the page reads and changes these two; nothing else is shared.

import { t } from '../i18n.js';

export const page = {
  company: '',
  brand: { accent_color: null, logo_url: null }, // the account's (brand.js)
  agent: '',
  status: null, // latest session status from the server
  fresh: false, // a state message arrived on the current socket
  needsOffer: false,
  consented: false, // the customer tapped Allow and the camera is on
  resumed: false, // consent was given before (page reloaded or link opened again)
  scopes: [],
  stream: null,
  muted: false,
  videoOn: true,
  agentHere: false,
  agentMuted: false,
  link: null,
  linkState: 'connecting',
  mediaState: 'new',
  over: false,
  wakeLock: null,
  agents: [], // agents present: [{id, name, expert}]
  torchOn: false,
  lowBandwidth: false, // what the agent asked for
  lowApplied: false, // what the camera's sender does
  freezing: false,
  frame: null,
  capturing: false,
  lastReport: 0,
  early: [], // chat and marks that arrived before the live screen was up
  problem: null, // the media problem on screen ('no_webrtc', 'connect_failed'): no offers meanwhile
  render: null, // redraws the current card screen (after a language switch)
  chatAllowed: true, // the account's policy may turn chat off
  recording: 'off', // whether the session is recorded: 'off', 'asked' (the agent chose to), 'always'
  recordingAgreed: false, // the customer agreed to the recording (or it is part of the consent)
  recordingView: null, // the room's latest view of the recording: {mode, agreed, on, stopped}
  rated: false, // the customer sent their rating of the session
};

// The live screen's elements (live_screen.js fills it in), its chat panel and mark
// layer, and whether the chat is open: empty until the camera is first on.
export const live = {};

/** The agent's name as the customer knows it, or a word for "your agent". */
export function agentName() {
  return page.agent || t('agent.fallback');
}
