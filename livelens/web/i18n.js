// Translations for LiveLens pages: one message catalogue per language (JSON, flat
// "key": "text" pairs, served from /static/locales/<code>.json, which the
// Content-Security-Policy's connect-src 'self' allows), t(key, params) with English as
// the fallback, and numbers, times and lists formatted for the chosen language (Intl).
//
// A page awaits startI18n() before it renders anything, renders with t(), and
// re-renders from an onLanguageChange() listener when setLanguage() switches. The
// console can adopt it the same way, with its own keys in these catalogues.
//
// Catalogue conventions (tests/unit/test_catalogues.py checks them):
// - every language has exactly the English keys, with the same {placeholders};
// - a text that depends on a number has "<key>.one" and "<key>.other" variants, picked
//   by the language's plural rules from params.count (Intl.PluralRules); a missing
//   category falls back to ".other".

/** The languages offered, each named in its own language (not translated). */
export const LANGUAGES = Object.freeze([
  ['en', 'English'],
  ['nl', 'Nederlands'],
  ['de', 'Deutsch'],
  ['fr', 'Français'],
  ['es', 'Español'],
]);
export const FALLBACK = 'en';
const SUPPORTED = new Set(LANGUAGES.map(([code]) => code));
const PLACEHOLDER = /\{([A-Za-z0-9_]+)\}/g;

const state = {
  code: FALLBACK,
  locale: FALLBACK, // for Intl: the browser's own tag when it is of this language ('en-GB')
  messages: {},
  fallback: {},
  base: '/static/locales/',
  names: [''], // the catalogues a page uses: '' is base/<code>.json, 'x' is base/x/<code>.json
  storageKey: null,
  listeners: new Set(),
  formats: new Map(),
};
const catalogues = new Map(); // url → Promise of that catalogue

export function isSupported(code) {
  return typeof code === 'string' && SUPPORTED.has(code);
}

function baseOf(tag) {
  return String(tag || '').trim().toLowerCase().split(/[-_]/)[0];
}

function browserPreferences() {
  if (Array.isArray(navigator.languages) && navigator.languages.length) return navigator.languages;
  return navigator.language ? [navigator.language] : [];
}

/** The first supported language among `preferences` ('nl-BE' counts as 'nl'), else English. */
export function pickLanguage(preferences = browserPreferences()) {
  for (const tag of preferences || []) {
    const code = baseOf(tag);
    if (SUPPORTED.has(code)) return code;
  }
  return FALLBACK;
}

function storedChoice() {
  if (!state.storageKey) return null;
  try {
    return localStorage.getItem(state.storageKey);
  } catch {
    return null; // storage blocked (private mode): the browser's languages decide
  }
}

function storeChoice(code) {
  if (!state.storageKey) return;
  try {
    localStorage.setItem(state.storageKey, code);
  } catch {
    // Not remembered; the choice still holds on this page.
  }
}

function loadOne(url) {
  if (!catalogues.has(url)) {
    const pending = fetch(url, { credentials: 'same-origin' }).then((response) => {
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      return response.json();
    });
    pending.catch(() => catalogues.delete(url)); // a failed load may be retried later
    catalogues.set(url, pending);
  }
  return catalogues.get(url);
}

/** Every catalogue of the page in language `code`, as one table (their keys are apart). */
async function load(code) {
  const urls = state.names.map((name) => `${state.base}${name ? `${name}/` : ''}${code}.json`);
  return Object.assign({}, ...(await Promise.all(urls.map(loadOne))));
}

/**
 * Load the language to use (the one chosen earlier on this device, else the browser's)
 * and set <html lang>. Options: base (where the catalogues are), catalogues (which of
 * them: '' for base/<code>.json, 'console' for base/console/<code>.json), storageKey
 * (where the choice is remembered; null: not at all), preferences (language tags, best
 * first).
 */
export async function startI18n({
  base = '/static/locales/', catalogues: names = [''], storageKey = 'livelens.language', preferences = null,
} = {}) {
  state.base = base;
  state.names = names;
  state.storageKey = storageKey;
  const stored = storedChoice();
  const code = isSupported(stored) ? stored : pickLanguage(preferences || browserPreferences());
  return setLanguage(code, { remember: false });
}

