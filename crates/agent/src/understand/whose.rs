//! Whose record a property mention is about: the customer's ("my"), the business's ("your"), or someone else's ("my wife's", "of bob@x.org", "Maren Solberg's").

use super::lexicon::{ADJECTIVES, OTHER_PEOPLE, OWN_POSSESSIVES, is_keyword, is_relation};
use super::reader::Reader;
use super::stopwords::is_stopword;
use super::tokens::Kind;

/// Whose record a mention or an email is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Whose {
    /// "my", "mine", "for me".
    Mine,
    /// Nobody named: the customer's own unless the sentence is about someone else.
    Unsaid,
    /// "your phone number": the business's own details, not a CRM property.
    Business,
    /// Someone else, with their email address when given.
    Other(Option<String>),
    /// "her", "his", "their": someone else, named elsewhere in the sentence
    /// ("my friend ana@x.org needs her points").
    Them,
}

impl Reader<'_> {
    /// Whose record mention `index` is about, from the words before and after it.
    pub(super) fn whose_mention(&self, index: usize) -> Whose {
        let mention = self.mentions[index];
        let sentence = self.sentence_range(mention.start);
        let mut at = mention.start;
        let mut capitals = 0;
        while at > sentence.start && mention.start - at < 8 {
            at -= 1;
            let token = &self.tokens[at];
            match token.kind {
                Kind::Email if token.possessive => return Whose::Other(Some(token.norm.to_string())),
                Kind::Word => {}
                _ => break,
            }
            let word = token.word();
            if token.possessive {
                if OWN_POSSESSIVES.contains(&word) {
                    continue;
                }
                return Whose::Other(None);
            }
            if token.capital && word != "i" && !is_stopword(word) && !is_keyword(word) {
                capitals += 1;
                if capitals >= 2 {
                    return Whose::Other(None);
                }
                continue;
            }
            match word {
                "my" | "mine" | "our" | "ours" => return Whose::Mine,
                "your" | "yours" => return Whose::Business,
                "her" | "his" | "their" | "theirs" | "him" | "them" => return Whose::Them,
                w if is_relation(w) => return Whose::Other(None),
                w if ADJECTIVES.contains(&w) => continue,
                _ => break,
            }
        }
        // After: "… of bob@x.org", "… for my wife", "… you have for Maren".
        let mut at = mention.end;
        let mut steps = 0;
        while at < sentence.end && steps < 6 {
            let token = &self.tokens[at];
            at += 1;
            if self.mention_of[at - 1].is_some() || token.kind != Kind::Word {
                break;
            }
            steps += 1;
            match token.word() {
                "of" | "for" | "belonging" | "belongs" | "registered" | "under" | "about" | "regarding"
                | "associated" | "linked" | "attached" | "on" => {
                    if let Some(whose) = self.whose_after(at, sentence.end) {
                        return whose;
                    }
                }
                w if AFTER_MENTION_SKIP.contains(&w) => {}
                _ => break,
            }
        }
        Whose::Unsaid
    }

    /// Who follows a preposition at `at`: "bob@x.org", "my wife", "me", "Maren".
    fn whose_after(&self, mut at: usize, end: usize) -> Option<Whose> {
        let end = end.min(at + 6);
        while at < end
            && self.tokens[at]
                .is_in(&["to", "with", "the", "a", "an", "this", "that", "under", "file", "record"])
        {
            at += 1;
        }
        if at >= end {
            return None;
        }
        let token = &self.tokens[at];
        if token.kind == Kind::Email {
            return Some(Whose::Other(Some(token.norm.to_string())));
        }
        let word = token.word();
        if token.possessive && !OWN_POSSESSIVES.contains(&word) {
            return Some(Whose::Other(None));
        }
        match word {
            "my" | "our" => {
                let next = self.tok(at + 1);
                Some(if next.is_some_and(|t| is_relation(t.word())) {
                    Whose::Other(None)
                } else {
                    Whose::Mine
                })
            }
            "me" | "myself" | "mine" | "us" => Some(Whose::Mine),
            "your" | "you" | "yours" => Some(Whose::Business),
            "him" | "her" | "them" => Some(Whose::Them),
            w if OTHER_PEOPLE.contains(&w) || is_relation(w) => Some(Whose::Other(None)),
            w if token.capital && w != "i" && !is_stopword(w) && !is_keyword(w) => Some(Whose::Other(None)),
            _ => None,
        }
    }
}

/// Words that may stand between a property and "of …/for …": "the address you have on file for".
const AFTER_MENTION_SKIP: &[&str] = &[
    "you",
    "have",
    "do",
    "does",
    "is",
    "are",
    "was",
    "currently",
    "listed",
    "saved",
    "stored",
    "registered",
    "that",
    "which",
    "in",
    "the",
    "file",
    "record",
    "system",
    "got",
    "please",
    "pls",
    "again",
    "now",
];
