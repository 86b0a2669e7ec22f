// What the agents can have the customer's camera do: the torch, zoom, the other camera,
// a still at full resolution for freezing the picture, and less bandwidth; and the
// report that tells their consoles what this camera can do, so they only offer what works.

import { formatNumber, t } from '../i18n.js';
import { noticeOf } from './live_screen.js';
import { agentName, live, page } from './state.js';
import { renderTools } from './tools.js';

// What "low bandwidth" means for the camera's stream: about a quarter of the pixels,
// 15 frames a second, at most 250 kbit/s. Enough to see, easy on a weak network.
const LOW_BANDWIDTH = { maxBitrate: 250_000, scaleResolutionDownBy: 2, maxFramerate: 15 };

// What the page tells the agents' consoles about the camera (signalling "device"): read
// by the agent, so in the console's language (English), not in the customer's.
const AGENT_TEXT = {
  noCaps: 'This browser does not say what the camera can do.',
  noTorch: 'The customer’s camera has no torch (flashlight).',
  noZoom: 'The customer’s camera cannot zoom in this browser.',
  oneCamera: 'Only one camera was found on the customer’s device.',
  cameraFailed: 'The customer’s camera could not do that.',
  freezeFailed: 'The picture could not be frozen on the customer’s phone.',
};

function videoTrack() {
  return page.stream ? page.stream.getVideoTracks()[0] || null : null;
}

function torchCapable(caps) {
  return Boolean(caps && 'torch' in caps && (caps.torch === true || (Array.isArray(caps.torch) && caps.torch.includes(true))));
}

/** Tell the agents what this camera can do, so they only offer what works. */
export async function reportDevice(error = '') {
  const track = videoTrack();
  if (!track || !page.link) return;
  const caps = typeof track.getCapabilities === 'function' ? track.getCapabilities() : null;
  const settings = track.getSettings ? track.getSettings() : {};
  let cameras = 0;
  try {
    cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput').length;
  } catch {
    cameras = 1;
  }
  const zoom = caps && caps.zoom && Number(caps.zoom.max) > Number(caps.zoom.min) ? caps.zoom : null;
  const facing = ['user', 'environment'].includes(settings.facingMode) ? settings.facingMode : 'unknown';
  const report = { torch: torchCapable(caps), torch_on: page.torchOn, zoom: Boolean(zoom), switch: cameras > 1, facing, low_bandwidth: page.lowApplied };
  if (!report.torch) report.torch_reason = caps ? AGENT_TEXT.noTorch : AGENT_TEXT.noCaps;
  if (zoom) {
    const bound = (v) => Math.min(1000, Math.max(0, Number(v) || 0));
    Object.assign(report, { zoom_min: bound(zoom.min), zoom_max: bound(zoom.max), zoom_step: bound(zoom.step || 0.1) });
    if (typeof settings.zoom === 'number') report.zoom_value = bound(settings.zoom);
  } else {
    report.zoom_reason = caps ? AGENT_TEXT.noZoom : AGENT_TEXT.noCaps;
  }
  if (!report.switch) report.switch_reason = AGENT_TEXT.oneCamera;
  if (error) report.error = error.slice(0, 160);
  page.link.send('device', report);
}

