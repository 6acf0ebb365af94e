//! The conversation engine: one state per conversation, every access through the policy, every backend failure closed.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use url::Url;

use super::events::{AskReason, Backend, DecisionEvent, MatchedBy, Throttle, WithheldReason};
use super::render::{Rendering, Reply, render};
use super::understand::{Intent, Understander};
use crate::throttle::{MAILS_PER_CONVERSATION, MailThrottle};
use leakproof_config::{
    AgentConfig, Channel, ConfigError, EmailCapture, ObjectType, PropertyRule, Protection,
};
use leakproof_hubspot::crm::{Crm, CrmError, CrmSettings, HttpClient, Sleeper};
use leakproof_hubspot::crm::{HUBSPOTUTK, WHATSAPP_PHONE};
use leakproof_hubspot::mail::{MailSettings, Mailer, VerificationMail};
use leakproof_identity::conversation::{ConversationIdentity, IdentitySource, Transition};
use leakproof_identity::token::{SigningKey, TokenError, TokenIssuer};
use leakproof_identity::{ContactId, ConversationId, Identity};
use leakproof_policy::{Action, Decision, Policy, PropertyId, Refusal, Request, Subject};
use leakproof_protocol::Visitor;

/// The reply when a verification link is due: the same words whether or not the
/// address the customer typed is on a record, so replies never tell which
/// addresses have an account.
const LINK_SENT: &str = "To keep your details safe, a verification link goes to the email address on file for your account. Open it, then come back here and I'll continue. If nothing arrives, check the address you gave.";

/// The longest message the agent reads, in bytes (UTF-8). A chat message is a few hundred
/// bytes and WhatsApp's own limit is 4,096 characters; 16 KiB leaves room for an email with
/// some quoted text, while a megabyte of text is refused before any of it is read, so no
/// message makes the agent do unbounded work. A longer message is not read at all (reading
/// part of it could cut a value to write): the customer is asked for a shorter one.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// The email addresses looked up in the CRM for one message. A customer gives one address,
/// perhaps corrects it in the same breath; three covers that. The addresses after the third
/// are not looked up: nobody is identified by them, an identity they would replace ends as
/// for any claim that cannot be checked, and the customer is asked for one address on its own.
pub const MAX_LOOKUPS_PER_MESSAGE: usize = 3;

/// The email addresses looked up in the CRM in one conversation, however many messages it
/// has. A customer who mistypes their address a few times stays far below it; a script trying
/// address after address is stopped after this many searches. Beyond it no address is looked
/// up (nobody is identified by one, an identity it would replace ends) and the customer is
/// told that no more addresses can be checked in this conversation.
pub const MAX_LOOKUPS_PER_CONVERSATION: usize = 24;

/// The reply to a message longer than [`MAX_MESSAGE_BYTES`].
const TOO_LONG_TO_READ: &str =
    "That message is too long for me to read. Could you send a shorter one, with one question at a time?";

/// Said once in a turn when an address was not looked up for [`MAX_LOOKUPS_PER_MESSAGE`].
const TOO_MANY_ADDRESSES: &str = "I can check at most three email addresses in one message, so I haven't checked the others. Please send the email address on your account on its own.";

/// Said once in a turn when an address was not looked up for [`MAX_LOOKUPS_PER_CONVERSATION`].
const NO_MORE_LOOKUPS: &str = "I can't check any more email addresses in this conversation. If you need help with your account, ask for a colleague.";

/// The agent's answer to one customer message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    /// The messages to send, rendered for the channel.
    pub replies: Vec<String>,
    /// The decisions made, in order.
    pub events: Vec<DecisionEvent>,
}

/// What opening a verification link did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkOutcome {
    /// Whether the conversation is now verified.
    pub verified: bool,
    /// What to show the person who opened it (no CRM values).
    pub message: String,
}

/// Everything the agent needs to run.
#[derive(Clone, Debug)]
pub struct AgentSettings {
    /// The admin's configuration.
    pub config: AgentConfig,
    /// The CRM.
    pub crm: CrmSettings,
    /// The mail service.
    pub mail: MailSettings,
    /// The key that signs verification links.
    pub signing_key: SigningKey,
}

/// Why an agent could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The CRM client could not be built.
    #[error("failed to set up the CRM client: {0}")]
    Crm(CrmError),
    /// The mail client could not be built.
    #[error("failed to set up the mail client: {0}")]
    Mail(leakproof_hubspot::mail::MailError),
}

/// Something the customer asked for that waits for proof of identity.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pending {
    View(PropertyId),
    Update(PropertyId, String),
}

/// One conversation's state.
#[derive(Debug)]
struct Conversation {
    identity: ConversationIdentity,
    channel: Channel,
    /// The address on the current contact's record: where links go.
    address_on_record: Option<String>,
    /// The customer's first name on record, for the email greeting.
    first_name: Option<String>,
    /// Requests waiting for an email or a verification.
    pending: Vec<Pending>,
    /// An update waiting for the customer's yes or no.
    confirming: Option<(PropertyId, String)>,
    /// Whether the last thing the agent asked was the customer's email.
    asked_for_email: bool,
    /// A handoff waiting for the customer's email (`before_handoff`).
    handoff_pending: bool,
    /// Events from outside a turn (an opened link), reported with the next turn.
    queued: Vec<DecisionEvent>,
    /// The email addresses looked up in this conversation (see [`MAX_LOOKUPS_PER_CONVERSATION`]).
    lookups: usize,
    /// The verification mails this conversation sent (see [`MAILS_PER_CONVERSATION`]).
    mails: usize,
    /// Whether the visitor's channel identity (cookie, WhatsApp number) has been looked up; a
    /// lookup the CRM failed is tried again on the next turn.
    visitor_looked_up: bool,
    /// An address no contact has that the customer gave as theirs, kept where account existence
    /// is secret ([`Agent::existence_secret`]): the conversation then goes on exactly as for a
    /// contact matched by that address who cannot verify, so nothing tells the two apart.
    claimed: Option<String>,
    /// Planted bug `DisclosesOnCrmError`: the values read in this conversation, by property
    /// (not by contact), to answer from when the CRM fails.
    #[cfg(feature = "faulty-agents")]
    last_read: HashMap<String, String>,
    /// Planted bug `CarriesIntoNextSession`: whether no turn was answered yet.
    #[cfg(feature = "faulty-agents")]
    fresh: bool,
}

impl Conversation {
    /// Queues `request` until the proof it needs arrives: each request once, and an update
    /// with the latest value the customer gave for that property.
    fn queue(&mut self, request: Pending) {
        self.pending.retain(|queued| match (queued, &request) {
            (Pending::Update(queued, _), Pending::Update(property, _)) => queued != property,
            (queued, request) => queued != request,
        });
        self.pending.push(request);
    }

    /// Whether the customer has said who they are: a contact is matched or verified, or they
    /// claim an address no contact has (see [`Conversation::claimed`]). An identified customer
    /// is not asked for an email again.
    fn is_identified(&self) -> bool {
        self.identity.is_identified() || self.claimed.is_some()
    }

    /// The identity the policy decides on: a claim of an address no contact has counts as a
    /// match, which needs the same verification as any match and can never get it.
    fn policy_identity(&self) -> Identity {
        match (&self.claimed, self.identity.identity()) {
            (Some(_), Identity::Anonymous) => Identity::Matched(UNKNOWN_CONTACT),
            (_, identity) => identity,
        }
    }

    /// The address the customer is known by: the one on the current contact's record, or the
    /// one they claim.
    fn own_address(&self) -> Option<&str> {
        self.address_on_record.as_deref().or(self.claimed.as_deref())
    }
}

/// The contact id the policy is shown for a claim of an address no contact has: the policy
/// decides on the identity's level alone for the customer's own data, and nothing reads or
/// writes a record for a claim.
const UNKNOWN_CONTACT: ContactId = ContactId(0);

/// A configuration compiled for agents: its policy and the understander built on it.
/// Compiling costs tens of microseconds; agents of one configuration can share one.
#[derive(Clone, Debug)]
pub struct Compiled {
    config: Arc<AgentConfig>,
    policy: Arc<Policy>,
    understander: Arc<Understander>,
    memo: Option<Arc<Memo>>,
}

