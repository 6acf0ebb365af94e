//! The conversation engine: one state per conversation, every access through the policy, every backend failure closed.
//!
//! This module holds the [`Agent`], what it is built from and [`Agent::handle`], which runs one
//! customer message through the flows, one file each: recognising who the customer is
//! (`identify`), sharing values (`disclose`), verification links (`verify`), changing values
//! (`update`) and handing over to a colleague (`handoff`). A conversation's state is in
//! `conversation`, a turn's replies and events in `reply`, and the compiled configuration
//! agents share in `compiled`.

mod compiled;
mod conversation;
mod disclose;
mod handoff;
mod identify;
mod reply;
mod update;
mod verify;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::events::{AskReason, DecisionEvent};
use crate::throttle::MailThrottle;
use crate::understand::{Intent, Understander};
use conversation::{Conversation, PendingRequest};
use identify::nothing_on_a_match;
use leakproof_config::{AgentConfig, Channel, ConfigError, EmailCapture};
use leakproof_hubspot::crm::{Crm, CrmError, CrmSettings, HttpClient, Sleeper};
use leakproof_hubspot::mail::{MailSettings, Mailer};
use leakproof_identity::ConversationId;
use leakproof_identity::conversation::IdentitySource;
use leakproof_identity::token::{SigningKey, TokenIssuer};
use leakproof_policy::{Policy, PropertyId, Subject};
use leakproof_protocol::Visitor;
use reply::TurnOutput;

pub use compiled::{Compiled, Memo};
pub use identify::{MAX_LOOKUPS_PER_CONVERSATION, MAX_LOOKUPS_PER_MESSAGE};
pub use verify::{LinkOutcome, verification_link};

/// The longest message the agent reads, in bytes (UTF-8). A chat message is a few hundred
/// bytes and WhatsApp's own limit is 4,096 characters; 16 KiB leaves room for an email with
/// some quoted text, while a megabyte of text is refused before any of it is read, so no
/// message makes the agent do unbounded work. A longer message is not read at all (reading
/// part of it could cut a value to write): the customer is asked for a shorter one.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// The reply to a message longer than [`MAX_MESSAGE_BYTES`].
const TOO_LONG_TO_READ: &str =
    "That message is too long for me to read. Could you send a shorter one, with one question at a time?";

/// The agent's answer to one customer message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    /// The messages to send, rendered for the channel.
    pub replies: Vec<String>,
    /// The decisions made, in order.
    pub events: Vec<DecisionEvent>,
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
    /// The one planted bug of a faulty agent (see [`crate::faulty`]).
    #[cfg(feature = "faulty-agents")]
    bug: Option<crate::faulty::Bug>,
    /// Planted bug `CarriesIntoNextSession`: what was disclosed, in every session sharing it.
    #[cfg(feature = "faulty-agents")]
    memory: crate::faulty::Memory,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent").field("name", &self.config.agent.name).finish_non_exhaustive()
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
            memory: crate::faulty::Memory::default(),
        })
    }

    /// A reference agent with one planted `bug`, for the harness's own tests
    /// (see [`crate::faulty`]). Only with the `faulty-agents` feature.
    #[cfg(feature = "faulty-agents")]
    pub fn with_bug(settings: AgentSettings, bug: crate::faulty::Bug) -> Result<Agent, AgentError> {
        Ok(Agent::new(settings)?.plant(bug))
    }

    /// A reference agent with one planted `bug` whose clients send with
    /// `http` (see [`Agent::with_http`]). Only with the `faulty-agents` feature.
    #[cfg(feature = "faulty-agents")]
    pub fn with_bug_and_http(
        settings: AgentSettings,
        bug: crate::faulty::Bug,
        http: &HttpClient,
    ) -> Result<Agent, AgentError> {
        Ok(Agent::with_http(settings, http)?.plant(bug))
    }

    /// This agent with `bug` planted. Only with the `faulty-agents` feature.
    #[cfg(feature = "faulty-agents")]
    pub fn plant(self, bug: crate::faulty::Bug) -> Agent {
        let tokens = if bug == crate::faulty::Bug::AcceptsExpiredLinks {
            self.tokens.accepting_expired()
        } else {
            self.tokens
        };
        Agent { bug: Some(bug), tokens, ..self }
    }

    /// This agent remembering into `memory`, which other agents may share: a
    /// [`CarriesIntoNextSession`](crate::faulty::Bug::CarriesIntoNextSession) agent greets new
    /// conversations with what any of them disclosed. Each agent has a fresh memory of its own
    /// until given one. Only with the `faulty-agents` feature.
    #[cfg(feature = "faulty-agents")]
    pub fn with_memory(self, memory: crate::faulty::Memory) -> Agent {
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
    /// [`MAILS_PER_ADDRESS_PER_HOUR`](crate::MAILS_PER_ADDRESS_PER_HOUR) mails go to one
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
        let mut out = TurnOutput { events: std::mem::take(&mut conv.queued), ..TurnOutput::default() };
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
                    Intent::AskProperty { property } => conv.queue(PendingRequest::View(*property)),
                    Intent::UpdateProperty { property, value } => {
                        conv.queue(PendingRequest::Update(*property, value.clone()))
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

    /// Acts on one thing the customer said, in the order they said it.
    async fn act(&self, conv: &mut Conversation, intent: Intent, now: Timestamp, out: &mut TurnOutput) {
        match intent {
            Intent::ProvideEmail { email } => self.email_given(conv, &email, now, out).await,
            Intent::AskProperty { property } => self.view(conv, property, Subject::Own, now, out).await,
            Intent::WantsUpdate { property } => {
                let label = self.label(property);
                out.say(format!("Sure. What should your new {label} be?"));
            }
            Intent::UpdateProperty { property, value } => self.update(conv, property, value, now, out).await,
            Intent::Confirm => self.confirmation_answered(conv, true, out).await,
            Intent::Decline => self.confirmation_answered(conv, false, out).await,
            Intent::Handoff => self.handoff_requested(conv, out),
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

    /// How replies name `property`: its label, or "that" for an unknown id.
    fn label(&self, property: PropertyId) -> String {
        self.policy.rule(property).map(|rule| rule.label.clone()).unwrap_or_else(|| "that".to_owned())
    }

    /// Answers a request that waited for an email or a verification as if asked now.
    async fn serve_pending(
        &self,
        conv: &mut Conversation,
        pending: PendingRequest,
        now: Timestamp,
        out: &mut TurnOutput,
    ) {
        match pending {
            PendingRequest::View(property) => self.view(conv, property, Subject::Own, now, out).await,
            PendingRequest::Update(property, value) => self.update(conv, property, value, now, out).await,
        }
    }
}
