// Text chat in a live session, for the agent's console and the customer's page.
//
// Every message is put on screen through text nodes (dom.js h()), never parsed as
// HTML, and links stay plain text: nothing in a message can run, load or open
// anything. Delivery: "Sending…" until the server stored it and echoed it back
// ("Sent"), then "Delivered" once the other side's page has shown it.
//
// The conversation as the server replays it (after a reload, a reconnect or the end)
// says the same: a message is "Delivered" if the record says so (`delivered_at`), or
// if someone else wrote after it, since their page showed (and acknowledged) the whole
// conversation before they could. Otherwise it stays "Sent".

import { h } from './dom.js';
import { formatTime as formatClock, t } from './i18n.js';

const MAX_CHARS = 1000;
// The panel's own words (the console's catalogue); a page with its own catalogue passes
// its own (`labels`).
const LABELS = {
  sending: 'live.chat.sending', sent: 'live.chat.sent', delivered: 'live.chat.delivered', failed: 'live.chat.failed',
  you: 'live.chat.you', empty: 'live.chat.empty', log: 'live.chat.log', message: 'live.chat.message', send: 'live.chat.send',
};

let counter = 0;
function newRef() {
  counter += 1;
  return `c${Date.now().toString(36)}${counter}`;
}


export class ChatPanel {
  /**
   * send(type, fields) → whether it went out; isMine(message) tells my messages from
   * the others'; placeholder for the input; onIncoming(message) for unread counts;
   * labels (see LABELS) and formatTime(date) for a page in another language.
   */
  constructor({ send, isMine, placeholder = null, compact = false, onIncoming = null, labels = {}, formatTime = formatClock }) {
    this.send = send;
    this.isMine = isMine;
    this.onIncoming = onIncoming;
    this.labels = { ...labels };
    for (const [name, key] of Object.entries(LABELS)) this.labels[name] ??= t(key);
    this.timeOf = (at) => formatTime(at ? new Date(at * 1000) : new Date());
    this.items = new Map(); // message id or ref → {el, stateEl, state}
    this.log = h('ol', { class: 'chat-log', 'data-testid': 'chat-log' });
    this.empty = h('li', { class: 'chat-empty' }, this.labels.empty);
    this.log.append(this.empty);
    this.input = h('input', {
      type: 'text',
      class: 'input chat-input',
      'data-testid': 'chat-input',
      maxlength: String(MAX_CHARS),
      placeholder: placeholder ?? t('live.chat.placeholder'),
      autocomplete: 'off',
      enterkeyhint: 'send',
      'aria-label': this.labels.message,
    });
    this.button = h('button', { type: 'submit', class: 'btn btn-primary chat-send', 'data-testid': 'chat-send' }, this.labels.send);
    this.form = h('form', { class: 'chat-form', novalidate: true }, this.input, this.button);
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    // The live region wraps the list: role="log" on the <ol> itself would take away its
    // list semantics (axe: listitem).
    const region = h('div', { role: 'log', 'aria-live': 'polite', 'aria-label': this.labels.log }, this.log);
    this.el = h('div', { class: ['chat', compact && 'chat-compact'] }, region, this.form);
  }

  setEnabled(enabled) {
    this.input.disabled = !enabled;
    this.button.disabled = !enabled;
  }

  submit() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = '';
    const ref = newRef();
    const item = this.append({ text, mine: true, name: this.labels.you, at: null, key: ref });
    this.setState(item, 'sending');
    this.transmit(ref, text, item);
  }

  transmit(ref, text, item) {
    if (!this.send('chat', { text: text.slice(0, MAX_CHARS), ref })) {
      this.setState(item, 'failed');
      item.retry = () => {
        this.setState(item, 'sending');
        this.transmit(ref, text, item);
      };
    }
  }

  /** A chat message from the server (mine echoed back, or someone else's). */
  receive(message) {
    const pending = message.ref ? this.items.get(message.ref) : null;
    if (pending && this.isMine(message)) {
      this.items.delete(message.ref);
      this.items.set(message.id, pending);
      pending.el.dataset.id = message.id;
      if (pending.state !== 'delivered') this.setState(pending, 'sent');
      return;
    }
    if (this.items.has(message.id)) return;
    this.show(message);
    if (!this.isMine(message)) {
      this.send('chat_ack', { ids: [message.id] });
      this.onIncoming?.(message);
    }
  }

  /** The conversation so far (after joining or reconnecting, or the record after the end). */
  history(messages) {
    const unacked = [];
    const lastReply = Math.max(-Infinity, ...messages.filter((m) => !this.isMine(m)).map((m) => Number(m.at) || 0));
    for (const message of messages) {
      const delivered = Boolean(message.delivered_at) || (this.isMine(message) && Number(message.at) < lastReply);
      const shown = this.items.get(message.id);
      if (shown) {
        if (delivered && shown.mine) this.setState(shown, 'delivered');
        continue;
      }
      this.show(message);
      if (delivered && this.isMine(message)) this.setState(this.items.get(message.id), 'delivered');
      if (!this.isMine(message)) unacked.push(message.id);
    }
    for (let i = 0; i < unacked.length; i += 50) this.send('chat_ack', { ids: unacked.slice(i, i + 50) });
  }

  acked(message) {
    for (const id of message.ids || []) {
      const item = this.items.get(id);
      if (item && item.mine) this.setState(item, 'delivered');
    }
  }

  show(message) {
    const mine = this.isMine(message);
    const item = this.append({ text: message.text, mine, name: mine ? this.labels.you : message.name, at: message.at, key: message.id, role: message.role });
    item.el.dataset.id = message.id;
    if (mine) this.setState(item, 'sent');
  }

  append({ text, mine, name, at, key, role }) {
    this.empty.remove();
    const stateEl = mine ? h('span', { class: 'chat-state', 'data-testid': 'chat-state' }) : null;
    const el = h('li', { class: ['chat-message', mine ? 'chat-mine' : 'chat-theirs'], 'data-role': role || '' },
      h('span', { class: 'chat-meta' }, h('span', { class: 'chat-name' }, name), ' · ', this.timeOf(at)),
      h('p', { class: 'chat-text', 'data-testid': 'chat-text' }, text),
      stateEl);
    const item = { el, stateEl, state: null, mine, retry: null };
    if (stateEl) stateEl.addEventListener('click', () => item.retry && item.state === 'failed' && item.retry());
    this.items.set(key, item);
    this.log.append(el);
    this.log.scrollTop = this.log.scrollHeight;
    return item;
  }

  setState(item, state) {
    item.state = state;
    item.el.dataset.state = state;
    if (item.stateEl) item.stateEl.textContent = this.labels[state] || '';
  }
}
