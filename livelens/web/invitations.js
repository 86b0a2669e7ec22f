// Invitations (join link, PIN, QR code) this page was given, by session id: at creation
// and on "Send a new link". The server keeps no readable copy, so they can be shown
// again only while the page lives (back and forth between the list and the session),
// never after a reload.

const invitations = new Map();

/** Keep the answer of POST /api/sessions or POST /api/sessions/{id}/link. */
export function rememberInvitation(answer) {
  invitations.set(answer.session.id, answer);
}

/** The invitation of a session, or null when this page has none. */
export function invitationOf(sessionId) {
  return invitations.get(sessionId) || null;
}

/** The link no longer works (used, replaced, ended): nothing to show any more. */
export function forgetInvitation(sessionId) {
  invitations.delete(sessionId);
}
