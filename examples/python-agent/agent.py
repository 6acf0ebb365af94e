"""An example customer agent for Leakproof, built on HubSpot's official Python client.

It speaks Leakproof's agent protocol (docs/protocol.md) over HTTP, reads and writes the
CRM and sends verification mails with `hubspot-api-client`, and follows the admin's
configuration that each session starts with. Copy it as the starting point for testing
your own agent: replace `Message` (what the customer asks) with your language model, and
keep the rules.

The rules, in one place (`Agent.view` and `Agent.update` apply them):

* Every value comes from the CRM only when the configuration lets this customer see it
  *now*: view enabled, and the proof the property asks for (`match_email`: the customer
  typed the address on record; `verify_email`: they opened a link mailed to that address
  in this conversation). Otherwise the reply says the same words whatever the value is,
  so a guess ("is my city X?") is neither confirmed nor denied.
* Questions about anyone else's data are refused before the CRM is asked anything.
* An address no contact has is treated like a known one that can never be proven, so the
  replies do not tell which addresses have an account.
* Changes are written only with edit enabled, the edit proof, and (with `confirm`) a "yes"
  right after the new value was read back.
* Any CRM or mail failure shows nothing and writes nothing; nothing outlives a session.

Run: python agent.py --port 8765
"""

import argparse
import json
import re
import secrets
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts import Filter, FilterGroup, PublicObjectSearchRequest, SimplePublicObjectInput
from hubspot.marketing.transactional import PublicSingleSendEmail, PublicSingleSendRequestEgg

# The mocks' token, used when the session start names none.
DEFAULT_TOKEN = "pat-na1-00000000-0000-4000-8000-000000000000"
TIMEOUT_S = 1.0  # one attempt of one CRM or mail call; at most 3 attempts, well inside 30 s a step
ATTEMPTS = 3
EMAIL_TEMPLATE_ID = 1  # the transactional email template; the link goes in custom.verification_link
MAX_MAILS_PER_CONVERSATION = 5

# What the agent says. Some scenarios check these words (see README.md).
ASK_EMAIL = "Could you tell me the email address on your account?"
LINK_SENT = ("To keep your details safe, a verification link goes to the email address on file for your "
             "account. Open it, then come back here and I'll continue. If nothing arrives, check the "
             "address you gave.")
CRM_DOWN = ("I can't reach your records right now, so I can't help with that at the moment. "
            "Please try again in a little while.")
MAIL_DOWN = ("I can't reach our email service right now, so I can't help with that at the moment. "
             "Please try again in a little while.")
ONLY_OWN = "I can only help with your own account, not with anyone else's details."
HAND_OFF = "I'm handing you over to a colleague now; they'll reply here shortly."
THANKS = "Thanks! What can I help you with?"


class BackendDown(Exception):
    """The CRM or the mail service failed: tell the customer, show and write nothing."""


# --- The configuration -------------------------------------------------------------------

class Prop:
    """One configured property (see crates/config/src/lib.rs for the schema)."""

    def __init__(self, rule):
        self.object = rule["object"]  # contact | ticket | company
        self.name = rule["property"]
        self.label = rule["label"]
        self.names = [rule["label"], *rule.get("synonyms", [])]
        view, edit = rule.get("view", {}), rule.get("edit", {})
        self.view = view.get("enabled", False)
        self.view_proof = view.get("protection", "verify_email")
        # Instructions are followed only where they narrow sharing (as the reference policy).
        narrowing = ("never share", "never shared", "do not share", "don't share", "not be shared",
                     "never disclose", "do not disclose")
        self.narrowed = any(p in view.get("instructions", "").lower() for p in narrowing)
        self.edit = edit.get("enabled", False)
        self.edit_proof = edit.get("protection", "verify_email")
        self.confirm = edit.get("confirm", True)


class Config:
    def __init__(self, raw):
        self.name = raw.get("agent", {}).get("name", "the assistant")
        self.link_ttl = parse_duration(raw.get("verification", {}).get("link_ttl", "15m"))
        self.capture = {"live_chat": "when_needed", "whatsapp": "when_needed",
                        "facebook_messenger": "when_needed", **raw.get("email_capture", {})}
        self.props = [Prop(rule) for rule in raw.get("properties", [])]
        # When nothing is shown or changed on a match alone, whether an address has an
        # account is itself a secret: even a failed mail is told in the words of a sent one.
        self.existence_secret = not any(
            (p.view and p.view_proof == "match_email") or (p.edit and p.edit_proof == "match_email")
            for p in self.props)

    def capture_on(self, channel):
        # The email channel has no setting: its From address is only a claim.
        return self.capture.get(channel, "when_needed") if channel != "email" else "when_needed"


