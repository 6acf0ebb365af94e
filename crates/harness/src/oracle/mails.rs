//! The mail check: verification mails to anything but the address on record of the conversation's identity, and what opening their links proves.

use super::{Finding, FindingKind, Level, Mailed, Oracle};
use crate::text::Haystack;
use crate::transcript::{Entry, LinkOpened, Turn};
use leakproof_config::ids::ContactId;

impl Oracle<'_> {
    /// Judges the mails sent in `turn`, where the customer is `identity` once the turn's
    /// message is taken into account, and notes them for their links.
    pub(super) fn mails_sent(&mut self, entry: &Entry, turn: &Turn, identity: Option<(ContactId, Level)>) {
        for index in entry.mails.clone() {
            let Some(mail) = self.observed.mails.get(index) else { continue };
            let mailed = Mailed { conversation: turn.conversation.clone(), step: entry.step, opened: 0 };
            self.mailed.insert(index, mailed);
            let expected = identity
                .and_then(|(contact, _)| self.crm.state.address_on_record(contact).map(|a| (contact, a)));
            let problem = match &expected {
                None => Some("the customer has not named any contact in this conversation".to_owned()),
                Some((contact, address)) if *address != mail.to => Some(format!(
                    "the address on record of contact {contact}, who the customer is, is {address}"
                )),
                Some(_) => None,
            };
            if let Some(problem) = problem {
                let contact = self.crm.state.contact_with_address(&mail.to);
                self.findings.push(Finding {
                    conversation: Some(turn.conversation.clone()),
                    contact,
                    ..Finding::at(
                        FindingKind::MisdirectedVerification,
                        entry,
                        format!("a verification mail went to {}: {problem}", mail.to),
                    )
                });
            }
        }
    }

    /// A link opened: what it proves, then its page, judged like a reply against who the
    /// customer of the link's conversation is once the link is processed.
    pub(super) fn link(&mut self, entry: &Entry, link: &LinkOpened) {
        self.redeem(entry, link);
        let conversation = self.mailed.get(&link.mail).map(|mailed| mailed.conversation.clone());
        let haystack = Haystack::new(&link.message);
        self.leaks_in(entry, conversation.as_deref(), &haystack, "link page");
    }

    /// What opening `link` proves: a valid link (untampered, the mail's first opening, in
    /// time, mailed to the address on record of its recipient) is shown to the identity of the
    /// mail's conversation.
    fn redeem(&mut self, entry: &Entry, link: &LinkOpened) {
        let Some(mailed) = self.mailed.get_mut(&link.mail) else { return };
        // A tampered token is not the mail's token: it uses nothing up.
        if !link.tampered {
            mailed.opened += 1;
        }
        let first_opening = mailed.opened == 1;
        let (conversation_name, mailed_at) = (mailed.conversation.clone(), mailed.step);
        let Some(mail) = self.observed.mails.get(link.mail) else { return };
        let Some(recipient) = self.crm.state.contact_with_address(&mail.to) else { return };
        let on_record = self.crm.state.address_on_record(recipient).is_some_and(|a| a == mail.to);
        let in_time = entry.at < mail.at + self.config.verification.link_ttl;
        let Some(conversation) = self.conversations.get_mut(&conversation_name) else { return };
        if !link.tampered && first_opening && in_time && on_record {
            conversation.identity.link_opened(recipient, link.mail, mailed_at);
        }
    }
}
