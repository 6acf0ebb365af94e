"""HubSpot's own Python clients against `leakproof mocks serve`.

Two official clients, each pointed at the mock as an integration would point
it at HubSpot:
- PyPI `hubspot-api-client` (12.0.0, the newest; `host=`), which calls the
  /crm/v3 and /crm/v4 paths: search, read, update, list with paging, batch
  read, associations (v3 and v4), property definitions, search by free text,
  by association, by token and sorted, a refused filter, and the
  transactional send;
- PyPI `hubspot-sdk` (0.1.0a9, HubSpot's Stainless-generated SDK;
  `base_url=`), which calls the date-versioned 2026-03 paths, for the same
  operations. Its responses are checked against its own models
  (`_strict_response_validation`), so a shape the 2026-03 spec does not allow
  fails. The 2025-09 and 2026-09 paths, which no client calls, go through
  `hubspot-api-client`'s generic `api_request`.

Each step prints `step N ok: ...`; a failed step prints `step N FAILED`, what
went wrong and the last request with its answer, and the later steps still
run. Ends with `python clients: N passed, N failed`, and exits 1 if any step
failed. Nothing is hard-coded about the fixtures: expected sets are computed
from a listing of all contacts.

Usage: python hubspot_client.py CRM_BASE_URL TOKEN [MAIL_BASE_URL]
(without MAIL_BASE_URL the transactional sends are not run; with
`mocks serve --single-host` the two URLs are the same, and one client of each
kind does the CRM calls and the send).
"""

import json
import os
import re
import sys
import time
import traceback
from importlib import metadata
from urllib.parse import urlencode

import urllib3
from hubspot import HubSpot
from hubspot.crm.associations import BatchInputPublicObjectId, PublicObjectId
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.contacts import (
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectId,
    SimplePublicObjectInput,
)
from hubspot.marketing.transactional import PublicSingleSendEmail, PublicSingleSendRequestEgg

DATED = ["2026-03", "2025-09", "2026-09"]
CURRENT = "2026-03"
MISSING_ID = "999999999"
# HubSpot's batch endpoints take at most 100 inputs.
BATCH_MAX = 100
SDK_PIN = "hubspot-sdk==0.1.0a9"

# ---------------------------------------------------------------------------
# The last exchange, for failure reports: hubspot-api-client sends through
# urllib3's PoolManager.request, hubspot-sdk through httpx (event hooks
# below), api_request through requests (recorded by `raw`).

EXCHANGE = {"request": None, "response": None}

_pool_request = urllib3.PoolManager.request


def _recording_request(self, method, url, *args, **kwargs):
    body, fields, shown = kwargs.get("body"), kwargs.get("fields"), url
    if fields and method.upper() in ("GET", "DELETE", "HEAD"):
        shown = f"{url}?{urlencode(fields, doseq=True)}"  # as urllib3 sends them
    elif body is None and fields:
        body = fields
    EXCHANGE["request"] = {"method": method, "url": shown, "body": _text(body)}
    EXCHANGE["response"] = None
    response = _pool_request(self, method, url, *args, **kwargs)
    if kwargs.get("preload_content", True):
        EXCHANGE["response"] = {"status": response.status, "body": _text(response.data)}
    return response


urllib3.PoolManager.request = _recording_request


def _text(value):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


def _httpx_request(request):
    EXCHANGE["request"] = {"method": request.method, "url": str(request.url), "body": _text(request.content)}
    EXCHANGE["response"] = None


def _httpx_response(response):
    response.read()
    EXCHANGE["response"] = {"status": response.status_code, "body": response.text}


# ---------------------------------------------------------------------------
# Steps and checks.


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message() if callable(message) else message)


def show(value, limit=1500):
    try:
        text = json.dumps(value, default=str)
    except TypeError:
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def needs(value, what):
    if not value:
        raise CheckFailed(f"not run: needs {what}, which an earlier step failed to find")
    return value


class Steps:
    def __init__(self):
        self.number = 0
        self.failures = []

    def run(self, what, body):
        self.number += 1
        EXCHANGE["request"] = EXCHANGE["response"] = None
        try:
            detail = body()
        except Exception as error:  # a failed check, a client error or a bug
            self.failures.append(f"step {self.number}: {what}")
            print(f"step {self.number} FAILED: {what}")
            print(f"  {describe(error)}")
            request, response = EXCHANGE["request"], EXCHANGE["response"]
            if request:
                body_text = f"\n    body: {request['body'][:3000]}" if request["body"] else ""
                print(f"  last request the client sent: {request['method']} {request['url']}{body_text}")
                if response:
                    print(f"  its answer: HTTP {response['status']}\n    body: {(response['body'] or '')[:3000]}")
                else:
                    print("  (no answer was received, or the client read it as a stream)")
            return None
        print(f"step {self.number} ok: {what}" + (f": {detail}" if detail else ""))
        return detail


