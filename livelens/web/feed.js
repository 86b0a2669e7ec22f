// The console's feed (/ws/console): while the console is on screen, the server tells
// this agent what happens outside any session (a colleague invited them into one).
// Having it open is what makes the agent "online" to colleagues, so it reconnects by
// itself; it stops for good when the server refuses it (close 4403: the sign-in ended),
// and the next API call or visit to the tab then finds the sign-in gone.

import { socketUrl } from './live.js';

const BACKOFF_MS = [1000, 2000, 5000, 10000, 30000];
const REFUSED = 4403;

class ConsoleFeed {
  constructor() {
    this.ws = null;
    this.running = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.everReady = false;
    this.state = 'stopped'; // connecting | ready | reconnecting | stopped
    this.handlers = new Map(); // event type -> Set of functions
    this.onOnline = () => {
      // Back on the network: try now rather than at the end of the backoff.
      if (this.running && !this.ws) this.connect();
    };
  }

  /** Call fn(message) for each event of `type` ('invited', 'ready', 'state'); returns
   *  the function that stops it. */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }

  emit(type, message) {
    for (const fn of [...(this.handlers.get(type) || [])]) {
      try {
        fn(message);
      } catch (err) {
        // One view's mistake must not keep the event from the others.
        setTimeout(() => { throw err; });
      }
    }
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', { state });
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this.everReady = false;
    window.addEventListener('online', this.onOnline);
    this.connect();
  }

  stop() {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    window.removeEventListener('online', this.onOnline);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState === WebSocket.CONNECTING) {
      // Closing a socket still connecting makes the browser log an error; close it
      // as soon as it opens instead.
      ws.addEventListener('open', () => ws.close(1000, 'console closed'));
    } else if (ws && ws.readyState === WebSocket.OPEN) {
      ws.close(1000, 'console closed');
    }
    this.setState('stopped');
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.setState(this.everReady ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(socketUrl('/ws/console'));
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!message || typeof message.type !== 'string') return;
      if (message.type === 'ready') {
        const reconnected = this.everReady;
        this.everReady = true;
        this.attempt = 0;
        this.setState('ready');
        this.emit('ready', { reconnected });
      } else if (message.type !== 'error') {
        this.emit(message.type, message);
      } // an error precedes a close 4403, which stops the feed (below)
    });
    ws.addEventListener('close', (event) => {
      if (this.ws !== ws) return; // stopped, or replaced by a newer socket
      this.ws = null;
      if (event.code === REFUSED) {
        this.stop();
        return;
      }
      this.retry();
    });
  }

  retry() {
    if (!this.running) return;
    this.setState('reconnecting');
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    // Offline: wait for the 'online' event as well as the timer, whichever comes first.
    this.retryTimer = setTimeout(() => {
      if (this.running && !this.ws) this.connect();
    }, delay);
  }
}

/** The one feed of this page. console.js starts it with the console and stops it with it. */
export const consoleFeed = new ConsoleFeed();
