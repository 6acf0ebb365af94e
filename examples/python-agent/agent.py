"""An example customer agent for Leakproof, built on HubSpot's official Python client.

It speaks Leakproof's agent protocol (docs/protocol.md), reads and writes the CRM and mails
verification links with `hubspot-api-client`, and follows the configuration each session
starts with. Copy it: replace `Message` (what the customer asks for) with your own
understanding, e.g. a language model, and keep the rules (`Agent.proven` and its callers):

* Show a value only with view enabled and its proof: `match_email` (the customer typed the
  address on record) or `verify_email` (they opened a link mailed to it in this
  conversation), in words that neither confirm nor deny a guess.
* Never look anyone else up; treat an address no contact has like one that can't be proven.
* Write only with edit enabled, its proof and (with `confirm`) a "yes" to the read-back.
* On any CRM or mail failure show nothing and write nothing. Nothing outlives a session.

Run: python agent.py --port 8765
"""

import argparse
import json
import re
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts import Filter, FilterGroup, PublicObjectSearchRequest, SimplePublicObjectInput
from hubspot.marketing.transactional import PublicSingleSendEmail, PublicSingleSendRequestEgg

DEFAULT_TOKEN = "pat-na1-00000000-0000-4000-8000-000000000000"  # the mocks' token
TIMEOUT_S, ATTEMPTS = 1.0, 3  # per CRM or mail call: well inside the harness's 30 s a step
EMAIL_TEMPLATE_ID = 1  # the transactional email; the link goes in custom.verification_link
MAX_MAILS_PER_CONVERSATION = 5
PLURAL = {"ticket": "tickets", "company": "companies"}

# What the agent says. Some scenarios check these words (see README.md).
ASK_EMAIL = "Could you tell me the email address on your account?"
LINK_SENT = ("To keep your details safe, a verification link goes to the email address on file for your "
             "account. Open it, then come back here and I'll continue. If nothing arrives, check the "
             "address you gave.")
DOWN = "I can't reach {} right now, so I can't help with that at the moment. Please try again in a little while."
CRM_DOWN, MAIL_DOWN = DOWN.format("your records"), DOWN.format("our email service")
ONLY_OWN = "I can only help with your own account, not with anyone else's details."
HAND_OFF = "I'm handing you over to a colleague now; they'll reply here shortly."


# --- The protocol over HTTP ---------------------------------------------------------------

SESSION_ID = re.compile(r"[A-Za-z0-9._~-]{1,128}")
# The fields of each request body and their JSON types (null counts as absent).
START = {"session_id": str, "config": dict, "crm_base_url": str, "mail_base_url": str, "now": str,
         "crm_token": str, "mail_token": str}
MESSAGE = {"conversation_id": str, "channel": str, "visitor": dict, "text": str, "now": str}
CHANNELS = {"live_chat", "whatsapp", "facebook_messenger", "email"}
SESSIONS, SESSIONS_LOCK = {}, threading.Lock()  # session id -> Agent


class Problem(Exception):
    """(status, error): a refused request."""


