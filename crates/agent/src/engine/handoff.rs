//! Handing the conversation over to a colleague, with the customer's email first where the channel asks for it.

use super::Agent;
use super::conversation::Conversation;
use super::identify::MAX_LOOKUPS_PER_CONVERSATION;
use super::reply::TurnOutput;
use crate::events::{AskReason, DecisionEvent};
use leakproof_config::EmailCapture;

impl Agent {
    /// The customer asked for a colleague: on a `before_handoff` channel an unidentified customer
    /// is asked for their email first (the handoff waits for it), anyone else is handed over now.
    pub(super) fn handoff_requested(&self, conv: &mut Conversation, out: &mut TurnOutput) {
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

    /// Hands the conversation over to a colleague now.
    pub(super) fn hand_off(&self, out: &mut TurnOutput) {
        out.event(DecisionEvent::HandedOff);
        out.say("I'm handing you over to a colleague now; they'll reply here shortly.");
    }
}