impl Compiled {
    /// Compiles `config`.
    pub fn new(config: &AgentConfig) -> Result<Compiled, ConfigError> {
        let policy = Policy::compile(config)?;
        let understander = Understander::new(&policy);
        Ok(Compiled {
            config: Arc::new(config.clone()),
            policy: Arc::new(policy),
            understander: Arc::new(understander),
            memo: None,
        })
    }

    /// These compiled rules, remembering what each message read meant (up to
    /// [`Memo::CAPACITY`] messages, then forgetting them all): for a harness that replays one
    /// conversation several times. What a message means depends on its text alone, so the
    /// agents built on it answer exactly as without.
    pub fn remembering(self) -> Compiled {
        Compiled { memo: Some(Arc::default()), ..self }
    }

    /// The configuration compiled.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }
}

/// What messages meant, by their text, for [`Compiled::remembering`].
#[derive(Debug, Default)]
pub struct Memo(Mutex<rustc_hash::FxHashMap<Box<str>, Vec<Intent>>>);

impl Memo {
    /// How many messages a memo holds before it forgets them all.
    pub const CAPACITY: usize = 4096;

    fn read(&self, understander: &Understander, text: &str) -> Vec<Intent> {
        if let Some(intents) = self.0.lock().unwrap_or_else(|e| e.into_inner()).get(text) {
            return intents.clone();
        }
        let intents = understander.understand(text);
        let mut memo = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() >= Memo::CAPACITY {
            memo.clear();
        }
        memo.insert(text.into(), intents.clone());
        intents
    }
}

/// The reference customer agent. Share it behind an `Arc`; conversations are
/// served concurrently, each under its own lock.
pub struct Agent {
    config: Arc<AgentConfig>,
    policy: Arc<Policy>,
    understander: Arc<Understander>,
    memo: Option<Arc<Memo>>,
    crm: Crm,
    mailer: Mailer,
    /// Counts the verification mails to each address, shared with other agents when given one.
    mail_throttle: MailThrottle,
    tokens: TokenIssuer,
    conversations: Mutex<HashMap<ConversationId, Arc<tokio::sync::Mutex<Conversation>>>>,
    /// Whether nothing is shared or changed on a match alone: every property that can be viewed
    /// or edited needs `verify_email`. Then whether an address has an account is itself a
    /// secret, and an address no contact has is answered exactly like one whose contact cannot
    /// verify.
    existence_secret: bool,
    /// The one planted bug of a faulty agent (see [`super::faulty`]).
    #[cfg(feature = "faulty-agents")]
    bug: Option<super::faulty::Bug>,
    /// Planted bug `CarriesIntoNextSession`: what was disclosed, in every session sharing it.
    #[cfg(feature = "faulty-agents")]
    memory: super::faulty::Memory,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent").field("name", &self.config.agent.name).finish_non_exhaustive()
    }
}

/// Collects a turn's reply and events.
#[derive(Default)]
struct Out {
    reply: Reply,
    events: Vec<DecisionEvent>,
    /// The email addresses looked up in this turn (see [`MAX_LOOKUPS_PER_MESSAGE`]).
    lookups: usize,
    /// Whether the customer has been told this turn that an address was not looked up.
    told_lookup_limit: bool,
    /// Whether the customer has been told this turn that a verification link is on its way.
    told_link: bool,
    /// Planted bug `SplitsAcrossReplies`: earlier messages of this turn, each rendered on its own
    /// before `reply`.
    #[cfg(feature = "faulty-agents")]
    earlier: Vec<Reply>,
    /// Planted bug `ConfirmsGuess`: what the customer wrote this turn.
    #[cfg(feature = "faulty-agents")]
    heard: String,
}

impl Out {
    fn say(&mut self, text: impl Into<String>) {
        if !self.reply.is_empty() {
            self.reply.push_paragraph();
        }
        self.reply.push_text(text);
    }

    fn event(&mut self, event: DecisionEvent) {
        self.events.push(event);
    }

    /// A write that failed with `write`, and may have landed, could not be read back either
    /// (`read`): the customer is told exactly that, neither that it was saved nor that it was not.
    fn unconfirmed_write(
        &mut self,
        rule: &PropertyRule,
        write: &dyn std::fmt::Display,
        read: &dyn std::fmt::Display,
    ) {
        for error in [write, read] {
            self.event(DecisionEvent::BackendError { backend: Backend::Crm, detail: error.to_string() });
        }
        let label = &rule.label;
        self.say(format!(
            "Your records didn't answer in time, so I can't confirm whether your {label} was changed. Please check with me again in a little while before changing it again."
        ));
    }

    fn backend_error(&mut self, backend: Backend, error: &dyn std::fmt::Display) {
        self.event(DecisionEvent::BackendError { backend, detail: error.to_string() });
        let service = match backend {
            Backend::Crm => "your records",
            Backend::Mail => "our email service",
        };
        self.say(format!("I can't reach {service} right now, so I can't help with that at the moment. Please try again in a little while."));
    }
}

impl Agent {
    /// Builds the agent: compiles the policy and sets up the clients, which
    /// share one HTTP client built for this agent.
    pub fn new(settings: AgentSettings) -> Result<Agent, AgentError> {
        let http = HttpClient::new().map_err(|error| AgentError::Crm(error.into()))?;
        Agent::with_http(settings, &http)
    }

    /// Builds the agent with clients that send with `http`, shared with other
    /// agents: building one then costs no TLS setup, and the agents share
    /// one connection pool.
    pub fn with_http(settings: AgentSettings, http: &HttpClient) -> Result<Agent, AgentError> {
        let compiled = Compiled::new(&settings.config)?;
        Agent::with_compiled(&compiled, settings.crm, settings.mail, settings.signing_key, http)
    }

    /// [`Agent::with_http`], for the configuration `compiled` already: many agents of one
    /// configuration (a harness's runs of one world) then share its policy and understanding.
    pub fn with_compiled(
        compiled: &Compiled,
        crm: CrmSettings,
        mail: MailSettings,
        signing_key: SigningKey,
        http: &HttpClient,
    ) -> Result<Agent, AgentError> {
        let policy = Arc::clone(&compiled.policy);
        let understander = Arc::clone(&compiled.understander);
        let memo = compiled.memo.clone();
        let crm = Crm::with_http(crm, http).map_err(AgentError::Crm)?;
        let mailer = Mailer::with_http(mail, http).map_err(AgentError::Mail)?;
        let tokens = TokenIssuer::new(signing_key).with_ttl(compiled.config.verification.link_ttl);
        let existence_secret = nothing_on_a_match(&policy);
        Ok(Agent {
            config: Arc::clone(&compiled.config),
            policy,
            understander,
            memo,
            crm,
            mailer,
            mail_throttle: MailThrottle::default(),
            tokens,
            conversations: Mutex::default(),
            existence_secret,
            #[cfg(feature = "faulty-agents")]
            bug: None,
            #[cfg(feature = "faulty-agents")]
            memory: super::faulty::Memory::default(),
        })
    }

    /// A reference agent with one planted `bug`, for the harness's own tests
    /// (see [`super::faulty`]). Only with the `faulty-agents` feature.
    #[cfg(feature = "faulty-agents")]
    pub fn with_bug(settings: AgentSettings, bug: super::faulty::Bug) -> Result<Agent, AgentError> {
        Ok(Agent::new(settings)?.plant(bug))
    }

    /// A reference agent with one planted `bug` whose clients send with
    /// `http` (see [`Agent::with_http`]). Only with the `faulty-agents` feature.
    #[cfg(feature = "faulty-agents")]
    pub fn with_bug_and_http(
        settings: AgentSettings,
        bug: super::faulty::Bug,
        http: &HttpClient,
    ) -> Result<Agent, AgentError> {
        Ok(Agent::with_http(settings, http)?.plant(bug))
    }

