// HubSpot's official Node client (npm `@hubspot/api-client`) against `leakproof mocks serve`.
//
// Every call goes through the client as an integration would make it, pointed
// at the mock with `basePath`: search, read, update, list with paging, batch
// read, associations (v3 and v4), property definitions, search by free text,
// by association, by token and sorted, a refused filter, the transactional
// send, and the same operations on HubSpot's date-versioned paths. No
// published version of the Node client calls the date-versioned paths (13.5.0
// and 14.0.1 both call /crm/v3 and /crm/v4), so those go through the
// client's generic `apiRequest`, which sends the client's own auth header.
//
// Each step prints `step N ok: ...`; a failed step prints `step N FAILED`,
// what went wrong, and the last request the client sent with the answer it
// got, and the later steps still run. Ends with `node client: N passed, N
// failed` and exits 1 if any step failed. Nothing is hard-coded about the
// fixtures: expected sets are computed from a listing of all contacts.
//
// Usage: node tests/node/hubspot_client.mjs CRM_BASE_URL MAIL_BASE_URL TOKEN
// (with `mocks serve --single-host`, CRM_BASE_URL and MAIL_BASE_URL are the
// same URL, and one client does the CRM calls and the send).

import { createRequire } from 'node:module';
import hubspot from '@hubspot/api-client';

const { Client } = hubspot;
const require = createRequire(import.meta.url);
const SDK_VERSION = require('@hubspot/api-client/package.json').version;

const USAGE = 'usage: node tests/node/hubspot_client.mjs CRM_BASE_URL MAIL_BASE_URL TOKEN';
const [crmUrl, mailUrl, token] = process.argv.slice(2);
if (!crmUrl || !mailUrl || !token || process.argv.length !== 5) {
  console.error(USAGE);
  process.exit(2);
}
const singleHost = crmUrl.replace(/\/+$/, '') === mailUrl.replace(/\/+$/, '');

// The date versions HubSpot publishes the CRM object APIs under.
const DATED = ['2026-03', '2025-09', '2026-09'];
const CURRENT = '2026-03';
const MISSING_ID = '999999999';

// ---------------------------------------------------------------------------
// What the client sent last and what it got back, for failure reports. The
// client sends through node-fetch, reading `require('node-fetch').default` at
// each call (the generic apiRequest too), so a wrapper there sees every
// exchange. (A client-level `middleware` option would be the natural place,
// but 13.5.0's generated APIs apply only call-time middleware: see the
// `allMiddleware` in its ObservableAPI.js.)

const exchange = { request: null, response: null };

const nodeFetch = createRequire(require.resolve('@hubspot/api-client'))('node-fetch');
const realFetch = nodeFetch.default;
nodeFetch.default = async (url, init = {}) => {
  exchange.request = {
    method: init.method || 'GET',
    url: String(url),
    body: typeof init.body === 'string' ? init.body : undefined,
  };
  exchange.response = null;
  const response = await realFetch(url, init);
  const text = await response.text();
  exchange.response = { status: response.status, body: text };
  return new nodeFetch.Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
};

function makeClient(basePath) {
  return new Client({ accessToken: token, basePath, numberOfApiCallRetries: 0 });
}

const crm = makeClient(crmUrl);
const mail = singleHost ? crm : makeClient(mailUrl);

// ---------------------------------------------------------------------------
// Steps, checks and failure reports.

let stepNo = 0;
let current = '';

class CheckFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailed(typeof message === 'function' ? message() : message);
}

function show(value) {
  const text = JSON.stringify(value);
  return text && text.length > 1500 ? `${text.slice(0, 1500)}…` : text;
}

const failures = [];

// Runs one step. A failure is reported with the exchange that showed it, and
// the later steps still run (those that need what it should have found fail
// too, saying so); the process exits 1 at the end.
async function step(what, body) {
  stepNo += 1;
  current = what;
  exchange.request = null;
  exchange.response = null;
  try {
    const detail = await body();
    console.log(`step ${stepNo} ok: ${what}${detail ? `: ${detail}` : ''}`);
  } catch (error) {
    failures.push(`step ${stepNo}: ${what}`);
    reportFailure(error);
  }
}

function reportFailure(error) {
  console.log(`step ${stepNo} FAILED: ${current}`);
  console.log(`  ${error instanceof CheckFailed ? error.message : describeError(error)}`);
  if (exchange.request) {
    const { method, url, body } = exchange.request;
    console.log(`  last request the client sent: ${method} ${url}${body ? `\n    body: ${body}` : ''}`);
  }
  if (exchange.response) {
    console.log(`  its answer: HTTP ${exchange.response.status}\n    body: ${exchange.response.body.slice(0, 3000)}`);
  } else if (exchange.request) {
    console.log('  (no answer was received)');
  }
}

function needs(value, what) {
  if (!value) throw new CheckFailed(`not run: needs ${what}, which an earlier step failed to find`);
  return value;
}

