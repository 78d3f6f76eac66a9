// Faults (GET/POST/DELETE /faults) and the reminder of the Prefer header's values, read from the API document
// the mock serves at /openapi.json (public, like the docs), so the table never drifts from the contract.

import { api, el, fail, say } from './api.js';

const RESPONSES_PATH = '/v1/accounts/{accountGroupId}/messages/responses';

// The template's FaultRequest, from the form's N, latency and probability.
function faultRequest() {
  const template = document.getElementById('fault-template').value;
  const count = Number(document.getElementById('fault-count').value) || 1;
  const latencyMs = Number(document.getElementById('fault-latency').value) || 0;
  const rate = Number(document.getElementById('fault-rate').value);
  if (template === 'latency') return { latencyMs, count };
  if (template === 'rate503') return { status: 503, rate };
  return { status: Number(template), count };
}

function describe(fault) {
  const what = fault.status ?? (fault.connection ? `connection ${fault.connection}` : 'latency only');
  const latency = fault.latencyMs ? ` after ${fault.latencyMs} ms` : '';
  const rate = fault.rate === null ? '' : `, probability ${fault.rate}`;
  return `${what}${latency}${rate}`;
}

export async function loadFaults() {
  const { faults } = await api('GET', '/faults');
  const body = document.querySelector('#faults-table tbody');
  body.replaceChildren(
    ...faults.map((fault) =>
      el(
        'tr',
        { 'data-fault': fault.id },
        el('td', {}, String(fault.id)),
        el('td', {}, describe(fault)),
        el('td', {}, fault.remaining === null ? 'until deleted' : String(fault.remaining)),
        el('td', {}, String(fault.hits)),
        el('td', {}, `${fault.method ?? 'any'} ${fault.pathPrefix ?? '/v1/…'}`),
        el('td', {}, el('button', {
          type: 'button',
          'aria-label': `Delete fault ${fault.id}`,
          onclick: () => removeFault(fault.id),
        }, 'Delete')),
      ),
    ),
  );
  if (!faults.length) body.append(el('tr', {}, el('td', { colspan: 6, class: 'hint' }, 'No pending fault.')));
}

async function removeFault(id) {
  try {
    await api('DELETE', `/faults/${id}`);
    say(`Fault ${id} deleted.`);
  } catch (error) {
    fail(error);
  }
  await loadFaults().catch(fail);
}

export function setUpFaults() {
  document.getElementById('fault-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const { faults } = await api('POST', '/faults', faultRequest());
      say(`Fault ${faults[0].id} added: ${describe(faults[0])}.`);
    } catch (error) {
      fail(error);
    }
    await loadFaults().catch(fail);
  });
}

// One row per documented example: `Prefer: code=S, example=NAME`; a status without examples is `code=S`.
export async function loadPrefer() {
  const response = await fetch('/openapi.json', { cache: 'no-store' });
  const document_ = await response.json();
  const responses = document_.paths?.[RESPONSES_PATH]?.post?.responses ?? {};
  const rows = [];
  for (const [status, answer] of Object.entries(responses)) {
    const examples = answer.content?.['application/json']?.examples ?? {};
    const names = Object.entries(examples);
    if (!names.length) rows.push([status, `code=${status}`, firstLine(answer.description)]);
    for (const [name, example] of names) {
      rows.push([status, `code=${status}, example=${name}`, example.summary ?? firstLine(answer.description)]);
    }
  }
  document.querySelector('#prefer-table tbody').replaceChildren(
    ...rows.map(([status, prefer, what]) =>
      el('tr', {}, el('td', {}, status), el('td', {}, el('code', {}, prefer)), el('td', {}, what)),
    ),
  );
}

function firstLine(text) {
  return (text ?? '').replace(/\s+/g, ' ').split(/[.:] /)[0];
}
