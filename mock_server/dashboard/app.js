// The dashboard's shell: session picker, clock, the timeline area, and the polling loop that keeps the journal,
// the clock and the timeline current. Every number shown comes from the control API (see api.js), so whatever
// the page does, a script can do too. The panels live in journal.js, faults.js and fixtures.js.

import { api, el, fail, formatTime, say, state, useSession } from './api.js';
import * as journal from './journal.js';
import { loadFaults, loadPrefer, setUpFaults } from './faults.js';
import { setUpFixtures, showFixtures } from './fixtures.js';

const POLL_MS = 1000;
const RUNNING_REDRAW_MS = 30000; // a running clock moves the "now" line: redraw now and then, not every tick

let clock = null; // {now, frozen, seenAt}: the last answer of GET /clock and when it came
let fixtures = null;
let groups = []; // [{group, messages}]
let drawnAt = 0;
let timeline = null; // the timeline module, or null while it cannot be loaded (a plain list stands in)

/* ---------- sessions ---------- */

async function loadSessions() {
  const { sessions } = await api('GET', '/sessions');
  const select = document.getElementById('session-select');
  if (!sessions.some((session) => session.name === state.session)) sessions.unshift({ name: state.session });
  select.replaceChildren(...sessions.map((session) => el('option', { value: session.name }, sessionLabel(session))));
  select.value = state.session;
}

function sessionLabel(session) {
  if (!session.size) return `${session.name} (new)`;
  const { messages, journalEntries, faults } = session.size;
  return `${session.name}: ${messages} messages, ${journalEntries} requests, ${faults} faults, used ${
    formatTime(session.lastUsed)}`;
}

async function switchSession(name) {
  useSession(name);
  fixtures = null;
  clock = null;
  journal.restart();
  await Promise.all([loadSessions(), refreshAll()]).catch(fail);
  say(`Session ${name}.`);
}

function setUpSessions() {
  const select = document.getElementById('session-select');
  select.addEventListener('change', () => switchSession(select.value));
  select.addEventListener('focus', () => loadSessions().catch(fail));
  document.getElementById('session-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = document.getElementById('session-name');
    if (input.value && input.checkValidity()) switchSession(input.value);
    input.value = '';
  });
}

/* ---------- clock ---------- */

// Where a running clock should stand now if nobody moved it; a jump away from it means someone did.
function expectedNow() {
  if (!clock) return null;
  const base = Date.parse(clock.now);
  return clock.frozen ? base : base + (performance.now() - clock.seenAt);
}

function showClock(next) {
  const expected = expectedNow();
  const moved = !clock || next.frozen !== clock.frozen || Math.abs(Date.parse(next.now) - expected) > 2000;
  clock = { ...next, seenAt: performance.now() };
  document.getElementById('clock-now').textContent = formatTime(next.now);
  const badge = document.getElementById('clock-state');
  badge.textContent = next.frozen ? 'frozen' : 'running';
  badge.dataset.frozen = String(next.frozen);
  document.getElementById('clock-freeze').disabled = next.frozen;
  document.getElementById('clock-unfreeze').disabled = !next.frozen;
  // The "Set to" field follows a clock that moved, unless the user is typing in it.
  const field = document.getElementById('clock-set');
  if (moved && document.activeElement !== field) field.value = next.now.replace(/\.\d+Z$/, 'Z');
  return moved;
}

async function changeClock(method, path, body) {
  try {
    const next = await api(method, path, body);
    showClock(next);
    if (next.sent) say(`${next.sent} message(s) sent by this change of the clock.`);
    await refreshTimeline();
  } catch (error) {
    fail(error);
  }
}

// The earliest slot of a message not sent yet, in any group of the session: where "Next slot" goes.
function nextSlot() {
  const slots = groups.flatMap(({ messages }) => messages.filter((m) => m.status !== 'sent'))
    .map((m) => Date.parse(m.scheduledAt));
  return slots.length ? Math.min(...slots) : null;
}