/** Switch to `code` (remembered on this device unless remember=false); listeners re-render. */
export async function setLanguage(code, { remember = true } = {}) {
  let wanted = isSupported(code) ? code : FALLBACK;
  const [fallback, messages] = await Promise.allSettled([load(FALLBACK), load(wanted)]);
  state.fallback = fallback.status === 'fulfilled' ? fallback.value : {};
  if (messages.status === 'fulfilled') {
    state.messages = messages.value;
  } else {
    wanted = FALLBACK; // that catalogue could not be loaded: English rather than keys
    state.messages = state.fallback;
  }
  state.code = wanted;
  // Formats follow the browser's own variant of the language ('en-GB': 24-hour times).
  state.locale = browserPreferences().find((tag) => baseOf(tag) === wanted) || wanted;
  state.formats.clear();
  document.documentElement.lang = wanted;
  if (remember) storeChoice(wanted);
  for (const listener of state.listeners) listener(wanted);
  return wanted;
}

/** The language in use ('en', 'nl', ...). */
export function language() {
  return state.code;
}

/** Call fn(code) after every switch; returns a function that stops it. */
export function onLanguageChange(fn) {
  state.listeners.add(fn);
  return () => state.listeners.delete(fn);
}

/**
 * A table of texts by code ({ admin: 'console.role.admin' } → table.admin is that text),
 * each read in the language in use when it is looked up.
 */
export function wordsOf(keys) {
  const table = {};
  for (const [code, key] of Object.entries(keys)) {
    Object.defineProperty(table, code, { get: () => t(key), enumerable: true });
  }
  return Object.freeze(table);
}

function formatter(kind, options) {
  const key = `${kind}:${JSON.stringify(options)}`;
  if (!state.formats.has(key)) {
    const make = {
      number: () => new Intl.NumberFormat(state.locale, options),
      time: () => new Intl.DateTimeFormat(state.locale, options),
      plural: () => new Intl.PluralRules(state.locale, options),
      list: () => (typeof Intl.ListFormat === 'function' ? new Intl.ListFormat(state.locale, options) : null),
    }[kind];
    state.formats.set(key, make());
  }
  return state.formats.get(key);
}

function lookup(key, count) {
  const tables = [state.messages, state.fallback];
  if (typeof count === 'number') {
    const category = formatter('plural', {}).select(count);
    for (const table of tables) {
      const text = table[`${key}.${category}`] ?? table[`${key}.other`];
      if (typeof text === 'string') return text;
    }
  }
  for (const table of tables) {
    if (typeof table[key] === 'string') return table[key];
  }
  return key; // visible in the page, so a missing text is noticed rather than blank
}

/**
 * The text for `key` with its {placeholders} filled from `params`: numbers formatted
 * for the language, everything else as text (the result goes into text nodes only).
 */
export function t(key, params = {}) {
  const template = lookup(key, params.count);
  const text = template.replace(PLACEHOLDER, (whole, name) => {
    if (!(name in params)) return whole;
    const value = params[name];
    return typeof value === 'number' ? formatNumber(value) : String(value);
  });
  // A sentence may start with a name or a phrase ("{agent} ended the session"): its
  // first letter is capitalised as the language does it, unless params.capitalize is
  // false (an e-mail address or an account's name stays as it is written).
  if (template.startsWith('{') && text && params.capitalize !== false) return text.charAt(0).toLocaleUpperCase(state.locale) + text.slice(1);
  return text;
}

export function formatNumber(value, options = {}) {
  return formatter('number', options).format(value);
}

/** "14:05" / "2:05 PM" for a Date or epoch seconds. */
export function formatTime(value) {
  const date = value instanceof Date ? value : new Date(Number(value) * 1000);
  if (Number.isNaN(date.getTime())) return '';
  return formatter('time', { hour: '2-digit', minute: '2-digit' }).format(date);
}

/**
 * A date, or a date and time, as the language writes it: `value` is a Date or epoch
 * seconds, `options` Intl.DateTimeFormat's ({ year: 'numeric', month: 'short', ... }).
 */
export function formatDateTime(value, options = { dateStyle: 'medium', timeStyle: 'short' }) {
  const date = value instanceof Date ? value : new Date(Number(value) * 1000);
  if (Number.isNaN(date.getTime())) return '';
  return formatter('time', options).format(date);
}

/** "Anna, Ben and Chris" in the language's own way. */
export function formatList(items) {
  const list = formatter('list', { style: 'long', type: 'conjunction' });
  return list ? list.format(items) : items.join(', ');
}
