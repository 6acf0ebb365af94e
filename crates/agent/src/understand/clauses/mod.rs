//! Reading clauses, the runs of a message between sentence ends, commas and conjunctions: each is read for a yes or no, a handoff, a returning customer, small talk and questions about properties.

mod answer;
mod handoff;
mod returning;
mod small_talk;

use std::ops::Range;

use super::Intent;
use super::lexicon::{AUXILIARIES, FILLERS, INTERROGATIVES, OTHER_PEOPLE, REQUEST_VERBS, is_relation};
use super::reader::{RANK_ANSWER, RANK_REST, RankedIntent, Reader};
use super::tokens::{Kind, Tok};
use super::whose::Whose;

impl Reader<'_> {
    /// Runs of tokens in one clause, split again where an update's value was cut out.
    pub(super) fn segments(&self) -> Vec<Range<usize>> {
        let mut segments = Vec::new();
        let mut start: Option<usize> = None;
        for at in 0..=self.tokens.len() {
            let breaks = at == self.tokens.len()
                || self.consumed[at]
                || start.is_some_and(|s| self.clause_of[s] != self.clause_of[at]);
            if breaks && let Some(s) = start.take() {
                segments.push(s..at);
            }
            if at < self.tokens.len() && !self.consumed[at] && start.is_none() {
                start = Some(at);
            }
        }
        segments
    }

    /// Reads one segment for every intent a clause can carry.
    pub(super) fn read_segment(&mut self, segment: Range<usize>) {
        let words: Vec<usize> = segment
            .clone()
            .filter(|&i| matches!(self.tokens[i].kind, Kind::Word | Kind::Symbol(_)))
            .collect();
        let mentions: Vec<usize> = self.mentions_in(&segment).filter(|&m| !self.handled[m]).collect();
        let any_mention = segment.clone().any(|i| self.mention_of[i].is_some());
        if words.is_empty() {
            return;
        }
        let question = segment.clone().any(|i| self.tokens[i].is_punct('?'));

        // What trails an update's value ("… to Oslo 👍") is not an answer.
        let after_value = segment.start > 0
            && self.consumed[segment.start - 1]
            && self.clause_of[segment.start - 1] == self.clause_of[segment.start];
        if !after_value && let Some((position, intent, weak)) = self.answer(&words, any_mention, question) {
            self.found.push(RankedIntent { rank: RANK_ANSWER, position, intent, weak });
        }
        if let Some(position) = self.handoff(&words, any_mention) {
            self.push(RANK_REST, position, Intent::Handoff);
        }
        // "do you have an account for ann@x.com?" asks about that address, not as its owner.
        let about_another_address = self.context_of(segment.start).email.is_some();
        if let Some(position) = self.returning(&words).filter(|_| !about_another_address) {
            self.push(RANK_REST, position, Intent::ReturningCustomer);
        }
        if let Some(position) = self.small_talk(&words, any_mention) {
            self.push(RANK_REST, position, Intent::SmallTalk);
        }
        if mentions.is_empty() {
            return;
        }
        let asks = question || self.asks(&segment, &words);
        let context = self.context_of(segment.start);
        for index in mentions {
            let mention = self.mentions[index];
            let asks = asks || self.probes[index];
            let intent = match &self.whose[index] {
                Whose::Business => continue,
                Whose::Other(email) => {
                    Intent::AskAboutOther { property: Some(mention.property), email: email.clone() }
                }
                Whose::Them => {
                    Intent::AskAboutOther { property: Some(mention.property), email: context.email.clone() }
                }
                Whose::Unsaid if context.any() => {
                    Intent::AskAboutOther { property: Some(mention.property), email: context.email.clone() }
                }
                Whose::Mine | Whose::Unsaid if asks => Intent::AskProperty { property: mention.property },
                Whose::Mine | Whose::Unsaid => continue,
            };
            self.handled[index] = true;
            self.push(RANK_REST, mention.start, intent);
        }
    }

    /// Whether a clause asks for something: a question word, an auxiliary
    /// first, a request verb, or nothing but properties and filler ("my
    /// address?", "phone number please").
    fn asks(&self, segment: &Range<usize>, words: &[usize]) -> bool {
        let outside: Vec<&Tok> =
            words.iter().filter(|&&i| self.mention_of[i].is_none()).map(|&i| &self.tokens[i]).collect();
        // "is my address …" asks; "ada@x.com is my address" tells.
        let first =
            segment.clone().map(|i| &self.tokens[i]).find(|t| matches!(t.kind, Kind::Word | Kind::Email));
        if first.is_some_and(|t| t.is_in(AUXILIARIES)) {
            return true;
        }
        outside.iter().any(|t| t.is_in(INTERROGATIVES) || t.is_in(REQUEST_VERBS))
            || outside.iter().all(|t| {
                t.kind != Kind::Word
                    || t.possessive
                    || t.is_in(FILLERS)
                    || is_relation(t.word())
                    || t.is_in(OTHER_PEOPLE)
            })
    }
}

/// Whether `token`, with repeated letters squeezed ("yesss", "nooo",
/// "hellooo"), is one of `words`.
#[inline]
fn squeezed_in(token: &Tok, words: &[&str]) -> bool {
    let word = token.word();
    let Some(first) = word.chars().next() else { return false };
    words.iter().any(|w| w.starts_with(first) && squeeze(word).eq(squeeze(w)))
}

/// `word`'s letters with runs of the same letter counted once.
#[inline]
fn squeeze(word: &str) -> impl Iterator<Item = char> + '_ {
    let mut last = None;
    word.chars().filter(move |&c| {
        let repeated = last == Some(c);
        last = Some(c);
        !repeated
    })
}
