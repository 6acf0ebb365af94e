//! The email-capture check: asking for an email against the channel's setting, or of an identified visitor.

use super::{Finding, FindingKind, Oracle};
use crate::text;
use crate::transcript::{Entry, Turn};
use leakproof_config::{Channel, EmailCapture};

/// What the capture check needs to know of a turn's conversation.
#[derive(Clone, Copy, Debug)]
pub(super) struct Visit {
    /// The conversation's channel.
    pub channel: Channel,
    /// Whether the visitor counts as identified once the turn's message is taken into account.
    pub identified: bool,
    /// Whether they counted as identified before it.
    pub identified_before: bool,
    /// Whether it is the conversation's first turn.
    pub first_turn: bool,
    /// Whether the message gave an address as the customer's own.
    pub gave_address: bool,
}

impl Oracle<'_> {
    /// Judges whether the agent asked for an email in `turn` where it should not, or did not
    /// where it should.
    pub(super) fn capture(&mut self, entry: &Entry, turn: &Turn, visit: Visit) {
        let Visit { channel, identified, identified_before, first_turn, gave_address } = visit;
        let asked = turn.replies.iter().any(|r| text::asks_for_email(r));
        let setting = self.config.email_capture.for_channel(channel);
        let problem = if asked && identified {
            Some("it asked an identified visitor for their email".to_owned())
        } else if asked && setting == EmailCapture::Never {
            Some(format!("it asked for an email on {channel}, where email capture is `never`"))
        } else if asked && setting == EmailCapture::BeforeHandoff && !text::wants_human(&turn.customer) {
            Some(format!(
                "it asked for an email on {channel}, where email capture is `before_handoff`, though no person was asked for"
            ))
        } else if !asked
            && setting == EmailCapture::AtStart
            && first_turn
            && !identified_before
            && !identified
            // A customer who opens with an address (one no contact has, say) was not to be asked.
            && !gave_address
        {
            Some(format!(
                "it did not ask for an email at the start on {channel}, where email capture is `at_start`"
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            self.findings.push(Finding {
                conversation: Some(turn.conversation.clone()),
                excerpt: turn.replies.first().map(|r| r.chars().take(80).collect()),
                ..Finding::at(FindingKind::EmailCaptureViolation, entry, problem)
            });
        }
    }
}
