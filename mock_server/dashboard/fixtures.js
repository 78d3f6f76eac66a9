// The session's fixtures: account groups, prospects and API keys (values masked, with a copy button),
// download as YAML (emitted here: the document is only maps, lists, strings, numbers and booleans), and
// replacement by a JSON file through PUT /fixtures (downloaded as JSON, edited, uploaded again). YAML upload would
// need a parser the page does not ship.

import { api, el, fail, say } from './api.js';

let current = null;

export function showFixtures(fixtures) {
  current = fixtures;
  document.getElementById('fixtures-body').replaceChildren(
    table('Account groups', ['Id', 'Name', 'Time zone', 'Days', 'Hours', 'Daily caps', 'Gap (s)'],
      fixtures.accountGroups.map(groupRow)),
    table('Prospects', ['Group', 'Id', 'Name', 'Connected', 'Conversations', 'InMail eligible'],
      fixtures.accountGroups.flatMap((group) => (group.prospects ?? []).map((p) => prospectRow(group, p)))),
    table('API keys', ['Name', 'Key', 'Permissions', 'Groups', 'Revoked'], fixtures.apiKeys.map(keyRow)),
  );
}

function table(caption, headings, rows) {
  return el('div', { class: 'scroll short' }, el('table', {},
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, ...headings.map((heading) => el('th', {}, heading)))),
    el('tbody', {}, ...rows.map((cells) => el('tr', {}, ...cells.map((cell) => el('td', {}, cell)))))));
}

function groupRow(group) {
  const s = group.schedule ?? {};
  const caps = s.dailyCap ?? {};
  return [group.id, group.name ?? '', s.timezone ?? 'UTC', (s.days ?? ['mon', 'tue', 'wed', 'thu', 'fri']).join(' '),
    `${s.start ?? '09:00'}–${s.end ?? '18:00'}`,
    `DM ${caps.direct_message ?? 100} · InMail ${caps.inmail ?? 25}`, String(s.minGapSeconds ?? 60)];
}

function prospectRow(group, p) {
  return [group.id, p.id, p.name ?? '', p.connected ? 'yes' : 'no', (p.conversations ?? []).join(' '),
    p.inmailEligible === false ? 'no' : 'yes'];
}

function mask(key) {
  const prefix = key.match(/^sk_(test|live)_/)?.[0] ?? '';
  return `${prefix}${'•'.repeat(8)}`;
}

function keyRow(apiKey) {
  const name = apiKey.name ?? '(unnamed)';
  const copy = el('button', { type: 'button', 'aria-label': `Copy the key ${name}`, onclick: () => copyKey(apiKey) },
    'Copy');
  return [name, el('span', {}, el('code', {}, mask(apiKey.key)), ' ', copy),
    (apiKey.permissions ?? []).join(' '), (apiKey.accountGroups ?? []).join(' '), apiKey.revoked ? 'yes' : 'no'];
}

async function copyKey(apiKey) {
  try {
    await navigator.clipboard.writeText(apiKey.key);
    say(`Copied the key "${apiKey.name ?? ''}".`);
  } catch {
    say('The browser refused the clipboard: read the key in the downloaded YAML instead.', 'error');
  }
}

// A YAML emitter for this document's shape. Strings are JSON-quoted, which YAML reads as double-quoted scalars,
// so no value (a key with `#`, a name with `: `) can change the structure.
export function toYaml(value, indent = '') {
  if (Array.isArray(value)) {
    if (!value.length) return ' []';
    return value.map((item) => `\n${indent}-${block(item, `${indent}  `)}`).join('');
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (!entries.length) return ' {}';
    return entries.map(([key, item]) => `\n${indent}${yamlKey(key)}:${toYaml(item, `${indent}  `)}`).join('');
  }
  return ` ${JSON.stringify(value)}`;
}

function yamlKey(key) {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
}

// A map inside a list starts on the dash's line; everything else nests as usual.
function block(item, indent) {
  if (item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length) {
    return ` ${toYaml(item, indent).trimStart()}`;
  }
  return toYaml(item, indent);
}

// YAML to read (the shape of --data FILE), JSON to edit and upload again: the page has no YAML parser.
function download(format) {
  if (!current) return;
  const text = format === 'json'
    ? `${JSON.stringify(current, null, 2)}\n`
    : `# Fixtures of the mock session "${sessionLabel()}": the shape of --data FILE.\n${toYaml(current).trimStart()}\n`;
  const link = el('a', {
    href: URL.createObjectURL(new Blob([text], { type: format === 'json' ? 'application/json' : 'application/yaml' })),
    download: `fixtures-${sessionLabel()}.${format}`,
  });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000); // after the browser has started the download
}

function sessionLabel() {
  return document.getElementById('session-select').value || 'default';
}

async function upload(onReplaced) {
  const file = document.getElementById('fixtures-file').files[0];
  if (!file) return say('Choose a JSON file first.', 'error');
  let document_;
  try {
    document_ = JSON.parse(await file.text());
  } catch {
    return say(`${file.name} is not JSON. The page reads JSON only; convert YAML first.`, 'error');
  }
  try {
    showFixtures(await api('PUT', '/fixtures', document_));
    say(`Fixtures replaced from ${file.name}.`);
    onReplaced();
  } catch (error) {
    fail(error);
  }
}

export function setUpFixtures(onReplaced) {
  document.getElementById('fixtures-download').addEventListener('click', () => download('yaml'));
  document.getElementById('fixtures-download-json').addEventListener('click', () => download('json'));
  document.getElementById('fixtures-upload').addEventListener('click', () => upload(onReplaced));
}
