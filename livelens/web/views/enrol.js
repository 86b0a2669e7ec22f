// The only screen a user sees while their account requires 2FA they have not set up.

import { setTitle } from '../attention.js';
import { h } from '../dom.js';
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
            title: 'Set up two-factor authentication',
            description: `${app.me.tenant.name} requires two-factor authentication. Set it up now to continue to LiveLens.`,
            testid: 'enrollment-required',
          },
          totpEnrollment({ onDone: () => app.reload() }),
        ))),
  );
  setTitle('Set up two-factor authentication · LiveLens');
}