    /// This agent with `bug` planted. Only with the `faulty-agents` feature.
    #[cfg(feature = "faulty-agents")]
    pub fn plant(self, bug: super::faulty::Bug) -> Agent {
        let tokens = if bug == super::faulty::Bug::AcceptsExpiredLinks {
            self.tokens.accepting_expired()
        } else {
            self.tokens
        };
        Agent { bug: Some(bug), tokens, ..self }
    }

    /// This agent remembering into `memory`, which other agents may share: a
    /// [`CarriesIntoNextSession`](super::faulty::Bug::CarriesIntoNextSession) agent greets new
    /// conversations with what any of them disclosed. Each agent has a fresh memory of its own
    /// until given one. Only with the `faulty-agents` feature.
    #[cfg(feature = "faulty-agents")]
    pub fn with_memory(self, memory: super::faulty::Memory) -> Agent {
        Agent { memory, ..self }
    }

    /// This agent, waiting between retries of the CRM and the mail service
    /// with `sleeper` instead of `tokio::time::sleep` (a harness whose clock
    /// is injected need not spend real time on backoff).
    pub fn with_sleeper(self, sleeper: Arc<dyn Sleeper>) -> Agent {
        Agent {
            crm: self.crm.with_sleeper(sleeper.clone()),
            mailer: self.mailer.with_sleeper(sleeper),
            ..self
        }
    }

    /// This agent, counting the verification mails it sends in `throttle`, which other agents
    /// may share (clones share one count): then at most
    /// [`MAILS_PER_ADDRESS_PER_HOUR`](leakproof_hubspot::mail::MAILS_PER_ADDRESS_PER_HOUR) mails go to one
    /// address in an hour from all of them together. Each agent has a throttle of its own
    /// until given one; a server gives every session's agent the same.
    pub fn with_mail_throttle(self, throttle: MailThrottle) -> Agent {
        Agent { mail_throttle: throttle, ..self }
    }

    /// The agent's name, as configured.
    pub fn name(&self) -> &str {
        &self.config.agent.name
    }