def describe(error):
    if isinstance(error, CheckFailed):
        # A client model's repr is pretty-printed over many lines: one line.
        text = " ".join(str(error).split())
        return text if len(text) <= 2000 else text[:2000] + "…"
    status = getattr(error, "status", None) or getattr(error, "status_code", None)
    if isinstance(status, int):
        body = getattr(error, "body", None)
        return f"the client raised HTTP {status} ({type(error).__name__}) with body {_text(body)}"
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return "".join(lines[-6:]).rstrip().replace("\n", "\n  ")


def refused(status, call):
    """A call the client must refuse with HTTP `status`: returns the error."""
    try:
        result = call()
    except Exception as error:
        got = getattr(error, "status", None) or getattr(error, "status_code", None)
        check(got == status, lambda: f"expected HTTP {status}, {describe(error)}")
        return error
    raise CheckFailed(f"expected HTTP {status}, the call returned {result}")


def error_body(error):
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        return body
    try:
        return json.loads(body)
    except (TypeError, ValueError):
        return {}


def ids(items):
    return [str(item.id) if hasattr(item, "id") else str(item["id"]) for item in items]


def same_set(a, b):
    return sorted(map(str, a)) == sorted(map(str, b))


def tickets_of(contact):
    associations = getattr(contact, "associations", None) or {}
    tickets = associations.get("tickets")
    return [str(a.id) for a in (tickets.results if tickets else [])]


def search_all(api, request):
    """Every result of a search, following `after` (at most 200 a page)."""
    results, after, total = [], "0", None
    for _ in range(1000):
        request.limit, request.after = 200, after
        page = api.do_search(public_object_search_request=request)
        total = page.total
        results += page.results
        after = page.paging.next.after if page.paging and page.paging.next else None
        if not after:
            break
    check(len(results) == total, lambda: f"the pages hold {len(results)} results, total says {total}")
    return total, results


def first_word(text):
    match = re.search(r"\w+", text or "")
    return match.group(0) if match else ""


def few(items):
    items = [str(i) for i in items]
    return ", ".join(items) if len(items) <= 6 else ", ".join(items[:5]) + f", … ({len(items)})"


def search_request(filters=None, **fields):
    groups = [FilterGroup(filters=[Filter(**f) for f in filters])] if filters else []
    request = {"filter_groups": groups, "properties": ["email"], "sorts": [], "limit": 100, "after": "0"}
    request.update(fields)
    return PublicObjectSearchRequest(**request)


# ---------------------------------------------------------------------------


