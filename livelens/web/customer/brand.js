// The account's brand on the customer's page, as the join answer gives it
// (services/branding.py): its name is page.company; its logo is drawn on the cards
// (cards.js); its accent colour becomes the --brand-accent custom property, which the
// primary buttons take on a "branded" page (customer.css). Set through the CSS object
// model, which the page's Content-Security-Policy allows (no inline styles).

import { page } from './state.js';

const COLOR = /^#[0-9a-f]{6}$/;
const LOGO_URL = /^\/api\/join\/logo\?v=[0-9a-f]{1,64}$/; // this server's, for this join only

/** Take the brand of a join answer, or the one remembered across a reload. */
export function setBrand(brand) {
  const accent = brand && COLOR.test(brand.accent_color || '') ? brand.accent_color : null;
  const logoUrl = brand && LOGO_URL.test(brand.logo_url || '') ? brand.logo_url : null;
  page.brand = { accent_color: accent, logo_url: logoUrl };
  document.body.classList.toggle('branded', Boolean(accent));
  const root = document.documentElement.style;
  if (accent) root.setProperty('--brand-accent', accent);
  else root.removeProperty('--brand-accent');
  const theme = document.querySelector('meta[name="theme-color"]');
  if (theme && accent) theme.setAttribute('content', accent);
}
