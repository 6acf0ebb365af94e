//! What a turn says and records: the reply and decision events collected as the flows run, and the rendered [`Turn`].

use super::conversation::Conversation;
use super::{Agent, Turn};
use crate::events::{Backend, DecisionEvent};
use crate::render::{Rendering, Reply, render};
use leakproof_config::ObjectType;
use leakproof_policy::{Decision, Request};

/// Collects a turn's reply and events.
#[derive(Default)]
pub(super) struct TurnOutput {
    pub(super) reply: Reply,
    pub(super) events: Vec<DecisionEvent>,
    /// The email addresses looked up in this turn (see [`MAX_LOOKUPS_PER_MESSAGE`](super::MAX_LOOKUPS_PER_MESSAGE)).
    pub(super) lookups: usize,
    /// Whether the customer has been told this turn that an address was not looked up.
    pub(super) told_lookup_limit: bool,
    /// Whether the customer has been told this turn that a verification link is on its way.
    pub(super) told_link: bool,
    /// Planted bug `SplitsAcrossReplies`: earlier messages of this turn, each rendered on its own
    /// before `reply`.
    #[cfg(feature = "faulty-agents")]
    pub(super) earlier: Vec<Reply>,
    /// Planted bug `ConfirmsGuess`: what the customer wrote this turn.
    #[cfg(feature = "faulty-agents")]
    pub(super) heard: String,
}

impl TurnOutput {
    /// Adds `text` to the reply, as a paragraph of its own.
    pub(super) fn say(&mut self, text: impl Into<String>) {
        if !self.reply.is_empty() {
            self.reply.push_paragraph();
        }
        self.reply.push_text(text);
    }

    /// Records a decision.
    pub(super) fn event(&mut self, event: DecisionEvent) {
        self.events.push(event);
    }

    /// A backend failed: the event, and the customer is told that it cannot help now.
    pub(super) fn backend_error(&mut self, backend: Backend, error: &dyn std::fmt::Display) {
        self.event(DecisionEvent::BackendError { backend, detail: error.to_string() });
        let service = match backend {
            Backend::Crm => "your records",
            Backend::Mail => "our email service",
        };
        self.say(format!("I can't reach {service} right now, so I can't help with that at the moment. Please try again in a little while."));
    }
}

impl Agent {
    /// Ends the turn: its reply rendered for the conversation's channel, and its events.
    pub(super) fn finish(&self, conv: &Conversation, out: TurnOutput) -> Turn {
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
                    reply.insert_str(0, crate::faulty::random_opener());
                }
            }
            Turn { replies, events: out.events }
        }
        #[cfg(not(feature = "faulty-agents"))]
        Turn { replies: render(&out.reply, &rendering), events: out.events }
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

/// How a reply names many records of `object`: "tickets".
pub(super) fn plural(object: ObjectType) -> &'static str {
    object_words(object).1
}

/// How a reply names one record of `object`: "ticket".
pub(super) fn singular(object: ObjectType) -> &'static str {
    object_words(object).0
}

/// "is" or "are" for a label: "your loyalty points are", "your address is".
pub(super) fn verb_for(label: &str) -> &'static str {
    let last = label.split_whitespace().last().unwrap_or(label).to_lowercase();
    let plural = last.ends_with('s') && !last.ends_with("ss") && !last.ends_with("us");
    if plural { "are" } else { "is" }
}
