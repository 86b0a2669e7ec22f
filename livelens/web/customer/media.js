// The customer's camera and microphone: opening them, offering them to the server once
// the session allows it, telling the agents about mute and pause, and stopping them.
// While they are on, the phone's screen is kept from dimming.

import { live, page } from './state.js';

/** Open the back camera (and the microphone, where there is one). */
export async function getMedia() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw Object.assign(new Error('insecure'), { name: 'InsecureContext' });
  }
  const video = { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } };
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  try {
    return await navigator.mediaDevices.getUserMedia({ video, audio });
  } catch (err) {
    // A device with a camera but no microphone can still show the agent the problem.
    if (err && err.name === 'NotFoundError') return navigator.mediaDevices.getUserMedia({ video, audio: false });
    throw err;
  }
}

/** Send consent (if still needed) and the offer once the socket knows the session state. */
export function syncMedia() {
  const { link } = page;
  if (!page.consented || page.over || page.problem || !page.stream) return;
  if (!link || !link.connected || !page.fresh || !page.needsOffer) return;
  if (!['joined', 'consented', 'live'].includes(page.status)) return;
  if (page.status === 'joined') link.send('consent', { accept: true, scopes: page.scopes });
  page.needsOffer = false;
  link.negotiate();
  sendMediaState();
}

/** Tell the agents whether the microphone is muted and the video paused. */
export function sendMediaState() {
  if (page.link) page.link.send('media_state', { muted: page.muted, video: page.videoOn });
}

export function stopMedia() {
  if (page.stream) page.stream.getTracks().forEach((track) => track.stop());
  if (live.layer) live.layer.destroy();
  releaseScreen();
}

export async function holdScreenOn() {
  // Keep the phone from dimming while the customer points the camera.
  try {
    if ('wakeLock' in navigator && document.visibilityState === 'visible') {
      page.wakeLock = await navigator.wakeLock.request('screen');
    }
  } catch {
    page.wakeLock = null;
  }
}

function releaseScreen() {
  if (page.wakeLock) page.wakeLock.release().catch(() => {});
  page.wakeLock = null;
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && page.consented && page.stream && !page.over && !page.wakeLock) holdScreenOn();
});
