//! Updates: a new value ("change my X to Y", "my new X is Y", "X should be Y", "change it to Y"), or the wish to change a property without one ("my X is wrong").

use std::ops::Range;

use super::Intent;
use super::lexicon::{INTERROGATIVES, NEW_WORDS, REQUEST_VERBS};
use super::reader::{RANK_REST, Reader};
use super::tokens::{Kind, Tok, is_quote};
use super::values::extract_value;
use super::whose::Whose;

impl Reader<'_> {
    /// Looks for an update of mention `index`: a value, or the wish to change it.
    pub(super) fn read_update(&mut self, index: usize) {
        let mention = self.mentions[index];
        if matches!(self.whose[index], Whose::Business | Whose::Other(_) | Whose::Them) {
            return;
        }
        let question = self.is_question_around(mention.start);

        // "my new X is Y", "the correct X: Y", "I have a new X".
        let new_before = self.adjective_before(mention.start, NEW_WORDS);
        if new_before && let Some(value) = self.connector_value(mention.end, NEW_CONNECTORS) {
            return self.update(index, mention.start, value);
        }
        // "change my X to Y", "can you update my X", "how do I change my X".
        if self.update_verb_before(mention.start).is_some() {
            let value = self
                .connector_value(mention.end, VERB_CONNECTORS)
                .or_else(|| self.value_after_from_to(mention.end))
                .or_else(|| self.value_right_after(mention.end));
            return match value {
                Some(value) => self.update(index, mention.start, value),
                None => self.wants(index, mention.start),
            };
        }
        if new_before && !question {
            return self.wants(index, mention.start);
        }
        // "X should be Y", "my X has changed to Y".
        if let Some(value) = self.state_value(mention.end) {
            match value {
                Some(value) => return self.update(index, mention.start, value),
                None if !question => return self.wants(index, mention.start),
                None => {}
            }
        }
        // "my X is wrong", "you have the wrong X", "X change please".
        let wrong = self.adjective_before(mention.start, WRONG_BEFORE) || self.wrong_after(mention.end);
        let change_noun = self.tok(mention.end).is_some_and(|t| t.is_in(CHANGE_NOUNS));
        if (wrong && !question) || change_noun {
            self.wants(index, mention.start);
        }
    }

    fn update(&mut self, index: usize, position: usize, (mut value, mut span): (String, Range<usize>)) {
        let property = self.mentions[index].property;
        self.handled[index] = true;
        // "my new phone is +44 7700 900123, right?": the tag is no part of the value.
        let sentence = self.sentence_range(self.mentions[index].start);
        if let Some(tag) = self.question_tag(&sentence).and_then(|tag| self.tokens.get(tag))
            && (span.start..span.end).contains(&tag.start)
        {
            let kept = self.text[span.start..tag.start].trim_end_matches([',', '-', ' ']).trim_end();
            if kept.chars().any(char::is_alphanumeric) {
                value = kept.to_owned();
                let tag_end = self.tokens.get(sentence.end.saturating_sub(1)).map_or(span.end, |t| t.end);
                span = span.start..tag_end.max(span.end);
            }
        }
        self.consume(span);
        self.push(RANK_REST, position, Intent::UpdateProperty { property, value });
    }

    fn wants(&mut self, index: usize, position: usize) {
        let property = self.mentions[index].property;
        self.handled[index] = true;
        self.push(RANK_REST, position, Intent::WantsUpdate { property });
    }

    /// Whether one of `words` stands right before `start`, after determiners.
    pub(super) fn adjective_before(&self, start: usize, words: &[&str]) -> bool {
        let sentence = self.sentence_range(start);
        let mut at = start;
        while at > sentence.start && start - at < 6 {
            at -= 1;
            let token = &self.tokens[at];
            if token.is_in(&["my", "the", "a", "an", "our", "this"]) {
                continue;
            }
            return token.is_in(words);
        }
        false
    }

    /// The update verb before `start` in its sentence, unless a question or a
    /// request word comes first, or the verb is negated ("don't change…").
    fn update_verb_before(&self, start: usize) -> Option<usize> {
        let sentence = self.sentence_range(start);
        let mut at = start;
        let mut steps = 0;
        while at > sentence.start && steps < 12 && start - at < 64 {
            at -= 1;
            if self.consumed[at] {
                continue;
            }
            let token = &self.tokens[at];
            if token.kind != Kind::Word {
                continue;
            }
            steps += 1;
            // "update me on my ticket" asks for news, not a change.
            let tells = self.tok(at + 1).is_some_and(|t| t.is_in(&["me", "us"]));
            if is_update_verb(token) && !tells {
                let negated = self.tokens[sentence.start..at]
                    .iter()
                    .rev()
                    .take(3)
                    .any(|t| t.is_in(&["not", "never", "no"]));
                return (!negated).then_some(at);
            }
            if token.is_in(INTERROGATIVES) && !token.is("how") || token.is_in(REQUEST_VERBS) {
                return None;
            }
        }
        None
    }

    /// A value after one of `connectors` that follows token `at` (fillers
    /// such as "in your system" may come between).
    fn connector_value(&self, mut at: usize, connectors: &[&[&str]]) -> Option<(String, Range<usize>)> {
        let mut skipped = 0;
        while skipped < 4 && self.tok(at).is_some_and(|t| t.is_in(CONNECTOR_SKIP)) {
            at += 1;
            skipped += 1;
        }
        let end = self.connector_end(at, connectors, true)?;
        extract_value(self.text, end)
    }

    /// The byte where a connector starting at token `at` ends.
    ///
    /// With `punctuation`, ":", "=", "-" and "->" connect too ("update my
    /// phone: …"); without, only words do, so "my phone: …" stays a statement.
    pub(super) fn connector_end(
        &self,
        at: usize,
        connectors: &[&[&str]],
        punctuation: bool,
    ) -> Option<usize> {
        let token = self.tok(at)?;
        if punctuation && matches!(token.kind, Kind::Punct(':' | '=' | '>')) {
            return Some(token.end);
        }
        if punctuation && token.is_punct('-') {
            return Some(self.tok(at + 1).filter(|t| t.is_punct('>')).map_or(token.end, |t| t.end));
        }
        let mut best: Option<usize> = None;
        for connector in connectors {
            let Some(words) = self.tokens.get(at..at + connector.len()) else { continue };
            let matches =
                connector.iter().zip(words).all(|(c, t)| if *c == "," { t.is_punct(',') } else { t.is(c) });
            if matches && connector.len() > best.unwrap_or(0) {
                best = Some(connector.len());
            }
        }
        let len = best?;
        let last = self.tok(at + len - 1)?;
        // "to: Y", "is - Y".
        Some(match self.tok(at + len) {
            Some(t) if matches!(t.kind, Kind::Punct(':' | '-')) => t.end,
            _ => last.end,
        })
    }

    /// "change my X from A to B": the value after the "to".
    fn value_after_from_to(&self, at: usize) -> Option<(String, Range<usize>)> {
        if !self.tok(at)?.is("from") {
            return None;
        }
        let sentence = self.sentence_range(at);
        let to = (at + 1..sentence.end.min(at + 14)).find(|&i| self.tokens[i].is("to"))?;
        extract_value(self.text, self.tokens[to].end)
    }

    /// "update my phone +44 7700 900123": a value that starts right after the
    /// property with a digit, a plus, a quote or an email address.
    fn value_right_after(&self, at: usize) -> Option<(String, Range<usize>)> {
        let from = self.tokens.get(at.checked_sub(1)?)?.end;
        let first = self.text[from..].trim_start().chars().next()?;
        let looks_like_value = first.is_ascii_digit()
            || first == '+'
            || is_quote(first)
            || self.tok(at).is_some_and(|t| t.kind == Kind::Email);
        if looks_like_value { extract_value(self.text, from) } else { None }
    }

    /// "X should be Y", "X has changed to Y": `Some(Some(value))`;
    /// `Some(None)` when the words say an update is wanted without a usable
    /// value ("X should be updated"); `None` when they are no update at all
    /// ("X should be fine").
    fn state_value(&self, at: usize) -> Option<Option<(String, Range<usize>)>> {
        let end = self.connector_end(at, STATE_CONNECTORS, false)?;
        match extract_value(self.text, end) {
            Some((value, _)) if is_judgement(&value) => None,
            Some((value, _)) if is_placeholder_value(&value) => Some(None),
            value => Some(value),
        }
    }

    /// "X is wrong", "X has changed", "X needs updating".
    fn wrong_after(&self, mut at: usize) -> bool {
        let mut skipped = 0;
        while skipped < 5 && self.tok(at).is_some_and(|t| t.is_in(WRONG_SKIP)) {
            at += 1;
            skipped += 1;
        }
        let Some(token) = self.tok(at) else { return false };
        let next = self.tok(at + 1);
        match token.word() {
            w if WRONG_WORDS.contains(&w) => true,
            "out" => next.is_some_and(|t| t.is("of")),
            "not" => {
                next.is_some_and(|t| t.is_in(&["right", "correct", "current", "accurate", "valid", "up"]))
            }
            "no" => next.is_some_and(|t| t.is("longer")),
            "needs" | "need" => next.is_some_and(|t| {
                t.is_in(&["updating", "changing", "an", "update", "change", "fixing", "correcting", "to"])
            }),
            "has" | "have" => next.is_some_and(|t| t.is_in(&["changed", "moved"])),
            "should" => {
                next.is_some_and(|t| t.is("change"))
                    || next.is_some_and(|t| t.is("be"))
                        && self.tok(at + 2).is_some_and(|t| {
                            t.is_in(&["updated", "changed", "corrected", "fixed", "different", "amended"])
                        })
            }
            _ => false,
        }
    }

    /// Whether the clause around `at` asks something (a "?", or a question
    /// word first).
    fn is_question_around(&self, at: usize) -> bool {
        self.clause_of.get(at).and_then(|&clause| self.question_clauses.get(clause)).copied().unwrap_or(false)
    }

    /// "change it to Y", "it should be Y", "the new one is Y": about the
    /// property mentioned last.
    pub(super) fn read_pronoun_updates(&mut self) {
        for at in 0..self.tokens.len() {
            if self.consumed[at] || self.mention_of[at].is_some() {
                continue;
            }
            let token = &self.tokens[at];
            if !token.is_in(&["it", "that", "new"]) && !is_update_verb(token) {
                continue;
            }
            let Some(last) = self.last_own_mention_before(at) else { continue };
            let position = at;
            if is_update_verb(token) && self.tok(at + 1).is_some_and(|t| t.is_in(&["it", "that", "this"])) {
                let sentence = self.sentence_range(at);
                let negated = self.tokens[sentence.start..at]
                    .iter()
                    .rev()
                    .take(3)
                    .any(|t| t.is_in(&["not", "never", "no"]));
                if negated {
                    continue;
                }
                let value =
                    self.connector_value(at + 2, VERB_CONNECTORS).or_else(|| self.value_right_after(at + 2));
                let property = self.mentions[last].property;
                match value {
                    Some((value, span)) => {
                        self.consume(span);
                        self.push(RANK_REST, position, Intent::UpdateProperty { property, value });
                    }
                    None => self.push(RANK_REST, position, Intent::WantsUpdate { property }),
                }
                continue;
            }
            let subject_len = if token.is_in(&["it", "that"]) {
                1
            } else if token.is("new") && self.tok(at + 1).is_some_and(|t| t.is("one")) {
                2
            } else {
                continue;
            };
            let mut connectors: Vec<&[&str]> = PRONOUN_CONNECTORS.to_vec();
            if subject_len == 2 {
                connectors.extend_from_slice(NEW_CONNECTORS);
            }
            let Some(end) = self.connector_end(at + subject_len, &connectors, false) else { continue };
            // "it should be 3 Fjord Road", not "it should be fine".
            if let Some((value, span)) = extract_value(self.text, end).filter(|(v, _)| looks_like_data(v)) {
                let property = self.mentions[last].property;
                self.consume(span);
                self.push(RANK_REST, position, Intent::UpdateProperty { property, value });
            }
        }
    }

    /// The last property mentioned before `at` that is the customer's own,
    /// among the few mentioned last: a pronoun points at something recent.
    fn last_own_mention_before(&self, at: usize) -> Option<usize> {
        let before = self.mentions.partition_point(|m| m.end <= at);
        (0..before).rev().take(8).find(|&index| matches!(self.whose[index], Whose::Mine | Whose::Unsaid))
    }
}

