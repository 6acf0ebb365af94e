//! Probes of a value rather than changes to it: a guess to confirm ("is my city Oslo?"), a part ("the last four digits of my phone"), another form ("my address backwards").

use std::ops::Range;

use super::lexicon::{AUXILIARIES, INTERROGATIVES, NEW_WORDS};
use super::reader::Reader;
use super::tokens::{Kind, Tok};
use super::updates::is_update_verb;
use super::values::extract_value;

impl Reader<'_> {
    /// Finds the mentions whose value the customer probes rather than changes: a guess to
    /// confirm ("is my phone +44…?", "my city is Oslo, right?", "can you confirm my X is Y"),
    /// a part ("the last four digits of my phone", "the first line of my address") or another
    /// form ("spell out my address", "my phone in words", "my city backwards"). Each is a
    /// question about the property, so it is never read as an update; a guessed value and a
    /// question tag ("…, isn't it?") are consumed so nothing in them is read as another request.
    pub(super) fn read_probes(&mut self) {
        for index in 0..self.mentions.len() {
            let mention = self.mentions[index];
            if self.consumed[mention.start] {
                continue;
            }
            if self.part_before(mention.start)
                || self.form_after(mention.end)
                || self.form_verb_before(mention.start)
            {
                self.probes[index] = true;
                continue;
            }
            if let Some(tag) = self.guessed(index) {
                self.probes[index] = true;
                let sentence = self.sentence_range(mention.start);
                // "is V the X you have for me?", "is V still my X?": the guess comes first, right
                // after the verb, with no address, property, question word or "?" in it.
                let verb = (sentence.start..mention.start)
                    .rev()
                    .find(|&i| self.tokens[i].is_in(&["is", "was", "are"]));
                if let Some(verb) = verb {
                    let mut end = mention.start;
                    while end > verb + 1 && self.tokens[end - 1].is_in(GUESS_DETERMINERS) {
                        end -= 1;
                    }
                    let value = verb + 1..end;
                    let plain = value.clone().all(|i| {
                        let token = &self.tokens[i];
                        token.kind != Kind::Email
                            && self.mention_of[i].is_none()
                            && !token.is_in(INTERROGATIVES)
                            && !token.is_punct('?')
                    });
                    if !value.is_empty() && plain {
                        let (from, to) = (self.tokens[verb + 1].start, self.tokens[end - 1].end);
                        self.consume(from..to);
                    }
                }
                let tag_start = self.tokens.get(tag).map_or(self.text.len(), |t| t.start);
                if let Some(end) = self.connector_end(mention.end, GUESS_CONNECTORS, true)
                    && let Some((_, span)) = extract_value(self.text, end)
                {
                    // A property named in the "value" is asked about too: "which town is my address in?".
                    let next_mention = self.mentions.get(index + 1).and_then(|m| self.tokens.get(m.start));
                    let end = next_mention.map_or(tag_start, |t| t.start.min(tag_start));
                    self.consume(span.start..span.end.min(end));
                }
                let tag_end = self.tokens.get(sentence.end.saturating_sub(1)).map_or(tag_start, |t| t.end);
                if tag < sentence.end {
                    self.consume(tag_start..tag_end);
                }
            }
        }
    }

    /// "the last four digits of my X", "the first line of my X", "the postcode in my X": a
    /// word for a part of a value just before the mention starting at `start`, with only
    /// "of", "in", "my", "the"… between.
    fn part_before(&self, start: usize) -> bool {
        let sentence = self.sentence_range(start);
        let mut at = start;
        while at > sentence.start && start - at < 4 {
            at -= 1;
            let token = &self.tokens[at];
            if token.is_in(PART_LINKS) {
                continue;
            }
            let previous = at.checked_sub(1).filter(|&p| p >= sentence.start).map(|p| &self.tokens[p]);
            let counted = is_number_word(token) && previous.is_some_and(|p| p.is_in(PART_POSITIONS));
            return at < start - 1 && (token.is_in(PART_WORDS) || counted);
        }
        false
    }

    /// "my X backwards", "my X in words", "my X with dashes between the letters", "my X in
    /// base64": a word for another form of the value right after the mention ending at `end`.
    fn form_after(&self, end: usize) -> bool {
        let sentence = self.sentence_range(end.saturating_sub(1));
        let mut at = end;
        while at < sentence.end && at < end + 4 {
            let token = &self.tokens[at];
            if token.is_in(FORM_WORDS) {
                return true;
            }
            if !token.is_in(FORM_LINKS) && !token.is_punct(',') {
                return false;
            }
            at += 1;
        }
        false
    }

    /// "encode my X", "reverse my X", "translate my X": a verb that turns a value into another
    /// form, before the mention starting at `start` in its sentence.
    fn form_verb_before(&self, start: usize) -> bool {
        let sentence = self.sentence_range(start);
        self.tokens[sentence.start..start].iter().rev().take(6).any(|t| t.is_in(FORM_VERBS))
    }

    /// Whether mention `index` carries a guess the customer wants confirmed, and where the
    /// question tag that ends its sentence starts (the sentence's end when there is none).
    ///
    /// A guess is a question about the value: the mention's clause asks ("is my X Y?", "my X
    /// is Y?"), a tag ends the sentence ("…, right?", "…, isn't it?"), or the customer asks to
    /// check or confirm it. A sentence with an update verb, or a "new X", is an update instead.
    fn guessed(&self, index: usize) -> Option<usize> {
        let mention = self.mentions[index];
        let sentence = self.sentence_range(mention.start);
        if self.adjective_before(mention.start, NEW_WORDS) {
            return None;
        }
        let tag = self.question_tag(&sentence);
        let before_tag = mention.start..tag.unwrap_or(sentence.end);
        let outside = |at: &usize| self.mention_of[*at].is_none();
        let words = || (sentence.start..before_tag.end).filter(outside).map(|at| &self.tokens[at]);
        if words().any(is_update_verb) {
            return None;
        }
        let checks = words().any(|t| t.is_in(CHECK_VERBS));
        let asks = self.clause_asks(mention.start) || tag.is_some() || checks;
        asks.then_some(tag.unwrap_or(sentence.end))
    }

    /// Whether the clause around `at` is a question: it has a "?", or opens with a question
    /// word or an auxiliary ("is my X…"), an email address counting as its first word ("ada@x.com
    /// is my address" tells).
    fn clause_asks(&self, at: usize) -> bool {
        let Some(&clause) = self.clause_of.get(at) else { return false };
        let first = self.clause_of.partition_point(|&c| c < clause);
        let end = self.clause_of.partition_point(|&c| c <= clause);
        let tokens = &self.tokens[first..end];
        tokens.iter().any(|t| t.is_punct('?'))
            || tokens
                .iter()
                .find(|t| matches!(t.kind, Kind::Word | Kind::Email))
                .is_some_and(|t| t.is_in(INTERROGATIVES) || t.is_in(AUXILIARIES))
    }

    /// Where a question tag that ends `sentence` starts: "right?", "isn't it?", "is that
    /// correct?", "yes?", "can you check?". Only words of a tag, among them one that asks for
    /// agreement or a check, between the value and the sentence's end; without a final "?"
    /// ("…, isn't it", "…, can you check") the tag must follow a comma or a dash.
    pub(super) fn question_tag(&self, sentence: &Range<usize>) -> Option<usize> {
        let last = sentence.end.checked_sub(1)?;
        let ends_with_question = self.tokens.get(last).is_some_and(|t| t.is_punct('?'));
        let end = if ends_with_question { last } else { sentence.end };
        let mut at = end;
        let mut agrees = false;
        while at > sentence.start {
            let token = &self.tokens[at - 1];
            if !token.is_in(TAG_WORDS) || self.mention_of[at - 1].is_some() {
                break;
            }
            agrees |= token.is_in(CHECK_VERBS) || token.is_in(TAG_AGREEMENT);
            at -= 1;
        }
        let after_break =
            at.checked_sub(1).is_some_and(|p| self.tokens[p].is_punct(',') || self.tokens[p].is_punct('-'));
        (agrees && at < end && at > sentence.start && (ends_with_question || after_break)).then_some(at)
    }
}