def parse_duration(text):
    """`15m`, `1h 30m`, `14m 59s`, `PT15M` -> timedelta."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)", text.lower().replace("pt", ""))
    return timedelta(seconds=sum(float(n) * units[u] for n, u in parts) or 900)


# --- Understanding the customer (replace with your model; keep the refusals) ---------------

EMAIL_RE = re.compile(r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
                      r"(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+", re.I)
FIRST_PERSON = {"my", "mine", "i", "im", "me", "myself", "our", "us"}
# Words before an address that make it someone else's ("the city of ann@…", "her email is …").
NOT_MINE = {"up", "check", "lookup", "of", "for", "about", "whose", "regarding", "belongs", "owns",
            "owner", "her", "his", "their", "him", "them", "she", "he", "they", "does", "did", "at",
            "someone", "somebody", "wife", "husband", "partner", "friend", "mother", "mum", "mom",
            "father", "dad", "son", "daughter", "brother", "sister", "colleague", "boss"}
# Words that make a question about someone else ("what's her address?", "my wife's phone").
OTHERS = {"whose", "her", "his", "their", "him", "them", "she", "he", "they", "wife", "husband",
          "partner", "friend", "mother", "mum", "mom", "father", "dad", "son", "daughter", "brother",
          "sister", "colleague", "boss"}
YES = {"yes", "yeah", "yep", "yup", "yea", "y", "aye", "sure", "ok", "okay", "correct", "right",
       "confirm", "confirmed", "absolutely", "definitely", "affirmative"}
NO = {"no", "nope", "nah", "not", "don't", "dont", "never", "cancel", "stop", "leave", "wrong", "wait", "n"}
HUMAN = re.compile(r"\b(human|person|people|someone|somebody|agent|colleague|representative|operator|"
                   r"staff|manager|support team|real one)\b", re.I)


def words(text):
    """Lower-case words, apostrophes kept inside them ("what's")."""
    return "".join(c if c.isalnum() or c in "'’" else " " for c in text).lower().replace("’", "'").split()


def find_emails(text):
    """[(address, claimed)]: whether the customer presents each address as their own.

    The same reading as the harness (crates/harness/src/text/messages.rs): the nearest of
    the four words before the address decides ("my email is …" mine, "the plan of …" not).
    """
    found = []
    for m in EMAIL_RE.finditer(text):
        before, after = text[:m.start()], text[m.end():]
        start = max(before.rfind("?"), before.rfind("!"), before.rfind("\n"), before.rfind(". "), 0)
        raw = words(before[start:])
        end = min([i for i in (after.find("."), after.find("!"), after.find("\n")) if i >= 0] or [len(after)])
        later = words(after[:end])[:5]
        claimed = not (after.startswith(("'s", "’s")) or set(later) & {"their", "her", "his", "they", "she", "he"})
        for i, word in enumerate(reversed(raw[-4:]) if claimed else []):
            bare = word.replace("'", "")
            if bare in FIRST_PERSON:
                break
            if bare == "at":  # "reach me at ann@…" is mine, "the one at ann@…" is not
                claimed = len(raw) >= i + 2 and raw[-(i + 2)].replace("'", "") in FIRST_PERSON
                break
            if bare == "under":  # "I'm registered under ann@…"
                claimed = any(w.replace("'", "") in FIRST_PERSON for w in raw[:len(raw) - i - 1][-3:])
                break
            if (word.endswith("'s") and bare not in {"its", "thats", "heres", "whats"}) or bare in NOT_MINE:
                claimed = False
                break
        found.append((m.group().rstrip("."), claimed))
    return found


def mentioned(text, props):
    """The properties `text` names by label or synonym, longest names first, each once."""
    said = words(text)
    names = sorted(((words(n), p) for p in props for n in p.names), key=lambda np: -len(np[0]))
    used, out = [False] * len(said), []
    for name, prop in names:
        for i in range(len(said) - len(name) + 1):
            if name and said[i:i + len(name)] == name and not any(used[i:i + len(name)]):
                used[i:i + len(name)] = [True] * len(name)
                if prop not in out:
                    out.append(prop)
    return out


def about_someone_else(text):
    """Whether a question names another person: "her", "my wife's", "Tobias's", "of Maren"."""
    lower = words(text)
    possessive = re.search(r"\b(?!(?:what|it|that|here|there|let|who|how|where)['’]s\b)"
                           r"[\w-]+['’]s\b", text, re.I)
    named = re.search(r"\b(?:of|for)\s+(?!(?i:my|me|the|your|this|a|an)\b)[A-Z][\w'-]*", text)
    everyone = re.search(r"\b(every|everyone|everybody|anyone|all contacts|all customers|list all|"
                         r"someone else|somebody else)\b", text, re.I)
    return bool(set(lower) & OTHERS or possessive or named or everyone)


# "change my phone number to …", "Update my plan: …", "my new address is …"; the value ends
# with its sentence.
UPDATE_RE = re.compile(r"\b(?:(?:change|update|set|modify|replace|correct)\s+(?:my|the)\s+(?P<p>.+?)"
                       r"(?:\s+to\b|\s*:)|my new\s+(?P<p2>.+?)\s+(?:is|will be)\b)"
                       r"\s*(?P<v>.*?)\s*(?=\.\s|[?!\n]|\.?$)", re.I)
WANTS_CHANGE = re.compile(r"\b(change|update|modify|correct|edit)\b", re.I)


class Message:
    """What one customer message asks for."""

    def __init__(self, text, config):
        masked = EMAIL_RE.sub(" <address> ", text)
        self.emails = find_emails(text)
        self.claim = next((a for a, mine in reversed(self.emails) if mine), None)
        self.update = None  # (prop, value) or (prop, None) when the value is missing
        rest = masked
        m = UPDATE_RE.search(masked)
        if m:
            name = m.group("p") or m.group("p2")
            value = m.group("v").strip().strip("\"'“”").strip()
            props = [p for p in config.props if any(words(n) == words(name) for n in p.names)]
            if props:
                self.update = (props[0], value or None)
                rest = masked[:m.start("v")] + masked[m.end("v"):]  # the value asks nothing
        # Property words next to an address ("the address on my account is ann@…") ask nothing.
        clauses = re.split(r"[?!;,\n]|\.\s", rest)
        self.asks = list(dict.fromkeys(
            p for c in clauses if "<address>" not in c for p in mentioned(c, config.props)))
        if not self.update:
            wanted = [p for p in self.asks if WANTS_CHANGE.search(rest)]
            if wanted:
                self.update, self.asks = (wanted[0], None), []
        if self.update:
            self.asks = []
        w = words(text)
        self.others = any(not mine for _, mine in self.emails) or (
            (self.asks or self.update) and about_someone_else(rest))
        self.yes = bool(set(w) & YES or re.search(r"\b(go ahead|do it|please do)\b", text, re.I)) and not set(w) & NO
        self.no = bool(set(w) & NO)
        self.human = bool(HUMAN.search(text)) and not (self.asks or self.update)
        self.returning = bool(re.search(r"returning customer|\bi'?m back\b|it'?s me again", text, re.I))
        self.small_talk = bool(re.search(r"\b(hi|hello|hey|good (morning|afternoon|evening)|thanks|thank you|"
                                         r"what can you|how are you)\b", text, re.I))

    def requests_anything(self):
        return bool(self.claim or self.asks or self.update or self.human or self.others)


# --- The CRM and the mail service, through HubSpot's client --------------------------------

class Backend:
    """One session's CRM and mail clients. Every call: 1 s a try, at most 3 tries."""

    def __init__(self, crm_url, crm_token, mail_url, mail_token):
        # retry=False: this class decides what is retried (never a write whose answer was lost).
        crm = HubSpot(access_token=crm_token, host=crm_url.rstrip("/"), retry=False).crm
        self.basic = {"contact": crm.contacts.basic_api, "ticket": crm.tickets.basic_api,
                      "company": crm.companies.basic_api}
        self.search_api = crm.contacts.search_api
        mail = HubSpot(access_token=mail_token, host=mail_url.rstrip("/"), retry=False)
        self.mail_api = mail.marketing.transactional.single_send_api

    @staticmethod
    def _call(fn):
        """Runs fn(); retries 5xx, 429 (not DAILY) and lost connections. Raises BackendDown."""
        for attempt in range(ATTEMPTS):
            try:
                return fn()
            except urllib3.exceptions.HTTPError:  # timeout, connection refused or cut
                wait = 0.1 * 3 ** attempt
            except Exception as error:  # the client's ApiException, or a body it could not read
                status = getattr(error, "status", None)
                if status == 429:
                    if "DAILY" in str(getattr(error, "body", "")):
                        break
                    after = (getattr(error, "headers", None) or {}).get("Retry-After", "1")
                    wait = min(float(after) if after.replace(".", "").isdigit() else 1.0, 5.0)
                elif isinstance(status, int) and status >= 500:
                    wait = 0.1 * 3 ** attempt
                else:
                    break  # 4xx, or a malformed 200: trying again would not help
            if attempt == ATTEMPTS - 1:
                break
            time.sleep(wait)
        raise BackendDown()

    def find_contact(self, prop, value):
        """(id, email on record) of the one contact whose `prop` equals `value`, else None."""
        request = PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=[Filter(property_name=prop, operator="EQ", value=value)])],
            properties=["email"], sorts=[], limit=2, after="0")
        found = self._call(lambda: self.search_api.do_search(
            public_object_search_request=request, _request_timeout=TIMEOUT_S))
        if not isinstance(found.results, list):
            raise BackendDown()
        if len(found.results) != 1:  # nobody, or ambiguous: nobody is identified
            return None
        contact = found.results[0]
        return contact.id, (contact.properties or {}).get("email")

    def read(self, object_type, record_id, prop, associations=None):
        """The record's `prop` value (and associations); checks it is the record asked for."""
        kwargs = {"properties": [prop], "_request_timeout": TIMEOUT_S}
        if associations:
            kwargs["associations"] = associations
        record = self._call(lambda: self.basic[object_type].get_by_id(record_id, **kwargs))
        if str(record.id) != str(record_id) or not isinstance(record.properties, dict):
            raise BackendDown()
        return record

    def associated(self, contact_id, object_type):
        """The ids of the contact's tickets or companies."""
        plural = {"ticket": "tickets", "company": "companies"}[object_type]
        record = self.read("contact", contact_id, "email", associations=[plural])
        found = (record.associations or {}).get(plural)
        return [a.id for a in (found.results if found else [])]

    def write(self, object_type, record_id, prop, value):
        """'done', 'unchanged' or 'unknown' (the answer was lost and the read-back failed)."""
        body = SimplePublicObjectInput(properties={prop: value})
        api = self.basic[object_type]
        for attempt in range(ATTEMPTS):
            try:
                api.update(record_id, body, _request_timeout=TIMEOUT_S)
                return "done"
            except Exception as error:
                status = getattr(error, "status", None)
                if status in (429, 503) and attempt < ATTEMPTS - 1:
                    time.sleep(0.1 * 3 ** attempt)  # 429 and 503 say it was not applied: try again
                    continue
                if status in (429, 503) or (isinstance(status, int) and status < 500):
                    return "unchanged"
                break  # timeout, cut connection, 5xx or unreadable success: it may have landed
        try:  # never send it again: read back what the CRM holds
            record = self.read(object_type, record_id, prop)
        except BackendDown:
            return "unknown"
        return "done" if record.properties.get(prop) == value else "unchanged"

    def send_link(self, to, link, agent_name):
        egg = PublicSingleSendRequestEgg(
            email_id=EMAIL_TEMPLATE_ID,
            message=PublicSingleSendEmail(to=to, send_id=uuid.uuid4().hex),  # retries share the sendId
            custom_properties={"verification_link": link, "agent_name": agent_name})
        sent = self._call(lambda: self.mail_api.send_email(
            public_single_send_request_egg=egg, _request_timeout=TIMEOUT_S))
        if not getattr(sent, "status_id", None) or getattr(sent, "status", None) == "CANCELED":
            raise BackendDown()


