// The dashboard's only way to the mock: control API calls with the tab's token and session, plus two small
// helpers every panel needs (building elements without innerHTML, and the status line).
// Nothing the mock returns is ever parsed as HTML: journal bodies are whatever strangers sent.

const TOKEN_KEY = 'sonarly-mock-control-token';
const SESSION_KEY = 'sonarly-mock-session';

export const state = { session: initialSession() };

// The session comes from ?session=NAME (a link a teammate or a test can share), else what this tab last used.
function initialSession() {
  const valid = (name) => (name && /^[A-Za-z0-9._-]{1,64}$/.test(name) ? name : null);
  return valid(new URLSearchParams(location.search).get('session')) || valid(sessionStorage.getItem(SESSION_KEY))
    || 'default';
}

export function useSession(name) {
  state.session = name;
  sessionStorage.setItem(SESSION_KEY, name);
  const url = new URL(location.href);
  url.searchParams.set('session', name);
  history.replaceState(null, '', url);
}

export class ApiError extends Error {
  constructor(status, error) {
    const details = error?.details ? `: ${error.details}` : '';
    super(`${status} ${error?.code ?? 'ERROR'} ${error?.message ?? ''}${details}`.trim());
    this.status = status;
    this.code = error?.code;
  }
}

function request(method, body) {
  const headers = { 'X-Mock-Session': state.session, Accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return init;
}

// `path` is relative to /__mock. Returns the envelope's `data`; throws ApiError on any failure.
// A 401 UNAUTHORIZED means the mock runs with --control-token and this tab has none (or a wrong one):
// ask once, however many calls were refused at the same moment, then retry.
export async function api(method, path, body) {
  for (let attempt = 0; ; attempt += 1) {
    const response = await fetch(`/__mock${path}`, request(method, body));
    const envelope = await response.json().catch(() => null);
    if (response.status === 401 && envelope?.error?.code === 'UNAUTHORIZED' && attempt < 3) {
      sessionStorage.removeItem(TOKEN_KEY);
      await askToken();
      continue;
    }
    if (!response.ok || !envelope?.success) throw new ApiError(response.status, envelope?.error);
    return envelope.data;
  }
}

let asking = null;

function askToken() {
  if (asking) return asking;
  const dialog = document.getElementById('token-dialog');
  const input = document.getElementById('token-input');
  asking = new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (input.value) sessionStorage.setItem(TOKEN_KEY, input.value);
      input.value = '';
      asking = null;
      resolve();
    }, { once: true });
  });
  dialog.showModal();
  input.focus();
  return asking;
}

// el('td', {class: 'x', title: 't'}, 'text', child): attributes are set as attributes, `on*` as listeners.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.filter((child) => child !== undefined && child !== null));
  return node;
}

// One status line for the whole page (role=status): errors are shown, never thrown to the console.
export function say(text, kind = 'info') {
  const line = document.getElementById('status');
  line.textContent = text;
  line.dataset.kind = kind;
}

export function fail(error) {
  say(error instanceof Error ? error.message : String(error), 'error');
}

export function formatTime(iso) {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '';
}