// A call the client must refuse with `status`: returns the client's error.
async function refused(status, call) {
  let result;
  try {
    result = await call();
  } catch (error) {
    check(error && error.code === status, () => `expected HTTP ${status}, the client raised ${describeError(error)}`);
    return error;
  }
  throw new CheckFailed(`expected HTTP ${status}, the call returned ${show(result)}`);
}

function describeError(error) {
  if (error && typeof error.code === 'number') {
    // The client's ApiException: its message repeats the body and headers.
    const body = typeof error.body === 'string' ? error.body : show(error.body);
    return `the client raised HTTP ${error.code} with body ${body}`;
  }
  return error && error.stack ? error.stack : String(error);
}

// The body of an error the client raised, as an object.
function errorBody(error) {
  if (error.body && typeof error.body === 'object') return error.body;
  try {
    return JSON.parse(error.body);
  } catch {
    return {};
  }
}

// A request through the client's generic `apiRequest`, for paths no method
// of this client calls. Returns the status and the parsed body.
async function raw(client, method, path, { body, qs } = {}) {
  const response = await client.apiRequest({ method, path, body, qs });
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    throw new CheckFailed(`${method} ${path}: the answer is not JSON: ${text.slice(0, 500)}`);
  }
  return { status: response.status, json };
}

async function rawOk(client, method, path, options, status = 200) {
  const answer = await raw(client, method, path, options);
  check(answer.status === status, () => `${method} ${path}: expected HTTP ${status}, got ${answer.status}: ${show(answer.json)}`);
  return answer.json;
}

// Every result of a search, following `after` page by page (HubSpot's
// search returns at most 200 a page).
async function searchAll(api, request) {
  const results = [];
  let after = '0';
  let total;
  for (let guard = 0; guard < 1000 && after; guard += 1) {
    const page = await api.doSearch({ filterGroups: [], sorts: [], ...request, limit: 200, after });
    total = page.total;
    results.push(...page.results);
    after = page.paging && page.paging.next && page.paging.next.after;
  }
  check(results.length === total, () => `the pages hold ${results.length} results, total says ${total}`);
  return { total, results };
}

const few = (list) => (list.length > 6 ? `${list.slice(0, 5).join(', ')}, … (${list.length})` : list.join(', '));

// The same through apiRequest, for a date-versioned search path.
async function rawSearchAll(path, body) {
  const results = [];
  let after = '0';
  let total;
  for (let guard = 0; guard < 1000 && after; guard += 1) {
    const page = await rawOk(crm, 'POST', path, { body: { filterGroups: [], sorts: [], properties: ['email'], ...body, limit: 200, after } });
    total = page.total;
    results.push(...page.results);
    after = page.paging && page.paging.next && page.paging.next.after;
  }
  check(results.length === total, () => `${path}: the pages hold ${results.length} results, total says ${total}`);
  return { total, results };
}

const firstWord = (text) => (String(text ?? '').match(/[\p{L}\p{N}]+/u) || [''])[0];

// HubSpot's batch endpoints take at most 100 inputs.
const BATCH_MAX = 100;

const ids = (list) => list.map((item) => String(item.id));
const sorted = (list) => [...list].map(String).sort();
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const sameSet = (a, b) => same(sorted(a), sorted(b));
const lower = (text) => String(text ?? '').toLowerCase();

