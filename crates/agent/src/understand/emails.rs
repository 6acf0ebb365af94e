//! The email addresses in a message: the customer's own ("my email is…", a bare address), or someone else's to ask about ("the phone of bob@x.org").

use super::Intent;
use super::lexicon::{OWN_POSSESSIVES, is_relation};
use super::reader::{RANK_EMAIL, Reader};
use super::tokens::Kind;
use super::updates::is_update_verb;
use super::whose::Whose;

impl Reader<'_> {
    /// Reports the customer's own addresses and notes everyone else's.
    pub(super) fn read_emails(&mut self) {
        for at in 0..self.tokens.len() {
            let token = &self.tokens[at];
            if token.kind != Kind::Email || self.consumed[at] {
                continue;
            }
            match self.email_owner(at) {
                Some(Whose::Mine) => {
                    let email = token.norm.to_string();
                    self.push(RANK_EMAIL, at, Intent::ProvideEmail { email });
                }
                Some(_) => self.other_emails.push(at),
                None => {}
            }
        }
    }

    /// Whose the email at `at` is: `Some(Mine)`, `Some(Other)`, or `None`
    /// for a new address of the customer's own typed without an email
    /// property to change ("change my email to new@x.com").
    fn email_owner(&self, at: usize) -> Option<Whose> {
        let token = &self.tokens[at];
        if token.possessive {
            return Some(Whose::Other(None));
        }
        let sentence = self.sentence_range(at);
        // "ann@x.com - what is their plan?": the address is someone the question is about.
        let ahead = &self.tokens[(at + 1).min(sentence.end)..sentence.end.min(at + 6)];
        if ahead.iter().any(|t| t.is_in(&["their", "her", "his", "they", "she", "he"])) {
            return Some(Whose::Other(None));
        }
        // "… whether ann@x.com has an account": the address is what the question is about.
        let asks_account = ahead.first().is_some_and(|t| t.is_in(&["has", "have", "had"]))
            && ahead.iter().take(4).any(|t| t.is_in(&["account", "accounts"]));
        if asks_account {
            return Some(Whose::Other(None));
        }
        let window = &self.tokens[sentence.start.max(at.saturating_sub(8))..at];
        let mentions_email = window.iter().any(|t| t.is_in(&["email", "mail", "emailaddress"]));
        if mentions_email && window.iter().any(|t| t.is("new") || is_update_verb(t)) {
            return None;
        }
        let mut index = at;
        let mut steps = 0;
        while index > sentence.start && steps < 8 {
            index -= 1;
            let t = &self.tokens[index];
            match t.kind {
                Kind::Word => {}
                Kind::Email => break,
                _ => continue,
            }
            steps += 1;
            let word = t.word();
            if t.possessive && !OWN_POSSESSIVES.contains(&word) {
                return Some(Whose::Other(None));
            }
            match word {
                "my" | "mine" | "i" | "me" | "myself" | "our" | "us" | "from" => return Some(Whose::Mine),
                // "you can find me under ann@x.com" / "I'm registered under ann@x.com" is the
                // customer; "the account under ann@x.com" is someone.
                "under" => {
                    let lookback = &self.tokens[sentence.start.max(index.saturating_sub(3))..index];
                    let mine = lookback.iter().any(|t| t.is_in(&["me", "us", "i", "we"]));
                    return Some(if mine { Whose::Mine } else { Whose::Other(None) });
                }
                "of" | "for" | "about" | "regarding" | "re" | "on" | "behalf" | "belonging" | "belongs"
                | "to" | "whose" => return Some(Whose::Other(None)),
                // "can you look up ann@x.com", "check ann@x.com": someone to look up.
                "up" | "lookup" | "check" => return Some(Whose::Other(None)),
                // "check whether ann@x.com …", "see if ann@x.com …": look further back.
                "whether" | "if" => {}
                "her" | "his" | "their" | "him" | "them" | "she" | "he" | "they" | "someone" | "somebody" => {
                    return Some(Whose::Other(None));
                }
                // "how many points does ann@x.com have": the address is the subject of a question.
                "does" | "did" | "has" => return Some(Whose::Other(None)),
                // "the one at ann@x.com" is someone; "reach me at ann@x.com" is the customer.
                // The tokenizer splits "I'm" and "we're" into "i am" and "we are".
                "at" => {
                    let word = |back: usize| index.checked_sub(back).and_then(|i| self.tokens.get(i));
                    let me = word(1).is_some_and(|t| t.is_in(&["me", "us"]));
                    let i_am = word(1).is_some_and(|t| t.is_in(&["am", "are"]))
                        && word(2).is_some_and(|t| t.is_in(&["i", "we"]));
                    return Some(if me || i_am { Whose::Mine } else { Whose::Other(None) });
                }
                w if is_relation(w) => return Some(Whose::Other(None)),
                w if EMAIL_SKIP.contains(&w) => {}
                "customer" | "user" | "person" | "client" | "contact" | "member"
                    if index > sentence.start
                        && self.tokens[index - 1].is_in(&[
                            "another",
                            "other",
                            "different",
                            "the",
                            "this",
                            "that",
                        ]) =>
                {
                    return Some(Whose::Other(None));
                }
                _ => break,
            }
        }
        Some(Whose::Mine)
    }
}

/// Words skipped between an email address and the word that says whose it is.
const EMAIL_SKIP: &[&str] = &[
    "is",
    "am",
    "are",
    "was",
    "email",
    "mail",
    "emailaddress",
    "address",
    "it",
    "that",
    "this",
    "the",
    "a",
    "an",
    "account",
    "registered",
    "one",
    "just",
    "simply",
    "should",
    "be",
    "would",
    "at",
    "use",
    "using",
    "used",
    "with",
    "reach",
    "contact",
    "login",
    "username",
    "called",
    "named",
    "here",
    "hi",
    "hello",
    "hey",
    "yes",
    "and",
    "but",
    "on",
    "e",
    "actually",
    "correct",
    "right",
    "sure",
    "ok",
    "okay",
    "so",
    "well",
];