def main(crm_url, token, mail_url):
    crm_url = crm_url.rstrip("/")
    mail_url = mail_url.rstrip("/") if mail_url else None
    single_host = mail_url == crm_url
    versions = {name: metadata.version(name) for name in ("hubspot-api-client",)}
    try:
        import hubspot_sdk
    except ImportError:
        hubspot_sdk = None
    else:
        versions["hubspot-sdk"] = metadata.version("hubspot-sdk")
    print(
        f"{', '.join(f'{k} {v}' for k, v in versions.items())}; crm {crm_url}, mail {mail_url or '(none)'}"
        + (" (one host)" if single_host else "")
    )

    client = HubSpot(access_token=token, host=crm_url)
    mail_client = client if single_host else HubSpot(access_token=token, host=mail_url) if mail_url else None
    contacts = client.crm.contacts
    steps = Steps()
    state = {"all": []}

    def raw(method, path, body=None, qs=None, base=None):
        """A request through hubspot-api-client's generic `api_request`."""
        base = base or crm_url
        EXCHANGE["request"] = {"method": method, "url": f"{base}{path} {qs or ''}", "body": _text(body)}
        EXCHANGE["response"] = None
        options = {"method": method, "path": path, "base_url": base}
        if body is not None:
            options["body"] = body
        if qs:
            options["qs"] = qs
        response = client.api_request(options)
        EXCHANGE["request"]["url"] = response.request.url
        EXCHANGE["response"] = {"status": response.status_code, "body": response.text}
        try:
            return response.status_code, (response.json() if response.text else None)
        except ValueError:
            raise CheckFailed(f"{method} {path}: the answer is not JSON: {response.text[:500]}")

    def raw_ok(method, path, status=200, **options):
        got, body = raw(method, path, **options)
        check(got == status, lambda: f"{method} {path}: expected HTTP {status}, got {got}: {show(body)}")
        return body

    # -- hubspot-api-client: /crm/v3 and /crm/v4 --------------------------------

    def list_all():
        total = contacts.search_api.do_search(public_object_search_request=search_request(limit=1)).total
        # Small pages, so that even a few contacts take several.
        limit, after, listed, pages = (100 if total > 200 else 2), None, [], []
        for _ in range(1000):
            kwargs = {"limit": limit, "properties": ["email", "firstname", "lastname"], "associations": ["tickets"]}
            if after:
                kwargs["after"] = after
            page = contacts.basic_api.get_page(**kwargs)
            check(len(page.results) <= limit, lambda: f"asked for {limit} a page, got {len(page.results)}")
            listed += page.results
            pages.append(len(page.results))
            nxt = page.paging.next.after if page.paging and page.paging.next else None
            if not nxt:
                break
            check(len(page.results) == limit, lambda: f"a page before the last has {len(page.results)} of {limit}")
            check(nxt != after, lambda: f"the cursor did not move: after={nxt}")
            after = nxt
        check(listed, "the mock CRM lists no contacts")
        check(len(set(ids(listed))) == len(listed), lambda: f"a contact was listed twice: {ids(listed)}")
        for contact in listed:
            check(contact.properties.get("email"), lambda: f"contact {contact.id} has no email: {contact}")
            check(contact.created_at and contact.updated_at, lambda: f"contact {contact.id} lacks dates: {contact}")
        check(total == len(listed), lambda: f"the list has {len(listed)} contacts, a search with no filter says {total}")
        state["all"] = listed
        return f"{len(listed)} contacts in {len(pages)} pages of {limit} ({few(pages)}), equal to the search total"

    steps.run("list (get_page) pages through all contacts with after", list_all)

    if not state["all"]:
        # The list failed: learn the contacts from a search and their tickets
        # from reads, so that the other steps still run.
        try:
            after = "0"
            while after:
                page = contacts.search_api.do_search(
                    public_object_search_request=search_request(properties=["email", "firstname", "lastname"], limit=200, after=after)
                )
                for found in page.results:
                    try:
                        found = contacts.basic_api.get_by_id(
                            contact_id=found.id, properties=["email", "firstname", "lastname"], associations=["tickets"]
                        )
                    except Exception:
                        pass
                    state["all"].append(found)
                after = page.paging.next.after if page.paging and page.paging.next else None
            print(f"note: the list failed; the other steps use the {len(state['all'])} contacts a search found")
        except Exception as error:
            print(f"note: the list failed, and a search for all contacts too: {describe(error)}")

    everyone = state["all"]
    first = everyone[0] if everyone else None
    email = first.properties["email"] if first else "unknown@example.com"
    first_id = str(first.id) if first else "unknown"
    example_com = [c for c in everyone if c.properties.get("email", "").lower().endswith("@example.com")]

    def search_by_email():
        found = contacts.search_api.do_search(
            public_object_search_request=search_request(
                [{"property_name": "email", "operator": "EQ", "value": email.upper()}],
                properties=["email", "firstname", "phone"],
                limit=2,
            )
        )
        check(found.total == 1 and len(found.results) == 1, lambda: f"search for {email.upper()} found {found}")
        check(str(found.results[0].id) == first_id and found.results[0].properties["email"] == email, lambda: f"found {found}")
        return f"{email.upper()} -> contact {first_id}"

    steps.run("search by email, in other case, finds exactly that contact", search_by_email)

    def get_by_id():
        read = contacts.basic_api.get_by_id(contact_id=first_id, properties=["email", "phone", "firstname"])
        check(str(read.id) == first_id and read.properties["email"] == email, lambda: f"read {read}")
        check(read.created_at is not None and read.updated_at is not None, lambda: f"no createdAt/updatedAt: {read}")
        return f"contact {read.id} with {', '.join(sorted(read.properties))}"

    steps.run("get_by_id with properties", get_by_id)

    def update():
        before = contacts.basic_api.get_by_id(contact_id=first_id, properties=["phone"]).properties.get("phone") or ""
        phone = "+44 117 496 0123"
        updated = contacts.basic_api.update(
            contact_id=first_id, simple_public_object_input=SimplePublicObjectInput(properties={"phone": phone})
        )
        check(updated.properties["phone"] == phone, lambda: f"update answered {updated}")
        again = contacts.basic_api.get_by_id(contact_id=first_id, properties=["phone"])
        check(again.properties["phone"] == phone, lambda: f"read back {again}")
        contacts.basic_api.update(contact_id=first_id, simple_public_object_input=SimplePublicObjectInput(properties={"phone": before}))
        restored = contacts.basic_api.get_by_id(contact_id=first_id, properties=["phone"]).properties.get("phone") or ""
        check(restored == before, lambda: f"restoring {before!r} left {restored!r}")
        return f"phone {phone} read back, {before or '(none)'} restored"

    steps.run("update a property and read it back (then restore it)", update)

    def missing():
        error = refused(404, lambda: contacts.basic_api.get_by_id(contact_id=MISSING_ID))
        body = error_body(error)
        check(body.get("category") == "OBJECT_NOT_FOUND", lambda: f"404 body {body}")
        return f"category {body['category']}"

    steps.run("a missing contact is a 404 the client raises", missing)

    def by_email():
        read = contacts.basic_api.get_by_id(contact_id=email, properties=["email"], id_property="email")
        check(str(read.id) == first_id, lambda: f"read by email {email}: {read}")
        return f"{email} -> contact {read.id}"

    steps.run("get_by_id with id_property=email", by_email)

    found = {}

    def with_associations():
        candidate = next((c for c in everyone if tickets_of(c)), None)
        check(candidate, lambda: f"no listed contact has tickets: {[(c.id, c.associations) for c in everyone]}")
        read = contacts.basic_api.get_by_id(
            contact_id=str(candidate.id), properties=["email"], associations=["tickets", "companies"]
        )
        check(read.associations and read.associations.get("tickets"), lambda: f"no associations.tickets: {read}")
        got = tickets_of(read)
        check(same_set(got, tickets_of(candidate)), lambda: f"get says {got}, list says {tickets_of(candidate)}")
        check(all(a.type for a in read.associations["tickets"].results), lambda: f"association without type: {read}")
        found["contact"], found["tickets"] = candidate, got
        return f"contact {candidate.id} -> tickets {', '.join(got)}"

    steps.run("get_by_id with associations equals the list with associations", with_associations)
    # At most BATCH_MAX - 2, leaving room for one without tickets and a missing id.
    with_tickets = [c for c in everyone if tickets_of(c)][: BATCH_MAX - 2]
    without_tickets = [c for c in everyone if not tickets_of(c)][:1]

    def check_association_errors(answer, status):
        """The 207 of an associations batch read asked also for a contact
        without tickets (if any) and a missing id: one error naming each,
        results for the others only."""
        expected = [str(c.id) for c in without_tickets] + [MISSING_ID]
        check(status == 207, lambda: f"with {expected} among the inputs, HTTP {status}, not 207")
        check(same_set([r._from.id for r in answer.results], ids(with_tickets)), lambda: f"results {answer.results}")
        errors = getattr(answer, "errors", None) or []
        for wanted in expected:
            error = next((e for e in errors if f'"{wanted}"' in show(e.context)), None)
            check(error and error.status == "error" and error.category and error.message, lambda: f"no error entry naming {wanted}: {errors}")
        check(len(errors) == len(expected), lambda: f"{len(errors)} errors for {len(expected)} ids: {errors}")
        return ", ".join(str(e.sub_category or e.category) for e in errors)

    def batch_read():
        some = everyone[:3]
        check(some, "no contacts to read")
        whole, status, _ = contacts.batch_api.read_with_http_info(
            batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
                inputs=[SimplePublicObjectId(id=str(c.id)) for c in some], properties=["email"], properties_with_history=[]
            )
        )
        check(status == 200 and whole.status == "COMPLETE", lambda: f"HTTP {status}: {whole}")
        check(same_set(ids(whole.results), ids(some)), lambda: f"asked {ids(some)}, got {ids(whole.results)}")
        emails = {str(c.id): c.properties["email"] for c in some}
        check(all(r.properties["email"] == emails[str(r.id)] for r in whole.results), lambda: f"emails differ: {whole}")
        check(whole.started_at and whole.completed_at, lambda: f"no startedAt/completedAt: {whole}")

        partial, status, _ = contacts.batch_api.read_with_http_info(
            batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
                inputs=[SimplePublicObjectId(id=first_id), SimplePublicObjectId(id=MISSING_ID)],
                properties=["email"],
                properties_with_history=[],
            )
        )
        check(status == 207, lambda: f"a missing id is HTTP {status}, not 207")
        check(ids(partial.results) == [first_id], lambda: f"results {ids(partial.results)}")
        errors = getattr(partial, "errors", None) or []
        check(len(errors) == 1, lambda: f"errors {errors}")
        error = errors[0]
        check(error.status == "error" and error.category == "OBJECT_NOT_FOUND" and error.message, lambda: f"error entry {error}")
        check(MISSING_ID in show(error.context), lambda: f"the error's context does not name {MISSING_ID}: {error}")

        by_mail = contacts.batch_api.read(
            batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
                inputs=[SimplePublicObjectId(id=email.upper())], id_property="email", properties=["email"], properties_with_history=[]
            )
        )
        check(ids(by_mail.results) == [first_id], lambda: f"batch by email: {by_mail}")
        return f"{len(whole.results)} read; missing {MISSING_ID} -> 207 {error.category} {show(error.context)}; id_property=email works"

    steps.run("batch read: existing ids, and a missing id is an error entry (207)", batch_read)

    def v4_get_page():
        contact = needs(found.get("contact"), "a contact with tickets")
        v4 = client.crm.associations.v4.basic_api
        page = v4.get_page(object_type="contacts", object_id=str(contact.id), to_object_type="tickets")
        got = [str(r.to_object_id) for r in page.results]
        check(same_set(got, found["tickets"]), lambda: f"v4 says {got}, the get said {found['tickets']}")
        for result in page.results:
            check(result.association_types, lambda: f"no associationTypes: {result}")
            for kind in result.association_types:
                check(kind.category and isinstance(kind.type_id, int), lambda: f"association type {kind}")
        walked, after = [], None
        for _ in range(100):
            kwargs = {"after": after} if after else {}
            one = v4.get_page(object_type="contacts", object_id=str(contact.id), to_object_type="tickets", limit=1, **kwargs)
            check(len(one.results) <= 1, lambda: f"limit 1 gave {len(one.results)}")
            walked += [str(r.to_object_id) for r in one.results]
            after = one.paging.next.after if one.paging and one.paging.next else None
            if not after:
                break
        check(walked == got, lambda: f"paging one at a time gave {walked}, one page gave {got}")
        kinds = " ".join(f"{k.category}/{k.type_id}" + (f"/{k.label}" if k.label else "") for k in page.results[0].association_types)
        return f"tickets {', '.join(got)} ({kinds}); limit=1 paging walks the same"

    steps.run("v4 associations get_page (contact -> tickets) equals the get with associations", v4_get_page)

    def v4_batch():
        needs(with_tickets, "contacts with tickets")
        def read(contacts_and_ids):
            return client.crm.associations.v4.batch_api.get_page_with_http_info(
                from_object_type="contacts",
                to_object_type="tickets",
                batch_input_public_fetch_associations_batch_request=BatchInputPublicFetchAssociationsBatchRequest(
                    inputs=[PublicFetchAssociationsBatchRequest(id=i) for i in contacts_and_ids]
                ),
            )

        answer, status, _ = read(ids(with_tickets))
        check(status == 200 and answer.status == "COMPLETE", lambda: f"HTTP {status}: {answer}")
        for contact in with_tickets:
            entry = next((r for r in answer.results if r._from and str(r._from.id) == str(contact.id)), None)
            check(entry, lambda: f"no result from contact {contact.id}: {answer.results}")
            got = [str(t.to_object_id) for t in entry.to]
            check(same_set(got, tickets_of(contact)), lambda: f"contact {contact.id}: batch {got}, list {tickets_of(contact)}")
        mixed, status, _ = read(ids(with_tickets) + ids(without_tickets) + [MISSING_ID])
        kinds = check_association_errors(mixed, status)
        return f"{len(answer.results)} contacts, each with the tickets the list shows; 207 errors {kinds}"

    steps.run("v4 associations batch read (contacts -> tickets)", v4_batch)

    def v3_batch():
        needs(with_tickets, "contacts with tickets")
        def read(contacts_and_ids):
            return client.crm.associations.batch_api.read_with_http_info(
                from_object_type="contacts",
                to_object_type="tickets",
                batch_input_public_object_id=BatchInputPublicObjectId(inputs=[PublicObjectId(id=i) for i in contacts_and_ids]),
            )

        answer, status, _ = read(ids(with_tickets))
        check(status == 200 and answer.status == "COMPLETE", lambda: f"HTTP {status}: {answer}")
        for contact in with_tickets:
            entry = next((r for r in answer.results if r._from and str(r._from.id) == str(contact.id)), None)
            check(entry, lambda: f"no result from contact {contact.id}: {answer.results}")
            got = [str(t.id) for t in entry.to]
            check(same_set(got, tickets_of(contact)), lambda: f"contact {contact.id}: v3 batch {got}, list {tickets_of(contact)}")
            check(all(t.type for t in entry.to), lambda: f"to without type: {entry.to}")
        mixed, status, _ = read(ids(with_tickets) + ids(without_tickets) + [MISSING_ID])
        kinds = check_association_errors(mixed, status)
        return f"{len(answer.results)} contacts, each with the tickets the list shows; 207 errors {kinds}"

    steps.run("v3 associations batch read (contacts -> tickets)", v3_batch)

    email_property = {}

    def properties():
        core = client.crm.properties.core_api
        every = core.get_all(object_type="contacts")
        check(every.results, lambda: f"no properties: {every}")
        prop = next((p for p in every.results if p.name == "email"), None)
        check(prop, lambda: f"no email property among {[p.name for p in every.results]}")
        check(prop.label and prop.type == "string" and prop.field_type == "text", lambda: f"email is {prop}")
        check(isinstance(prop.group_name, str) and isinstance(prop.options, list), lambda: f"email lacks groupName/options: {prop}")
        check(all(p.name and p.type and p.field_type for p in every.results), "a property without name/type/fieldType")
        one = core.get_by_name(object_type="contacts", property_name="email")
        for key in ("name", "label", "type", "field_type", "group_name"):
            check(getattr(one, key) == getattr(prop, key), lambda: f"get_by_name {key}={getattr(one, key)!r}, get_all {getattr(prop, key)!r}")
        refused(404, lambda: core.get_by_name(object_type="contacts", property_name="no_such_property_here"))
        email_property.update(label=prop.label, type=prop.type, field_type=prop.field_type)
        return f"{len(every.results)} contact properties; email is \"{prop.label}\" {prop.type}/{prop.field_type} in {prop.group_name}; a missing one is 404"

    steps.run("properties get_all and get_by_name (contacts, email)", properties)

    def query():
        target = next((c for c in everyone if c.properties.get("lastname")), needs(first, "a contact"))
        # One word of the last name (generated fixtures add "(ref …)" to names).
        word = first_word(target.properties.get("lastname")) or target.properties["email"]
        total, hits = search_all(contacts.search_api, search_request(query=word, properties=["email", "lastname"]))
        check(str(target.id) in ids(hits), lambda: f"query {word} did not find contact {target.id}: {ids(hits)}")
        nothing = contacts.search_api.do_search(public_object_search_request=search_request(query="zqxjvb-nothing-matches"))
        check(nothing.total == 0 and not nothing.results, lambda: f"a query matching nothing found {nothing}")
        return f"query \"{word}\" found {total} ({few(ids(hits))}); nonsense found 0"

    steps.run("search with query (free text)", query)

    def tickets_by_contact():
        contact = needs(found.get("contact"), "a contact with tickets")
        hits = client.crm.tickets.search_api.do_search(
            public_object_search_request=search_request(
                [{"property_name": "associations.contact", "operator": "EQ", "value": str(contact.id)}], properties=["subject"]
            )
        )
        check(same_set(ids(hits.results), found["tickets"]), lambda: f"search {ids(hits.results)}, associations {found['tickets']}")
        check(hits.total == len(found["tickets"]), lambda: f"total {hits.total}")
        return f"contact {contact.id} -> tickets {', '.join(ids(hits.results))}"

    steps.run("ticket search by associations.contact", tickets_by_contact)

    def contains_token():
        total, hits = search_all(
            contacts.search_api, search_request([{"property_name": "email", "operator": "CONTAINS_TOKEN", "value": "*@example.com"}])
        )
        got = [c.properties["email"] for c in hits]
        check(same_set(ids(hits), ids(example_com)), lambda: f"found {got}, expected {[c.properties['email'] for c in example_com]}")
        check(total == len(example_com), lambda: f"total {total}, expected {len(example_com)}")
        return f"{total} of {len(everyone)} contacts ({few(got)})"

    steps.run("CONTAINS_TOKEN *@example.com", contains_token)

    def sort():
        def emails(direction):
            _, hits = search_all(contacts.search_api, search_request(sorts=[{"propertyName": "email", "direction": direction}]))
            return [c.properties["email"] for c in hits]

        expected = sorted((c.properties["email"] for c in everyone), key=str.lower)
        up, down = emails("ASCENDING"), emails("DESCENDING")
        check(up == expected, lambda: f"ascending {up}, expected {expected}")
        check(down == expected[::-1], lambda: f"descending {down}")
        return f"{up[0]} … {up[-1]}, across pages of 200"

    steps.run("sorted search (email ascending, then descending)", sort)

    def unsupported():
        error = refused(
            400,
            lambda: contacts.search_api.do_search(
                public_object_search_request=search_request([{"property_name": "email", "operator": "SOUNDS_LIKE", "value": email}], limit=1)
            ),
        )
        body = error_body(error)
        check(body.get("category") == "VALIDATION_ERROR", lambda: f"400 body {body}")
        check("EQ" in str(body.get("message")), lambda: f"the message does not name the supported operators: {body}")
        return f"VALIDATION_ERROR: {body['message']}"

    steps.run("an unsupported filter is a 400 the client raises", unsupported)

    send_id = f"leakproof-python-{os.getpid()}-{int(time.time() * 1000)}"

    def send():
        request = PublicSingleSendRequestEgg(
            email_id=4242,
            message=PublicSingleSendEmail(to=email, send_id=send_id),
            contact_properties={"firstname": (first.properties.get("firstname") if first else None) or "there"},
            custom_properties={"verification_link": "https://example.com/verify?t=python-sdk"},
        )
        api = mail_client.marketing.transactional.single_send_api
        sent = api.send_email(public_single_send_request_egg=request)
        check(sent.status_id and sent.status in ("PENDING", "PROCESSING", "COMPLETE"), lambda: f"send answered {sent}")
        again = api.send_email(public_single_send_request_egg=request)
        check(again.status_id == sent.status_id, lambda: f"the same send_id twice gave {sent.status_id} and {again.status_id}")
        refused(400, lambda: api.send_email(public_single_send_request_egg=PublicSingleSendRequestEgg(email_id=4242, message=PublicSingleSendEmail(to="not-an-address"))))
        return f"to {email}: {sent.status} {sent.status_id}; the same send_id is idempotent; a bad address is 400"

    if mail_client:
        where = " through the CRM client (one host)" if single_host else " on the mail host"
        steps.run(f"transactional send_email{where}", send)

    # -- hubspot-sdk: the 2026-03 paths ------------------------------------------

    def dated_client(base):
        if hubspot_sdk is None:
            raise CheckFailed(f"hubspot_sdk is not installed: pip install {SDK_PIN}")
        return hubspot_sdk.HubSpot(
            access_token=token,
            base_url=base,
            max_retries=0,
            _strict_response_validation=True,
            http_client=hubspot_sdk.DefaultHttpxClient(
                event_hooks={"request": [_httpx_request], "response": [_httpx_response]}
            ),
        )

    sdk = {}

    def sdk_objects():
        dated = sdk.setdefault("crm", dated_client(crm_url))
        needs(first, "a contact")
        people = dated.crm.objects.contacts
        read = people.get(first_id, properties=["email", "phone"])
        check(read.id == first_id and read.properties["email"] == email and read.created_at, lambda: f"get {read}")
        check(people.get(email, id_property="email").id == first_id, "get by email")
        error = refused(404, lambda: people.get(MISSING_ID))
        check(error_body(error).get("category") == "OBJECT_NOT_FOUND", lambda: f"404 body {error.body}")
        listed, pages = [], 0
        page = people.list(limit=2, properties=["email"], associations=["tickets"])
        while True:
            pages += 1
            check(len(page.results) <= 2, lambda: f"limit 2 gave {len(page.results)}")
            listed += page.results
            if not page.has_next_page():
                break
            page = page.get_next_page()
        check(len(listed) == len(everyone) and same_set(ids(listed), ids(everyone)), lambda: f"listed {ids(listed)}, v3 {ids(everyone)}")
        hits = people.search(
            after="0",
            limit=2,
            properties=["email"],
            sorts=[],
            filter_groups=[{"filters": [{"property_name": "email", "operator": "EQ", "value": email.upper()}]}],
        )
        check(hits.total == 1 and hits.results[0].id == first_id, lambda: f"search {hits}")
        raw_batch = people.batch.with_raw_response.get(
            inputs=[{"id": first_id}, {"id": MISSING_ID}], properties=["email"], properties_with_history=[]
        )
        batch = raw_batch.parse().to_dict()
        check(raw_batch.status_code == 207 and ids(batch["results"]) == [first_id], lambda: f"batch HTTP {raw_batch.status_code}: {batch}")
        check(MISSING_ID in show(batch.get("errors")), lambda: f"batch errors {batch.get('errors')}")
        before = read.properties.get("phone") or ""
        phone = "+44 117 496 0326"
        check(people.update(first_id, properties={"phone": phone}).properties["phone"] == phone, "update answer")
        check(people.get(first_id, properties=["phone"]).properties["phone"] == phone, "update read back")
        people.update(first_id, properties={"phone": before})
        return f"get, get by email, 404, list of {len(listed)} in {pages} pages, search, batch 207, update"

    steps.run(f"hubspot-sdk {CURRENT}: contacts get, list paging, search, batch read, update", sdk_objects)

    def sdk_searches():
        dated = sdk.setdefault("crm", dated_client(crm_url))
        contact = needs(found.get("contact"), "a contact with tickets")
        people = dated.crm.objects.contacts

        def search(**fields):
            """Every result, following `after`, as one page-like object."""
            request = {"properties": ["email"], "sorts": [], "filter_groups": []}
            request.update(fields)
            results, after = [], "0"
            for _ in range(1000):
                page = people.search(after=after, limit=200, **request)
                results += page.results
                after = page.paging.next.after if page.paging and page.paging.next else None
                if not after:
                    break
            check(len(results) == page.total, lambda: f"search pages hold {len(results)}, total says {page.total}")
            page.results = results
            return page

        ticket = dated.crm.objects.tickets.get(found["tickets"][0], associations=["contacts"])
        back = [a.id for a in ticket.associations["contacts"].results] if ticket.associations and "contacts" in ticket.associations else []
        check(str(contact.id) in back, lambda: f"ticket {ticket.id} is not associated back to contact {contact.id}: {ticket.associations}")
        by_contact = dated.crm.objects.tickets.search(
            after="0",
            limit=100,
            properties=["subject"],
            sorts=[],
            filter_groups=[{"filters": [{"property_name": "associations.contact", "operator": "EQ", "value": str(contact.id)}]}],
        )
        check(same_set(ids(by_contact.results), found["tickets"]), lambda: f"tickets by contact {by_contact}")
        word = first_word(contact.properties.get("lastname")) or email
        check(str(contact.id) in ids(search(query=word).results), lambda: f"query {word}")
        token_hits = search(filter_groups=[{"filters": [{"property_name": "email", "operator": "CONTAINS_TOKEN", "value": "*@example.com"}]}])
        check(same_set(ids(token_hits.results), ids(example_com)), lambda: f"token {token_hits}")
        down = [c.properties["email"] for c in search(sorts=["-email"]).results]
        check(down == sorted(down, key=str.lower, reverse=True), lambda: f"sorts [\"-email\"] gave {down}")
        error = refused(400, lambda: search(filter_groups=[{"filters": [{"property_name": "email", "operator": "SOUNDS_LIKE", "value": email}]}]))
        check(error_body(error).get("category") == "VALIDATION_ERROR", lambda: f"400 body {error.body}")
        companies = dated.crm.objects.companies.list(limit=100)
        return f"ticket {ticket.id} <-> contact {contact.id}; searches agree with v3; {len(companies.results)} companies"

    steps.run(f"hubspot-sdk {CURRENT}: tickets, companies, search by association, query, token, sort, refused filter", sdk_searches)

    def sdk_associations_properties():
        dated = sdk.setdefault("crm", dated_client(crm_url))
        contact = needs(found.get("contact"), "a contact with tickets")
        needs(email_property, "the email property from get_all")
        page = dated.crm.associations.list("tickets", object_type="contacts", object_id=str(contact.id))
        got = [str(r.to_object_id) for r in page.results]
        check(same_set(got, found["tickets"]), lambda: f"associations {page}")
        batch = dated.crm.associations.batch.get("tickets", from_object_type="contacts", inputs=[{"id": str(c.id)} for c in with_tickets])
        for c in with_tickets:
            entry = next((r for r in batch.results if str(r.from_.id) == str(c.id)), None)
            check(entry and same_set([t.to_object_id for t in entry.to], tickets_of(c)), lambda: f"batch for {c.id}: {batch}")
        every = dated.crm.properties.list("contacts")
        prop = next((p for p in every.results if p.name == "email"), None)
        check(prop and prop.label == email_property["label"] and prop.type == email_property["type"], lambda: f"email {prop}")
        one = dated.crm.properties.get("email", object_type="contacts")
        check(one.name == "email" and one.field_type == email_property["field_type"], lambda: f"property {one}")
        return f"associations {', '.join(got)}; batch for {len(with_tickets)} contacts; {len(every.results)} properties"

    steps.run(f"hubspot-sdk {CURRENT}: associations list and batch get, properties list and get", sdk_associations_properties)

    def sdk_send():
        dated = sdk["crm"] if single_host and "crm" in sdk else dated_client(mail_url)
        sent = dated.marketing.transactional.single_email.send(
            email_id=4242,
            message={"to": email, "send_id": f"{send_id}-dated", "cc": [], "bcc": [], "reply_to": []},
            contact_properties={},
            custom_properties={"verification_link": "https://example.com/verify?t=python-dated"},
        )
        check(sent.status_id and sent.status, lambda: f"send {sent}")
        return f"{sent.status} {sent.status_id}"

    if mail_client:
        steps.run(f"hubspot-sdk {CURRENT}: transactional send" + (" through one host" if single_host else ""), sdk_send)

    # -- api_request: 2025-09 and 2026-09 ----------------------------------------

    for version in DATED:
        if version == CURRENT:
            continue

        def dated_raw(version=version):
            needs(first, "a contact")
            objects = f"/crm/objects/{version}/contacts"
            read = raw_ok("GET", f"{objects}/{first_id}", qs={"properties": "email,phone"})
            check(str(read["id"]) == first_id and read["properties"]["email"] == email, lambda: f"read {read}")
            listed, after = [], None
            for _ in range(1000):
                page = raw_ok("GET", objects, qs={"limit": 2, **({"after": after} if after else {})})
                listed += page["results"]
                after = (page.get("paging") or {}).get("next", {}).get("after")
                if not after:
                    break
            check(same_set(ids(listed), ids(everyone)), lambda: f"listed {ids(listed)}")
            hits = raw_ok(
                "POST",
                f"{objects}/search",
                body={"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": email.upper()}]}], "properties": ["email"]},
            )
            check(hits["total"] == 1, lambda: f"search {hits}")
            batch = raw_ok("POST", f"{objects}/batch/read", status=207, body={"inputs": [{"id": first_id}, {"id": MISSING_ID}], "properties": ["email"]})
            check(ids(batch["results"]) == [first_id] and MISSING_ID in show(batch.get("errors")), lambda: f"batch {batch}")
            phone = f"+44 117 496 0{version[2:4]}{version[5:7]}"
            updated = raw_ok("PATCH", f"{objects}/{first_id}", body={"properties": {"phone": phone}})
            check(str(updated["id"]) == first_id and updated["properties"].get("phone") == phone, lambda: f"update {updated}")
            again = raw_ok("GET", f"{objects}/{first_id}", qs={"properties": "phone"})
            check(again["properties"].get("phone") == phone, lambda: f"read back {again}")
            raw_ok("PATCH", f"{objects}/{first_id}", body={"properties": {"phone": read["properties"].get("phone") or ""}})
            return f"get, list of {len(listed)}, search, batch 207, update read back"

        steps.run(f"api_request {version}: contacts get, list paging, search, batch read, update", dated_raw)

    passed = steps.number - len(steps.failures)
    if steps.failures:
        print("FAILED: " + "; ".join(steps.failures))
    print(f"python clients: {passed} passed, {len(steps.failures)} failed")
    return 1 if steps.failures else 0


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) == 4 else None))
