// The recording on the customer's live screen: the indicator (a red dot and
// "Recording") in the bar above the picture the whole time the session's recording
// runs, and a line on the picture if it stopped on its own (the session goes on).

import { t } from '../i18n.js';
import { RecordingIndicator } from '../recording.js';
import { live, page } from './state.js';

const STOPPED = {
  storage_full: 'recording.stopped.storageFull',
  storage_failed: 'recording.stopped.storageFailed',
  media: 'recording.stopped.media',
  failed: 'recording.stopped.failed',
};

/** The indicator for a new live screen (in the language of that moment). */
export function recordingIndicator() {
  const stopped = Object.fromEntries(Object.entries(STOPPED).map(([code, key]) => [code, t(key)]));
  live.recording = new RecordingIndicator({ labels: { on: t('recording.on'), stopped }, theme: 'dark' });
  live.recording.stoppedEl.classList.add('live-note'); // one line on the picture, as the others
  live.recording.update(page.recordingView);
  return live.recording;
}

/** The recording's part of a state message from the server. */
export function onRecordingState(message) {
  const view = message.recording;
  if (!view) return;
  page.recordingView = view;
  page.recording = view.mode || page.recording;
  if (view.agreed !== null && view.agreed !== undefined) page.recordingAgreed = Boolean(view.agreed);
  if (live.recording) live.recording.update(view);
}
