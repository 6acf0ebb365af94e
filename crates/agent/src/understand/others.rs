//! Someone else as the subject of a sentence ("for my mother", "my wife wants…", another person's address), and requests about them that name no property.

use super::Intent;
use super::lexicon::{OTHER_PEOPLE, is_relation};
use super::reader::{RANK_REST, RankedIntent, Reader};
use super::tokens::Kind;

/// Whether someone else is the subject of a sentence.
#[derive(Clone, Debug, Default)]
pub(super) struct Context {
    /// The first email address in the sentence that belongs to someone else.
    pub(super) email: Option<String>,
    /// Where the sentence clearly names someone else ("my wife's", "for my
    /// mother", "someone else", another person's email).
    strong: Option<usize>,
    /// The sentence mentions someone else in passing ("my wife wants…").
    weak: bool,
}

impl Context {
    /// Whether the sentence is about someone else at all.
    pub(super) fn any(&self) -> bool {
        self.email.is_some() || self.strong.is_some() || self.weak
    }
}

impl Reader<'_> {
    /// Finds, sentence by sentence, whether someone else is its subject.
    pub(super) fn read_contexts(&mut self) {
        let mut contexts = vec![Context::default(); self.sentences.len()];
        for &at in &self.other_emails {
            if let Some(context) = contexts.get_mut(self.sentence_of[at]) {
                context.email.get_or_insert_with(|| self.tokens[at].norm.to_string());
                context.strong.get_or_insert(at);
            }
        }
        for (at, token) in self.tokens.iter().enumerate() {
            if self.consumed[at] || self.mention_of[at].is_some() || token.kind != Kind::Word {
                continue;
            }
            let Some(context) = contexts.get_mut(self.sentence_of[at]) else { continue };
            let previous = at.checked_sub(1).and_then(|i| self.tok(i));
            let before_previous = at.checked_sub(2).and_then(|i| self.tok(i));
            let next = self.tok(at + 1);
            let strong = if is_relation(token.word()) {
                let introduced = previous
                    .is_some_and(|p| p.is_in(&["for", "about", "of", "regarding", "behalf"]))
                    || previous.is_some_and(|p| p.is_in(&["my", "our", "a", "the"]))
                        && before_previous
                            .is_some_and(|p| p.is_in(&["for", "about", "of", "regarding", "behalf"]));
                if token.possessive || introduced {
                    true
                } else {
                    context.weak = true;
                    false
                }
            } else {
                match token.word() {
                    "behalf" => previous.is_some_and(|p| p.is("on")),
                    "someone" | "somebody" | "anyone" | "anybody" => {
                        next.is_some_and(|n| n.is("else")) || token.possessive
                    }
                    "another" | "other" | "different" => next.is_some_and(|n| n.is_in(OTHER_PEOPLE)),
                    "her" | "his" | "their" | "him" | "them" => {
                        context.weak = true;
                        false
                    }
                    _ => false,
                }
            };
            if strong {
                context.strong.get_or_insert(at);
            }
        }
        self.contexts = contexts;
    }

    /// Whether someone else is the subject of the sentence of token `at`.
    pub(super) fn context_of(&self, at: usize) -> Context {
        self.sentence_of.get(at).and_then(|&s| self.contexts.get(s)).cloned().unwrap_or_default()
    }

    /// Someone else is the subject, but no property was named: "for my
    /// mother", "what do you have on ola@example.com".
    pub(super) fn read_others_without_property(&mut self) {
        let mut named = vec![false; self.contexts.len()];
        for found in &self.found {
            if matches!(found.intent, Intent::AskAboutOther { property: Some(_), .. })
                && let Some(flag) = self.sentence_of.get(found.position).and_then(|&s| named.get_mut(s))
            {
                *flag = true;
            }
        }
        for (context, named) in self.contexts.iter().zip(named) {
            let Some(position) = context.strong else { continue };
            if !named {
                let intent = Intent::AskAboutOther { property: None, email: context.email.clone() };
                self.found.push(RankedIntent { rank: RANK_REST, position, intent, weak: false });
            }
        }
    }
}
