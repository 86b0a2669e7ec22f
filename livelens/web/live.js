// One participant's live connection to the server: the signalling WebSocket, which
// reconnects by itself, and a WebRTC peer connection that always offers (the server
// answers; non-trickle, so every candidate travels inside the SDP).
//
// Used by the agent's session view and the customer's page. The page decides what the
// peer sends and receives (preparePeer) and when to offer (negotiate); this module
// keeps both connections alive and reports what happens through the handlers.

import { formatNumber, t } from './i18n.js';

const PROTOCOL_VERSION = 1;
const BACKOFF_MS = [500, 1000, 2000, 4000, 5000];
const GATHER_TIMEOUT_MS = 2000;
const ANSWER_TIMEOUT_MS = 10000;
const DISCONNECTED_GRACE_MS = 3000;
const PING_EVERY_MS = 10000;
const SILENCE_LIMIT_MS = 25000; // nothing heard for this long: the socket is dead
const PROBE_TIMEOUT_MS = 3000; // after coming back online: a pong must arrive this fast
const STATS_EVERY_MS = 1000;

// Error codes the server answers an offer with instead of an answer.
const OFFER_ERRORS = new Set(['conflict', 'session_ended', 'offer_rejected', 'invalid_input', 'not_found']);

export function socketUrl(path) {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}${path}`;
}

/** Resolve once ICE gathering is complete, or after `ms` with what was gathered so far. */
function gathered(pc, ms) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, ms);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

function emptyStats() {
  return {
    audioIn: { packets: 0, lost: 0, bytes: 0, energy: 0 },
    videoIn: { packets: 0, lost: 0, bytes: 0, frames: 0, width: 0, height: 0 },
    audioOut: { packets: 0, bytes: 0 },
    videoOut: { packets: 0, bytes: 0 },
    rtt: null,
    at: performance.now(),
    kbpsIn: 0,
    kbpsOut: 0,
    lossPercent: 0,
  };
}

/** Bit rates (kbit/s) in and out and packet loss (%) between two stats samples. */
function rates(previous, current) {
  const seconds = Math.max(0.001, (current.at - previous.at) / 1000);
  const bytesIn = current.audioIn.bytes + current.videoIn.bytes - previous.audioIn.bytes - previous.videoIn.bytes;
  const bytesOut = current.audioOut.bytes + current.videoOut.bytes - previous.audioOut.bytes - previous.videoOut.bytes;
  const received = current.audioIn.packets + current.videoIn.packets - previous.audioIn.packets - previous.videoIn.packets;
  const lost = Math.max(0, current.audioIn.lost + current.videoIn.lost - previous.audioIn.lost - previous.videoIn.lost);
  const fresh = previous.at === 0 || previous.audioIn.packets + previous.videoIn.packets + previous.audioOut.packets + previous.videoOut.packets === 0;
  return {
    kbpsIn: fresh ? 0 : Math.max(0, (bytesIn * 8) / 1000 / seconds),
    kbpsOut: fresh ? 0 : Math.max(0, (bytesOut * 8) / 1000 / seconds),
    lossPercent: received + lost > 0 ? (100 * lost) / (received + lost) : 0,
  };
}

/** "1.2 Mbit/s" / "350 kbit/s", with the number written as the language does. */
export function formatRate(kbps) {
  if (!Number.isFinite(kbps) || kbps <= 0) return t('live.rate.kbps', { rate: 0 });
  return kbps >= 1000
    ? t('live.rate.mbps', { rate: formatNumber(kbps / 1000, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) })
    : t('live.rate.kbps', { rate: formatNumber(Math.round(kbps), { useGrouping: false }) });
}

/**
 * Connection quality from two stats samples: 'good' | 'fair' | 'poor'.
 * Loss over the interval and the round-trip time of the selected candidate pair.
 */
function quality(previous, current) {
  const received = (current.audioIn.packets + current.videoIn.packets) - (previous.audioIn.packets + previous.videoIn.packets);
  const lost = Math.max(0, (current.audioIn.lost + current.videoIn.lost) - (previous.audioIn.lost + previous.videoIn.lost));
  const loss = received + lost > 0 ? lost / (received + lost) : 0;
  const rtt = current.rtt ?? 0;
  if (loss > 0.08 || rtt > 0.6) return 'poor';
  if (loss > 0.02 || rtt > 0.3) return 'fair';
  return 'good';
}

export class LiveLink {
  /**
   * @param {string} path  '/ws/agent/<session id>' or '/ws/customer'
   * @param {object} handlers
   *   preparePeer(pc)  add transceivers/tracks to a fresh RTCPeerConnection (may be async)
   *   onOpen()         the socket is (re)connected; the page decides when to negotiate()
   *   onMessage(msg)   every server message except answer and pong ({type: state|ended|left|error})
   *   onTrack(event)   a remote track of the current peer connection
   *   onLink(state)    'connecting' | 'open' | 'reconnecting'
   *   onMedia(state)   the current peer connection's connectionState, or 'new' for a fresh one
   *   onStats(stats)   once a second while a peer connection exists
   *   onFinal(reason, detail)  no more reconnecting: 'ended' | 'refused' | 'replaced' | 'stopped'
   *   onProblem(error) a local WebRTC failure (offer could not be made, answer not applied)
   *   onGiveUp()       mediaAttempts peer connections in a row never connected: no more
   *                    are made until retryMedia()
   * @param {object} options
   *   mediaAttempts     peer connections to try before giving up (default: no limit)
   *   connectTimeoutMs  a peer connection not connected this long after its answer counts
   *                     as failed (default: wait for the browser to say so)
   */
  constructor(path, handlers, { mediaAttempts = Infinity, connectTimeoutMs = 0 } = {}) {
    this.path = path;
    this.handlers = handlers;
    this.mediaAttempts = mediaAttempts;
    this.connectTimeoutMs = connectTimeoutMs;
    this.mediaTries = 0; // peer connections made since media last connected
    this.gaveUp = false;
    this.connectTimer = null;
    this.ws = null;
    this.pc = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.waitingForOnline = false;
    this.final = false;
    this.ended = false;
    this.lastError = null;
    this.lastHeard = 0;
    this.inflight = null; // {pc, timer}: the offer waiting for its answer
    this.offerAgain = false;
    this.offerSeq = 0;
    this.mediaFailures = 0;
    this.disconnectTimer = null;
    this.restartTimer = null;
    this.outbox = []; // messages to deliver as soon as a socket is open
    this.previousStats = null;
    this.timers = [];
    this.onOnline = () => this.cameOnline();
    this.onOffline = () => this.wentOffline();
  }

  start() {
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.timers.push(setInterval(() => this.keepAlive(), PING_EVERY_MS));
    this.timers.push(setInterval(() => this.collectStats(), STATS_EVERY_MS));
    this.connect();
  }

  get connected() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Send now if the socket is open; returns whether it was sent. */
  send(type, fields = {}) {
    if (!this.connected) return false;
    this.ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type, ...fields }));
    return true;
  }

  /** Send now, or as soon as the socket is open again (for decisions such as end or decline). */
  deliver(type, fields = {}) {
    if (!this.send(type, fields)) this.outbox.push([type, fields]);
  }

  /** Close the media now (stop sending at once) and ask the server to end the session. */
  end() {
    this.closePeer();
    this.deliver('end');
  }

  /** Close the media now and ask the server to let this agent leave (the session goes on). */
  leave() {
    this.closePeer();
    this.deliver('leave');
  }

  /** Stop everything, for good. */
  stop() {
    if (this.final) return;
    this.finish('stopped');
  }

  // -- signalling socket ----------------------------------------------------

  connect() {
    this.retryTimer = null;
    if (this.final) return;
    this.handlers.onLink?.(this.attempt === 0 && !this.lastHeard ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(socketUrl(this.path));
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (ws !== this.ws) return;
      this.attempt = 0;
      this.lastHeard = Date.now();
      this.handlers.onLink?.('open');
      const pending = this.outbox.splice(0);
      for (const [type, fields] of pending) this.send(type, fields);
      if (!this.final) this.handlers.onOpen?.();
    });
    ws.addEventListener('message', (event) => {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      this.receive(event.data);
    });
    // An 'error' event is always followed by 'close'.
    ws.addEventListener('close', (event) => {
      if (ws !== this.ws) return;
      this.socketClosed(event.code);
    });
  }

  socketClosed(code) {
    this.ws = null;
    this.cancelOffer();
    if (this.final) return;
    if (this.ended) {
      this.finish('ended');
    } else if (code === 4403) {
      this.finish('refused', this.lastError);
    } else if (code === 4000) {
      this.finish('replaced');
    } else {
      this.handlers.onLink?.('reconnecting');
      this.scheduleReconnect();
    }
  }

  scheduleReconnect() {
    clearTimeout(this.retryTimer);
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      // Trying while the device knows it is offline only fails; 'online' resumes.
      if (navigator.onLine === false) this.waitingForOnline = true;
      else this.connect();
    }, delay);
  }

  /** Drop a socket that stopped answering, and reconnect. */
  abandon() {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    try {
      ws.close(4001, 'not answering');
    } catch {
      // Closing a broken socket may throw; it is gone either way.
    }
    this.socketClosed(4001);
  }

  /** The device lost its network: the open socket cannot be trusted any more (a phone
   *  moving between networks gets a new address), so drop it and wait for 'online'. */
  wentOffline() {
    if (this.final) return;
    this.abandon();
  }

  cameOnline() {
    if (this.final) return;
    if (this.waitingForOnline || this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.waitingForOnline = false;
      this.connect();
      return;
    }
    // The network changed under an open socket: it may be dead without knowing it.
    if (this.connected) {
      const asked = Date.now();
      this.send('ping');
      setTimeout(() => {
        if (this.connected && this.lastHeard < asked) this.abandon();
      }, PROBE_TIMEOUT_MS);
    }
  }

  keepAlive() {
    if (!this.connected) return;
    if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
      this.abandon();
      return;
    }
    this.send('ping');
  }

  receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    if (!message || typeof message !== 'object') return;
    switch (message.type) {
      case 'answer':
        this.answer(message.sdp);
        return;
      case 'pong':
        return;
      case 'error':
        this.lastError = message;
        if (this.inflight && OFFER_ERRORS.has(message.code)) this.cancelOffer();
        break;
      case 'ended':
        this.ended = true;
        this.outbox = [];
        this.closePeer();
        break;
      case 'left': // this agent left; the page stops the link (the session goes on)
        this.outbox = [];
        this.closePeer();
        break;
      default:
        break;
    }
    this.handlers.onMessage?.(message);
  }

  finish(reason, detail) {
    this.final = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    this.timers.forEach(clearInterval);
    this.timers = [];
    clearTimeout(this.retryTimer);
    this.cancelOffer();
    this.closePeer();
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'bye');
    this.handlers.onFinal?.(reason, detail);
  }

  // -- media ------------------------------------------------------------------

  /** Offer from a fresh peer connection (the server replaces this participant's old one). */
  async negotiate() {
    if (this.final || this.ended || this.gaveUp || !this.connected) return;
    if (this.inflight) {
      this.offerAgain = true; // one offer at a time: answers carry no id
      return;
    }
    if (this.mediaTries >= this.mediaAttempts) {
      this.giveUp();
      return;
    }
    this.mediaTries += 1;
    const seq = ++this.offerSeq;
    const ws = this.ws;
    this.closePeer();
    let pc;
    try {
      pc = new RTCPeerConnection({ iceServers: [] });
    } catch (error) {
      // No WebRTC here (or turned off): say so instead of failing silently.
      this.handlers.onProblem?.(error);
      this.restartMedia();
      return;
    }
    this.pc = pc;
    this.inflight = { pc, timer: null };
    this.offerAgain = false;
    pc.addEventListener('track', (event) => {
      if (pc === this.pc) this.handlers.onTrack?.(event);
    });
    pc.addEventListener('connectionstatechange', () => this.peerStateChanged(pc));
    this.handlers.onMedia?.('new');
    try {
      await this.handlers.preparePeer(pc);
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, GATHER_TIMEOUT_MS);
    } catch (error) {
      if (seq === this.offerSeq) this.inflight = null;
      if (pc === this.pc) {
        this.handlers.onProblem?.(error);
        this.restartMedia();
      }
      return;
    }
    if (seq !== this.offerSeq || pc !== this.pc || ws !== this.ws || !this.connected) {
      if (seq === this.offerSeq) this.inflight = null;
      return;
    }
    this.send('offer', { sdp: pc.localDescription.sdp });
    // No answer in time: the socket is probably broken; start over on a new one.
    this.inflight.timer = setTimeout(() => {
      if (this.inflight && this.inflight.pc === pc) this.abandon();
    }, ANSWER_TIMEOUT_MS);
  }

  async answer(sdp) {
    const pending = this.inflight;
    if (!pending) return;
    clearTimeout(pending.timer);
    this.inflight = null;
    const { pc } = pending;
    if (pc === this.pc && pc.signalingState === 'have-local-offer' && typeof sdp === 'string') {
      try {
        await pc.setRemoteDescription({ type: 'answer', sdp });
      } catch (error) {
        this.handlers.onProblem?.(error);
        this.restartMedia();
        return;
      }
      if (this.connectTimeoutMs) {
        this.connectTimer = setTimeout(() => {
          if (pc === this.pc && pc.connectionState !== 'connected') this.restartMedia();
        }, this.connectTimeoutMs);
      }
    }
    if (this.offerAgain) this.negotiate();
  }

  cancelOffer() {
    if (this.inflight) clearTimeout(this.inflight.timer);
    this.inflight = null;
    this.offerAgain = false;
    this.offerSeq += 1;
  }

  peerStateChanged(pc) {
    if (pc !== this.pc) return;
    const state = pc.connectionState;
    this.handlers.onMedia?.(state);
    clearTimeout(this.disconnectTimer);
    if (state === 'connected') {
      this.mediaFailures = 0;
      this.mediaTries = 0;
      clearTimeout(this.connectTimer);
    } else if (state === 'disconnected') {
      // Often recovers by itself (a brief loss); if not, start a new connection.
      this.disconnectTimer = setTimeout(() => {
        if (pc === this.pc && pc.connectionState === 'disconnected') this.restartMedia();
      }, DISCONNECTED_GRACE_MS);
    } else if (state === 'failed') {
      this.restartMedia();
    }
  }

  restartMedia() {
    if (this.final || this.ended || this.gaveUp) return;
    clearTimeout(this.restartTimer);
    if (this.mediaTries >= this.mediaAttempts) {
      this.giveUp();
      return;
    }
    const delay = this.mediaFailures === 0 ? 0 : BACKOFF_MS[Math.min(this.mediaFailures, BACKOFF_MS.length - 1)];
    this.mediaFailures += 1;
    this.restartTimer = setTimeout(() => this.negotiate(), delay);
  }

  /** Stop making peer connections (see mediaAttempts) and tell the page. */
  giveUp() {
    this.closePeer();
    this.gaveUp = true;
    this.handlers.onGiveUp?.();
  }

  /** After giving up: allow mediaAttempts more; the page calls negotiate() when ready. */
  retryMedia() {
    this.gaveUp = false;
    this.mediaTries = 0;
    this.mediaFailures = 0;
  }

  closePeer() {
    clearTimeout(this.disconnectTimer);
    clearTimeout(this.restartTimer);
    clearTimeout(this.connectTimer);
    const pc = this.pc;
    this.pc = null;
    this.previousStats = null;
    if (pc) pc.close();
  }

  async collectStats() {
    const pc = this.pc;
    if (!pc || !this.handlers.onStats) return;
    let report;
    try {
      report = await pc.getStats();
    } catch {
      return;
    }
    if (pc !== this.pc) return;
    const stats = emptyStats();
    const pairs = new Map();
    let selectedPair = null;
    report.forEach((entry) => {
      const kind = entry.kind || entry.mediaType;
      if (entry.type === 'inbound-rtp' && (kind === 'audio' || kind === 'video')) {
        const into = kind === 'audio' ? stats.audioIn : stats.videoIn;
        into.packets += entry.packetsReceived || 0;
        into.lost += Math.max(0, entry.packetsLost || 0);
        into.bytes += entry.bytesReceived || 0;
        if (kind === 'audio') into.energy += entry.totalAudioEnergy || 0;
        if (kind === 'video') {
          into.frames += entry.framesDecoded || 0;
          into.width = entry.frameWidth || into.width;
          into.height = entry.frameHeight || into.height;
        }
      } else if (entry.type === 'outbound-rtp' && (kind === 'audio' || kind === 'video')) {
        const into = kind === 'audio' ? stats.audioOut : stats.videoOut;
        into.packets += entry.packetsSent || 0;
        into.bytes += entry.bytesSent || 0;
      } else if (entry.type === 'candidate-pair') {
        pairs.set(entry.id, entry);
        if (entry.nominated && entry.state === 'succeeded' && !selectedPair) selectedPair = entry;
      } else if (entry.type === 'transport' && entry.selectedCandidatePairId) {
        selectedPair = { id: entry.selectedCandidatePairId };
      }
    });
    const pair = selectedPair ? pairs.get(selectedPair.id) || selectedPair : null;
    if (pair && typeof pair.currentRoundTripTime === 'number') stats.rtt = pair.currentRoundTripTime;
    const connected = pc.connectionState === 'connected';
    const previous = this.previousStats || emptyStats();
    stats.quality = connected ? quality(previous, stats) : 'connecting';
    Object.assign(stats, rates(previous, stats));
    this.previousStats = stats;
    this.handlers.onStats(stats);
  }
}

// The agent's words for a quality level (the customer's page has its own, quality.*).
const QUALITY_KEYS = {
  good: 'live.quality.good',
  fair: 'live.quality.fair',
  poor: 'live.quality.poor',
  connecting: 'live.quality.connecting',
  offline: 'live.quality.offline',
};

/** A line such as "Good connection" for a quality word ('' for an unknown one). */
export function qualityText(level) {
  return QUALITY_KEYS[level] ? t(QUALITY_KEYS[level]) : '';
}

/** Write a stats sample onto an element's data- attributes (read by the indicator's CSS). */
export function showStats(el, stats) {
  el.dataset.quality = stats.quality;
  el.dataset.audioPacketsReceived = String(stats.audioIn.packets);
  el.dataset.audioEnergy = stats.audioIn.energy.toFixed(6);
  el.dataset.videoPacketsReceived = String(stats.videoIn.packets);
  el.dataset.videoFramesDecoded = String(stats.videoIn.frames);
  el.dataset.audioPacketsSent = String(stats.audioOut.packets);
  el.dataset.videoPacketsSent = String(stats.videoOut.packets);
  el.dataset.rttMs = stats.rtt === null ? '' : String(Math.round(stats.rtt * 1000));
  el.dataset.kbpsIn = String(Math.round(stats.kbpsIn || 0));
  el.dataset.kbpsOut = String(Math.round(stats.kbpsOut || 0));
  el.dataset.lossPercent = (stats.lossPercent || 0).toFixed(1);
}

/** The quality report sent to the other side of the session (signalling "quality"). */
export function qualityReport(stats) {
  const clamp = (v, max) => Math.min(max, Math.max(0, Number.isFinite(v) ? v : 0));
  const report = {
    level: stats.quality,
    kbps_in: Math.round(clamp(stats.kbpsIn, 1e6)),
    kbps_out: Math.round(clamp(stats.kbpsOut, 1e6)),
    loss: Math.round(clamp(stats.lossPercent, 100) * 10) / 10,
  };
  if (stats.rtt !== null) report.rtt = Math.round(clamp(stats.rtt * 1000, 60000));
  return report;
}