/// Whether `token` asks for a change: "change", "update", "set", "fix", "correct"…
pub(super) fn is_update_verb(token: &Tok) -> bool {
    token.is_in(&[
        "set",
        "edit",
        "fix",
        "amend",
        "alter",
        "swap",
        "adjust",
        "add",
        "put",
        "changing",
        "updating",
        "upgrade",
        "downgrade",
    ]) || token.like_any(&["change", "update", "modify", "correct", "replace", "switch"])
}

/// A "value" that only says the property should change: "my address should
/// be updated".
fn is_placeholder_value(value: &str) -> bool {
    let lower = value.to_lowercase();
    let first = lower.split_whitespace().next().unwrap_or("");
    [
        "updated",
        "changed",
        "different",
        "fixed",
        "corrected",
        "modified",
        "amended",
        "edited",
        "new",
        "updating",
        "changing",
        "wrong",
        "incorrect",
        "something",
        "else",
    ]
    .contains(&first)
        && lower.split_whitespace().count() <= 2
}

/// A "value" that only judges the current one: "my plan should be fine".
fn is_judgement(value: &str) -> bool {
    let lower = value.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    words.len() <= 2
        && words.first().is_some_and(|w| {
            [
                "fine", "ok", "okay", "good", "correct", "right", "there", "same", "visible", "accurate",
                "alright", "enough", "possible", "easy", "true", "valid", "ready", "great", "done", "it",
                "that", "this",
            ]
            .contains(w)
        })
}

