// The console's sections, in menu order. Add a section here to give it a tab.
// render(container, app, path) may be async; `path` is what follows the section in the
// address (#sessions/<id>: the session's id). `admin` sections are only listed for
// administrators. The container gets a 'leave' event when the section goes off screen.

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
  { id: 'sessions', title: 'Sessions', render: renderSessions },
  { id: 'reports', title: 'Reports', render: renderReports },
  { id: 'users', title: 'Users', admin: true, render: renderUsers },
  { id: 'policy', title: 'Account policy', admin: true, render: renderPolicy },
  { id: 'audit', title: 'Audit log', admin: true, render: renderAudit },
  { id: 'security-log', title: 'Security log', admin: true, render: renderSecurityLog },
  { id: 'api-keys', title: 'API keys', admin: true, render: renderApiKeys },
  { id: 'exports', title: 'Exports', admin: true, render: renderExports },
  { id: 'security', title: 'Security', render: renderSecurity },
];

export function sectionsFor(role) {
  return SECTIONS.filter((s) => !s.admin || role === 'admin');
}