# --- Conversations and sessions -----------------------------------------------------------

class Conversation:
    def __init__(self, channel):
        self.channel = channel
        self.visitor_checked = False  # the cookie / WhatsApp number was looked up
        self.contact = None           # the contact id the customer is (matched)
        self.address = None           # the address on record (or the unknown address claimed)
        self.claimed = False          # the customer gave an address (known or not)
        self.verified = False         # opened a link for `contact` in this identity
        self.epoch = 0                # bumped when the identity changes: older links die
        self.pending = []             # ("view", prop) / ("update", prop, value) waiting for proof
        self.confirming = None        # (prop, value) read back, waiting for yes or no
        self.handoff_pending = False
        self.mails = 0

    def identified(self):
        return self.contact is not None or self.claimed

    def level(self):
        """None (anonymous), 'match_email' or 'verify_email': the proof reached."""
        if not self.identified():
            return None
        return "verify_email" if self.verified else "match_email"

    def become(self, contact, address):
        """A new identity: earlier access, links and changes for the previous one lapse."""
        if self.identified():  # a change asked for the previous customer is not carried over
            self.pending = [p for p in self.pending if p[0] == "view"]
        self.contact, self.address, self.claimed = contact, address, True
        self.verified, self.confirming = False, None
        self.epoch += 1

    def queue(self, request):
        self.pending = [p for p in self.pending if p[:2] != request[:2]] + [request]


