// The console's sections, in menu order. Add a section here to give it a tab.
// render(container, app, path) may be async; `path` is what follows the section in the
// address (#sessions/<id>: the session's id). `admin` sections are only listed for
// administrators. The container gets a 'leave' event when the section goes off screen.
// A title is read when drawn, in the language of the moment.

import { t } from './i18n.js';
import { renderApiKeys } from './views/apikeys.js';
import { renderAudit } from './views/audit.js';
import { renderExports } from './views/exports.js';
import { renderPolicy } from './views/policy.js';
import { renderReports } from './views/reports.js';
import { renderSecurity } from './views/security.js';
import { renderSecurityLog } from './views/securitylog.js';
import { renderSessions } from './views/sessions.js';
import { renderUsers } from './views/users.js';

export const SECTIONS = [
  { id: 'sessions', get title() { return t('console.nav.sessions'); }, render: renderSessions },
  { id: 'reports', get title() { return t('console.nav.reports'); }, render: renderReports },
  { id: 'users', get title() { return t('console.nav.users'); }, admin: true, render: renderUsers },
  { id: 'policy', get title() { return t('console.nav.policy'); }, admin: true, render: renderPolicy },
  { id: 'audit', get title() { return t('console.nav.audit'); }, admin: true, render: renderAudit },
  { id: 'security-log', get title() { return t('console.nav.securityLog'); }, admin: true, render: renderSecurityLog },
  { id: 'api-keys', get title() { return t('console.nav.apiKeys'); }, admin: true, render: renderApiKeys },
  { id: 'exports', get title() { return t('console.nav.exports'); }, admin: true, render: renderExports },
  { id: 'security', get title() { return t('console.nav.security'); }, render: renderSecurity },
];

export function sectionsFor(role) {
  return SECTIONS.filter((s) => !s.admin || role === 'admin');
}