function setUpClock() {
  const on = (id, handler) => document.getElementById(id).addEventListener('click', handler);
  on('clock-freeze', () => changeClock('PUT', '/clock', { frozen: true }));
  on('clock-unfreeze', () => changeClock('PUT', '/clock', { frozen: false }));
  for (const button of document.querySelectorAll('[data-advance]')) {
    button.addEventListener('click', () => changeClock('POST', '/clock/advance', { seconds: Number(button.dataset.advance) }));
  }
  on('clock-next', async () => {
    await refreshTimeline();
    const slot = nextSlot();
    if (slot === null) return say('No message waits for a slot.');
    const seconds = Math.max(0, (slot - expectedNow()) / 1000);
    await changeClock('POST', '/clock/advance', { seconds });
  });
  document.getElementById('clock-set-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = document.getElementById('clock-set').value.trim();
    const when = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
    if (Number.isNaN(when)) return say(`"${text}" is not a date and time (ISO 8601, UTC).`, 'error');
    changeClock('PUT', '/clock', { now: new Date(when).toISOString() });
  });
}

/* ---------- timeline ---------- */

async function loadFixtures() {
  fixtures = await api('GET', '/fixtures');
  showFixtures(fixtures);
}

let refreshing = null;
let again = false;

// Overlapping triggers (a poll, a button) share one refresh and at most one more after it.
async function refreshTimeline() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      if (!fixtures) await loadFixtures();
      groups = await Promise.all(fixtures.accountGroups.map(async (group) => {
        const path = `/accounts/${encodeURIComponent(group.id)}/messages?limit=10000`;
        return { group, messages: (await api('GET', path)).messages };
      }));
      draw();
    } while (again);
  })().finally(() => { refreshing = null; });
  return refreshing;
}

function draw() {
  const container = document.getElementById('timeline-groups');
  drawnAt = performance.now();
  if (!clock) return;
  if (timeline) {
    timeline.renderTimeline(container, { groups, now: clock.now, frozen: clock.frozen });
  } else {
    container.replaceChildren(...groups.map(plainList));
  }
}

// Stands in for the timeline when timeline.js cannot be loaded: the same messages, as a list.
function plainList({ group, messages }) {
  return el('section', { 'aria-label': `Messages of ${group.id}` },
    el('h3', {}, `${group.name ?? group.id} (${group.id}): ${messages.length} messages`),
    el('ul', { class: 'plain' }, ...messages.slice(-200).map((m) => el('li', { 'data-id': m.id, 'data-status': m.status },
      `${formatTime(m.scheduledAt)} ${m.status} ${m.channel} ${m.prospectId} ${m.idempotencyKey ?? ''}`))));
}

// A message whose slot the clock has reached is sent on the server: read the list again to show it.
function somethingDue() {
  const now = expectedNow();
  return groups.some(({ messages }) => messages.some((m) => m.status !== 'sent' && Date.parse(m.scheduledAt) <= now));
}

/* ---------- polling ---------- */

async function tick() {
  const [next, fresh] = await Promise.all([api('GET', '/clock'), journal.poll()]);
  const moved = showClock(next);
  if (fresh.some((entry) => entry.fault !== null)) loadFaults().catch(fail);
  const changed = fresh.some((entry) => entry.status === 202);
  if (moved || changed || somethingDue()) await refreshTimeline();
  else if (!clock.frozen && performance.now() - drawnAt > RUNNING_REDRAW_MS) draw();
}

async function loop() {
  try {
    await tick();
    if (document.getElementById('status').dataset.kind === 'error-poll') say('');
  } catch (error) {
    say(`Polling failed: ${error.message}`, 'error-poll');
  }
  setTimeout(loop, POLL_MS);
}

async function refreshAll() {
  showClock(await api('GET', '/clock'));
  await Promise.all([refreshTimeline(), loadFaults()]);
}

async function start() {
  timeline = await import('./timeline.js').catch(() => null);
  setUpSessions();
  setUpClock();
  setUpFaults();
  journal.setUpJournal(fail);
  setUpFixtures(() => refreshTimeline().catch(fail));
  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(draw, 200);
  });
  loadPrefer().catch(() => say('The API document (/openapi.json) could not be read for the Prefer table.', 'error'));
  await Promise.all([loadSessions(), refreshAll()]).catch(fail);
  document.body.dataset.ready = 'true';
  loop();
}

start();
