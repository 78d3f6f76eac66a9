/* The timeline: one SVG per account group showing sending windows, day caps, every message and "now".
 *
 * Model (shapes from openapi/mock-control.yaml: AccountGroup/Schedule and MessageView):
 *   renderTimeline(container, {
 *     groups: [{group: {id, name, schedule: {timezone, days, start, end, minGapSeconds,
 *                                            dailyCap: {direct_message, inmail}}},
 *               messages: [{id, status, scheduledAt, sentAt, channel, prospectId, conversationId,
 *                           messageId, idempotencyKey, deferred, message, subject}]}],
 *     // or, for a single group: group: {...}, messages: [...]
 *     now: ISO string (the mock clock), frozen: bool,
 *     range?: {from, to} (ISO strings or epoch ms; default: see defaultRange),
 *     width?: px (default container.clientWidth, at least 640),
 *     onSelect?: (message) => void })   // else a click opens a details panel beside the SVG
 *   -> [{id, svg, elements, marks, aggregated, shown, outside}] (one per group, for tests)
 * Missing schedule fields take the server's defaults (UTC, mon-fri, 09:00-18:00, caps 100/25, gap 60 s).
 * The caller re-renders on resize and on every data change; rendering replaces the container's children.
 *
 * Styling (no inline styles: the page's CSP forbids them; style.css defines these variables per colour scheme):
 *   --tl-queued, --tl-scheduled, --tl-sent   mark fill per status
 *   --tl-window                              sending-window band fill
 *   --tl-now                                 "now" line and label
 *   --tl-grid                                day boundaries, hour ticks, lane separators
 *   --tl-text, --tl-muted                    labels / secondary labels
 * Classes: .tl-legend (HTML <ul>, items .tl-legend-item with an <svg class="tl-swatch">), .tl-group (<figure>),
 *   .tl-caption (<figcaption>), .tl-svg, .tl-band (window <rect>), .tl-day (boundary <line>), .tl-off (<rect>
 *   over a non-sending day), .tl-day-label, .tl-cap (per-day "used/cap" text), .tl-lane-label, .tl-row-label,
 *   .tl-lane (lane separator <line>), .tl-tick, .tl-tick-label, .tl-now, .tl-now-label, .tl-count (count next to
 *   an aggregated mark), .tl-details (HTML panel, hidden attribute when closed).
 *   Marks: class "mark" + status class .tl-queued | .tl-scheduled | .tl-sent + channel class .tl-ch-dm (circle)
 *   | .tl-ch-inmail (square) | .tl-ch-other (diamond), + .tl-agg when it stands for several messages.
 *   Attributes: data-status, data-channel, data-count, and data-id on single marks. Marks take focus
 *   (roving, arrows/Home/End inside the focused SVG, Enter/Space opens), so style :focus too.
 *
 * Sending windows, day boundaries and aggregation are computed in timeline-time.js (no DOM there).
 */

import {
  DAY, dayPlan, defaultRange, localWindow, marksWithinBudget, normalizeSchedule, weekday,
} from './timeline-time.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
export const STATUSES = ['sent', 'queued', 'scheduled']; // row order inside a lane: past to future
const CHANNELS = ['direct_message', 'inmail'];
const CHANNEL_NAMES = {direct_message: 'Direct message', inmail: 'InMail'};
export const MAX_ELEMENTS = 2000; // SVG elements per group, whatever the number of messages
const L = 112, R = 14, TOP = 20, LANE_HEAD = 14, ROW = 14, LANE_GAP = 6, BOTTOM = 30;

/* ---------- drawing ---------- */

function el(parent, name, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, typeof v === 'number' ? +v.toFixed(1) : v);
  if (text !== undefined) node.textContent = text;
  parent.appendChild(node);
  return node;
}