/// Whether a value after a pronoun looks like data rather than a remark: a
/// digit, an `@`, a `+` or a capital letter ("3 Fjord Road", "Oslo").
fn looks_like_data(value: &str) -> bool {
    !is_judgement(value)
        && !is_placeholder_value(value)
        && value.chars().any(|c| c.is_ascii_digit() || c == '@' || c == '+' || c.is_uppercase())
}

/// Before a property that needs changing: "you have the wrong address".
const WRONG_BEFORE: &[&str] = &["wrong", "incorrect", "outdated", "obsolete"];

/// After a property: "address change please".
const CHANGE_NOUNS: &[&str] = &["change", "changes", "update", "updates", "correction", "amendment"];

/// Between a property and "wrong": "my address is still wrong".
const WRONG_SKIP: &[&str] = &[
    "is",
    "are",
    "was",
    "seems",
    "looks",
    "appears",
    "still",
    "currently",
    "now",
    "showing",
    "shows",
    "listed",
    "as",
    "on",
    "file",
    "in",
    "your",
    "system",
    "records",
    "totally",
    "completely",
    "all",
    "a",
    "bit",
    "so",
    "very",
    "also",
    "that",
    "you",
    "have",
    "has",
    "been",
];

/// Words that say a stored value is out of date: "my address is wrong".
const WRONG_WORDS: &[&str] = &[
    "wrong",
    "incorrect",
    "outdated",
    "outofdate",
    "old",
    "obsolete",
    "invalid",
    "stale",
    "inaccurate",
    "changed",
    "different",
    "expired",
    "moved",
];