    /// The compiled policy the agent asks.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn conversation(&self, id: &ConversationId, channel: Channel) -> Arc<tokio::sync::Mutex<Conversation>> {
        let mut conversations = self.conversations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        conversations
            .entry(id.clone())
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(Conversation {
                    identity: ConversationIdentity::new(id.clone()),
                    channel,
                    address_on_record: None,
                    first_name: None,
                    pending: Vec::new(),
                    confirming: None,
                    asked_for_email: false,
                    handoff_pending: false,
                    queued: Vec::new(),
                    visitor_looked_up: false,
                    lookups: 0,
                    mails: 0,
                    claimed: None,
                    #[cfg(feature = "faulty-agents")]
                    last_read: HashMap::new(),
                    #[cfg(feature = "faulty-agents")]
                    fresh: true,
                }))
            })
            .clone()
    }

    /// Answers one customer message.
    pub async fn handle(
        &self,
        id: &ConversationId,
        channel: Channel,
        visitor: &Visitor,
        text: &str,
        now: Timestamp,
    ) -> Turn {
        let conversation = self.conversation(id, channel);
        let mut conv = conversation.lock().await;
        let mut out = Out { events: std::mem::take(&mut conv.queued), ..Out::default() };
        #[cfg(feature = "faulty-agents")]
        {
            out.heard = text.to_owned();
        }
        conv.channel = channel;
        if text.len() > MAX_MESSAGE_BYTES {
            // Not read at all: whatever it asked, nothing is looked up, shared or changed, and a
            // change waiting for its "yes" is not confirmed by it either.
            conv.confirming = None;
            out.say(TOO_LONG_TO_READ);
            return self.finish(&conv, out);
        }
        let mut intents = match &self.memo {
            Some(memo) => memo.read(&self.understander, text),
            None => self.understander.understand(text),
        };
        // A change waits for the answer to its read-back: a message that answers something
        // else moves on, and a later "yes" no longer confirms a value it did not follow.
        if !intents.iter().any(|i| matches!(i, Intent::Confirm | Intent::Decline)) {
            conv.confirming = None;
        }
        let gives_email = intents.iter().any(|i| matches!(i, Intent::ProvideEmail { .. }));
        if !conv.visitor_looked_up {
            if !self.recognise_visitor(&mut conv, visitor, &mut out).await {
                // Who this is cannot be told while the CRM fails, so nothing else is answered
                // (a request for a human still goes through); the lookup is tried again next turn.
                if intents.contains(&Intent::Handoff) {
                    self.hand_off(&mut out);
                }
                return self.finish(&conv, out);
            }
            conv.visitor_looked_up = true;
        }
        #[cfg(feature = "faulty-agents")]
        self.greet_with_memory(&mut conv, &mut out);

        // A message that claims another address changes who the customer is first: what
        // waited for the earlier identity is not answered in the same breath.
        let claims_another = intents.iter().any(|intent| match intent {
            Intent::ProvideEmail { email } => {
                !conv.own_address().is_some_and(|a| a.eq_ignore_ascii_case(email))
            }
            _ => false,
        });

        // Requests that were waiting for a verification the customer has since given.
        let mut served_pending = false;
        let asked_before = conv.confirming.clone();
        if conv.identity.identity().is_verified() && !conv.pending.is_empty() && !claims_another {
            let pending = std::mem::take(&mut conv.pending);
            for request in pending {
                self.serve_pending(&mut conv, request, now, &mut out).await;
            }
            served_pending = true;
        }

        // "done", "ok, clicked it": the answer to what was waiting is the reply.
        if served_pending && intents.iter().all(|i| *i == Intent::Unknown) {
            intents.clear();
        }
        // A change that waited for the link is read back now: the "yes" that came with the
        // message was said before the customer saw the value, so it confirms nothing.
        if served_pending && conv.confirming.is_some() && conv.confirming != asked_before {
            intents.retain(|i| !matches!(i, Intent::Confirm | Intent::Decline));
        }
        let capture = self.policy.email_capture(channel);
        // Planted bug `AsksCookieVisitorForEmail`: only a typed address (or an opened link) counts.
        let identified = if planted!(self, Bug::AsksCookieVisitorForEmail) {
            matches!(
                conv.identity.source(),
                Some(IdentitySource::TypedEmail | IdentitySource::VerificationLink)
            )
        } else {
            conv.is_identified()
        };
        if capture == EmailCapture::AtStart && !identified && !gives_email {
            for intent in &intents {
                match intent {
                    Intent::AskProperty { property } => conv.queue(Pending::View(*property)),
                    Intent::UpdateProperty { property, value } => {
                        conv.queue(Pending::Update(*property, value.clone()))
                    }
                    // Handed over once the customer has given their address.
                    Intent::Handoff => conv.handoff_pending = true,
                    _ => {}
                }
            }
            self.ask_for_email(&mut conv, AskReason::AtStart, &mut out);
            return self.finish(&conv, out);
        }

        for intent in intents {
            self.act(&mut conv, intent, now, &mut out).await;
        }
        self.finish(&conv, out)
    }

    fn finish(&self, conv: &Conversation, out: Out) -> Turn {
        // The first name on record is CRM data like any other: an email greets by it only when
        // the policy would share `contact.firstname` with this customer now.
        let name_shared = self.policy.property(ObjectType::Contact, "firstname").is_some_and(|firstname| {
            self.policy.decide(&conv.policy_identity(), Request::view(firstname)) == Decision::Allow
        });
        let rendering = Rendering {
            channel: conv.channel,
            agent_name: &self.config.agent.name,
            customer_name: conv.first_name.as_deref().filter(|_| name_shared),
        };
        #[cfg(feature = "faulty-agents")]
        {
            // Planted bug `SplitsAcrossReplies`: messages cut off earlier in the turn go first.
            let mut replies: Vec<String> =
                out.earlier.iter().flat_map(|earlier| render(earlier, &rendering)).collect();
            replies.extend(render(&out.reply, &rendering));
            // Planted bug `WordsAtRandom`: every message opens with words drawn at random.
            if planted!(self, Bug::WordsAtRandom) {
                for reply in &mut replies {
                    reply.insert_str(0, super::faulty::random_opener());
                }
            }
            Turn { replies, events: out.events }
        }
        #[cfg(not(feature = "faulty-agents"))]
        Turn { replies: render(&out.reply, &rendering), events: out.events }
    }

    /// Planted bug `CarriesIntoNextSession`: greets a new conversation, whose customer nobody
    /// has identified yet, with the value disclosed last in any conversation of any session
    /// sharing the memory.
    #[cfg(feature = "faulty-agents")]
    fn greet_with_memory(&self, conv: &mut Conversation, out: &mut Out) {
        let fresh = std::mem::replace(&mut conv.fresh, false);
        if !fresh || !planted!(self, Bug::CarriesIntoNextSession) || conv.is_identified() {
            return;
        }
        if let Some((label, value)) = self.memory.last() {
            out.say(format!("Welcome back! Last time we talked about your {label}: "));
            out.reply.push_value(value);
            out.reply.push_text(".");
        }
    }

    /// A returning live-chat visitor's cookie or a WhatsApp number that
    /// matches exactly one contact identifies the customer without asking.
    /// False when the CRM failed to say (the customer has been told).
    async fn recognise_visitor(&self, conv: &mut Conversation, visitor: &Visitor, out: &mut Out) -> bool {
        let (property, value, source, by) = match (conv.channel, visitor) {
            (Channel::LiveChat, Visitor { cookie: Some(cookie), .. }) if !cookie.trim().is_empty() => {
                (HUBSPOTUTK, cookie.trim(), IdentitySource::Cookie, MatchedBy::Cookie)
            }
            (Channel::Whatsapp, Visitor { phone: Some(phone), .. }) if !phone.trim().is_empty() => {
                (WHATSAPP_PHONE, phone.trim(), IdentitySource::WhatsAppPhone, MatchedBy::WhatsappPhone)
            }
            _ => return true,
        };
        match self.crm.search_contact_by(property, value, &["email", "firstname"]).await {
            Ok(Some(contact)) => {
                let id = contact.contact_id();
                // Nothing happened in the conversation before this lookup succeeded: nobody was
                // identified yet, so this establishes the identity.
                let _ = conv.identity.channel_matched(id, source);
                conv.address_on_record = contact.property("email").map(str::to_owned);
                conv.first_name = contact.property("firstname").map(str::to_owned);
                out.event(DecisionEvent::ContactMatched { contact: id, by, replaced: None });
            }
            // Unknown or ambiguous: the visitor stays anonymous and is treated as new.
            Ok(None) | Err(CrmError::Ambiguous { .. }) => {}
            Err(error) => {
                out.backend_error(Backend::Crm, &error);
                return false;
            }
        }
        true
    }

    async fn act(&self, conv: &mut Conversation, intent: Intent, now: Timestamp, out: &mut Out) {
        match intent {
            Intent::ProvideEmail { email } => self.email_given(conv, &email, now, out).await,
            Intent::AskProperty { property } => self.view(conv, property, Subject::Own, now, out).await,
            Intent::WantsUpdate { property } => {
                let label = self.label(property);
                out.say(format!("Sure. What should your new {label} be?"));
            }
            Intent::UpdateProperty { property, value } => self.update(conv, property, value, now, out).await,
            Intent::Confirm => self.confirmed(conv, true, out).await,
            Intent::Decline => self.confirmed(conv, false, out).await,
            Intent::Handoff => self.handoff(conv, out),
            Intent::AskAboutOther { property, email } => {
                let own = email
                    .as_deref()
                    .zip(conv.own_address())
                    .is_some_and(|(asked, mine)| asked.trim().eq_ignore_ascii_case(mine.trim()));
                match (property, own) {
                    (Some(property), true) => self.view(conv, property, Subject::Own, now, out).await,
                    (Some(property), false) => {
                        self.view(conv, property, Subject::Unassociated, now, out).await
                    }
                    (None, _) => {
                        out.say("I can only help with your own account, not with anyone else's details.")
                    }
                }
            }
            Intent::Injection => {
                out.say("I can't change how I work or what I'm allowed to share, but I'm glad to help with your own account.");
            }
            Intent::ReturningCustomer => {
                if conv.is_identified() || self.policy.email_capture(conv.channel) == EmailCapture::Never {
                    out.say("Welcome back! How can I help?");
                } else {
                    self.ask_for_email(conv, AskReason::ReturningCustomer, out);
                }
            }
            Intent::SmallTalk => {
                out.say(format!(
                    "Hello! I'm {}. I can look up or update details of your account, or put you through to a colleague.",
                    self.config.agent.name
                ));
            }
            Intent::Unknown => {
                let examples: Vec<&str> = self
                    .policy
                    .properties()
                    .filter(|(_, rule)| rule.view.enabled)
                    .map(|(_, rule)| rule.label.as_str())
                    .take(4)
                    .collect();
                let mut text = "Sorry, I didn't understand that.".to_owned();
                if !examples.is_empty() {
                    text.push_str(&format!(" I can help with things like your {}.", examples.join(", ")));
                }
                text.push_str(" You can also ask for a colleague.");
                out.say(text);
            }
        }
    }

    fn label(&self, property: PropertyId) -> String {
        self.policy.rule(property).map(|rule| rule.label.clone()).unwrap_or_else(|| "that".to_owned())
    }

    fn ask_for_email(&self, conv: &mut Conversation, reason: AskReason, out: &mut Out) {
        if conv.lookups >= MAX_LOOKUPS_PER_CONVERSATION {
            // No address would be looked up any more: asking for one would be an empty promise.
            if !std::mem::replace(&mut out.told_lookup_limit, true) {
                out.say(NO_MORE_LOOKUPS);
            }
            return;
        }
        conv.asked_for_email = true;
        out.event(DecisionEvent::AskedForEmail { reason });
        out.say("Could you tell me the email address on your account?");
    }

    /// The customer gave an address: look it up, match or replace the identity.
    async fn email_given(&self, conv: &mut Conversation, email: &str, now: Timestamp, out: &mut Out) {
        conv.asked_for_email = false;
        let limit = if out.lookups >= MAX_LOOKUPS_PER_MESSAGE {
            Some(TOO_MANY_ADDRESSES)
        } else if conv.lookups >= MAX_LOOKUPS_PER_CONVERSATION {
            Some(NO_MORE_LOOKUPS)
        } else {
            None
        };
        if let Some(words) = limit {
            // Not looked up, so it identifies nobody; and as with an address the CRM failed to
            // look up, an earlier identity does not outlive the claim (fail closed).
            end_identity_unless(conv, email);
            if !std::mem::replace(&mut out.told_lookup_limit, true) {
                out.say(words);
            }
            return;
        }
        out.lookups += 1;
        conv.lookups += 1;
        let needs_verification = conv.pending.iter().any(|pending| self.pending_needs_verification(pending));
        let found = match self.crm.search_contact_by_email(email, &["email", "firstname"]).await {
            Ok(found) => found,
            Err(CrmError::Ambiguous { .. }) => None,
            Err(error) => {
                // Whoever the customer was, they now claim an address that cannot be looked
                // up: the earlier identity must not outlive the claim (fail closed).
                end_identity_unless(conv, email);
                return out.backend_error(Backend::Crm, &error);
            }
        };
        let Some(contact) = found else {
            // Nor does it outlive a claim of an address no contact has.
            end_identity_unless(conv, email);
            out.event(DecisionEvent::ContactNotMatched);
            if self.existence_secret {
                // Nothing is shared on a match alone, so whether the address has an account must
                // not show either: the customer goes on exactly as a contact matched by this
                // address who cannot verify would, and no mail is ever sent for the claim.
                conv.claimed = Some(email.trim().to_owned());
                return self.answer_after_email(conv, now, out).await;
            }
            if needs_verification {
                // The same words as for a known address: no account enumeration.
                if planted!(self, Bug::EnumeratesAccounts) {
                    out.say(format!("I couldn't find an account with {email}."));
                } else {
                    out.link_sent();
                }
            } else if conv.handoff_pending {
                // Said by the handoff below.
            } else if conv.pending.is_empty() {
                out.say(format!("Thanks, I've noted {email}. What can I help you with?"));
            } else {
                out.say(format!("I couldn't find an account with {email}. Could you check the address?"));
            }
            // A new customer is handed over too: the address was asked for the colleague.
            if std::mem::take(&mut conv.handoff_pending) {
                self.hand_off(out);
            }
            return;
        };
        let id = contact.contact_id();
        // A claim of an address no contact has lapses like a replaced contact's identity.
        if conv.claimed.is_some() {
            end_identity_unless(conv, email);
        }
        // Planted bug `SharesPreviousIdentity`: a customer identified once is never re-matched.
        if planted!(self, Bug::SharesPreviousIdentity) && conv.identity.contact().is_some_and(|c| c != id) {
            return out.say("Thanks! What can I help you with?");
        }
        let transition = conv.identity.email_matched(id);
        conv.claimed = None;
        conv.address_on_record = contact.property("email").map(str::to_owned);
        // Planted bug `MailsTypedAddress`: links go to the address as the customer typed it.
        if planted!(self, Bug::MailsTypedAddress) {
            conv.address_on_record = Some(email.to_owned());
        }
        conv.first_name = contact.property("firstname").map(str::to_owned);
        match transition {
            Transition::Unchanged => {}
            Transition::Established { .. } => {
                out.event(DecisionEvent::ContactMatched { contact: id, by: MatchedBy::Email, replaced: None })
            }
            Transition::Replaced { previous, .. } => {
                // The previous contact's access lapsed; an update typed for them is not carried over.
                conv.confirming = None;
                conv.pending.retain(|pending| matches!(pending, Pending::View(_)));
                out.event(DecisionEvent::ContactMatched {
                    contact: id,
                    by: MatchedBy::Email,
                    replaced: Some(previous),
                });
            }
        }
        self.answer_after_email(conv, now, out).await;
    }

    /// What follows an address the customer gave: what they asked for while it was missing is
    /// answered first; a handoff waiting for it follows.
    async fn answer_after_email(&self, conv: &mut Conversation, now: Timestamp, out: &mut Out) {
        let handoff = std::mem::take(&mut conv.handoff_pending);
        let pending = std::mem::take(&mut conv.pending);
        if pending.is_empty() && !handoff {
            out.say("Thanks! What can I help you with?");
        }
        for request in pending {
            self.serve_pending(conv, request, now, out).await;
        }
        if handoff {
            self.hand_off(out);
        }
    }

    /// Whether `pending` needs a verification: a match does not suffice for it.
    fn pending_needs_verification(&self, pending: &Pending) -> bool {
        let (property, action) = match pending {
            Pending::View(property) => (*property, Action::View),
            Pending::Update(property, _) => (*property, Action::Edit),
        };
        self.policy.protection(property, action) == Some(Protection::VerifyEmail)
    }

    async fn serve_pending(&self, conv: &mut Conversation, pending: Pending, now: Timestamp, out: &mut Out) {
        match pending {
            Pending::View(property) => self.view(conv, property, Subject::Own, now, out).await,
            Pending::Update(property, value) => self.update(conv, property, value, now, out).await,
        }
    }

    /// Asks the policy about a view and acts on its decision.
    async fn view(
        &self,
        conv: &mut Conversation,
        property: PropertyId,
        subject: Subject,
        now: Timestamp,
        out: &mut Out,
    ) {
        let Some(rule) = self.policy.rule(property).cloned() else { return };
        let mut identity = conv.policy_identity();
        // Planted bug `SharesVerifyAfterMatch`: a match taken for a verification.
        if let Identity::Matched(contact) = conv.identity.identity()
            && planted!(self, Bug::SharesVerifyAfterMatch)
        {
            identity = Identity::Verified(contact);
        }
        let decision = self.policy.decide(&identity, Request { action: Action::View, property, subject });
        let withheld =
            |reason| DecisionEvent::Withheld { object: rule.object, property: rule.property.clone(), reason };
        match decision {
            Decision::Allow => self.disclose(conv, &rule, out).await,
            Decision::NeedsEmail => self.needs_email(
                conv,
                Pending::View(property),
                withheld(WithheldReason::NeedsEmail),
                &rule,
                out,
            ),
            Decision::NeedsVerification => {
                out.event(withheld(WithheldReason::NeedsVerification));
                #[cfg(feature = "faulty-agents")]
                if subject == Subject::Own && self.share_withheld(conv, &rule, out).await {
                    return;
                }
                conv.queue(Pending::View(property));
                self.send_link(conv, now, out).await;
            }
            Decision::Refuse(Refusal::Instructions) => {
                out.event(withheld(WithheldReason::Instructions));
                out.say(format!("I'm sorry, I'm not able to share your {} here.", rule.label));
            }
            Decision::Refuse(refusal) => {
                out.event(withheld(refusal.into()));
                out.say(match subject {
                    Subject::Own => format!("I'm sorry, I can't share your {} in this chat.", rule.label),
                    _ => "I can only share details of your own account, not anyone else's.".to_owned(),
                });
            }
        }
    }

    /// Planted bugs that share a value the policy withheld ([`Bug::reforms_withheld_value`],
    /// `ConfirmsGuess`): reads the customer's own contact property and shows it in another form
    /// before the link goes out as usual, or confirms the customer's guess of it instead of
    /// withholding it. True when the value was answered and no link is due.
    ///
    /// [`Bug::reforms_withheld_value`]: super::faulty::Bug::reforms_withheld_value
    #[cfg(feature = "faulty-agents")]
    async fn share_withheld(&self, conv: &Conversation, rule: &PropertyRule, out: &mut Out) -> bool {
        use super::faulty::{self, Bug};
        let Some(bug) = self.bug.filter(|bug| bug.reforms_withheld_value() || *bug == Bug::ConfirmsGuess)
        else {
            return false;
        };
        let Some(contact) = conv.identity.contact().filter(|_| rule.object == ObjectType::Contact) else {
            return false;
        };
        let name = rule.property.as_str();
        let Ok(record) = self.crm.get(ObjectType::Contact, contact.0, &[name], &[]).await else {
            return false;
        };
        let Some(value) = record.property(name).map(str::trim).filter(|value| !value.is_empty()) else {
            return false;
        };
        let label = &rule.label;
        match bug {
            Bug::ConfirmsGuess if faulty::contains_guess(&out.heard, value) => {
                out.say(format!("Yes, that's the {label} we have on file."));
                return true;
            }
            Bug::DisguisesInUnicode => out.say(format!(
                "For your security, here is your {label} in a protected format: {}.",
                faulty::disguise_in_unicode(value)
            )),
            Bug::SpellsOut => out.say(format!("Your {label} reads: {}.", faulty::spell_out(value))),
            Bug::SeparatesLetters => {
                out.say(format!("Your {label}, letter by letter: {}.", faulty::separate_letters(value)))
            }
            Bug::ShowsPart => {
                let (how, part) = faulty::part_of(value);
                out.say(format!("Your {label} {how} {part}."));
            }
            Bug::SplitsAcrossReplies => {
                let (first, rest) = faulty::halves(value);
                out.say(format!("Your {label} is {first}"));
                out.earlier.push(std::mem::take(&mut out.reply));
                out.say(format!("{rest}."));
            }
            _ => {}
        }
        false
    }

    fn needs_email(
        &self,
        conv: &mut Conversation,
        pending: Pending,
        event: DecisionEvent,
        rule: &PropertyRule,
        out: &mut Out,
    ) {
        out.event(event);
        match self.policy.email_capture(conv.channel) {
            EmailCapture::WhenNeeded | EmailCapture::AtStart => {
                conv.queue(pending);
                self.ask_for_email(conv, AskReason::Needed, out);
            }
            // These channels do not ask for an address (one the customer volunteers still
            // counts), so the reply must not ask for one either.
            EmailCapture::BeforeHandoff => {
                conv.queue(pending);
                out.say(format!(
                    "I can't look up your {} here, but I can put you through to a colleague who can.",
                    rule.label
                ));
            }
            EmailCapture::Never => {
                conv.queue(pending);
                out.say(format!("I'm sorry, I can't look up your {} in this chat.", rule.label));
            }
        }
    }

    /// Reads the value(s) and shares them; any backend failure shares nothing.
    async fn disclose(&self, conv: &mut Conversation, rule: &PropertyRule, out: &mut Out) {
        let Some(contact) = conv.identity.contact() else { return };
        let name = rule.property.as_str();
        match rule.object {
            ObjectType::Contact => match self.crm.get(ObjectType::Contact, contact.0, &[name], &[]).await {
                Ok(record) if record.contact_id() == contact => match record.property(name) {
                    Some(value) if !value.trim().is_empty() => {
                        out.disclose_own(rule, contact, value);
                        #[cfg(feature = "faulty-agents")]
                        if planted!(self, Bug::DisclosesOnCrmError) {
                            conv.last_read.insert(rule.property.clone(), value.to_owned());
                        }
                        #[cfg(feature = "faulty-agents")]
                        self.remember(rule, value);
                    }
                    _ => {
                        out.event(DecisionEvent::Withheld {
                            object: rule.object,
                            property: rule.property.clone(),
                            reason: WithheldReason::NoValue,
                        });
                        out.say(format!("I don't have a {} on file for you.", rule.label));
                    }
                },
                Ok(_) => {
                    out.backend_error(Backend::Crm, &"the CRM returned another record than the one asked for")
                }
                // Planted bug `DisclosesOnCrmError`: fails open with the value read earlier.
                #[cfg(feature = "faulty-agents")]
                Err(_) if planted!(self, Bug::DisclosesOnCrmError) && conv.last_read.contains_key(name) => {
                    let value = conv.last_read.get(name).cloned().unwrap_or_default();
                    out.disclose_own(rule, contact, &value);
                }
                Err(error) => out.backend_error(Backend::Crm, &error),
            },
            ObjectType::Ticket | ObjectType::Company => {
                let records = match self.crm.associated(contact, rule.object).await {
                    Ok(records) => records,
                    Err(error) => return out.backend_error(Backend::Crm, &error),
                };
                if records.is_empty() {
                    out.event(DecisionEvent::Withheld {
                        object: rule.object,
                        property: rule.property.clone(),
                        reason: WithheldReason::NoValue,
                    });
                    out.say(format!("I can't find any {} linked to your account.", plural(rule.object)));
                    return;
                }
                // Read everything first: a failure part-way shares nothing.
                let mut values = Vec::new();
                for record in &records {
                    match self.crm.get(rule.object, record.0, &[name], &[]).await {
                        Ok(found) if found.id() == record.0 => {
                            values.push((record.0, found.property(name).map(str::to_owned)))
                        }
                        Ok(_) => {
                            return out.backend_error(
                                Backend::Crm,
                                &"the CRM returned another record than the one asked for",
                            );
                        }
                        Err(error) => return out.backend_error(Backend::Crm, &error),
                    }
                }
                if !out.reply.is_empty() {
                    out.reply.push_paragraph();
                }
                out.reply.push_text(format!("Your {}:", rule.label));
                for (record, value) in values {
                    match value.filter(|v| !v.trim().is_empty()) {
                        Some(value) => {
                            out.event(DecisionEvent::Disclosed {
                                object: rule.object,
                                property: rule.property.clone(),
                                contact,
                                record: Some(record),
                                instructions: rule.view.instructions.clone(),
                            });
                            out.reply.push_text(format!("\n- {} {record}: ", singular(rule.object)));
                            #[cfg(feature = "faulty-agents")]
                            self.remember(rule, &value);
                            out.reply.push_value(value);
                        }
                        None => {
                            out.reply.push_text(format!("\n- {} {record}: not set", singular(rule.object)))
                        }
                    }
                }
            }
        }
    }

    /// Planted bug `CarriesIntoNextSession`: remembers a disclosed value beyond the session.
    #[cfg(feature = "faulty-agents")]
    fn remember(&self, rule: &PropertyRule, value: &str) {
        if planted!(self, Bug::CarriesIntoNextSession) {
            self.memory.remember(&rule.label, value.trim());
        }
    }

    /// Mails a link for the current contact to its address on record. For a claim of an
    /// address no contact has, says the very same words and mails nothing.
    async fn send_link(&self, conv: &mut Conversation, now: Timestamp, out: &mut Out) {
        let Some(contact) = conv.identity.contact() else {
            if let Some(claimed) = &conv.claimed {
                // Planted bug `EnumeratesAccounts`: tells the customer the address is unknown.
                if planted!(self, Bug::EnumeratesAccounts) {
                    out.say(format!("I couldn't find an account with {claimed}."));
                } else {
                    out.link_sent();
                }
            }
            return;
        };
        // Where whether an address has an account is secret, a link that cannot be sent is
        // told in the same words as one that was (an address no contact has mails nothing
        // either): the failure goes into the events only.
        let failed = |out: &mut Out, backend: Backend, error: &dyn std::fmt::Display| {
            if self.existence_secret {
                out.event(DecisionEvent::BackendError { backend, detail: error.to_string() });
                out.link_sent();
            } else {
                out.backend_error(backend, error);
            }
        };
        let address = match &conv.address_on_record {
            Some(address) => address.clone(),
            None => match self.crm.get(ObjectType::Contact, contact.0, &["email", "firstname"], &[]).await {
                Ok(record) => match record.property("email") {
                    Some(address) => {
                        conv.address_on_record = Some(address.to_owned());
                        address.to_owned()
                    }
                    None if self.existence_secret => return out.link_sent(),
                    None => {
                        return out.say("I can't verify you by email: there is no address on your account.");
                    }
                },
                Err(error) => return failed(out, Backend::Crm, &error),
            },
        };
        // The limits on mails: a link this conversation sent to this address still works, or
        // the conversation or the address had its share. No mail then, and the very words of
        // one that went: the reply tells nobody whether a mail was sent or held back.
        let live = conv.identity.pending().any(|(_, pending)| {
            pending.contact == contact
                && pending.address.eq_ignore_ascii_case(&address)
                && now < pending.expires_at
        });
        let throttled = if live {
            Some(Throttle::LinkLive)
        } else if conv.mails >= MAILS_PER_CONVERSATION {
            Some(Throttle::Conversation)
        } else if !self.mail_throttle.admit(self.mailer.base_url(), &address, now) {
            Some(Throttle::Address)
        } else {
            None
        };
        if let Some(reason) = throttled {
            out.event(DecisionEvent::VerificationThrottled { contact, reason });
            return out.link_sent();
        }
        let issued = match conv.identity.start_verification(&self.tokens, contact, &address, now) {
            Ok(issued) => issued,
            Err(error) => return failed(out, Backend::Mail, &error),
        };
        let Some(link) = verification_link(&self.config.verification.public_base_url, &issued.token) else {
            return failed(out, Backend::Mail, &"the public base URL cannot hold a link");
        };
        let mail = VerificationMail::new(address, link, issued.claims.nonce.to_string())
            .with_custom_property("agent_name", self.config.agent.name.as_str());
        conv.mails += 1;
        match self.mailer.send_verification(&mail).await {
            Ok(_) => {
                out.event(DecisionEvent::VerificationSent { contact });
                out.link_sent();
            }
            Err(error) => {
                // Told that it failed, the customer gets a new link when asking again.
                conv.identity.withdraw(issued.claims.nonce);
                failed(out, Backend::Mail, &error)
            }
        }
    }

    /// Asks the policy about an update and acts on its decision.
    async fn update(
        &self,
        conv: &mut Conversation,
        property: PropertyId,
        value: String,
        now: Timestamp,
        out: &mut Out,
    ) {
        let Some(rule) = self.policy.rule(property).cloned() else { return };
        let refused = |reason| DecisionEvent::UpdateRefused {
            object: rule.object,
            property: rule.property.clone(),
            reason,
        };
        // Planted bug `WritesWithoutEditPermission`: asks about viewing, as `view` does.
        let action =
            if planted!(self, Bug::WritesWithoutEditPermission) { Action::View } else { Action::Edit };
        let mut decision =
            self.policy.decide(&conv.policy_identity(), Request { action, property, subject: Subject::Own });
        // Planted bug `WritesWithoutEditPermission`, continued: view instructions that narrow
        // sharing say nothing of writes, so their refusal (only ever where the view would
        // otherwise be allowed) is taken for an allow.
        if planted!(self, Bug::WritesWithoutEditPermission)
            && decision == Decision::Refuse(Refusal::Instructions)
        {
            decision = Decision::Allow;
        }
        match decision {
            Decision::Allow => {
                if let Err(why) = validate_value(&rule, &value) {
                    out.event(refused(WithheldReason::InvalidValue));
                    out.say(format!("I can't use that as your {}: {why}.", rule.label));
                    return;
                }
                if rule.edit.confirm {
                    // Planted bug `WritesBeforeConfirmation`: writes now, then asks all the same.
                    if planted!(self, Bug::WritesBeforeConfirmation) {
                        self.store(conv, &rule, &value, out).await;
                    }
                    conv.confirming = Some((property, value.clone()));
                    out.reply_confirm(&rule.label, &value);
                } else {
                    self.write(conv, &rule, &value, out).await;
                }
            }
            Decision::NeedsEmail => self.needs_email(
                conv,
                Pending::Update(property, value),
                refused(WithheldReason::NeedsEmail),
                &rule,
                out,
            ),
            Decision::NeedsVerification => {
                out.event(refused(WithheldReason::NeedsVerification));
                conv.queue(Pending::Update(property, value));
                self.send_link(conv, now, out).await;
            }
            Decision::Refuse(refusal) => {
                out.event(refused(refusal.into()));
                out.say(format!(
                    "I'm sorry, I can't change your {} here. A colleague can help with that.",
                    rule.label
                ));
            }
        }
    }

    async fn confirmed(&self, conv: &mut Conversation, yes: bool, out: &mut Out) {
        let Some((property, value)) = conv.confirming.take() else {
            if yes {
                out.say("Great. What else can I help you with?");
            } else {
                out.say("No problem. Anything else I can help with?");
            }
            return;
        };
        let Some(rule) = self.policy.rule(property).cloned() else { return };
        if !yes {
            out.event(DecisionEvent::UpdateRefused {
                object: rule.object,
                property: rule.property.clone(),
                reason: WithheldReason::Declined,
            });
            out.say(format!("Okay, I've left your {} as it was.", rule.label));
            return;
        }
        // Ask again: the identity may have changed since the question.
        let decision = self.policy.decide(&conv.policy_identity(), Request::edit(property));
        if decision != Decision::Allow {
            out.event(DecisionEvent::UpdateRefused {
                object: rule.object,
                property: rule.property.clone(),
                reason: withheld_reason(decision),
            });
            out.say(format!("I can't change your {} right now.", rule.label));
            return;
        }
        self.write(conv, &rule, &value, out).await;
    }

    /// Writes one value to the current contact's record (or its single
    /// associated ticket or company) and tells the customer.
    async fn write(&self, conv: &mut Conversation, rule: &PropertyRule, value: &str, out: &mut Out) {
        if let Some(written) = self.store(conv, rule, value, out).await {
            // Planted bug `DeniesAppliedWrite`: the change landed, the customer is told it did not.
            if planted!(self, Bug::DeniesAppliedWrite) {
                out.say(format!("Sorry, I couldn't update your {} right now.", rule.label));
                return;
            }
            if !out.reply.is_empty() {
                out.reply.push_paragraph();
            }
            out.reply.push_text(format!("Done: your {} is now ", rule.label));
            out.reply.push_value(written);
            out.reply.push_text(".");
        }
    }

    /// Writes one value to the current contact's record (or its single associated ticket or
    /// company) and records the event: the value written, or `None` when nothing was (the
    /// customer has been told why).
    async fn store(
        &self,
        conv: &mut Conversation,
        rule: &PropertyRule,
        value: &str,
        out: &mut Out,
    ) -> Option<String> {
        let contact = conv.identity.contact()?;
        let (object, id) = match rule.object {
            ObjectType::Contact => (ObjectType::Contact, contact.0),
            other => match self.crm.associated(contact, other).await {
                Ok(records) if records.len() == 1 => (other, records[0].0),
                Ok(_) => {
                    out.event(DecisionEvent::UpdateRefused {
                        object: other,
                        property: rule.property.clone(),
                        reason: WithheldReason::OutOfScope,
                    });
                    out.say(format!(
                        "I can't tell which {} to change; a colleague can help.",
                        singular(other)
                    ));
                    return None;
                }
                Err(error) => {
                    out.backend_error(Backend::Crm, &error);
                    return None;
                }
            },
        };
        // Planted bug `WritesUnrequestedValue`: "drops the trailing full stop" whether or not there is one.
        let value = if planted!(self, Bug::WritesUnrequestedValue) {
            let mut chars = value.chars();
            chars.next_back();
            chars.as_str()
        } else {
            value
        };
        let property = self.property_to_write(rule);
        let change = BTreeMap::from([(property.clone(), value.to_owned())]);
        let updated = DecisionEvent::Updated {
            object,
            property: rule.property.clone(),
            contact,
            record: (object != ObjectType::Contact).then_some(id),
        };
        match self.crm.update(object, id, &change).await {
            Ok(_) => {
                out.event(updated);
                Some(value.to_owned())
            }
            Err(error) if error.outcome_unknown() => {
                // The change may have landed: what the CRM holds now decides what the customer
                // is told, never a guess. Landed, it is a success like any other.
                match self.crm.get(object, id, &[property.as_str()], &[]).await {
                    Ok(record) if record.id() == id && record.property(&property) == Some(value) => {
                        out.event(updated);
                        Some(value.to_owned())
                    }
                    Ok(record) if record.id() == id => {
                        out.event(DecisionEvent::BackendError {
                            backend: Backend::Crm,
                            detail: error.to_string(),
                        });
                        out.event(DecisionEvent::UpdateRefused {
                            object,
                            property: rule.property.clone(),
                            reason: WithheldReason::BackendError,
                        });
                        out.say(format!(
                            "I can't reach your records to save that right now, and your {} has not been changed. Please try again in a little while.",
                            rule.label
                        ));
                        None
                    }
                    Ok(_) => {
                        let read = "the CRM returned another record than the one asked for";
                        out.unconfirmed_write(rule, &error, &read);
                        None
                    }
                    Err(read) => {
                        out.unconfirmed_write(rule, &error, &read);
                        None
                    }
                }
            }
            Err(error) => {
                out.backend_error(Backend::Crm, &error);
                None
            }
        }
    }

    /// The property an update of `rule` writes: its own.
    fn property_to_write(&self, rule: &PropertyRule) -> String {
        // Planted bug `WritesOtherProperty`: the value goes into the next editable property.
        #[cfg(feature = "faulty-agents")]
        if planted!(self, Bug::WritesOtherProperty)
            && let Some(next) = self.next_editable(rule)
        {
            return next;
        }
        rule.property.clone()
    }

    /// Planted bug `WritesOtherProperty`: the editable property of `rule`'s object that follows
    /// it in configuration order, wrapping round; `None` when it is the only one.
    #[cfg(feature = "faulty-agents")]
    fn next_editable(&self, rule: &PropertyRule) -> Option<String> {
        let rules: Vec<&PropertyRule> = self.policy.properties().map(|(_, rule)| rule).collect();
        let at = rules.iter().position(|r| r.object == rule.object && r.property == rule.property)?;
        let (before, after) = rules.split_at(at);
        after
            .iter()
            .skip(1)
            .chain(before)
            .find(|r| r.object == rule.object && r.edit.enabled)
            .map(|r| r.property.clone())
    }

    fn handoff(&self, conv: &mut Conversation, out: &mut Out) {
        // An address is asked for first, unless none would be looked up any more: the customer
        // then goes to a colleague without one.
        if self.policy.email_capture(conv.channel) == EmailCapture::BeforeHandoff
            && !conv.is_identified()
            && conv.lookups < MAX_LOOKUPS_PER_CONVERSATION
        {
            conv.handoff_pending = true;
            out.event(DecisionEvent::AskedForEmail { reason: AskReason::BeforeHandoff });
            conv.asked_for_email = true;
            out.say("I'll put you through to a colleague. First, could you tell me the email address on your account?");
            return;
        }
        self.hand_off(out);
    }

    fn hand_off(&self, out: &mut Out) {
        out.event(DecisionEvent::HandedOff);
        out.say("I'm handing you over to a colleague now; they'll reply here shortly.");
    }

    /// Opens a verification link: verifies the conversation it was issued in
    /// when everything checks out, and tells the opener in plain words.
    pub async fn open_link(&self, token: &str, now: Timestamp) -> LinkOutcome {
        #[cfg(feature = "faulty-agents")]
        if planted!(self, Bug::ShowsDataOnLinkPage) {
            let mut outcome = self.check_link(token, now).await;
            if let Some(shown) = self.data_for_link_page(token).await {
                outcome.message = format!("{} {shown}", outcome.message);
            }
            return outcome;
        }
        self.check_link(token, now).await
    }

    /// Planted bug `ShowsDataOnLinkPage`: "The {label} on file for this account is {value}." for
    /// the contact of a token whose signature checks (expired, used or not), by its first
    /// viewable contact property.
    #[cfg(feature = "faulty-agents")]
    async fn data_for_link_page(&self, token: &str) -> Option<String> {
        let claims = self.tokens.claims_ignoring_expiry(token).ok()?;
        let (_, rule) = self
            .policy
            .properties()
            .find(|(_, rule)| rule.object == ObjectType::Contact && rule.view.enabled)?;
        let name = rule.property.as_str();
        let record = self.crm.get(ObjectType::Contact, claims.contact.0, &[name], &[]).await.ok()?;
        let value = record.property(name).map(str::trim).filter(|value| !value.is_empty())?;
        Some(format!("The {} on file for this account is {value}.", rule.label))
    }

    /// Checks a link's token and redeems it in its conversation.
    async fn check_link(&self, token: &str, now: Timestamp) -> LinkOutcome {
        let rejected = |reason: String| LinkOutcome {
            verified: false,
            message: format!("This link can't be used: {reason}. Ask the assistant for a new one."),
        };
        let find = |id: &ConversationId| {
            let conversations = self.conversations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            conversations.get(id).cloned()
        };
        let claims = match self.tokens.check_claims(token, now) {
            Ok(claims) => claims,
            Err(error) => {
                // An expired link is still ours (signed, checked): tell its conversation.
                // A forged or malformed one names nothing that can be trusted.
                if let TokenError::Expired { conversation, .. } = &error
                    && let Some(conversation) = find(conversation)
                {
                    let reason = error.to_string();
                    conversation.lock().await.queued.push(DecisionEvent::VerificationRejected { reason });
                }
                return rejected(error.to_string());
            }
        };
        let conversation = find(&claims.claims().conversation);
        let Some(conversation) = conversation else {
            return rejected("the conversation it belongs to is over".to_owned());
        };
        let mut conv = conversation.lock().await;
        // The signature and expiry were checked above; the rest of the checks follow.
        match conv.identity.redeem_checked(claims) {
            Ok(identity) => {
                if let Some(contact) = identity.contact() {
                    conv.queued.push(DecisionEvent::Verified { contact });
                }
                LinkOutcome {
                    verified: true,
                    message: "You're verified. Go back to the chat to continue.".to_owned(),
                }
            }
            Err(error) => {
                conv.queued.push(DecisionEvent::VerificationRejected { reason: error.to_string() });
                rejected(error.to_string())
            }
        }
    }
}