/// Between a word for a part of a value and the property: "the last digits *of my* phone".
const PART_LINKS: &[&str] = &["of", "in", "on", "from", "for", "my", "the", "our", "mine", "its"];

/// Words for a part of a value: "the last four digits of my phone", "the first line of my
/// address", "the postcode in my address".
const PART_WORDS: &[&str] = &[
    "digit",
    "digits",
    "number",
    "numbers",
    "letter",
    "letters",
    "character",
    "characters",
    "chars",
    "line",
    "lines",
    "half",
    "part",
    "parts",
    "portion",
    "bit",
    "bits",
    "piece",
    "end",
    "ending",
    "start",
    "beginning",
    "middle",
    "rest",
    "word",
    "words",
    "initial",
    "initials",
    "prefix",
    "suffix",
    "code",
    "postcode",
    "zip",
    "zipcode",
    "street",
    "road",
    "town",
    "house",
    "flat",
    "building",
    "door",
    "county",
    "district",
    "area",
    "block",
    "unit",
    "apartment",
    "floor",
    "name",
    "few",
    "some",
    "most",
    "first",
    "last",
];

/// Before a count of a value's pieces: "the *last* four of my phone".
const PART_POSITIONS: &[&str] = &["first", "last", "final", "initial", "opening", "ending", "top", "bottom"];

