//! The state of reading one message: its sentences and clauses, the passes over it in order, and how the intents found are ordered and deduplicated.

use std::collections::HashSet;
use std::ops::Range;

use leakproof_policy::PropertyId;

use super::Intent;
use super::lexicon::{AUXILIARIES, CONJUNCTIONS, INTERROGATIVES};
use super::others::Context;
use super::phrases::Mention;
use super::tokens::{Kind, Tok};
use super::whose::Whose;

/// One intent found, with what orders it.
pub(super) struct RankedIntent {
    pub(super) rank: u8,
    pub(super) position: usize,
    pub(super) intent: Intent,
    /// An "ok" or "sure": dropped when the message asks for something else.
    pub(super) weak: bool,
}

/// The state of reading one message.
pub(super) struct Reader<'a> {
    pub(super) text: &'a str,
    pub(super) tokens: &'a [Tok],
    pub(super) mentions: Vec<Mention>,
    /// The mention each token belongs to.
    pub(super) mention_of: Vec<Option<usize>>,
    pub(super) whose: Vec<Whose>,
    /// By mention: whether the customer probes its value (a guess to confirm, a part, another
    /// form): a question about the property, never an update.
    pub(super) probes: Vec<bool>,
    /// Mentions already turned into an intent.
    pub(super) handled: Vec<bool>,
    /// Tokens inside an update's value: never read again.
    pub(super) consumed: Vec<bool>,
    pub(super) sentence_of: Vec<usize>,
    pub(super) sentences: Vec<Range<usize>>,
    pub(super) clause_of: Vec<usize>,
    /// By clause: whether it asks (a "?", or a question word first).
    pub(super) question_clauses: Vec<bool>,
    pub(super) contexts: Vec<Context>,
    /// Emails of someone else, by token.
    pub(super) other_emails: Vec<usize>,
    pub(super) found: Vec<RankedIntent>,
}

/// The order the agent handles intents in: an override attempt first, so the
/// agent says it carries no authority before anything else; then a yes or no,
/// which answers the agent's last question; then the customer's own address,
/// so questions in the same message are asked with the identity it gives;
/// then everything else in the order typed.
const RANK_INJECTION: u8 = 0;
pub(super) const RANK_ANSWER: u8 = 1;
pub(super) const RANK_EMAIL: u8 = 2;
pub(super) const RANK_REST: u8 = 3;

impl<'a> Reader<'a> {
    /// A reader of `text`, split into `tokens`, naming `mentions`.
    pub(super) fn new(text: &'a str, tokens: &'a [Tok], mentions: Vec<Mention>) -> Self {
        let mut mention_of = vec![None; tokens.len()];
        for (index, mention) in mentions.iter().enumerate() {
            for slot in mention_of.iter_mut().take(mention.end).skip(mention.start) {
                *slot = Some(index);
            }
        }
        let count = mentions.len();
        Reader {
            text,
            tokens,
            mentions,
            mention_of,
            whose: vec![Whose::Unsaid; count],
            probes: vec![false; count],
            handled: vec![false; count],
            consumed: vec![false; tokens.len()],
            sentence_of: vec![0; tokens.len()],
            sentences: Vec::new(),
            clause_of: vec![0; tokens.len()],
            question_clauses: Vec::new(),
            contexts: Vec::new(),
            other_emails: Vec::new(),
            found: Vec::new(),
        }
    }

    /// Records `intent`, found at token `position`.
    pub(super) fn push(&mut self, rank: u8, position: usize, intent: Intent) {
        self.found.push(RankedIntent { rank, position, intent, weak: false });
    }