impl Out {
    /// Says that a verification link is on its way, once a turn: a turn that needs a link for
    /// two requests says it once.
    fn link_sent(&mut self) {
        if !std::mem::replace(&mut self.told_link, true) {
            self.say(LINK_SENT);
        }
    }

    /// Shares `value`, the contact's own `rule` property: the event, then "Your X is V.".
    fn disclose_own(&mut self, rule: &PropertyRule, contact: ContactId, value: &str) {
        self.event(DecisionEvent::Disclosed {
            object: rule.object,
            property: rule.property.clone(),
            contact,
            record: None,
            instructions: rule.view.instructions.clone(),
        });
        if !self.reply.is_empty() {
            self.reply.push_paragraph();
        }
        self.reply.push_text(format!("Your {} {} ", rule.label, verb_for(&rule.label)));
        self.reply.push_value(value);
        self.reply.push_text(".");
    }

    fn reply_confirm(&mut self, label: &str, value: &str) {
        if !self.reply.is_empty() {
            self.reply.push_paragraph();
        }
        self.reply.push_text(format!("Just to confirm: change your {label} to "));
        self.reply.push_value(value);
        self.reply.push_text("? Please reply yes or no.");
    }
}

/// Ends the conversation's identity (or its claim of an address no contact
/// has) unless `email` is the customer's own address: the customer now claims
/// to be someone else.
fn end_identity_unless(conv: &mut Conversation, email: &str) {
    let same = conv.own_address().is_some_and(|a| a.eq_ignore_ascii_case(email.trim()));
    if !same && conv.is_identified() {
        conv.identity.forget();
        conv.address_on_record = None;
        conv.first_name = None;
        conv.claimed = None;
        conv.confirming = None;
        conv.pending.retain(|pending| matches!(pending, Pending::View(_)));
    }
}

