// The page's connection to the server (live.js's LiveLink): the signalling socket, which
// reconnects by itself, and the peer connection that carries the camera. What the page
// does with each message and each change of the connection is decided here.

import { t } from '../i18n.js';
import { LiveLink, qualityReport } from '../live.js';
import { applyBandwidth, onCameraRequest, reportDevice } from './camera.js';
import { showing } from './cards.js';
import { showConsent } from './consent.js';
import { showEnded, showMoved } from './ended.js';
import { forget, showPinForm } from './join.js';
import { hearAgent, liveProblem, renderLive, renderQuality } from './live_screen.js';
import { stopMedia, syncMedia } from './media.js';
import { showConnectFailed, showNoWebrtc, webrtcMissing } from './problems.js';
import { onRecordingState } from './recording.js';
import { live, page } from './state.js';
import { onToolState, toolMessage } from './tools.js';

const REPORT_EVERY_MS = 2000;
// How hard to try for the video before telling the customer what to do instead: four
// peer connections in a row (with backoff between them), each given 20 s to connect.
const MEDIA_ATTEMPTS = 4;
const CONNECT_TIMEOUT_MS = 20_000;
// Failed signalling sockets in a row before the page says the server is out of reach
// (it keeps trying: a dropped session waits for the customer for the rejoin grace).
const UNREACHABLE_AFTER = 3;

/** Connect to the server (once per visit): the camera is offered when the customer allows it. */
export function startLink() {
  if (page.link) return;
  const link = new LiveLink('/ws/customer', {
    preparePeer(pc) {
      const audio = page.stream.getAudioTracks()[0];
      if (audio) pc.addTransceiver(audio, { direction: 'sendrecv', streams: [page.stream] });
      else pc.addTransceiver('audio', { direction: 'recvonly' });
      const video = page.stream.getVideoTracks()[0];
      if (video) pc.addTransceiver(video, { direction: 'sendonly', streams: [page.stream] });
    },
    onOpen() {
      page.fresh = false; // wait for this socket's first state message
      page.needsOffer = true;
    },
    onMessage(message) {
      if (message.type === 'state') {
        page.status = message.status;
        page.fresh = true;
        onRecordingState(message);
        const agent = (message.participants || []).find((p) => p.role === 'agent');
        page.agentHere = Boolean(agent);
        page.agentMuted = Boolean(agent && agent.muted);
        if (showing('resume-screen')) {
          if (webrtcMissing()) showNoWebrtc();
          else showConsent({ resume: page.status !== 'joined' });
        }
        syncMedia();
        onToolState(message);
        renderLive();
      } else if (message.type === 'ended') {
        showEnded({ outcome: message.outcome, by: message.by, byName: message.by_name, rate: Boolean(message.rate) });
      } else if (message.type === 'error') {
        if (message.code === 'session_ended') showEnded({});
        else if (page.consented && message.code !== 'rate_limited') liveProblem(t('live.problemRefused'));
      } else if (['chat', 'chat_history', 'chat_ack'].includes(message.type) || message.type.startsWith('mark')) {
        if (live.chat && live.layer) toolMessage(message);
        else page.early.push(message);
      } else if (message.type === 'camera') {
        onCameraRequest(message);
      }
    },
    onTrack(event) {
      if (event.track.kind !== 'audio' || !live.audio) return;
      hearAgent(event.track);
    },
    onLink(state) {
      page.linkState = state;
      if (state === 'open') liveProblem('');
      else if (link.attempt >= UNREACHABLE_AFTER) liveProblem(t('live.problemUnreachable'));
      renderLive();
    },
    onMedia(state) {
      page.mediaState = state;
      if (state === 'new') page.lowApplied = false; // a fresh sender starts at full quality
      if (state === 'connected') {
        liveProblem('');
        applyBandwidth();
        reportDevice();
      } else if (state === 'failed') {
        liveProblem(t('live.problemRetrying'));
      }
      renderLive();
    },
    onStats(stats) {
      if (!live.quality || page.linkState === 'reconnecting') return;
      renderQuality(stats);
      if (performance.now() - page.lastReport > REPORT_EVERY_MS) {
        page.lastReport = performance.now();
        page.link.send('quality', qualityReport(stats));
      }
    },
    onProblem() {
      liveProblem(t('live.problemRetrying'));
    },
    onGiveUp() {
      showConnectFailed();
    },
    onFinal(reason, detail) {
      if (reason === 'stopped' || page.over) return;
      if (reason === 'replaced') {
        showMoved();
      } else if (reason === 'refused' && detail && detail.code === 'not_authenticated') {
        page.over = true;
        stopMedia();
        forget();
        showPinForm({ error: ['error.signedOut'] });
      } else if (reason === 'refused' && detail && detail.code !== 'session_ended') {
        showEnded({ text: detail.code === 'link_used' ? 'error.linkUsed' : 'error.unavailable' });
      } else {
        showEnded({});
      }
    },
  }, { mediaAttempts: MEDIA_ATTEMPTS, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  page.link = link;
  link.start();
}
