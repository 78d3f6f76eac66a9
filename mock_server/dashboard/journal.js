// The live journal: GET /journal once, then polled with since=<largest seq> so no entry is missed, newest first.
// Filters are the API's own (status, code, idempotencyKey), so what the table shows is what a script would get.

import { api, el, formatTime } from './api.js';

const KEEP = 1000; // the mock keeps 1000 authenticated entries per session; more would only be noise
const entries = [];
let lastSeq = null;
let generation = 0; // a restart (new session, new filters) discards answers to older polls

function filters() {
  const params = new URLSearchParams();
  const status = document.getElementById('filter-status');
  const code = document.getElementById('filter-code');
  const key = document.getElementById('filter-key');
  // Only valid filters are sent: an invalid one would be a 400 on every poll.
  if (status.value && status.checkValidity()) params.set('status', status.value.toLowerCase());
  if (code.value && code.checkValidity()) params.set('code', code.value.toUpperCase());
  if (key.value) params.set('idempotencyKey', key.value);
  return params;
}

export function setUpJournal(onError) {
  document.getElementById('journal-filters').addEventListener('submit', (event) => {
    event.preventDefault();
    restart();
    poll().catch(onError);
  });
}

export function restart() {
  generation += 1;
  entries.length = 0;
  lastSeq = null;
  document.querySelector('#journal-table tbody').replaceChildren();
}

// Returns the new entries (newest first) so the shell can refresh what they changed.
export async function poll() {
  const mine = generation;
  const params = filters();
  params.set('limit', lastSeq === null ? '200' : String(KEEP));
  if (lastSeq !== null) params.set('since', String(lastSeq));
  const data = await api('GET', `/journal?${params}`);
  if (mine !== generation) return [];
  const fresh = data.entries.filter((entry) => lastSeq === null || entry.seq > lastSeq);
  if (lastSeq === null) lastSeq = 0;
  if (!fresh.length) return [];
  lastSeq = Math.max(lastSeq, ...fresh.map((entry) => entry.seq));
  entries.unshift(...fresh);
  entries.length = Math.min(entries.length, KEEP);
  draw(fresh);
  return fresh;
}

function draw(fresh) {
  const body = document.querySelector('#journal-table tbody');
  body.prepend(...fresh.map(row));
  while (body.rows.length > KEEP) body.lastElementChild.remove();
}

function statusClass(status) {
  if (status === null) return 'st-none';
  return status < 300 ? 'st-ok' : status < 500 ? 'st-client' : 'st-server';
}

function row(entry) {
  const request = `${entry.method} ${entry.path}`;
  const fault = entry.fault === null ? null : el('span', { class: 'badge' }, `fault ${entry.fault}`);
  return el(
    'tr',
    { 'data-seq': entry.seq },
    el('td', { title: `wall clock ${entry.at}` }, formatTime(entry.mockTime ?? entry.at)),
    el('td', { class: statusClass(entry.status) }, entry.status === null ? 'no answer' : String(entry.status)),
    el('td', {}, entry.code ?? '', fault),
    el('td', {}, el('button', { type: 'button', class: 'link', onclick: () => open(entry) }, request)),
    el('td', { class: 'key' }, entry.idempotencyKey ?? ''),
    el('td', { class: 'num' }, entry.durationMs.toFixed(1)),
  );
}

function pretty(body) {
  if (body === null || body === undefined) return '(none)';
  return typeof body === 'string' ? body : JSON.stringify(body, null, 2);
}

function open(entry) {
  const key = entry.apiKey ? ` · key: ${entry.apiKey}` : '';
  document.getElementById('entry-title').textContent =
    `${entry.method} ${entry.path} → ${entry.status ?? 'no answer'} ${entry.code ?? ''} · trace ${entry.traceId}${key}`;
  document.getElementById('entry-request').textContent = pretty(entry.requestBody);
  document.getElementById('entry-response').textContent = pretty(entry.responseBody);
  document.getElementById('entry-dialog').showModal();
}
