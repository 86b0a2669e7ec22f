// JSON API client: same-origin cookies, Tornado's CSRF header, errors as ApiError.

export class ApiError extends Error {
  constructor(status, body = {}) {
    super(body.message || `The request failed (HTTP ${status}).`);
    Object.assign(this, body);
    this.name = 'ApiError';
    this.status = status;
    this.error = body.error || 'http_error';
    this.message = body.message || `The request failed (HTTP ${status}).`;
  }
}

const hooks = { authLost: null, enrollmentRequired: null };

/** Called when any request answers 401 not_authenticated (session ended or revoked). */
export function onAuthLost(fn) {
  hooks.authLost = fn;
}

/** Called when any request answers 403 totp_enrollment_required. */
export function onEnrollmentRequired(fn) {
  hooks.enrollmentRequired = fn;
}

function readCookie(name) {
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return null;
}

async function xsrfToken() {
  let token = readCookie('_xsrf');
  if (!token) {
    // Any GET hands out the cookie; this only happens if it was cleared meanwhile.
    await fetch('/api/me', { credentials: 'same-origin', cache: 'no-store' }).catch(() => null);
    token = readCookie('_xsrf');
  }
  return token;
}

/**
 * Send a request and return the parsed JSON answer ({} for an empty body).
 * Options: hooks=false to skip the global auth handlers (sign-in, first /api/me).
 */
export async function request(method, path, body, { hooks: useHooks = true } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body instanceof Blob) {
    // A file as it is (e.g. an image upload), with its own media type.
    headers['Content-Type'] = body.type || 'application/octet-stream';
    init.body = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') {
    const token = await xsrfToken();
    if (token) headers['X-XSRFToken'] = token;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, {
      error: 'network_error',
      message: 'Cannot reach the LiveLens server. Check your connection and try again.',
    });
  }
  let data = {};
  if (response.status !== 204) {
    const text = await response.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = {};
      }
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data && typeof data === 'object' ? data : {});
    if (useHooks) {
      if (error.error === 'not_authenticated' && hooks.authLost) hooks.authLost(error);
      if (error.error === 'totp_enrollment_required' && hooks.enrollmentRequired) {
        hooks.enrollmentRequired(error);
      }
    }
    throw error;
  }
  return data;
}

export const api = {
  get: (path, opts) => request('GET', path, undefined, opts),
  post: (path, body = {}, opts) => request('POST', path, body, opts),
  patch: (path, body = {}, opts) => request('PATCH', path, body, opts),
  put: (path, body = {}, opts) => request('PUT', path, body, opts),
  del: (path, opts) => request('DELETE', path, undefined, opts),
};
