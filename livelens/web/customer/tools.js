// What the agents do on the live screen, as the server tells it: chat messages and
// marks (to the chat panel and the mark layer), who is there, the frozen still, low
// bandwidth, and whether the account allows chat at all.

import { formatList, t } from '../i18n.js';
import { applyBandwidth, captureFrame } from './camera.js';
import { renderChatButton } from './live_screen.js';
import { live, page } from './state.js';

/** A chat message or a mark for the live screen (which must be up). */
export function toolMessage(message) {
  if (message.type === 'chat') live.chat.receive(message);
  else if (message.type === 'chat_history') live.chat.history(message.messages || []);
  else if (message.type === 'chat_ack') live.chat.acked(message);
  else live.layer.apply(message);
}

/** The tools' part of a state message from the server. */
export function onToolState(message) {
  page.agents = (message.participants || []).filter((p) => p.role === 'agent');
  page.freezing = Boolean(message.freezing);
  if (message.frame && message.frame !== page.frame && live.frozen) live.frozen.src = `/api/join/frame?f=${message.frame}`;
  page.frame = message.frame || null;
  if (!page.frame && live.frozen) live.frozen.removeAttribute('src');
  if (page.freezing && !page.frame) captureFrame();
  page.lowBandwidth = Boolean(message.low_bandwidth);
  page.chatAllowed = !(message.policy && message.policy.chat === false);
  if (page.mediaState === 'connected') applyBandwidth();
  renderTools();
  renderChatButton();
}

export function renderTools() {
  if (!live.participants || !live.participants.isConnected) return;
  const names = page.agents.map((a) => (a.expert ? t('live.expert', { name: a.name }) : a.name));
  live.participants.textContent = names.length ? t('live.with', { names: formatList(names) }) : '';
  live.participants.dataset.count = String(page.agents.length);
  live.frozenNote.hidden = !page.frame;
  live.lowNote.hidden = !page.lowApplied;
  live.frozen.hidden = !page.frame;
  live.layer.setFrozen(Boolean(page.freezing || page.frame));
}