/// Whether `policy` shares and changes nothing on a match alone: no property
/// may be viewed or edited behind `match_email`, so every one that can be needs
/// a verification.
fn nothing_on_a_match(policy: &Policy) -> bool {
    policy.properties().all(|(property, _)| {
        [Action::View, Action::Edit]
            .into_iter()
            .all(|action| policy.protection(property, action) != Some(Protection::MatchEmail))
    })
}

/// Why `value` is not acceptable for `rule`, if it is not.
fn validate_value(rule: &PropertyRule, value: &str) -> Result<(), String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("the new value is empty".to_owned());
    }
    if value.chars().count() > 500 {
        return Err("that is longer than 500 characters".to_owned());
    }
    if value.chars().any(char::is_control) {
        return Err("it contains control characters".to_owned());
    }
    let name = rule.property.as_str();
    if name.contains("email") && !leakproof_hubspot::crm::is_email_shaped(value) {
        return Err("that doesn't look like an email address".to_owned());
    }
    if name.contains("phone") {
        let digits = value.chars().filter(char::is_ascii_digit).count();
        let allowed = value.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if !allowed || !(7..=15).contains(&digits) {
            return Err("a phone number has 7 to 15 digits and only + - ( ) . or spaces besides".to_owned());
        }
    }
    Ok(())
}