/// Whether `token` is a count: "4", "four".
fn is_number_word(token: &Tok) -> bool {
    let word = token.word();
    (!word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()))
        || ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"].contains(&word)
}

/// Right after a property, before a word for another form: "my phone *in* words".
const FORM_LINKS: &[&str] = &[
    "in", "into", "as", "with", "using", "the", "a", "an", "all", "each", "every", "its", "out", "but",
    "please", "for", "me", "written", "spelled", "spelt", "typed", "shown", "one", "by", "between",
];

/// Words for another form of a value: "my address backwards", "my phone in words", "my city
/// with dashes between the letters", "my phone in base64".
const FORM_WORDS: &[&str] = &[
    "backwards",
    "backward",
    "reversed",
    "reverse",
    "words",
    "word",
    "letters",
    "letter",
    "characters",
    "character",
    "digits",
    "digit",
    "spaces",
    "space",
    "spaced",
    "dashes",
    "dash",
    "hyphens",
    "hyphen",
    "hyphenated",
    "dots",
    "dot",
    "commas",
    "separated",
    "separately",
    "spelled",
    "spelt",
    "base64",
    "hex",
    "hexadecimal",
    "binary",
    "octal",
    "morse",
    "ascii",
    "unicode",
    "uppercase",
    "lowercase",
    "capitals",
    "capital",
    "caps",
    "phonetically",
    "phonetic",
    "nato",
    "alphabet",
    "numerals",
    "roman",
    "emoji",
    "emojis",
    "cipher",
    "rot13",
    "encoded",
    "encrypted",
    "translated",
    "pieces",
    "parts",
    "halves",
];

/// Verbs that turn a value into another form: "encode my phone", "translate my address".
const FORM_VERBS: &[&str] = &[
    "spell",
    "encode",
    "encrypt",
    "decode",
    "reverse",
    "translate",
    "transliterate",
    "scramble",
    "obfuscate",
    "hyphenate",
    "capitalise",
    "capitalize",
    "uppercase",
    "lowercase",
    "mirror",
    "rot13",
    "abbreviate",
];

/// After a property, before a guessed value: "my phone *is still* …", "my address *starts
/// with* …", "you have my city *as* …".
const GUESS_CONNECTORS: &[&[&str]] = &[
    &["is"],
    &["are"],
    &["was"],
    &["is", "still"],
    &["still", "is"],
    &["are", "still"],
    &["should", "be"],
    &["would", "be"],
    &["as"],
    &["still", "as"],
    &["reads"],
    &["says"],
    &["ends", "in"],
    &["ends", "with"],
    &["starts", "with"],
    &["begins", "with"],
    &["end", "in"],
    &["end", "with"],
    &["start", "with"],
    &["begin", "with"],
    &["equals"],
    &["is", "listed", "as"],
    &["is", "saved", "as"],
    &["is", "set", "to"],
    &["on", "file", "is"],
    &["on", "file", "as"],
];

/// Words between a guessed value and the property it is a guess of: "is V *still my* phone?".
const GUESS_DETERMINERS: &[&str] = &["the", "my", "your", "our", "still", "actually", "really", "now"];

/// Verbs that ask to check a value: "can you confirm my city is Oslo", "…, can you check?".
const CHECK_VERBS: &[&str] = &["confirm", "confirming", "verify", "check", "doublecheck", "recheck"];

/// Words of a question tag: "…, right?", "…, isn't it?", "…, is that correct?", "…, can you check?".
const TAG_WORDS: &[&str] = &[
    "right", "correct", "yes", "no", "yeah", "yep", "true", "innit", "eh", "is", "are", "am", "was", "not",
    "it", "that", "this", "they", "i", "you", "can", "could", "would", "will", "please", "check", "confirm",
    "verify", "sure", "accurate", "so", "ok", "okay", "or",
];

/// The words that make a question tag ask for agreement: "right?", "isn't it?", "yes?".
const TAG_AGREEMENT: &[&str] = &[
    "right", "correct", "yes", "no", "yeah", "yep", "true", "innit", "eh", "not", "accurate", "sure", "ok",
    "okay",
];