    /// Token `index`, if there is one.
    pub(super) fn tok(&self, index: usize) -> Option<&'a Tok> {
        self.tokens.get(index)
    }

    /// Whether a property mention starts at token `index`.
    fn is_mention_start(&self, index: usize) -> bool {
        self.mention_of
            .get(index)
            .copied()
            .flatten()
            .and_then(|m| self.mentions.get(m))
            .is_some_and(|m| m.start == index)
    }

    /// The indices of the mentions that start in `range` (mentions are in order).
    pub(super) fn mentions_in(&self, range: &Range<usize>) -> Range<usize> {
        let first = self.mentions.partition_point(|m| m.start < range.start);
        let end = self.mentions.partition_point(|m| m.start < range.end);
        first..end.max(first)
    }

    /// The tokens of the sentence token `index` is in.
    pub(super) fn sentence_range(&self, index: usize) -> Range<usize> {
        self.sentence_of
            .get(index)
            .and_then(|&s| self.sentences.get(s))
            .cloned()
            .unwrap_or(0..self.tokens.len())
    }

    /// Reads the whole message, pass by pass: the passes that cut values out come
    /// before the clause readers, which only see what is left.
    pub(super) fn read(&mut self) {
        self.structure();
        for index in 0..self.mentions.len() {
            self.whose[index] = self.whose_mention(index);
        }
        self.read_probes();
        for index in 0..self.mentions.len() {
            let mention = self.mentions[index];
            if !self.handled[index] && !self.consumed[mention.start] && !self.probes[index] {
                self.read_update(index);
            }
        }
        self.read_pronoun_updates();
        self.read_emails();
        self.read_contexts();
        for segment in self.segments() {
            self.read_segment(segment);
        }
        self.read_others_without_property();
        if let Some(position) = self.injection() {
            self.push(RANK_INJECTION, position, Intent::Injection);
        }
    }

    /// Sentences end at . ? ! ; a dash or a newline; clauses also at commas
    /// and conjunctions, except inside a list of properties ("phone, address
    /// and city").
    fn structure(&mut self) {
        let mut sentence = 0;
        let mut clause = 0;
        let mut sentence_start = 0;
        for (index, token) in self.tokens.iter().enumerate() {
            let conjunction = token.is_in(CONJUNCTIONS) && self.mention_of[index].is_none();
            if conjunction && index > 0 && !self.continues_list(index) {
                clause += 1;
            }
            self.sentence_of[index] = sentence;
            self.clause_of[index] = clause;
            if is_sentence_end(token) {
                self.sentences.push(sentence_start..index + 1);
                sentence_start = index + 1;
                sentence += 1;
                clause += 1;
            } else if token.is_punct(',') && !self.continues_list(index) {
                clause += 1;
            }
        }
        self.sentences.push(sentence_start..self.tokens.len());

        let clauses = self.clause_of.last().map_or(0, |&last| last + 1);
        let mut questions = vec![false; clauses];
        let mut first_word_seen = vec![false; clauses];
        for (token, &clause) in self.tokens.iter().zip(&self.clause_of) {
            let (Some(question), Some(seen)) = (questions.get_mut(clause), first_word_seen.get_mut(clause))
            else {
                continue;
            };
            if token.is_punct('?') {
                *question = true;
            }
            if token.kind == Kind::Word && !*seen {
                *seen = true;
                *question |= token.is_in(INTERROGATIVES) || token.is_in(AUXILIARIES);
            }
        }
        self.question_clauses = questions;
    }

    /// Whether a property follows token `index`, after determiners.
    fn continues_list(&self, index: usize) -> bool {
        let mut next = index + 1;
        while next < index + 4
            && self.tok(next).is_some_and(|t| {
                t.is_in(&["my", "the", "her", "his", "their", "your", "a", "an", "our", "and", "also"])
            })
        {
            next += 1;
        }
        self.is_mention_start(next)
    }

    /// Marks the tokens inside a value's byte range as read.
    pub(super) fn consume(&mut self, span: Range<usize>) {
        // Tokens are in text order: the consumed ones are one run.
        let first = self.tokens.partition_point(|t| t.start < span.start);
        let end = self.tokens.partition_point(|t| t.start < span.end).max(first);
        for consumed in self.consumed.get_mut(first..end).into_iter().flatten() {
            *consumed = true;
        }
        let mentions = self.mentions_in(&(first..end));
        for handled in self.handled.get_mut(mentions).into_iter().flatten() {
            *handled = true;
        }
    }

    /// The intents found, in the order the agent handles them, identical ones once,
    /// without those another makes redundant; [`Intent::Unknown`] when none.
    pub(super) fn finish(self) -> Vec<Intent> {
        let mut found = self.found;
        found.sort_by_key(|f| (f.rank, f.position));
        let gives_email = found.iter().any(|f| matches!(f.intent, Intent::ProvideEmail { .. }));
        let substantive = found.iter().any(|f| !matches!(f.intent, Intent::SmallTalk | Intent::Unknown));
        let requests = found.iter().any(|f| {
            !matches!(f.intent, Intent::SmallTalk | Intent::Unknown | Intent::Confirm | Intent::Decline)
        });
        let updated: Vec<PropertyId> = found
            .iter()
            .filter_map(|f| match f.intent {
                Intent::UpdateProperty { property, .. } => Some(property),
                _ => None,
            })
            .collect();
        let named_others: Vec<Option<String>> = found
            .iter()
            .filter_map(|f| match &f.intent {
                Intent::AskAboutOther { property: Some(_), email } => Some(email.clone()),
                _ => None,
            })
            .collect();
        let mut intents: Vec<Intent> = Vec::with_capacity(found.len());
        let mut seen: HashSet<Intent> = HashSet::with_capacity(found.len());
        for RankedIntent { intent, weak, .. } in found {
            let redundant = match &intent {
                Intent::Confirm if weak => requests,
                Intent::ReturningCustomer => gives_email,
                Intent::SmallTalk => substantive,
                Intent::WantsUpdate { property } => updated.contains(property),
                Intent::AskAboutOther { property: None, email } => {
                    named_others.iter().any(|named| email.is_none() || named == email)
                }
                _ => false,
            };
            if !redundant && seen.insert(intent.clone()) {
                intents.push(intent);
            }
        }
        if intents.is_empty() {
            intents.push(Intent::Unknown);
        }
        intents
    }
}

/// Whether `token` ends a sentence: . ? ! ; a newline or a dash.
fn is_sentence_end(token: &Tok) -> bool {
    matches!(token.kind, Kind::Punct('.' | '?' | '!' | ';' | '\n' | '—'))
}