function isDate(value) {
  return value instanceof Date ? !Number.isNaN(value.getTime()) : typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

// ---------------------------------------------------------------------------

async function main() {
  console.log(
    `@hubspot/api-client ${SDK_VERSION}; crm ${crmUrl}, mail ${mailUrl}${singleHost ? ' (one host)' : ''}`,
  );
  const contacts = crm.crm.contacts;
  const tickets = crm.crm.tickets;

  // Every contact, through the list with paging, and its tickets.
  let all = [];
  await step('list pages through all contacts with after', async () => {
    const total = (
      await contacts.searchApi.doSearch({ filterGroups: [], properties: ['email'], sorts: [], limit: 1, after: '0' })
    ).total;
    // Small pages, so that even a few contacts take several.
    const limit = total > 200 ? 100 : 2;
    const listed = [];
    const pages = [];
    let after;
    for (let guard = 0; guard < 1000; guard += 1) {
      const page = await contacts.basicApi.getPage(limit, after, ['email', 'firstname', 'lastname'], undefined, ['tickets']);
      check(Array.isArray(page.results), () => `no results array: ${show(page)}`);
      check(page.results.length <= limit, () => `asked for ${limit} a page, got ${page.results.length}`);
      listed.push(...page.results);
      pages.push(page.results.length);
      const next = page.paging && page.paging.next && page.paging.next.after;
      if (!next) break;
      check(page.results.length === limit, () => `a page before the last has ${page.results.length} of ${limit}`);
      check(next !== after, () => `the cursor did not move: after=${next}`);
      after = next;
    }
    check(listed.length > 0, 'the mock CRM lists no contacts');
    const seen = new Set(ids(listed));
    check(seen.size === listed.length, () => `a contact was listed twice: ${show(ids(listed))}`);
    for (const contact of listed) {
      check(contact.properties && contact.properties.email, () => `contact ${contact.id} has no email: ${show(contact)}`);
      check(isDate(contact.createdAt) && isDate(contact.updatedAt), () => `contact ${contact.id} lacks dates: ${show(contact)}`);
    }
    check(total === listed.length, () => `the list has ${listed.length} contacts, a search with no filter says ${total}`);
    all = listed;
    return `${listed.length} contacts in ${pages.length} pages of ${limit} (${few(pages)}), equal to the search total`;
  });

  const ticketsOf = (contact) =>
    ((contact.associations && contact.associations.tickets && contact.associations.tickets.results) || []).map((a) =>
      String(a.id),
    );
  if (all.length === 0) {
    // The list failed: learn the contacts from a search and their tickets
    // from reads, so that the other steps still run.
    try {
      let after = '0';
      for (let guard = 0; guard < 1000 && after; guard += 1) {
        const page = await contacts.searchApi.doSearch({ filterGroups: [], properties: ['email', 'firstname', 'lastname'], sorts: [], limit: 200, after });
        for (const found of page.results) {
          let read = found;
          try {
            read = await contacts.basicApi.getById(found.id, ['email', 'firstname', 'lastname'], undefined, ['tickets']);
          } catch {
            // Without its associations.
          }
          all.push(read);
        }
        after = page.paging && page.paging.next && page.paging.next.after;
      }
      console.log(`note: the list failed; the other steps use the ${all.length} contacts a search found`);
    } catch (error) {
      console.log(`note: the list failed, and a search for all contacts too: ${describeError(error)}`);
    }
  }
  const first = all[0] || { id: 'unknown', properties: { email: 'unknown@example.com' } };
  const email = first.properties.email;

  await step('search by email, in other case, finds exactly that contact', async () => {
    const found = await contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: email.toUpperCase() }] }],
      properties: ['email', 'firstname', 'phone'],
      sorts: [],
      limit: 2,
      after: '0',
    });
    check(found.total === 1 && found.results.length === 1, () => `search for ${email.toUpperCase()} found ${show(found)}`);
    check(String(found.results[0].id) === String(first.id), () => `found ${found.results[0].id}, listed ${first.id}`);
    check(found.results[0].properties.email === email, () => `found email ${found.results[0].properties.email}`);
    return `${email.toUpperCase()} -> contact ${first.id}`;
  });

  await step('getById with properties', async () => {
    const read = await contacts.basicApi.getById(first.id, ['email', 'phone', 'firstname']);
    check(String(read.id) === String(first.id) && read.properties.email === email, () => `read ${show(read)}`);
    check(isDate(read.createdAt) && isDate(read.updatedAt), () => `no createdAt/updatedAt: ${show(read)}`);
    return `contact ${read.id} with ${Object.keys(read.properties).sort().join(', ')}`;
  });

  await step('update a property and read it back (then restore it)', async () => {
    const before = (await contacts.basicApi.getById(first.id, ['phone'])).properties.phone ?? '';
    const phone = '+44 117 496 0188';
    const updated = await contacts.basicApi.update(first.id, { properties: { phone } });
    check(updated.properties.phone === phone, () => `update answered ${show(updated)}`);
    const again = await contacts.basicApi.getById(first.id, ['phone']);
    check(again.properties.phone === phone, () => `read back ${show(again)}`);
    await contacts.basicApi.update(first.id, { properties: { phone: before } });
    const restored = (await contacts.basicApi.getById(first.id, ['phone'])).properties.phone ?? '';
    check(restored === before, () => `restoring ${show(before)} left ${show(restored)}`);
    return `phone ${phone} read back, ${before || '(none)'} restored`;
  });

  await step('a missing contact is a 404 the client raises', async () => {
    const error = await refused(404, () => contacts.basicApi.getById(MISSING_ID));
    const body = errorBody(error);
    check(body.category === 'OBJECT_NOT_FOUND', () => `404 body ${show(body)}`);
    return `category ${body.category}`;
  });

  await step('getById with idProperty=email', async () => {
    const read = await contacts.basicApi.getById(email, ['email'], undefined, undefined, false, 'email');
    check(String(read.id) === String(first.id), () => `read by email ${email}: ${show(read)}`);
    return `${email} -> contact ${read.id}`;
  });

  // A contact with tickets, and its tickets as a get with associations says.
  let withTickets;
  let itsTickets;
  await step('getById with associations equals the list with associations', async () => {
    const candidate = all.find((contact) => ticketsOf(contact).length > 0);
    check(candidate, () => `no listed contact has tickets: ${show(all.map((c) => [c.id, c.associations]))}`);
    const read = await contacts.basicApi.getById(candidate.id, ['email'], undefined, ['tickets', 'companies']);
    const got = read.associations && read.associations.tickets;
    check(got && Array.isArray(got.results), () => `no associations.tickets: ${show(read)}`);
    const found = got.results.map((a) => String(a.id));
    check(sameSet(found, ticketsOf(candidate)), () => `get says ${show(found)}, list says ${show(ticketsOf(candidate))}`);
    [withTickets, itsTickets] = [candidate, found];
    for (const association of got.results) {
      check(typeof association.type === 'string' && association.type, () => `association without type: ${show(association)}`);
    }
    return `contact ${withTickets.id} -> tickets ${itsTickets.join(', ')}`;
  });

  await step('batch read: existing ids, and a missing id is an error entry (207)', async () => {
    const some = all.slice(0, 3);
    const whole = await contacts.batchApi.read({ inputs: some.map((c) => ({ id: String(c.id) })), properties: ['email'], propertiesWithHistory: [] });
    check(whole.status === 'COMPLETE', () => `status ${show(whole)}`);
    check(sameSet(ids(whole.results), ids(some)), () => `asked ${show(ids(some))}, got ${show(ids(whole.results))}`);
    for (const record of whole.results) {
      const listed = some.find((c) => String(c.id) === String(record.id));
      check(record.properties.email === listed.properties.email, () => `batch ${record.id}: ${show(record.properties)}`);
    }
    check(isDate(whole.startedAt) && isDate(whole.completedAt), () => `no startedAt/completedAt: ${show(whole)}`);
    check(!whole.errors || whole.errors.length === 0, () => `errors for existing ids: ${show(whole.errors)}`);
    check(exchange.response.status === 200, () => `all found is HTTP ${exchange.response.status}, not 200`);

    const partial = await contacts.batchApi.read({
      inputs: [{ id: String(first.id) }, { id: MISSING_ID }],
      properties: ['email'],
      propertiesWithHistory: [],
    });
    check(exchange.response.status === 207, () => `a missing id is HTTP ${exchange.response.status}, not 207`);
    check(sameSet(ids(partial.results), [first.id]), () => `results ${show(ids(partial.results))}`);
    check(Array.isArray(partial.errors) && partial.errors.length === 1, () => `errors ${show(partial.errors)}`);
    const [error] = partial.errors;
    check(error.status === 'error' && error.category === 'OBJECT_NOT_FOUND' && error.message, () => `error entry ${show(error)}`);
    check(show(error.context).includes(MISSING_ID), () => `the error's context does not name ${MISSING_ID}: ${show(error)}`);
    if (partial.numErrors !== undefined) check(partial.numErrors === 1, () => `numErrors ${partial.numErrors}`);

    const byEmail = await contacts.batchApi.read({
      inputs: [{ id: email.toUpperCase() }],
      idProperty: 'email',
      properties: ['email'],
      propertiesWithHistory: [],
    });
    check(sameSet(ids(byEmail.results), [first.id]), () => `batch by email: ${show(byEmail)}`);
    return `${whole.results.length} read; missing ${MISSING_ID} -> 207 ${error.category} ${show(error.context)}; idProperty=email works`;
  });

  await step('v4 associations getPage (contact -> tickets) equals the get with associations', async () => {
    needs(withTickets, 'a contact with tickets');
    const page = await crm.crm.associations.v4.basicApi.getPage('contacts', String(withTickets.id), 'tickets');
    check(Array.isArray(page.results), () => `no results: ${show(page)}`);
    const got = page.results.map((r) => String(r.toObjectId));
    check(sameSet(got, itsTickets), () => `v4 says ${show(got)}, the get said ${show(itsTickets)}`);
    for (const result of page.results) {
      check(Array.isArray(result.associationTypes) && result.associationTypes.length > 0, () => `no associationTypes: ${show(result)}`);
      for (const type of result.associationTypes) {
        check(type.category && Number.isInteger(type.typeId), () => `association type ${show(type)}`);
      }
    }
    // One at a time, following `after`.
    const walked = [];
    let after;
    for (let guard = 0; guard < 100; guard += 1) {
      const one = await crm.crm.associations.v4.basicApi.getPage('contacts', String(withTickets.id), 'tickets', after, 1);
      check(one.results.length <= 1, () => `limit 1 gave ${one.results.length}`);
      walked.push(...one.results.map((r) => String(r.toObjectId)));
      after = one.paging && one.paging.next && one.paging.next.after;
      if (!after) break;
    }
    check(same(walked, got), () => `paging one at a time gave ${show(walked)}, one page gave ${show(got)}`);
    const types = page.results[0].associationTypes.map((t) => `${t.category}/${t.typeId}${t.label ? `/${t.label}` : ''}`);
    return `tickets ${got.join(', ')} (${types.join(' ')}); limit=1 paging walks the same`;
  });

  // At most BATCH_MAX - 2, leaving room for one without tickets and a missing id.
  const contactsWithTickets = all.filter((contact) => ticketsOf(contact).length > 0).slice(0, BATCH_MAX - 2);
  const contactsWithout = all.filter((contact) => ticketsOf(contact).length === 0).slice(0, 1);

  // The 207 of an associations batch read asked also for a contact without
  // tickets (if any) and a missing id: one error naming each, results for
  // the others only.
  function checkAssociationErrors(answer, status) {
    const expected = [...contactsWithout.map((c) => String(c.id)), MISSING_ID];
    check(status === 207, () => `with ${show(expected)} among the inputs, HTTP ${status}, not 207`);
    check(sameSet(answer.results.map((r) => r._from && r._from.id), ids(contactsWithTickets)), () => `results from ${show(answer.results.map((r) => r._from))}`);
    const errors = answer.errors || [];
    for (const id of expected) {
      const error = errors.find((e) => show(e.context).includes(`"${id}"`));
      check(error && error.status === 'error' && error.category && error.message, () => `no error entry naming ${id}: ${show(errors)}`);
    }
    check(errors.length === expected.length, () => `${errors.length} errors for ${expected.length} ids: ${show(errors)}`);
    return errors.map((e) => `${e.subCategory || e.category}`).join(', ');
  }

  await step('v4 associations batch read (contacts -> tickets)', async () => {
    needs(contactsWithTickets.length > 0, 'contacts with tickets');
    const inputs = contactsWithTickets.map((c) => ({ id: String(c.id) }));
    const answer = await crm.crm.associations.v4.batchApi.getPage('contacts', 'tickets', { inputs });
    check(exchange.response.status === 200, () => `all with tickets is HTTP ${exchange.response.status}, not 200`);
    check(answer.status === 'COMPLETE' && Array.isArray(answer.results), () => `answer ${show(answer)}`);
    for (const contact of contactsWithTickets) {
      const entry = answer.results.find((r) => r._from && String(r._from.id) === String(contact.id));
      check(entry, () => `no result from contact ${contact.id}: ${show(answer.results)}`);
      const got = entry.to.map((t) => String(t.toObjectId));
      check(sameSet(got, ticketsOf(contact)), () => `contact ${contact.id}: batch ${show(got)}, list ${show(ticketsOf(contact))}`);
    }
    const mixed = await crm.crm.associations.v4.batchApi.getPage('contacts', 'tickets', {
      inputs: [...inputs, ...contactsWithout.map((c) => ({ id: String(c.id) })), { id: MISSING_ID }],
    });
    const kinds = checkAssociationErrors(mixed, exchange.response.status);
    return `${answer.results.length} contacts, each with the tickets the list shows; 207 errors ${kinds}`;
  });

  await step('v3 associations batch read (contacts -> tickets)', async () => {
    needs(contactsWithTickets.length > 0, 'contacts with tickets');
    const inputs = contactsWithTickets.map((c) => ({ id: String(c.id) }));
    const answer = await crm.crm.associations.batchApi.read('contacts', 'tickets', { inputs });
    check(exchange.response.status === 200, () => `all with tickets is HTTP ${exchange.response.status}, not 200`);
    check(answer.status === 'COMPLETE' && Array.isArray(answer.results), () => `answer ${show(answer)}`);
    for (const contact of contactsWithTickets) {
      const entry = answer.results.find((r) => r._from && String(r._from.id) === String(contact.id));
      check(entry, () => `no result from contact ${contact.id}: ${show(answer.results)}`);
      const got = entry.to.map((t) => String(t.id));
      check(sameSet(got, ticketsOf(contact)), () => `contact ${contact.id}: v3 batch ${show(got)}, list ${show(ticketsOf(contact))}`);
      check(entry.to.every((t) => typeof t.type === 'string' && t.type), () => `to without type: ${show(entry.to)}`);
    }
    const mixed = await crm.crm.associations.batchApi.read('contacts', 'tickets', {
      inputs: [...inputs, ...contactsWithout.map((c) => ({ id: String(c.id) })), { id: MISSING_ID }],
    });
    const kinds = checkAssociationErrors(mixed, exchange.response.status);
    return `${answer.results.length} contacts, each with the tickets the list shows; 207 errors ${kinds}`;
  });

  let emailProperty;
  await step('properties getAll and getByName (contacts, email)', async () => {
    const every = await crm.crm.properties.coreApi.getAll('contacts');
    check(Array.isArray(every.results) && every.results.length > 0, () => `no properties: ${show(every)}`);
    emailProperty = every.results.find((p) => p.name === 'email');
    check(emailProperty, () => `no email property among ${show(every.results.map((p) => p.name))}`);
    check(emailProperty.label && emailProperty.type === 'string' && emailProperty.fieldType === 'text', () => `email is ${show(emailProperty)}`);
    check(typeof emailProperty.groupName === 'string' && Array.isArray(emailProperty.options), () => `email lacks groupName/options: ${show(emailProperty)}`);
    for (const property of every.results) {
      check(property.name && property.type && property.fieldType, () => `property without name/type/fieldType: ${show(property)}`);
    }
    const one = await crm.crm.properties.coreApi.getByName('contacts', 'email');
    for (const key of ['name', 'label', 'type', 'fieldType', 'groupName']) {
      check(one[key] === emailProperty[key], () => `getByName ${key}=${show(one[key])}, getAll ${show(emailProperty[key])}`);
    }
    await refused(404, () => crm.crm.properties.coreApi.getByName('contacts', 'no_such_property_here'));
    return `${every.results.length} contact properties; email is "${emailProperty.label}" ${emailProperty.type}/${emailProperty.fieldType} in ${emailProperty.groupName}; a missing one is 404`;
  });

  await step('search with query (free text)', async () => {
    const target = all.find((c) => c.properties.lastname) || first;
    // One word of the last name (generated fixtures add "(ref …)" to names).
    const word = firstWord(target.properties.lastname) || target.properties.email;
    const found = await searchAll(contacts.searchApi, { query: word, properties: ['email', 'lastname'] });
    check(ids(found.results).includes(String(target.id)), () => `query ${word} did not find contact ${target.id}: ${show(found)}`);
    const nothing = await contacts.searchApi.doSearch({ query: 'zqxjvb-nothing-matches', filterGroups: [], properties: ['email'], sorts: [], limit: 10, after: '0' });
    check(nothing.total === 0 && nothing.results.length === 0, () => `a query matching nothing found ${show(nothing)}`);
    return `query "${word}" found ${found.total} (${few(ids(found.results))}); nonsense found 0`;
  });

  await step('ticket search by associations.contact', async () => {
    needs(withTickets, 'a contact with tickets');
    const found = await tickets.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'associations.contact', operator: 'EQ', value: String(withTickets.id) }] }],
      properties: ['subject'],
      sorts: [],
      limit: 100,
      after: '0',
    });
    check(sameSet(ids(found.results), itsTickets), () => `tickets of contact ${withTickets.id}: search ${show(ids(found.results))}, associations ${show(itsTickets)}`);
    check(found.total === itsTickets.length, () => `total ${found.total}`);
    return `contact ${withTickets.id} -> tickets ${ids(found.results).join(', ')}`;
  });

  await step('CONTAINS_TOKEN *@example.com', async () => {
    const expected = all.filter((c) => lower(c.properties.email).endsWith('@example.com'));
    const found = await searchAll(contacts.searchApi, {
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'CONTAINS_TOKEN', value: '*@example.com' }] }],
      properties: ['email'],
    });
    check(sameSet(ids(found.results), ids(expected)), () => `found ${show(found.results.map((c) => c.properties.email))}, expected ${show(expected.map((c) => c.properties.email))}`);
    check(found.total === expected.length, () => `total ${found.total}, expected ${expected.length}`);
    return `${found.total} of ${all.length} contacts (${few(found.results.map((c) => c.properties.email))})`;
  });

  await step('sorted search (email ascending, then descending)', async () => {
    const search = (direction) => searchAll(contacts.searchApi, { properties: ['email'], sorts: [{ propertyName: 'email', direction }] });
    const up = (await search('ASCENDING')).results.map((c) => c.properties.email);
    const down = (await search('DESCENDING')).results.map((c) => c.properties.email);
    const expected = all.map((c) => c.properties.email).sort((a, b) => (lower(a) < lower(b) ? -1 : lower(a) > lower(b) ? 1 : 0));
    check(same(up, expected), () => `ascending ${show(up)}, expected ${show(expected)}`);
    check(same(down, [...expected].reverse()), () => `descending ${show(down)}`);
    return `${up[0]} … ${up[up.length - 1]}, across pages of 200`;
  });

  await step('an unsupported filter is a 400 the client raises', async () => {
    const error = await refused(400, () =>
      contacts.searchApi.doSearch({
        filterGroups: [{ filters: [{ propertyName: 'email', operator: 'SOUNDS_LIKE', value: email }] }],
        properties: ['email'],
        sorts: [],
        limit: 1,
        after: '0',
      }),
    );
    const body = errorBody(error);
    check(body.category === 'VALIDATION_ERROR', () => `400 body ${show(body)}`);
    check(String(body.message).includes('EQ'), () => `the message does not name the supported operators: ${body.message}`);
    return `VALIDATION_ERROR: ${body.message}`;
  });

  // The date-versioned paths, through apiRequest (no Node client version calls them).
  for (const version of DATED) {
    const objects = `/crm/objects/${version}`;
    await step(`dated ${version}: getById, getById by email, list paging, search, batch read, update`, async () => {
      const read = await rawOk(crm, 'GET', `${objects}/contacts/${first.id}`, { qs: { properties: 'email,phone' } });
      check(String(read.id) === String(first.id) && read.properties.email === email, () => `read ${show(read)}`);
      check(isDate(read.createdAt) && isDate(read.updatedAt), () => `no dates: ${show(read)}`);
      const byEmail = await rawOk(crm, 'GET', `${objects}/contacts/${encodeURIComponent(email)}`, { qs: { idProperty: 'email' } });
      check(String(byEmail.id) === String(first.id), () => `by email ${show(byEmail)}`);
      const missing = await raw(crm, 'GET', `${objects}/contacts/${MISSING_ID}`);
      check(missing.status === 404 && missing.json.category === 'OBJECT_NOT_FOUND', () => `missing: ${missing.status} ${show(missing.json)}`);

      const listed = [];
      let after;
      for (let guard = 0; guard < 1000; guard += 1) {
        const page = await rawOk(crm, 'GET', `${objects}/contacts`, { qs: { limit: '2', properties: 'email', ...(after ? { after } : {}) } });
        listed.push(...page.results);
        after = page.paging && page.paging.next && page.paging.next.after;
        if (!after) break;
      }
      check(sameSet(ids(listed), ids(all)) && listed.length === all.length, () => `dated list ${show(ids(listed))}, v3 list ${show(ids(all))}`);

      const found = await rawOk(crm, 'POST', `${objects}/contacts/search`, {
        body: { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: email.toUpperCase() }] }], properties: ['email'], limit: 2, after: '0', sorts: [] },
      });
      check(found.total === 1 && String(found.results[0].id) === String(first.id), () => `search ${show(found)}`);

      const batch = await raw(crm, 'POST', `${objects}/contacts/batch/read`, {
        body: { inputs: [{ id: String(first.id) }, { id: MISSING_ID }], properties: ['email'], propertiesWithHistory: [] },
      });
      check(batch.status === 207 && sameSet(ids(batch.json.results), [first.id]), () => `batch ${batch.status} ${show(batch.json)}`);
      check(Array.isArray(batch.json.errors) && show(batch.json.errors).includes(MISSING_ID), () => `batch errors ${show(batch.json.errors)}`);

      const before = read.properties.phone ?? '';
      const phone = `+44 117 496 0${version.slice(2, 4)}${version.slice(5, 7)}`;
      const updated = await rawOk(crm, 'PATCH', `${objects}/contacts/${first.id}`, { body: { properties: { phone } } });
      check(updated.properties.phone === phone, () => `update ${show(updated)}`);
      const again = await rawOk(crm, 'GET', `${objects}/contacts/${first.id}`, { qs: { properties: 'phone' } });
      check(again.properties.phone === phone, () => `read back ${show(again)}`);
      await rawOk(crm, 'PATCH', `${objects}/contacts/${first.id}`, { body: { properties: { phone: before } } });
      return `${all.length} listed, batch 207 for ${MISSING_ID}, update read back`;
    });
  }

  await step(`dated ${CURRENT}: tickets and companies, search by association, query, token, sort, refused filter`, async () => {
    needs(withTickets, 'a contact with tickets');
    const objects = `/crm/objects/${CURRENT}`;
    const ticket = await rawOk(crm, 'GET', `${objects}/tickets/${itsTickets[0]}`, { qs: { associations: 'contacts' } });
    check(String(ticket.id) === itsTickets[0], () => `ticket ${show(ticket)}`);
    const back = ((ticket.associations && ticket.associations.contacts && ticket.associations.contacts.results) || []).map((a) => String(a.id));
    check(back.includes(String(withTickets.id)), () => `ticket ${ticket.id} is not associated back to contact ${withTickets.id}: ${show(ticket.associations)}`);
    const companies = await rawOk(crm, 'GET', `${objects}/companies`, { qs: { limit: '100' } });
    check(Array.isArray(companies.results), () => `companies ${show(companies)}`);

    const byContact = await rawOk(crm, 'POST', `${objects}/tickets/search`, {
      body: { filterGroups: [{ filters: [{ propertyName: 'associations.contact', operator: 'EQ', value: String(withTickets.id) }] }], properties: ['subject'], limit: 100, after: '0', sorts: [] },
    });
    check(sameSet(ids(byContact.results), itsTickets), () => `tickets by contact ${show(byContact)}`);
    const word = firstWord(withTickets.properties.lastname) || email;
    const query = await rawSearchAll(`${objects}/contacts/search`, { query: word });
    check(ids(query.results).includes(String(withTickets.id)), () => `query ${word}: ${show(query)}`);
    const expected = all.filter((c) => lower(c.properties.email).endsWith('@example.com'));
    const token = await rawSearchAll(`${objects}/contacts/search`, {
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'CONTAINS_TOKEN', value: '*@example.com' }] }],
    });
    check(sameSet(ids(token.results), ids(expected)), () => `token ${show(token)}`);
    const sortedDown = await rawSearchAll(`${objects}/contacts/search`, { sorts: [{ propertyName: 'email', direction: 'DESCENDING' }] });
    const emails = sortedDown.results.map((c) => lower(c.properties.email));
    check(same(emails, [...emails].sort().reverse()), () => `descending ${show(emails)}`);
    const bad = await raw(crm, 'POST', `${objects}/contacts/search`, {
      body: { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'SOUNDS_LIKE', value: email }] }], properties: ['email'], limit: 1, after: '0', sorts: [] },
    });
    check(bad.status === 400 && bad.json.category === 'VALIDATION_ERROR', () => `refused filter: ${bad.status} ${show(bad.json)}`);
    return `ticket ${ticket.id} <-> contact ${withTickets.id}; ${companies.results.length} companies; searches agree with v3`;
  });

  await step(`dated ${CURRENT}: associations (object path and batch read) and properties`, async () => {
    needs(withTickets, 'a contact with tickets');
    needs(emailProperty, 'the email property from getAll');
    const page = await rawOk(crm, 'GET', `/crm/objects/${CURRENT}/contacts/${withTickets.id}/associations/tickets`);
    const got = page.results.map((r) => String(r.toObjectId));
    check(sameSet(got, itsTickets), () => `dated associations ${show(page)}`);
    check(page.results.every((r) => Array.isArray(r.associationTypes) && r.associationTypes.length > 0), () => `associationTypes ${show(page)}`);
    const inputs = contactsWithTickets.map((c) => ({ id: String(c.id) }));
    const batch = await rawOk(crm, 'POST', `/crm/associations/${CURRENT}/contacts/tickets/batch/read`, { body: { inputs } });
    for (const contact of contactsWithTickets) {
      const entry = batch.results.find((r) => r.from && String(r.from.id) === String(contact.id));
      check(entry && sameSet(entry.to.map((t) => String(t.toObjectId)), ticketsOf(contact)), () => `dated batch for ${contact.id}: ${show(batch)}`);
    }
    const every = await rawOk(crm, 'GET', `/crm/properties/${CURRENT}/contacts`);
    const listedEmail = every.results.find((p) => p.name === 'email');
    check(listedEmail && listedEmail.label === emailProperty.label && listedEmail.type === emailProperty.type, () => `dated properties email ${show(listedEmail)}`);
    const one = await rawOk(crm, 'GET', `/crm/properties/${CURRENT}/contacts/email`);
    check(one.name === 'email' && one.fieldType === emailProperty.fieldType, () => `dated property ${show(one)}`);
    return `associations ${got.join(', ')}; batch for ${inputs.length} contacts; ${every.results.length} properties`;
  });

  // The transactional send: with one host, through the same client as the CRM.
  const recipient = email;
  const sendId = `leakproof-node-${process.pid}-${Date.now()}`;
  await step(`transactional sendEmail${singleHost ? ' through the CRM client (one host)' : ' on the mail host'}`, async () => {
    const request = {
      emailId: 4242,
      message: { to: recipient, sendId },
      contactProperties: { firstname: first.properties.firstname || 'there' },
      customProperties: { verification_link: 'https://example.com/verify?t=node-sdk' },
    };
    const sent = await mail.marketing.transactional.singleSendApi.sendEmail(request);
    check(sent.statusId && ['PENDING', 'PROCESSING', 'COMPLETE'].includes(sent.status), () => `send answered ${show(sent)}`);
    const again = await mail.marketing.transactional.singleSendApi.sendEmail(request);
    check(again.statusId === sent.statusId, () => `the same sendId twice gave statusIds ${sent.statusId} and ${again.statusId}`);
    const bad = await refused(400, () => mail.marketing.transactional.singleSendApi.sendEmail({ emailId: 4242, message: { to: 'not-an-address' } }));
    return `to ${recipient}: ${sent.status} ${sent.statusId}; the same sendId is idempotent; a bad address is ${bad.code}`;
  });

  await step(`dated ${CURRENT}: transactional send`, async () => {
    const sent = await rawOk(mail, 'POST', `/marketing/transactional/${CURRENT}/single-email/send`, {
      body: { emailId: 4242, message: { to: recipient, sendId: `${sendId}-dated` }, customProperties: { verification_link: 'https://example.com/verify?t=node-dated' } },
    });
    check(sent.statusId && sent.status, () => `send ${show(sent)}`);
    return `${sent.status} ${sent.statusId}`;
  });

}

main().then(
  () => {
    const passed = stepNo - failures.length;
    if (failures.length > 0) {
      console.log(`FAILED with @hubspot/api-client ${SDK_VERSION}: ${failures.join('; ')}`);
    }
    console.log(`node client: ${passed} passed, ${failures.length} failed`);
    process.exit(failures.length > 0 ? 1 : 0);
  },
  (error) => {
    reportFailure(error);
    process.exit(1);
  },
);