/// Between a property and its connector: "change my address in your system to…".
const CONNECTOR_SKIP: &[&str] = &[
    "in", "on", "the", "your", "our", "system", "records", "record", "file", "account", "profile", "details",
    "please", "for", "me", "now", "here", "over", "kindly", "pls",
];

/// After an update verb and the property: "… to Y", "… as Y", "… with Y".
const VERB_CONNECTORS: &[&[&str]] = &[
    &["to"],
    &["to", "be"],
    &["into"],
    &["as"],
    &["with"],
    &["so", "it", "is"],
    &["so", "it", "says"],
    &["so", "it", "reads"],
];

/// After "new X": "… is Y", "… will be Y", "…, it is Y".
const NEW_CONNECTORS: &[&[&str]] = &[
    &["is"],
    &["is", "now"],
    &["now", "is"],
    &["will", "be"],
    &["would", "be"],
    &["should", "be"],
    &["being"],
    &[",", "it", "is"],
    &[",", "which", "is"],
    &[",", "that", "is"],
    &["which", "is"],
    &["it", "is"],
    &["are"],
];

/// After a property without a verb: "X should be Y", "X has changed to Y".
const STATE_CONNECTORS: &[&[&str]] = &[
    &["should", "be"],
    &["should", "read"],
    &["should", "say"],
    &["should", "now", "be"],
    &["needs", "to", "be"],
    &["need", "to", "be"],
    &["has", "to", "be"],
    &["must", "be"],
    &["must", "read"],
    &["is", "supposed", "to", "be"],
    &["ought", "to", "be"],
    &["is", "now"],
    &["now", "is"],
    &["are", "now"],
    &["has", "changed", "to"],
    &["changed", "to"],
    &["has", "been", "changed", "to"],
    &["was", "changed", "to"],
    &["has", "been", "updated", "to"],
    &["has", "become"],
    &["became"],
    &["is", "changing", "to"],
    &["will", "change", "to"],
    &["will", "be"],
    &["will", "now", "be"],
    &["is", "going", "to", "be"],
    &["to", "be"],
];

/// After "it" or "the new one": only the connectors that clearly give a new
/// value ("it should be 3 Fjord Road"), not "it will be fine".
const PRONOUN_CONNECTORS: &[&[&str]] = &[
    &["should", "be"],
    &["should", "read"],
    &["should", "now", "be"],
    &["needs", "to", "be"],
    &["must", "be"],
    &["is", "supposed", "to", "be"],
    &["is", "now"],
    &["has", "changed", "to"],
    &["changed", "to"],
    &["has", "been", "changed", "to"],
    &["has", "been", "updated", "to"],
    &["is", "changing", "to"],
];
