// The only screen a user sees while their account requires 2FA they have not set up.

import { setTitle } from '../attention.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { card } from '../ui.js';
import { header } from './shell.js';
import { totpEnrollment } from './totp.js';

export function renderEnrollmentGate(root, app) {
  root.replaceChildren(
    h('div', { class: 'app', 'data-testid': 'enrollment-gate' },
      header(app),
      h('main', { class: 'content content-narrow' },
        card(
          {
            title: t('console.totp.setUp'),
            description: t('console.enrol.required', { account: app.me.tenant.name, capitalize: false }),
            testid: 'enrollment-required',
          },
          totpEnrollment({ onDone: () => app.reload() }),
        ))),
  );
  setTitle(t('console.enrol.pageTitle'));
}
