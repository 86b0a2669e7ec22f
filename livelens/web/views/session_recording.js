// The session's recording in the agent's view: the indicator beside the session's
// status the whole time it runs, a warning when it stopped on its own (storage full...:
// the session goes on, the administrators are alerted), and a line in the session's
// details saying whether it is recorded and what the customer answered.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { RecordingIndicator } from '../recording.js';

const STOPPED = {
  storage_full: 'live.recording.stopped.storageFull',
  storage_failed: 'live.recording.stopped.storageFailed',
  media: 'live.recording.stopped.media',
  failed: 'live.recording.stopped.failed',
};

/** What the details say, from the room's view ({mode, agreed, on, stopped}). */
function factKey(view) {
  if (!view || view.mode === 'off') return 'live.recording.fact.off';
  if (view.on) return 'live.recording.fact.on';
  if (view.stopped) return 'live.recording.fact.stopped';
  if (view.agreed === false) return 'live.recording.fact.declined';
  if (view.agreed === true) return 'live.recording.fact.agreed';
  return view.mode === 'always' ? 'live.recording.fact.always' : 'live.recording.fact.asked';
}

/** `session`: the session as the API shows it (its `recording`: 'off', 'asked', 'always'). */
export function sessionRecording(session) {
  const stopped = Object.fromEntries(Object.entries(STOPPED).map(([code, key]) => [code, t(key)]));
  const indicator = new RecordingIndicator({ labels: { on: t('live.recording.on'), stopped } });
  indicator.stoppedEl.className = 'message message-warning';
  const value = h('dd', { 'data-testid': 'recording-state' });
  const fact = h('div', {}, h('dt', {}, t('live.recording.title')), value);
  const show = (view) => {
    indicator.update(view);
    value.textContent = t(factKey(view));
    value.dataset.state = view ? (view.on ? 'on' : (view.stopped || (view.agreed === false ? 'declined' : view.mode))) : 'off';
  };
  show({ mode: session.recording || 'off', agreed: null, on: false, stopped: null });
  return {
    indicator: indicator.el,
    stoppedNote: indicator.stoppedEl,
    fact,
    /** A state message from the room. */
    onState(message) {
      if (message.recording) show(message.recording);
    },
    /** The session ended: nothing is recorded any more. */
    ended() {
      const view = indicator.view;
      if (view && view.on) show({ ...view, on: false });
    },
  };
}