function html(parent, name, attrs = {}, text) {
  const node = document.createElement(name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text; // never innerHTML: ids and keys come from API callers
  parent.appendChild(node);
  return node;
}

const channelClass = (c) => ({direct_message: 'tl-ch-dm', inmail: 'tl-ch-inmail'})[c] || 'tl-ch-other';
const toMs = (v) => (typeof v === 'number' ? v : Date.parse(v));

const labelFormatters = new Map(); // building a formatter costs far more than using one; titles need ~1000
function fmt(timeZone, ms, withDay = true) {
  const key = `${timeZone}|${withDay}`;
  if (!labelFormatters.has(key)) {
    const opts = {timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23'};
    if (withDay) Object.assign(opts, {weekday: 'short', day: 'numeric', month: 'short', timeZoneName: 'short'});
    labelFormatters.set(key, new Intl.DateTimeFormat('en-GB', opts));
  }
  return labelFormatters.get(key).format(ms);
}

function shape(parent, channel, x, y, r, attrs) {
  if (channel === 'direct_message') return el(parent, 'circle', {cx: x, cy: y, r, ...attrs});
  const h = r * 0.9;
  if (channel === 'inmail') return el(parent, 'rect', {x: x - h, y: y - h, width: 2 * h, height: 2 * h, ...attrs});
  return el(parent, 'path', {d: `M${x.toFixed(1)} ${y - r}l${r} ${r}l${-r} ${r}l${-r} ${-r}z`, ...attrs});
}

function statusCounts(messages) {
  const counts = {};
  for (const m of messages) counts[m.status] = (counts[m.status] || 0) + 1;
  return STATUSES.filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`).join(', ') || 'none';
}

function messageLines(m, tz) {
  const at = (iso) => (iso ? `${iso} (${fmt(tz, Date.parse(iso))})` : '—');
  return [['Message', m.id], ['Status', m.status], ['Prospect', m.prospectId], ['Channel', m.channel],
    ['Conversation', m.conversationId || '—'], ['Idempotency key', m.idempotencyKey || '—'],
    ['scheduledAt', at(m.scheduledAt)], ['sentAt', at(m.sentAt)]];
}

function markTitle(mark, tz) {
  const {messages} = mark, [first] = messages;
  if (messages.length === 1) return messageLines(first, tz).map(([k, v]) => `${k}: ${v}`).join('\n');
  const times = messages.map((m) => Date.parse(m.scheduledAt));
  const lo = times.reduce((a, b) => Math.min(a, b)), hi = times.reduce((a, b) => Math.max(a, b));
  return `${messages.length} ${CHANNEL_NAMES[first.channel] || first.channel} messages, ` +
    `${fmt(tz, lo)} – ${fmt(tz, hi, false)}\n${statusCounts(messages)} (click to list them)`;
}

function layout(range, channels, width) {
  const laneH = LANE_HEAD + STATUSES.length * ROW + LANE_GAP, {from, to} = range;
  return {width, height: TOP + channels.length * laneH + BOTTOM, from, to,
    x: (ms) => L + ((ms - from) / (to - from)) * (width - L - R),
    laneTop: (ci) => TOP + ci * laneH,
    rowY: (ci, si) => TOP + ci * laneH + LANE_HEAD + si * ROW + ROW / 2,
    bottom: TOP + channels.length * laneH - LANE_GAP};
}

/** Per local day: the off-day shade or the window bands, the boundary, the date, "used/cap" per lane, ticks. */
function drawDays(svg, lay, plan, s, channels, perDay) {
  const tz = s.timezone, height = lay.bottom - TOP;
  for (const d of plan) {
    const x0 = Math.max(L, lay.x(d.start)), w = Math.min(lay.width - R, lay.x(d.end)) - x0;
    const detail = w >= 6; // months on one screen: bands only, so the frame stays far below MAX_ELEMENTS
    if (!d.sending && detail) el(svg, 'rect', {class: 'tl-off', x: x0, y: TOP, width: w, height});
    for (const [a, b] of d.windows) {
      const band = el(svg, 'rect', {class: 'tl-band', x: lay.x(a), y: TOP, width: lay.x(b) - lay.x(a), height});
      if (detail) el(band, 'title', {}, `Sending window ${fmt(tz, a)} – ${fmt(tz, b, false)} (${tz})`);
    }
    if (d.start >= lay.from && detail) el(svg, 'line', {class: 'tl-day', x1: x0, x2: x0, y1: 4, y2: lay.bottom + 4});
    const label = new Intl.DateTimeFormat('en-GB', {timeZone: 'UTC', weekday: w > 90 ? 'short' : undefined,
      day: 'numeric', month: 'short'}).format(Date.parse(d.day));
    const off = w > 130 && !d.sending ? ' · no sending' : '';
    if (w > 34) el(svg, 'text', {class: 'tl-day-label', x: x0 + 3, y: 14}, label + off);
    channels.forEach((c, ci) => {
      const used = perDay.get(`${d.day}|${c}`) || 0;
      const text = d.sending ? `${used}/${s.dailyCap[c] ?? '?'}` : used ? `${used}/0` : '';
      const at = {class: 'tl-cap', x: x0 + 3, y: lay.laneTop(ci) + 10};
      if (text && w >= 44) el(svg, 'text', at, w > 110 ? `${text} per day` : text);
    });
    if (w >= 150) drawTicks(svg, lay, tz, d.day, w >= 300 ? [3, 6, 9, 12, 15, 18, 21] : [6, 12, 18]);
  }
}

function drawTicks(svg, lay, tz, day, hours) {
  for (const h of hours) {
    const at = localWindow(tz, day, h * 60, h * 60 + 1)[0]?.[0]; // none when the hour falls in a DST gap
    if (!(at >= lay.from && at < lay.to)) continue;
    const x = lay.x(at), label = `${String(h).padStart(2, '0')}:00`;
    el(svg, 'line', {class: 'tl-tick', x1: x, x2: x, y1: lay.bottom, y2: lay.bottom + 4});
    el(svg, 'text', {class: 'tl-tick-label', x, y: lay.bottom + 14, 'text-anchor': 'middle'}, label);
  }
}

function drawLanes(svg, lay, channels) {
  channels.forEach((c, ci) => {
    el(svg, 'text', {class: 'tl-lane-label', x: 4, y: lay.laneTop(ci) + 10}, CHANNEL_NAMES[c] || c);
    STATUSES.forEach((st, si) => el(svg, 'text', {class: 'tl-row-label', x: 14, y: lay.rowY(ci, si) + 4}, st));
    const y = lay.laneTop(ci) - LANE_GAP / 2;
    if (ci) el(svg, 'line', {class: 'tl-lane', x1: 0, x2: lay.width, y1: y, y2: y});
  });
}

function drawNow(svg, lay, nowMs, frozen, tz) {
  if (nowMs < lay.from || nowMs > lay.to) return;
  const x = lay.x(nowMs), right = x > lay.width - 200;
  el(svg, 'line', {class: 'tl-now', x1: x, x2: x, y1: 4, y2: lay.height - 4});
  el(svg, 'text', {class: 'tl-now-label', x: right ? x - 4 : x + 4, y: lay.height - 4,
    'text-anchor': right ? 'end' : 'start'}, `now ${fmt(tz, nowMs)}${frozen ? ' (frozen)' : ''}`);
}

/** One shape (with a <title>) per mark, in x order; a count beside an aggregated mark where the row has room. */
function drawMarks(svg, lay, marks, channels, tz) {
  const layer = el(svg, 'g', {class: 'tl-marks'}), lastInRow = new Map();
  marks.forEach((mark, i) => {
    const [first] = mark.messages, n = mark.messages.length, ci = Math.floor(mark.row / STATUSES.length);
    mark.y = lay.rowY(ci, mark.row % STATUSES.length);
    mark.r = n === 1 ? 3.2 : Math.min(4.6, 3.4 + Math.log10(n));
    const attrs = {class: `mark tl-${first.status} ${channelClass(first.channel)}${n > 1 ? ' tl-agg' : ''}`,
      'data-status': first.status, 'data-channel': first.channel, 'data-count': n, 'data-i': i, tabindex: -1};
    if (n === 1) attrs['data-id'] = first.id;
    el(shape(layer, channels[ci], mark.x, mark.y, mark.r, attrs), 'title', {}, markTitle(mark, tz));
    if (lastInRow.has(mark.row)) lastInRow.get(mark.row).next = mark;
    lastInRow.set(mark.row, mark);
  });
  for (const {messages: {length: n}, x, y, r, next} of marks) {
    const room = (next ? next.x - next.r : lay.width) - (x + r);
    if (n < 2 || room < String(n).length * 6 + 3) continue;
    el(layer, 'text', {class: 'tl-count', x: x + r + 1.5, y: y + 3.5}, n);
  }
}

/* ---------- interaction ---------- */

function showDetails(panel, messages, tz, onSelect, focus = true) {
  panel.replaceChildren();
  panel.hidden = false;
  if (messages.length === 1) panel.setAttribute('data-message-id', messages[0].id);
  else panel.removeAttribute('data-message-id');
  const close = html(panel, 'button', {type: 'button', class: 'tl-close'}, 'Close');
  close.addEventListener('click', () => { panel.hidden = true; });
  if (messages.length === 1) {
    html(panel, 'h4', {}, `Message ${messages[0].id}`);
    const dl = html(panel, 'dl');
    for (const [k, v] of messageLines(messages[0], tz).slice(1)) { html(dl, 'dt', {}, k); html(dl, 'dd', {}, v); }
  } else {
    html(panel, 'h4', {}, `${messages.length} messages: ${statusCounts(messages)}`);
    const list = html(panel, 'ul');
    for (const m of messages.slice(0, 10)) {
      const text = `${fmt(tz, Date.parse(m.scheduledAt), false)} ${m.prospectId} (${m.id})`;
      html(html(list, 'li'), 'button', {type: 'button'}, text).addEventListener('click', () =>
        (onSelect ? onSelect(m) : showDetails(panel, [m], tz, onSelect)));
    }
    if (messages.length > 10) html(panel, 'p', {}, `… and ${messages.length - 10} more`);
  }
  if (focus) close.focus();
}

/** Click or Enter/Space opens a mark; arrows, Home and End move the focus along the marks (in x order). */
function wire(svg, panel, marks, tz, onSelect) {
  const open = (node) => {
    const mark = marks[+node.getAttribute('data-i')];
    if (mark.messages.length === 1 && onSelect) onSelect(mark.messages[0]);
    else showDetails(panel, mark.messages, tz, onSelect);
  };
  svg.addEventListener('click', (e) => { const node = e.target.closest('.mark'); if (node) open(node); });
  svg.addEventListener('keydown', (e) => {
    const nodes = svg.querySelectorAll('.mark'), current = e.target.closest('.mark');
    const i = current ? +current.getAttribute('data-i') : -1, last = nodes.length - 1;
    const next = {ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: last}[e.key];
    if (next !== undefined && nodes.length) nodes[Math.max(0, Math.min(last, next))].focus();
    else if ((e.key === 'Enter' || e.key === ' ') && current) open(current);
    else if (e.key === 'Escape') panel.hidden = true;
    else return;
    e.preventDefault();
  });
  panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') { panel.hidden = true; svg.focus(); } });
}

/* ---------- entry point ---------- */

function renderLegend(container) {
  const ul = html(container, 'ul', {class: 'tl-legend', 'aria-label': 'Timeline legend'});
  const item = (label, name, attrs) => {
    const li = html(ul, 'li', {class: 'tl-legend-item'});
    const svg = el(li, 'svg', {class: 'tl-swatch', width: 14, height: 14, viewBox: '0 0 14 14', 'aria-hidden': 'true'});
    if (name === 'rect' || name === 'line') el(svg, name, attrs); else shape(svg, name, 7, 7, 5, attrs);
    li.append(` ${label}`);
  };
  for (const st of STATUSES) item(st, 'direct_message', {class: `tl-${st}`});
  item('direct message', 'direct_message', {class: 'tl-legend-shape'});
  item('InMail', 'inmail', {class: 'tl-legend-shape'});
  item('several messages (count beside)', 'direct_message', {class: 'tl-legend-shape tl-agg'});
  item('sending window', 'rect', {class: 'tl-band', x: 0, y: 0, width: 14, height: 14});
  item('now', 'line', {class: 'tl-now', x1: 7, x2: 7, y1: 0, y2: 14});
}

/** Messages in the range as points {x, row, message}, and per "day|channel" how many the day holds. */
function placeMessages(messages, times, lay, plan, channels) {
  const perDay = new Map(), points = [];
  let di = 0;
  messages.forEach((m, i) => {
    const t = times[i];
    if (!(t >= lay.from && t < lay.to)) return;
    while (di > 0 && plan[di].start > t) di--;
    while (di < plan.length - 1 && plan[di].end <= t) di++;
    const key = `${plan[di].day}|${m.channel}`;
    perDay.set(key, (perDay.get(key) || 0) + 1);
    const row = channels.indexOf(m.channel) * STATUSES.length + Math.max(0, STATUSES.indexOf(m.status));
    points.push({x: lay.x(t), row, message: m});
  });
  return {perDay, points};
}

function renderGroup(container, {group, messages = []}, model, width) {
  const s = normalizeSchedule(group.schedule), tz = s.timezone, nowMs = toMs(model.now) || Date.now();
  const times = messages.map((m) => Date.parse(m.scheduledAt));
  const range = model.range ? {from: toMs(model.range.from), to: toMs(model.range.to)}
    : defaultRange(tz, nowMs, times.filter((t) => !Number.isNaN(t)));
  if (!(range.to > range.from)) range.to = range.from + DAY;
  const extra = [...new Set(messages.map((m) => m.channel))].filter((c) => !CHANNELS.includes(c)).sort();
  const channels = [...CHANNELS, ...extra], lay = layout(range, channels, width);
  const plan = dayPlan(s, range.from, range.to), {perDay, points} = placeMessages(messages, times, lay, plan, channels);
  const outside = messages.length - points.length;
  const name = group.name ? `${group.name} (${group.id})` : group.id;
  const summary = `${name}, ${tz}: ${messages.length} messages (${statusCounts(messages)})` +
    `${outside ? `, ${outside} outside the shown range` : ''}`;
  const figure = html(container, 'figure', {class: 'tl-group', 'data-group': group.id});
  html(figure, 'figcaption', {class: 'tl-caption'}, `${summary}` +
    `${s.zoneKnown ? '' : ` (this browser does not know ${group.schedule.timezone}: drawn in UTC)`}. ` +
    `Sending ${s.days.join(' ')} ${s.start}–${s.end}, at least ${s.minGapSeconds} s apart.`);
  const svg = el(figure, 'svg', {class: 'tl-svg', role: 'img', tabindex: 0, width: lay.width, height: lay.height,
    viewBox: `0 0 ${lay.width} ${lay.height}`,
    'aria-label': `Timeline of ${summary}, from ${fmt(tz, range.from)} to ${fmt(tz, range.to)}`});
  drawDays(svg, lay, plan, s, channels, perDay);
  drawLanes(svg, lay, channels);
  drawNow(svg, lay, nowMs, model.frozen, tz);
  const {marks} = marksWithinBudget(points, MAX_ELEMENTS - svg.querySelectorAll('*').length - 2);
  drawMarks(svg, lay, marks, channels, tz);
  const panel = html(figure, 'div', {class: 'tl-details', role: 'region', 'aria-label': `Selected message, ${name}`});
  panel.hidden = true;
  wire(svg, panel, marks, tz, model.onSelect);
  const reopen = (id) => {
    const m = messages.find((x) => x.id === id);
    if (m) showDetails(panel, [m], tz, model.onSelect, false);
  };
  return {id: group.id, svg, elements: svg.querySelectorAll('*').length, marks: marks.length,
    aggregated: marks.filter((m) => m.messages.length > 1).length, shown: points.length, outside, reopen};
}

/**
 * Draw the legend and one timeline per account group into `container`, replacing its content. A re-render (the
 * shell polls) keeps what the user was looking at: the details panel of one message stays open, showing its new
 * state, and a focused single mark gets the focus back.
 */
export function renderTimeline(container, model) {
  const groups = model.groups || [{group: model.group, messages: model.messages}];
  const width = Math.max(640, Math.floor(model.width || container.clientWidth || 1200));
  const openId = container.querySelector('.tl-details:not([hidden])')?.getAttribute('data-message-id');
  const active = document.activeElement, focusedId = container.contains(active) ? active.getAttribute('data-id') : null;
  container.replaceChildren();
  renderLegend(container);
  const results = groups.map((entry) => renderGroup(container, entry, model, width));
  if (openId) results.forEach((r) => r.reopen(openId));
  if (focusedId) container.querySelector(`.mark[data-id="${CSS.escape(focusedId)}"]`)?.focus();
  return results;
}
