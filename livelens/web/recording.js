// The recording indicator, the same on both sides of a session: a red dot and
// "Recording" the whole time the session's recording runs, as every state message of
// the room says (its `recording`: {mode, agreed, on, stopped}), and a line saying why,
// when it stopped on its own (the storage is full...): the session goes on either way.
//
// The indicator stays in the page as a polite live region, empty while nothing is
// recorded, so that a screen reader hears "Recording" when it starts.

import { h } from './dom.js';

// Why a recording stopped on its own, as the server names it → the callers' label keys.
export const STOP_REASONS = ['storage_full', 'storage_failed', 'media', 'failed'];

export class RecordingIndicator {
  /**
   * `labels`: {on: 'Recording', stopped: {storage_full: '…', …, failed: '…'}}, in the
   * page's language; `theme`: 'dark' on the customer's picture bar, 'light' in the console.
   */
  constructor({ labels, theme = 'light' }) {
    this.labels = labels;
    this.text = h('span', { class: 'rec-text' });
    this.el = h('span', { class: `rec-indicator rec-${theme}`, role: 'status', 'aria-live': 'polite', 'data-testid': 'recording-indicator', 'data-state': 'off' },
      h('span', { class: 'rec-dot', 'aria-hidden': 'true' }), this.text);
    this.stoppedEl = h('p', { class: 'rec-stopped', role: 'alert', 'data-testid': 'recording-stopped', hidden: true });
    this.view = null;
  }

  /** The room's latest view of the recording (or null: nothing known yet). */
  update(view) {
    this.view = view || null;
    const on = Boolean(view && view.on);
    const stopped = view && view.stopped ? view.stopped : null;
    const state = on ? 'on' : (stopped ? 'stopped' : 'off');
    if (this.el.dataset.state === state) return;
    this.el.dataset.state = state;
    this.text.textContent = on ? this.labels.on : '';
    this.stoppedEl.textContent = stopped ? (this.labels.stopped[stopped] || this.labels.stopped.failed) : '';
    this.stoppedEl.hidden = !stopped;
  }
}