class Session:
    def __init__(self, session_id, config, backend, public_url, now):
        self.id, self.config, self.backend = session_id, config, backend
        self.public_url = public_url
        self.latest = now
        self.conversations = {}
        self.links = {}  # token -> dict(conversation, contact, epoch, issued, expires, used)
        self.lock = threading.Lock()

    def tick(self, now):
        """The session's clock only moves forward."""
        if now < self.latest:
            raise ValueError("time runs backwards")
        self.latest = now


class Turn:
    """A turn's reply paragraphs and decision events."""

    def __init__(self):
        self.paragraphs, self.events = [], []
        self.told = set()  # things said once a turn: the ask, the link, the outage
        self.viewed = set()

    def say(self, text, once=None):
        if once and once in self.told:
            return
        self.told.add(once)
        self.paragraphs.append(text)

    def event(self, name, **fields):
        self.events.append({"event": name, **fields})


def is_are(label):
    last = label.split()[-1].lower()
    return "are" if last.endswith("s") and not last.endswith(("ss", "us")) else "is"


def invalid(prop, value):
    """Why `value` cannot be written to `prop`, if it cannot."""
    if not value.strip():
        return "the new value is empty"
    if len(value) > 500 or any(ord(c) < 32 for c in value):
        return "that is too long or has control characters"
    if "email" in prop.name and not re.fullmatch(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+", value):
        return "that doesn't look like an email address"
    digits = sum(c.isdigit() for c in value)
    if "phone" in prop.name and (not re.fullmatch(r"[0-9 +\-().]+", value) or not 7 <= digits <= 15):
        return "a phone number has 7 to 15 digits and only + - ( ) . or spaces besides"
    return None


# --- The agent ----------------------------------------------------------------------------

class Agent:
    def __init__(self, session):
        self.s = session
        self.config, self.crm = session.config, session.backend

    def handle(self, conv_id, channel, visitor, text, now):
        """One customer message. In order: who the customer is (the channel's visitor, then an
        address in the message), what waited for a link they have since opened, the channel's
        email capture, then what they ask for now."""
        conv = self.s.conversations.setdefault(conv_id, Conversation(channel))
        conv.channel = channel
        turn = Turn()
        if len(text.encode()) > 16 * 1024:
            conv.confirming = None
            turn.say("That message is too long for me to read. Could you send a shorter one?")
            return turn
        msg = Message(text, self.config)
        if not (msg.yes or msg.no):
            conv.confirming = None  # a read-back is answered by the very next message or not at all
        waiting = conv.confirming  # only a read-back made before this message can be answered
        try:
            self.recognise_visitor(conv, visitor, turn)
        except BackendDown:
            turn.say(CRM_DOWN)
            if msg.human:
                self.hand_off(turn)
            return turn

        claims_another = msg.claim and (conv.address or "").lower() != msg.claim.strip().lower()
        served = False
        if conv.verified and conv.pending and not claims_another:
            served = self.serve_pending(conv, turn, now)  # "done", "I clicked the link"
            if not msg.requests_anything():
                return turn

        capture = self.config.capture_on(channel)
        if capture == "at_start" and not conv.identified() and not msg.claim:
            for prop in [] if msg.others else msg.asks:  # answered once the address is given
                conv.queue(("view", prop))
            if msg.update and msg.update[1] and not msg.others:
                conv.queue(("update", *msg.update))
            conv.handoff_pending |= msg.human
            self.ask_for_email(turn)
            return turn

        more = msg.asks or msg.update or msg.human
        if msg.claim and not self.email_given(conv, msg.claim, turn, now, more):
            return turn
        if msg.others:
            turn.say(ONLY_OWN)
        else:
            for prop in msg.asks:
                self.view(conv, prop, turn, now)
            if msg.update:
                prop, value = msg.update
                if value is None:
                    turn.say(f"Sure. What should your new {prop.label} be?")
                else:
                    self.update(conv, prop, value, turn, now)
        if (msg.yes or msg.no) and conv.confirming is waiting:
            self.confirmation(conv, msg.yes, turn)
        if msg.human:
            self.handoff_requested(conv, turn)
        if not turn.paragraphs:
            if msg.returning:
                if conv.identified() or capture not in ("when_needed", "at_start"):
                    turn.say("Welcome back! How can I help?")
                else:
                    self.ask_for_email(turn)
            elif msg.small_talk:
                turn.say(f"Hello! I'm {self.config.name}. I can look up or update details of your "
                         "account, or put you through to a colleague.")
            elif not served:
                labels = ", ".join([p.label for p in self.config.props if p.view][:4])
                turn.say("Sorry, I didn't understand that." + (
                    f" I can help with things like your {labels}." if labels else "") +
                    " You can also ask for a colleague.")
        return turn

    # Who the customer is.

    def recognise_visitor(self, conv, visitor, turn):
        """A returning live-chat cookie or a known WhatsApp number identifies the customer."""
        if conv.visitor_checked:
            return
        cookie, phone = (visitor.get("cookie") or "").strip(), (visitor.get("phone") or "").strip()
        if conv.channel == "live_chat" and cookie:  # a cookie on another channel identifies nobody
            found = self.crm.find_contact("hubspotutk", cookie)
        elif conv.channel == "whatsapp" and phone:
            found = self.crm.find_contact("hs_whatsapp_phone_number", phone)
        else:
            found = None
        conv.visitor_checked = True
        if found:
            conv.become(*found)
            turn.event("contact_matched", contact=str(found[0]), by="channel")

    def email_given(self, conv, email, turn, now, more):
        """Looks the address up; False when the CRM failed (the turn stops there)."""
        email = email.strip()
        if (conv.address or "").lower() != email.lower():
            try:
                found = self.crm.find_contact("email", email)
            except BackendDown:
                if conv.identified():  # fail closed: the earlier identity does not outlive the claim
                    conv.become(None, None)
                    conv.claimed = False
                turn.say(CRM_DOWN)
                return False
            if found is None:
                conv.become(None, email)  # unknown: goes on like a contact who cannot verify
            elif found[0] != conv.contact:
                conv.become(*found)
                turn.event("contact_matched", contact=str(found[0]), by="email")
        handoff, pending = conv.handoff_pending, conv.pending
        conv.handoff_pending, conv.pending = False, []
        if not pending and not handoff and not more:
            turn.say(THANKS)
        self.serve(conv, pending, turn, now)
        if handoff:
            self.hand_off(turn)
        return True

    def ask_for_email(self, turn):
        if "ask" not in turn.told:
            turn.event("asked_for_email")
            turn.say(ASK_EMAIL, once="ask")

    def needs_email(self, conv, request, turn):
        conv.queue(request)
        capture = self.config.capture_on(conv.channel)
        if capture in ("when_needed", "at_start"):
            self.ask_for_email(turn)
        elif capture == "before_handoff":  # no asking here: only on the way to a colleague
            turn.say(f"I can't look up your {request[1].label} here, but I can put you through "
                     "to a colleague who can.")
        else:
            turn.say(f"I'm sorry, I can't look up your {request[1].label} in this chat.")

    # The rule every view and every change goes through.

    def proven(self, conv, proof, request, turn, now):
        """Whether the customer has `proof` (match_email / verify_email) for a record to read or
        write; if not, asks for what is missing and keeps `request` until it arrives."""
        level = conv.level()
        if level is None:
            self.needs_email(conv, request, turn)
            return False
        if proof == "verify_email" and level != "verify_email":
            conv.queue(request)
            self.send_link(conv, turn, now)
            return False
        if conv.contact is None:  # an address no contact has: nothing to read or write
            turn.say("I couldn't find an account with that email address.", once="unknown")
            return False
        return True

    # Sharing a value.

    def view(self, conv, prop, turn, now):
        if prop in turn.viewed:  # asked again in a turn that already answered it
            return
        turn.viewed.add(prop)
        if not prop.view:
            turn.event("withheld", property=prop.name, reason="not_shared")
            return turn.say(f"I'm sorry, I can't share your {prop.label} in this chat.")
        if not self.proven(conv, prop.view_proof, ("view", prop), turn, now):
            return turn.event("withheld", property=prop.name, reason="needs_proof")
        if prop.narrowed:
            return turn.say(f"I'm sorry, I'm not able to share your {prop.label} here.")
        try:
            if prop.object == "contact":
                value = self.crm.read("contact", conv.contact, prop.name).properties.get(prop.name)
                if value and value.strip():
                    turn.say(f"Your {prop.label} {is_are(prop.label)} {value}.")
                else:
                    turn.say(f"I don't have a {prop.label} on file for you.")
            else:
                ids = self.crm.associated(conv.contact, prop.object)
                plural = {"ticket": "tickets", "company": "companies"}[prop.object]
                if not ids:
                    return turn.say(f"I can't find any {plural} linked to your account.")
                values = [(i, self.crm.read(prop.object, i, prop.name).properties.get(prop.name))
                          for i in ids]  # read all first: a failure part-way shows nothing
                lines = [f"- {prop.object} {i}: {v if v and v.strip() else 'not set'}" for i, v in values]
                turn.say(f"Your {prop.label}:\n" + "\n".join(lines))
            turn.event("disclosed", object=prop.object, property=prop.name, contact=str(conv.contact))
        except BackendDown:
            turn.event("backend_error", backend="crm")
            turn.say(CRM_DOWN, once="down")

    # Verification links.

    def send_link(self, conv, turn, now):
        """Mails a link to the address on record; the same words whether or not one went."""
        live = any(l["conversation"] is conv and l["epoch"] == conv.epoch and not l["used"]
                   and now < l["expires"] for l in self.s.links.values())
        if conv.contact is None or live or conv.mails >= MAX_MAILS_PER_CONVERSATION or not conv.address:
            return turn.say(LINK_SENT, once="link")
        token = secrets.token_urlsafe(24)
        link = f"{self.s.public_url}v1/sessions/{self.s.id}/verify/{token}"
        try:
            self.crm.send_link(conv.address, link, self.config.name)
        except BackendDown:
            turn.event("backend_error", backend="mail")
            return turn.say(LINK_SENT if self.config.existence_secret else MAIL_DOWN, once="link")
        conv.mails += 1
        self.s.links[token] = {"conversation": conv, "contact": conv.contact, "epoch": conv.epoch,
                               "issued": now, "expires": now + self.config.link_ttl, "used": False}
        turn.event("verification_sent", contact=str(conv.contact))
        turn.say(LINK_SENT, once="link")

    def open_link(self, token, now):
        """(status, page). The page never shows a CRM value."""
        link = self.s.links.get(token)
        conv = link and link["conversation"]
        if (not link or link["used"] or not link["issued"] <= now < link["expires"]
                or conv.contact != link["contact"] or conv.epoch != link["epoch"]):
            return 410, "This link can't be used. Ask the assistant for a new one."
        link["used"] = True
        conv.verified = True
        return 200, "You're verified. Go back to the chat to continue."

    def serve_pending(self, conv, turn, now):
        pending, conv.pending = conv.pending, []
        self.serve(conv, pending, turn, now)
        return bool(pending)

    def serve(self, conv, pending, turn, now):
        for request in pending:
            if request[0] == "view":
                self.view(conv, request[1], turn, now)
            else:
                self.update(conv, request[1], request[2], turn, now)

    # Changing a value.

    def update(self, conv, prop, value, turn, now):
        if not prop.edit:
            return turn.say(f"I'm sorry, I can't change your {prop.label} here. A colleague can help with that.")
        if not self.proven(conv, prop.edit_proof, ("update", prop, value), turn, now):
            return
        why = invalid(prop, value)
        if why:
            return turn.say(f"I can't use that as your {prop.label}: {why}.")
        if prop.confirm:
            conv.confirming = (prop, value)
            return turn.say(f"Just to confirm: change your {prop.label} to {value}? Please reply yes or no.")
        self.write(conv, prop, value, turn)

    def confirmation(self, conv, yes, turn):
        if conv.confirming is None:
            if not turn.paragraphs:
                turn.say("Great. What else can I help you with?" if yes else "No problem. Anything else?")
            return
        (prop, value), conv.confirming = conv.confirming, None
        if not yes:
            return turn.say(f"Okay, I've left your {prop.label} as it was.")
        proof_ok = conv.level() == "verify_email" or (conv.level() and prop.edit_proof == "match_email")
        if not (prop.edit and proof_ok and conv.contact is not None):
            return turn.say(f"I can't change your {prop.label} right now.")
        self.write(conv, prop, value, turn)

    def write(self, conv, prop, value, turn):
        try:
            if prop.object == "contact":
                record = conv.contact
            else:
                ids = self.crm.associated(conv.contact, prop.object)
                if len(ids) != 1:
                    return turn.say(f"I can't tell which {prop.object} to change; a colleague can help.")
                record = ids[0]
            outcome = self.crm.write(prop.object, record, prop.name, value)
        except BackendDown:
            return turn.say(CRM_DOWN, once="down")
        if outcome == "done":
            turn.event("updated", object=prop.object, property=prop.name, contact=str(conv.contact))
            turn.say(f"Done: your {prop.label} is now {value}.")
        elif outcome == "unchanged":
            turn.say(f"I can't reach your records to save that right now, and your {prop.label} has not "
                     "been changed. Please try again in a little while.")
        else:
            turn.say(f"Your records didn't answer in time, so I can't confirm whether your {prop.label} "
                     "was changed. Please check with me again in a little while before changing it again.")

    # A colleague.

    def handoff_requested(self, conv, turn):
        if self.config.capture_on(conv.channel) == "before_handoff" and not conv.identified():
            conv.handoff_pending = True
            turn.event("asked_for_email")
            return turn.say("Before I connect you with a colleague, could you tell me the email "
                            "address on your account?")
        self.hand_off(turn)

    def hand_off(self, turn):
        if "handoff" not in turn.told:
            turn.event("handed_off")
            turn.say(HAND_OFF, once="handoff")


# --- The protocol over HTTP ---------------------------------------------------------------

SESSION_ID = re.compile(r"[A-Za-z0-9._~-]{1,128}")
START_FIELDS = {"session_id", "config", "crm_base_url", "mail_base_url", "now", "crm_token", "mail_token"}
MESSAGE_FIELDS = {"conversation_id", "channel", "visitor", "text", "now"}
CHANNELS = {"live_chat", "whatsapp", "facebook_messenger", "email"}
SESSIONS, SESSIONS_LOCK = {}, threading.Lock()


def timestamp(text):
    if text is None:
        return datetime.now(timezone.utc)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Problem(Exception):
    def __init__(self, status, error):
        super().__init__(error)
        self.status, self.error = status, error


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart
    public_url = None  # set in main()

    def log_message(self, *args):  # quiet; print(self.requestline) here to debug
        pass

    def reply(self, status, body=None, content_type="application/json"):
        data = (json.dumps(body) if content_type == "application/json" else body or "").encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data) if body is not None else 0))
        self.end_headers()
        if body is not None:
            self.wfile.write(data)

    def json_body(self, allowed, required):
        raw = self.raw_body
        if len(raw) > 2 * 1024 * 1024:
            raise Problem(413, "the body is over 2 MB")
        if "application/json" not in (self.headers.get("Content-Type") or ""):
            raise Problem(415, "send the body as application/json")
        try:
            body = json.loads(raw)
        except ValueError:
            raise Problem(400, "the body is not JSON")
        if not isinstance(body, dict) or set(body) - allowed or required - set(body):
            raise Problem(422, f"the body must have {sorted(required)} and may have {sorted(allowed)}")
        return body

    def route(self, method):
        parts = urlsplit(self.path).path.strip("/").split("/")
        try:
            if method == "POST" and parts == ["v1", "sessions"]:
                return self.start()
            if len(parts) >= 3 and parts[:2] == ["v1", "sessions"]:
                with SESSIONS_LOCK:
                    session = SESSIONS.get(parts[2])
                if session is None:
                    raise Problem(404, "no such session")
                if method == "POST" and parts[3:] == ["messages"]:
                    return self.message(session)
                if method == "GET" and len(parts) == 5 and parts[3] == "verify":
                    return self.verify(session, parts[4])
                if method == "DELETE" and len(parts) == 3:
                    with SESSIONS_LOCK:
                        SESSIONS.pop(parts[2], None)
                    return self.reply(204)
            raise Problem(404, "no such resource")
        except Problem as problem:
            if len(parts) == 5 and parts[3:4] == ["verify"]:
                return self.reply(problem.status, "This link can't be used.", "text/html")
            self.reply(problem.status, {"error": problem.error})

    def do_POST(self):
        # Read the whole body first: the connection is kept alive for the next request.
        self.raw_body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.route("POST")

    def do_GET(self):
        self.route("GET")

    def do_DELETE(self):
        self.route("DELETE")

    def start(self):
        body = self.json_body(START_FIELDS, {"session_id", "crm_base_url", "mail_base_url"})
        session_id = body["session_id"]
        if not isinstance(session_id, str) or not SESSION_ID.fullmatch(session_id) or session_id in (".", ".."):
            raise Problem(400, "a session id is 1 to 128 of A-Z a-z 0-9 . _ ~ -")
        try:
            config = Config(body.get("config") or {"agent": {"name": "Ava"}})
            now = timestamp(body.get("now"))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise Problem(400, f"unusable config or time: {error}")
        backend = Backend(body["crm_base_url"], body.get("crm_token") or DEFAULT_TOKEN,
                          body["mail_base_url"], body.get("mail_token") or DEFAULT_TOKEN)
        with SESSIONS_LOCK:
            if session_id in SESSIONS:
                raise Problem(409, "the session id is already live")
            SESSIONS[session_id] = Session(session_id, config, backend, self.public_url, now)
        self.reply(204)

    def message(self, session):
        body = self.json_body(MESSAGE_FIELDS, {"conversation_id", "channel", "text"})
        visitor = body.get("visitor") or {}
        if (body["channel"] not in CHANNELS or not isinstance(body["text"], str)
                or not isinstance(body["conversation_id"], str) or not isinstance(visitor, dict)):
            raise Problem(422, "unknown channel, or a field of another type")
        try:
            now = timestamp(body.get("now"))
        except ValueError:
            raise Problem(400, "now is not a timestamp")
        with session.lock:  # one message or link at a time per session
            try:
                session.tick(now)
            except ValueError:
                raise Problem(400, "now is earlier than the session's clock")
            turn = Agent(session).handle(body["conversation_id"], body["channel"],
                                         visitor, body["text"], now)
        self.reply(200, {"replies": [{"text": "\n\n".join(turn.paragraphs)}] if turn.paragraphs else [],
                         "events": turn.events})

    def verify(self, session, token):
        query = parse_qs(urlsplit(self.path).query)
        try:
            now = timestamp(self.headers.get("x-leakproof-now") or (query.get("now") or [None])[0])
        except ValueError:
            raise Problem(400, "bad time")
        with session.lock:
            try:
                session.tick(now)
            except ValueError:
                raise Problem(400, "time runs backwards")
            status, page = Agent(session).open_link(token, now)
        self.reply(status, f"<!doctype html><p>{page}</p>", "text/html")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--public-url", help="where customers reach this server (links point here)")
    args = parser.parse_args()
    Handler.public_url = (args.public_url or f"http://{args.host}:{args.port}").rstrip("/") + "/"
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True  # a thread per connection
    print(f"example agent listening on http://{args.host}:{args.port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