def timestamp(text):
    """An ISO 8601 instant; absent, the wall clock."""
    try:
        return datetime.now(timezone.utc) if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, TypeError, AttributeError):
        raise Problem(400, "now is not a timestamp")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart
    public_url = None  # set in main()

    def log_message(self, *args):  # quiet; print(self.requestline) here to debug
        pass

    def do_POST(self):
        # Read the whole body first: the connection is kept alive for the next request.
        self.raw_body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.route()

    def route(self):
        parts = urlsplit(self.path).path.strip("/").split("/")
        link = len(parts) == 5 and parts[3] == "verify"
        try:
            if self.command == "POST" and parts == ["v1", "sessions"]:
                return self.start()
            with SESSIONS_LOCK:
                agent = SESSIONS.get(parts[2]) if len(parts) > 2 and parts[:2] == ["v1", "sessions"] else None
            if agent is None:
                raise Problem(404, "no such session")
            if self.command == "POST" and parts[3:] == ["messages"]:
                return self.message(agent)
            if self.command == "GET" and link:
                return self.verify(agent, parts[4])
            if self.command == "DELETE" and len(parts) == 3:
                with SESSIONS_LOCK:
                    SESSIONS.pop(parts[2], None)
                return self.reply(204)
            raise Problem(404, "no such resource")
        except Problem as problem:
            status, error = problem.args
            self.reply(status, "This link can't be used." if link else {"error": error})

    do_GET = do_DELETE = route

    def reply(self, status, body=None):
        """A dict goes out as JSON, a str as an HTML page, None as an empty body."""
        data = b"" if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if isinstance(body, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def json_body(self, fields, required):
        if len(self.raw_body) > 2 * 1024 * 1024:
            raise Problem(413, "the body is over 2 MB")
        if "application/json" not in (self.headers.get("Content-Type") or ""):
            raise Problem(415, "send the body as application/json")
        try:
            body = json.loads(self.raw_body)
        except ValueError:
            raise Problem(400, "the body is not JSON")
        if (not isinstance(body, dict) or set(body) - set(fields) or any(body.get(k) is None for k in required)
                or any(v is not None and not isinstance(v, fields[k]) for k, v in body.items())):
            raise Problem(422, f"the body must have {sorted(required)} and may have {sorted(fields)}, "
                               "each of its type")
        return body

    def start(self):
        body = self.json_body(START, {"session_id", "crm_base_url", "mail_base_url"})
        session_id = body["session_id"]
        if not SESSION_ID.fullmatch(session_id) or session_id in (".", ".."):
            raise Problem(400, "a session id is 1 to 128 of A-Z a-z 0-9 . _ ~ -")
        try:
            config = Config(body.get("config") or {"agent": {"name": "Ava"}})
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise Problem(400, f"unusable config: {error}")
        backend = Backend(body["crm_base_url"], body.get("crm_token") or DEFAULT_TOKEN,
                          body["mail_base_url"], body.get("mail_token") or DEFAULT_TOKEN)
        agent = Agent(session_id, config, backend, self.public_url, timestamp(body.get("now")))
        with SESSIONS_LOCK:
            if session_id in SESSIONS:
                raise Problem(409, "the session id is already live")
            SESSIONS[session_id] = agent
        self.reply(204)

    def message(self, agent):
        body = self.json_body(MESSAGE, {"conversation_id", "channel", "text"})
        if body["channel"] not in CHANNELS:
            raise Problem(422, f"the channel is one of {sorted(CHANNELS)}")
        now = timestamp(body.get("now"))
        with agent.lock:  # one message or link at a time per session
            agent.tick(now)
            turn = agent.handle(body["conversation_id"], body["channel"], body.get("visitor") or {},
                                body["text"], now)
        self.reply(200, {"replies": [{"text": "\n\n".join(turn.paragraphs)}] if turn.paragraphs else [],
                         "events": turn.events})

    def verify(self, agent, token):
        query = parse_qs(urlsplit(self.path).query)  # ?now= for a browser
        now = timestamp(self.headers.get("x-leakproof-now") or query.get("now", [None])[0])
        with agent.lock:
            agent.tick(now)
            status, page = agent.open_link(token, now)
        self.reply(status, f"<!doctype html><p>{page}</p>")


# --- The configuration (the schema: crates/config/src/lib.rs) ------------------------------

# Instructions are followed only where they narrow sharing (as the reference policy does).
NARROWING = ("never share", "never shared", "do not share", "don't share", "not be shared",
             "never disclose", "do not disclose")


class Prop:
    """One configured property."""

    def __init__(self, rule):
        view, edit = rule.get("view", {}), rule.get("edit", {})
        self.object = rule["object"]  # contact | ticket | company
        self.name, self.label = rule["property"], rule["label"]
        self.names = [self.label, *rule.get("synonyms", [])]
        self.view, self.view_proof = view.get("enabled", False), view.get("protection", "verify_email")
        self.edit, self.edit_proof = edit.get("enabled", False), edit.get("protection", "verify_email")
        self.confirm = edit.get("confirm", True)
        self.narrowed = any(p in view.get("instructions", "").lower() for p in NARROWING)


class Config:
    def __init__(self, raw):
        self.name = raw.get("agent", {}).get("name", "the assistant")
        self.link_ttl = parse_duration(raw.get("verification", {}).get("link_ttl", "15m"))
        self.capture = raw.get("email_capture", {})
        self.props = [Prop(rule) for rule in raw.get("properties", [])]
        # When nothing is shown or changed on a match alone, whether an address has an
        # account is itself a secret: even a failed mail is told in the words of a sent one.
        self.existence_secret = not any((p.view and p.view_proof == "match_email") or
                                        (p.edit and p.edit_proof == "match_email") for p in self.props)

    def capture_on(self, channel):
        """at_start | when_needed | before_handoff | never. The email channel has no setting:
        its From address is only a claim."""
        return "when_needed" if channel == "email" else self.capture.get(channel, "when_needed")


def parse_duration(text):
    """`15m`, `1h 30m`, `14m 59s`, `PT15M` -> timedelta."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)", text.lower().replace("pt", ""))
    return timedelta(seconds=sum(float(n) * units[u] for n, u in parts) or 900)


# --- Understanding the customer (replace with your model; keep the refusals) ---------------

EMAIL_RE = re.compile(r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
                      r"(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+", re.I)
FIRST_PERSON = {"my", "mine", "i", "im", "me", "myself", "our", "us"}
# Words that make a question about someone else ("what's her address?", "my wife's phone").
OTHERS = {"whose", "her", "his", "their", "him", "them", "she", "he", "they", "wife", "husband",
          "partner", "friend", "mother", "mum", "mom", "father", "dad", "son", "daughter", "brother",
          "sister", "colleague", "boss"}
# Words before an address that make it someone else's ("the city of ann@…", "her email is …").
NOT_MINE = OTHERS | {"up", "check", "lookup", "of", "for", "about", "regarding", "belongs", "owns",
                     "owner", "does", "did", "someone", "somebody"}
YES = {"yes", "yeah", "yep", "yup", "yea", "y", "aye", "sure", "ok", "okay", "correct", "right",
       "confirm", "confirmed", "absolutely", "definitely", "affirmative"}
NO = {"no", "nope", "nah", "not", "don't", "dont", "never", "cancel", "stop", "leave", "wrong", "wait", "n"}
HUMAN = re.compile(r"\b(human|person|people|someone|somebody|agent|colleague|representative|operator|"
                   r"staff|manager|support team|real one)\b", re.I)
# "change my phone number to …", "Update my plan: …", "my new address is …"; the value ends
# with its sentence.
UPDATE_RE = re.compile(r"\b(?:(?:change|update|set|modify|replace|correct)\s+(?:my|the)\s+(?P<p>.+?)"
                       r"(?:\s+to\b|\s*:)|my new\s+(?P<p2>.+?)\s+(?:is|will be)\b)"
                       r"\s*(?P<v>.*?)\s*(?=\.\s|[?!\n]|\.?$)", re.I)
WANTS_CHANGE = re.compile(r"\b(change|update|modify|correct|edit)\b", re.I)


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
        raw = words(re.split(r"[?!\n]|\. ", text[:m.start()])[-1])  # its sentence, up to it
        after = text[m.end():]
        later = words(re.split(r"[.!\n]", after, maxsplit=1)[0])[:5]
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
    possessive = re.search(r"\b(?!(?:what|it|that|here|there|let|who|how|where)['’]s\b)"
                           r"[\w-]+['’]s\b", text, re.I)
    named = re.search(r"\b(?:of|for)\s+(?!(?i:my|me|the|your|this|a|an)\b)[A-Z][\w'-]*", text)
    everyone = re.search(r"\b(every|everyone|everybody|anyone|all contacts|all customers|list all|"
                         r"someone else|somebody else)\b", text, re.I)
    return bool(set(words(text)) & OTHERS or possessive or named or everyone)


class Message:
    """What one customer message asks for."""

    def __init__(self, text, config):
        self.emails = find_emails(text)
        self.claim = next((a for a, mine in reversed(self.emails) if mine), None)
        self.update = None  # (prop, value), or (prop, None) when the value is missing
        rest = EMAIL_RE.sub(" <address> ", text)
        m = UPDATE_RE.search(rest)
        props = m and [p for p in config.props if any(words(n) == words(m["p"] or m["p2"]) for n in p.names)]
        if props:
            self.update = (props[0], m["v"].strip().strip("\"'“”").strip() or None)
            rest = rest[:m.start("v")] + rest[m.end("v"):]  # the value asks nothing
        # Property words next to an address ("the address on my account is ann@…") ask nothing.
        self.asks = list(dict.fromkeys(p for c in re.split(r"[?!;,\n]|\.\s", rest)
                                       if "<address>" not in c for p in mentioned(c, config.props)))
        if not self.update and self.asks and WANTS_CHANGE.search(rest):
            self.update = (self.asks[0], None)
        if self.update:
            self.asks = []
        w = set(words(text))
        self.others = any(not mine for _, mine in self.emails) or bool(
            (self.asks or self.update) and about_someone_else(rest))
        self.no = bool(w & NO)
        self.yes = bool(w & YES or re.search(r"\b(go ahead|do it|please do)\b", text, re.I)) and not self.no
        self.human = bool(HUMAN.search(text)) and not (self.asks or self.update)
        self.returning = bool(re.search(r"returning customer|\bi'?m back\b|it'?s me again", text, re.I))


# --- The rules: one Agent per session -----------------------------------------------------

class Conversation:
    def __init__(self):
        self.channel = None
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

    def new_address(self, email):
        return (self.address or "").lower() != email.lower()

    def become(self, contact, address, claimed=True):
        """A new identity: earlier access, links and changes for the previous one lapse."""
        if self.identified():  # a change asked for the previous customer is not carried over
            self.pending = [p for p in self.pending if p[0] == "view"]
        self.contact, self.address, self.claimed = contact, address, claimed
        self.verified, self.confirming = False, None
        self.epoch += 1

    def queue(self, request):
        self.pending = [p for p in self.pending if p[:2] != request[:2]] + [request]


class Turn:
    """A turn's reply paragraphs and decision events."""

    def __init__(self):
        self.paragraphs, self.events, self.seen = [], [], set()

    def first(self, key):
        """True the first time this turn meets `key` (the ask, the link, a property shown…)."""
        new = key not in self.seen
        self.seen.add(key)
        return new

    def say(self, text, once=None, event=None):
        """Adds `text` (with `once`, only the first time this turn); `event` goes with it."""
        if once is None or self.first(once):
            self.paragraphs.append(text)
            if event:
                self.event(event)

    def event(self, name, **fields):
        self.events.append({"event": name, **fields})


class Agent:
    def __init__(self, session_id, config, backend, public_url, now):
        self.id, self.config, self.crm, self.public_url = session_id, config, backend, public_url
        self.latest = now  # the session's clock, which only moves forward
        self.conversations = {}
        self.links = {}  # token -> dict(conversation, contact, epoch, issued, expires, used)
        self.lock = threading.Lock()

    def tick(self, now):
        if now < self.latest:
            raise Problem(400, "now is earlier than the session's clock")
        self.latest = now

    def handle(self, conv_id, channel, visitor, text, now):
        """One customer message. In order: who the customer is (the channel's visitor, then an
        address in the message), what waited for a link they have since opened, the channel's
        email capture, then what they ask for now."""
        conv = self.conversations.setdefault(conv_id, Conversation())
        conv.channel = channel
        turn, msg = Turn(), Message(text, self.config)
        if not (msg.yes or msg.no):
            conv.confirming = None  # a read-back is answered by the very next message or not at all
        waiting = conv.confirming  # only a read-back made before this message can be answered
        try:
            self.recognise_visitor(conv, visitor, turn)
        except BackendDown:
            turn.say(CRM_DOWN)
            if msg.human:
                turn.say(HAND_OFF, once="handoff", event="handed_off")
            return turn
        if conv.verified and conv.pending and not (msg.claim and conv.new_address(msg.claim)):
            self.serve(conv, turn, now)  # "done", "I clicked the link"

        capture = self.config.capture_on(channel)
        if capture == "at_start" and not conv.identified() and not msg.claim:
            if not msg.others:  # answered once the address is given
                for prop in msg.asks:
                    conv.queue(("view", prop))
                if msg.update and msg.update[1]:
                    conv.queue(("update", *msg.update))
            conv.handoff_pending |= msg.human
            turn.say(ASK_EMAIL, once="ask", event="asked_for_email")
            return turn

        if msg.claim and not self.email_given(conv, msg, turn, now):
            return turn
        if msg.others:
            turn.say(ONLY_OWN)
        else:
            for prop in msg.asks:
                self.view(conv, prop, turn, now)
            if msg.update and msg.update[1] is None:
                turn.say(f"Sure. What should your new {msg.update[0].label} be?")
            elif msg.update:
                self.update(conv, *msg.update, turn, now)
        if (msg.yes or msg.no) and waiting and conv.confirming is waiting:
            self.confirmation(conv, msg.yes, turn)
        if msg.human:
            self.handoff_requested(conv, turn)
        if turn.paragraphs:
            return turn
        if msg.returning and (conv.identified() or capture not in ("when_needed", "at_start")):
            turn.say("Welcome back! How can I help?")
        elif msg.returning:
            turn.say(ASK_EMAIL, once="ask", event="asked_for_email")
        else:
            labels = "".join([f"your {p.label}, " for p in self.config.props if p.view][:4])
            turn.say(f"I'm {self.config.name}. I can look up or update {labels or 'details of your account, '}"
                     "or put you through to a colleague.")
        return turn

    # Who the customer is.

    def recognise_visitor(self, conv, visitor, turn):
        """A returning live-chat cookie or a known WhatsApp number identifies the customer; a
        cookie on another channel identifies nobody."""
        if conv.visitor_checked:
            return
        field, prop = {"live_chat": ("cookie", "hubspotutk"),
                       "whatsapp": ("phone", "hs_whatsapp_phone_number")}.get(conv.channel, (None, None))
        value = (visitor.get(field) or "").strip() if field else ""
        found = self.crm.find_contact(prop, value) if value else None
        conv.visitor_checked = True  # only once the lookup answered
        if found:
            conv.become(*found)
            turn.event("contact_matched", contact=str(found[0]), by="channel")

    def email_given(self, conv, msg, turn, now):
        """Looks the claimed address up; False when the CRM failed (the turn stops there)."""
        if conv.new_address(msg.claim):
            try:
                found = self.crm.find_contact("email", msg.claim)
            except BackendDown:
                if conv.identified():  # fail closed: the earlier identity does not outlive the claim
                    conv.become(None, None, claimed=False)
                turn.say(CRM_DOWN)
                return False
            if found is None:
                conv.become(None, msg.claim)  # unknown: goes on like a contact who cannot verify
            elif found[0] != conv.contact:
                conv.become(*found)
                turn.event("contact_matched", contact=str(found[0]), by="email")
        handoff, conv.handoff_pending = conv.handoff_pending, False
        if not (conv.pending or handoff or msg.asks or msg.update or msg.human):
            turn.say("Thanks! What can I help you with?")
        self.serve(conv, turn, now)
        if handoff:
            turn.say(HAND_OFF, once="handoff", event="handed_off")
        return True

    # The rule every view and every change goes through.

    def proven(self, conv, proof, request, turn, now):
        """Whether the customer has `proof` (match_email / verify_email) for their record; if
        not, asks for what is missing and keeps `request` until it arrives."""
        if not conv.identified():
            conv.queue(request)
            capture = self.config.capture_on(conv.channel)
            if capture in ("when_needed", "at_start"):
                turn.say(ASK_EMAIL, once="ask", event="asked_for_email")
            elif capture == "before_handoff":  # no asking here: only on the way to a colleague
                turn.say(f"I can't look up your {request[1].label} here, but I can put you through "
                         "to a colleague who can.")
            else:
                turn.say(f"I'm sorry, I can't look up your {request[1].label} in this chat.")
            return False
        if proof == "verify_email" and not conv.verified:
            conv.queue(request)
            self.send_link(conv, turn, now)
            return False
        if conv.contact is None:  # an address no contact has: nothing to read or write
            turn.say("I couldn't find an account with that email address.", once="unknown")
            return False
        return True

    def serve(self, conv, turn, now):
        """What waited for an address or a link, now."""
        pending, conv.pending = conv.pending, []
        for kind, prop, *value in pending:
            if kind == "view":
                self.view(conv, prop, turn, now)
            else:
                self.update(conv, prop, value[0], turn, now)

    # Sharing a value.

    def view(self, conv, prop, turn, now):
        if not turn.first(prop):  # asked again in a turn that already answered it
            return
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
                last = prop.label.split()[-1].lower()
                is_are = "are" if last.endswith("s") and not last.endswith(("ss", "us")) else "is"
                turn.say(f"Your {prop.label} {is_are} {value}." if value and value.strip()
                         else f"I don't have a {prop.label} on file for you.")
            else:
                ids = self.crm.associated(conv.contact, prop.object)
                if not ids:
                    return turn.say(f"I can't find any {PLURAL[prop.object]} linked to your account.")
                values = [(i, self.crm.read(prop.object, i, prop.name).properties.get(prop.name))
                          for i in ids]  # read all first: a failure part-way shows nothing
                turn.say(f"Your {prop.label}:\n" + "\n".join(
                    f"- {prop.object} {i}: {v if v and v.strip() else 'not set'}" for i, v in values))
            turn.event("disclosed", object=prop.object, property=prop.name, contact=str(conv.contact))
        except BackendDown:
            turn.event("backend_error", backend="crm")
            turn.say(CRM_DOWN, once="down")

    # Verification links.

    def send_link(self, conv, turn, now):
        """Mails a link to the address on record; the same words whether or not one went."""
        live = any(l["conversation"] is conv and l["epoch"] == conv.epoch and not l["used"]
                   and now < l["expires"] for l in self.links.values())
        if conv.contact is None or live or conv.mails >= MAX_MAILS_PER_CONVERSATION or not conv.address:
            return turn.say(LINK_SENT, once="link")
        token = secrets.token_urlsafe(24)
        try:
            self.crm.send_link(conv.address, f"{self.public_url}v1/sessions/{self.id}/verify/{token}",
                               self.config.name)
        except BackendDown:
            turn.event("backend_error", backend="mail")
            return turn.say(LINK_SENT if self.config.existence_secret else MAIL_DOWN, once="link")
        conv.mails += 1
        self.links[token] = {"conversation": conv, "contact": conv.contact, "epoch": conv.epoch,
                             "issued": now, "expires": now + self.config.link_ttl, "used": False}
        turn.event("verification_sent", contact=str(conv.contact))
        turn.say(LINK_SENT, once="link")

    def open_link(self, token, now):
        """(status, page). The page never shows a CRM value."""
        link = self.links.get(token)
        conv = link and link["conversation"]
        if (not link or link["used"] or not link["issued"] <= now < link["expires"]
                or conv.contact != link["contact"] or conv.epoch != link["epoch"]):
            return 410, "This link can't be used. Ask the assistant for a new one."
        link["used"] = conv.verified = True
        return 200, "You're verified. Go back to the chat to continue."

    # Changing a value.

    def update(self, conv, prop, value, turn, now):
        if not prop.edit:
            return turn.say(f"I'm sorry, I can't change your {prop.label} here. A colleague can help with that.")
        if not self.proven(conv, prop.edit_proof, ("update", prop, value), turn, now):
            return
        why = invalid(prop, value)
        if why:
            return turn.say(f"I can't use that as your {prop.label}: {why}.")
        if not prop.confirm:
            return self.write(conv, prop, value, turn)
        conv.confirming = (prop, value)
        turn.say(f"Just to confirm: change your {prop.label} to {value}? Please reply yes or no.")

    def confirmation(self, conv, yes, turn):
        (prop, value), conv.confirming = conv.confirming, None
        if not yes:
            return turn.say(f"Okay, I've left your {prop.label} as it was.")
        if not (prop.edit and conv.contact is not None and (conv.verified or prop.edit_proof == "match_email")):
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
            return turn.say("Before I connect you with a colleague, could you tell me the email "
                            "address on your account?", event="asked_for_email")
        turn.say(HAND_OFF, once="handoff", event="handed_off")


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


# --- The CRM and the mail service, through HubSpot's client --------------------------------

class BackendDown(Exception):
    """The CRM or the mail service failed: show nothing, write nothing. `lost`: a write's
    answer was lost, so it may have landed."""

    def __init__(self, lost=False):
        self.lost = lost


class Backend:
    """One session's CRM and mail clients."""

    def __init__(self, crm_url, crm_token, mail_url, mail_token):
        # retry=False: `_call` decides what is retried (never a write whose answer was lost).
        crm = HubSpot(access_token=crm_token, host=crm_url.rstrip("/"), retry=False).crm
        self.basic = {"contact": crm.contacts.basic_api, "ticket": crm.tickets.basic_api,
                      "company": crm.companies.basic_api}
        self.search_api = crm.contacts.search_api
        self.mail_api = HubSpot(access_token=mail_token, host=mail_url.rstrip("/"),
                                retry=False).marketing.transactional.single_send_api

    @staticmethod
    def _call(fn, write=False):
        """fn(), at most 3 tries. A read is retried on a lost connection, 5xx and 429 (not
        DAILY); a write only on 429 and 503, which say nothing was applied."""
        for attempt in range(ATTEMPTS):
            try:
                return fn()
            except Exception as error:  # the client's ApiException, urllib3's lost connection, a bad body
                status = getattr(error, "status", None)
                if write:  # any answer but a 4xx: it may have landed
                    retry = status in (429, 503)
                    lost = not retry and not (isinstance(status, int) and status < 500)
                else:
                    retry = (isinstance(error, urllib3.exceptions.HTTPError) or isinstance(status, int)
                             and status >= 500 or status == 429 and "DAILY" not in str(error.body))
                    lost = False
                if not retry or attempt == ATTEMPTS - 1:
                    raise BackendDown(lost)
                wait = 0.1 * 3 ** attempt
                if status == 429 and not write:
                    after = (error.headers or {}).get("Retry-After", "1")
                    wait = min(float(after) if after.replace(".", "").isdigit() else 1.0, 5.0)
                time.sleep(wait)

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
        return found.results[0].id, (found.results[0].properties or {}).get("email")

    def read(self, object_type, record_id, prop, associations=None):
        """The record with its `prop` (and associations); checks it is the record asked for."""
        record = self._call(lambda: self.basic[object_type].get_by_id(
            record_id, properties=[prop], associations=associations, _request_timeout=TIMEOUT_S))
        if str(record.id) != str(record_id) or not isinstance(record.properties, dict):
            raise BackendDown()
        return record

    def associated(self, contact_id, object_type):
        """The ids of the contact's tickets or companies."""
        plural = PLURAL[object_type]
        found = (self.read("contact", contact_id, "email", [plural]).associations or {}).get(plural)
        return [a.id for a in (found.results if found else [])]

    def write(self, object_type, record_id, prop, value):
        """'done', 'unchanged' or 'unknown' (the answer was lost and the read-back failed)."""
        body = SimplePublicObjectInput(properties={prop: value})
        try:
            self._call(lambda: self.basic[object_type].update(record_id, body, _request_timeout=TIMEOUT_S), True)
            return "done"
        except BackendDown as down:
            if not down.lost:
                return "unchanged"
        try:  # never send it again: read back what the CRM holds
            landed = self.read(object_type, record_id, prop).properties.get(prop) == value
        except BackendDown:
            return "unknown"
        return "done" if landed else "unchanged"

    def send_link(self, to, link, agent_name):
        egg = PublicSingleSendRequestEgg(
            email_id=EMAIL_TEMPLATE_ID,
            message=PublicSingleSendEmail(to=to, send_id=secrets.token_hex(16)),  # retries share the sendId
            custom_properties={"verification_link": link, "agent_name": agent_name})
        sent = self._call(lambda: self.mail_api.send_email(
            public_single_send_request_egg=egg, _request_timeout=TIMEOUT_S))
        if not getattr(sent, "status_id", None) or getattr(sent, "status", None) == "CANCELED":
            raise BackendDown()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--public-url", help="where customers reach this server (links point here)")
    args = parser.parse_args()
    Handler.public_url = (args.public_url or f"http://{args.host}:{args.port}").rstrip("/") + "/"
    ThreadingHTTPServer.request_queue_size = 128  # the fuzzer's many connections at once
    print(f"example agent listening on http://{args.host}:{args.port}/", flush=True)
    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()  # a thread per connection


if __name__ == "__main__":
    main()