async function switchCamera() {
  const old = videoTrack();
  const settings = old ? old.getSettings() : {};
  const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
  const other = cameras.find((d) => d.deviceId && d.deviceId !== settings.deviceId);
  const wanted = settings.facingMode === 'user' ? 'environment' : 'user';
  const size = { width: { ideal: 1280 }, height: { ideal: 720 } };
  const open = (constraints) => navigator.mediaDevices.getUserMedia({ video: { ...constraints, ...size } });
  // Phones say which way a camera faces: ask for the opposite side (a phone may list
  // depth or wide-angle cameras too, which "any other device" could pick). Otherwise,
  // or if that fails, take the next device.
  let fresh;
  if (settings.facingMode || !other) {
    try {
      fresh = await open({ facingMode: { exact: wanted } });
    } catch (error) {
      if (!other) throw error;
    }
  }
  if (!fresh) fresh = await open({ deviceId: { exact: other.deviceId } });
  const track = fresh.getVideoTracks()[0];
  track.enabled = page.videoOn;
  const sender = page.link.pc && page.link.pc.getSenders().find((s) => s.track && s.track.kind === 'video');
  if (sender) await sender.replaceTrack(track);
  if (old) {
    page.stream.removeTrack(old);
    old.stop();
  }
  page.stream.addTrack(track);
  page.torchOn = false;
  live.video.srcObject = page.stream;
  live.video.play().catch(() => {});
}

/** An agent's request (signalling "camera"): torch on or off, zoom, the other camera. */
export async function onCameraRequest(message) {
  const track = videoTrack();
  if (!track) return;
  const who = message.by || agentName();
  try {
    if (typeof message.torch === 'boolean') {
      await track.applyConstraints({ advanced: [{ torch: message.torch }] });
      page.torchOn = message.torch;
      noticeOf(t(message.torch ? 'notice.torchOn' : 'notice.torchOff', { who }));
    }
    if (typeof message.zoom === 'number') {
      const caps = track.getCapabilities ? track.getCapabilities() : {};
      if (!caps.zoom) throw new Error('no zoom');
      const value = Math.min(caps.zoom.max, Math.max(caps.zoom.min, message.zoom));
      await track.applyConstraints({ advanced: [{ zoom: value }] });
      noticeOf(t('notice.zoom', { who, value: formatNumber(value, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) }));
    }
    if (message.switch) {
      await switchCamera();
      noticeOf(t('notice.switched', { who }));
    }
    reportDevice();
  } catch {
    reportDevice(AGENT_TEXT.cameraFailed);
  }
}

/** The agent asked to freeze: send a still of the camera at its full resolution. */
export async function captureFrame() {
  if (page.capturing || !live.video || !live.video.videoWidth) return;
  page.capturing = true;
  try {
    const { video } = live;
    const still = document.createElement('canvas');
    still.width = video.videoWidth;
    still.height = video.videoHeight;
    still.getContext('2d').drawImage(video, 0, 0, still.width, still.height);
    const blob = await new Promise((resolve) => still.toBlob(resolve, 'image/jpeg', 0.9));
    if (!blob) throw new Error('no image');
    const token = (document.cookie.split(';').map((c) => c.trim()).find((c) => c.startsWith('_xsrf=')) || '').slice(6);
    const response = await fetch('/api/join/frame', {
      method: 'POST', body: blob, credentials: 'same-origin',
      headers: { 'Content-Type': 'image/jpeg', 'X-XSRFToken': token },
    });
    if (!response.ok && response.status !== 409) throw new Error(`HTTP ${response.status}`);
  } catch {
    reportDevice(AGENT_TEXT.freezeFailed);
  } finally {
    page.capturing = false;
  }
}

/** Apply (or lift) low-bandwidth mode on the camera's sender. */
export async function applyBandwidth() {
  const pc = page.link && page.link.pc;
  const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === 'video');
  if (!sender || page.lowApplied === page.lowBandwidth) return;
  const on = page.lowBandwidth;
  try {
    const params = sender.getParameters();
    if (!params.encodings || !params.encodings.length) params.encodings = [{}];
    for (const encoding of params.encodings) {
      if (on) Object.assign(encoding, LOW_BANDWIDTH);
      else {
        delete encoding.maxBitrate;
        delete encoding.maxFramerate;
        encoding.scaleResolutionDownBy = 1;
      }
    }
    await sender.setParameters(params);
    page.lowApplied = on;
    noticeOf(t(on ? 'notice.lowOn' : 'notice.lowOff'));
  } catch {
    page.lowApplied = false;
  }
  renderTools();
  reportDevice();
}