/// Why a decision that is not `Allow` keeps a value back.
fn withheld_reason(decision: Decision) -> WithheldReason {
    match decision {
        Decision::Refuse(refusal) => refusal.into(),
        Decision::NeedsEmail => WithheldReason::NeedsEmail,
        Decision::NeedsVerification | Decision::Allow => WithheldReason::NeedsVerification,
    }
}

/// How a reply names records of `object`: (one, many).
fn object_words(object: ObjectType) -> (&'static str, &'static str) {
    match object {
        ObjectType::Contact => ("contact", "contacts"),
        ObjectType::Ticket => ("ticket", "tickets"),
        ObjectType::Company => ("company", "companies"),
    }
}

fn plural(object: ObjectType) -> &'static str {
    object_words(object).1
}

fn singular(object: ObjectType) -> &'static str {
    object_words(object).0
}

/// The link for `token` under the agent's public base URL:
/// `{base}/verify/{token}`. Tokens are URL-safe base64, so nothing needs escaping.
pub fn verification_link(base: &Url, token: &str) -> Option<Url> {
    base.join(&format!("verify/{token}")).ok()
}

/// "is" or "are" for a label: "your loyalty points are", "your address is".
fn verb_for(label: &str) -> &'static str {
    let last = label.split_whitespace().last().unwrap_or(label).to_lowercase();
    let plural = last.ends_with('s') && !last.ends_with("ss") && !last.ends_with("us");
    if plural { "are" } else { "is" }
}
