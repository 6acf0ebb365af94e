//! Cutting a value from the text as typed: up to an obvious end, without trailing chatter or surrounding quotes.

use std::ops::Range;

use super::lexicon::CONJUNCTIONS;
use super::tokens::{is_apostrophe, is_emoji, is_quote};

/// The value typed after byte `from`, with the byte range it occupies: up to
/// the end of the sentence, without trailing chatter ("please", "thanks", ",
/// and what's…"), surrounding quotes or a final period. `None` when nothing
/// with a letter or digit is left.
pub(super) fn extract_value(text: &str, from: usize) -> Option<(String, Range<usize>)> {
    let rest = text.get(from..)?;
    let lead =
        rest.len() - rest.trim_start_matches(|c: char| c.is_whitespace() || c == ':' || c == '=').len();
    let start = from + lead;
    let rest = &text[start..];

    // A quoted value runs to its closing quote.
    if let Some(open) = rest.chars().next()
        && is_quote(open)
    {
        let body = &rest[open.len_utf8()..];
        let closes = |c: char| is_quote(c) && c != '\'' || c == '\'' && open == '\'';
        let close =
            body.char_indices().take_while(|&(at, _)| at < MAX_QUOTED_BYTES).find(|&(_, c)| closes(c));
        if let Some((close, _)) = close {
            let inner = body[..close].trim();
            if inner.chars().any(char::is_alphanumeric) {
                let offset =
                    start + open.len_utf8() + (body[..close].len() - body[..close].trim_start().len());
                return Some((inner.to_owned(), offset..offset + inner.len()));
            }
        }
    }

    let mut value = rest[..value_extent(rest)].trim_end();
    loop {
        let trimmed = value.trim_end_matches([',', ';', ':', '-', '(', '/']).trim_end();
        let trimmed = trim_trailing_chatter(trimmed);
        let trimmed = match trimmed.strip_suffix('.') {
            Some(without) if !ends_with_abbreviation(without) => without.trim_end(),
            _ => trimmed,
        };
        if trimmed.len() == value.len() {
            break;
        }
        value = trimmed;
    }
    let value = strip_quotes(value);
    let only_chatter = CHATTER.iter().any(|c| value.eq_ignore_ascii_case(c));
    if only_chatter || !value.chars().any(char::is_alphanumeric) {
        return None;
    }
    // `value` is a slice of `text`: its offset is the distance between the two.
    let offset = (value.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    Some((value.to_owned(), offset..offset + value.len()))
}

/// Where a value starting at `rest` ends: at a newline, ? ! ; a dash or an
/// emoji; at a period that ends a sentence (not the one in "x.com", "4.5" or
/// "St."); at a word that only softens the request ("please", "thanks"); or
/// at a comma or conjunction followed by a new request (", and what's…").
///
/// One pass that stops at the first end, so reading every value of a long
/// message costs no more than reading the message.
fn value_extent(rest: &str) -> usize {
    let mut seen_value = false;
    let mut previous: Option<char> = None;
    let mut chars = rest.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        match c {
            '\n' | '\r' | '?' | '!' | ';' | '—' | '–' | '？' | '！' | '。' | '…' => return at,
            c if is_emoji(c) => return at,
            '.' => match next {
                None => return if ends_with_abbreviation(&rest[..at]) { at + 1 } else { at },
                Some('.') => return at,
                Some(n) if n.is_whitespace() && !ends_with_abbreviation(&rest[..at]) => return at,
                Some(_) => {}
            },
            _ => {}
        }
        let word_start = c.is_alphanumeric() && !previous.is_some_and(char::is_alphanumeric);
        if seen_value {
            if word_start && CHATTER.iter().any(|phrase| starts_with_words(&rest[at..], phrase)) {
                return at;
            }
            let separator = match c {
                ',' | '&' => Some(c.len_utf8()),
                _ if word_start => {
                    CONJUNCTIONS.iter().find(|w| starts_with_words(&rest[at..], w)).map(|w| w.len())
                }
                _ => None,
            };
            if let Some(len) = separator
                && next_word_starts_request(&rest[at + len..])
            {
                return at;
            }
        }
        seen_value |= c.is_alphanumeric();
        previous = Some(c);
    }
    rest.len()
}

/// Whether `text` starts with the ASCII `phrase`, in any case, as whole words.
fn starts_with_words(text: &str, phrase: &str) -> bool {
    text.as_bytes().get(..phrase.len()).is_some_and(|start| start.eq_ignore_ascii_case(phrase.as_bytes()))
        // The matched bytes are ASCII, so `phrase.len()` is a character boundary.
        && !text.get(phrase.len()..).and_then(|after| after.chars().next()).is_some_and(char::is_alphanumeric)
}

/// Whether the next word of `text` starts a new request: "what", "can", "thanks"…
fn next_word_starts_request(text: &str) -> bool {
    let word: String = text
        .trim_start_matches(|c: char| c.is_whitespace() || c == ',')
        .chars()
        .take_while(|&c| c.is_alphanumeric() || is_apostrophe(c))
        .take(12)
        .map(|c| if is_apostrophe(c) { '\'' } else { c.to_ascii_lowercase() })
        .collect();
    VALUE_ENDERS.contains(&word.as_str())
}

/// Whether `text` ends with an abbreviation that takes a period ("St", "Apt").
fn ends_with_abbreviation(text: &str) -> bool {
    let word: String = text
        .chars()
        .rev()
        .take_while(|c| c.is_alphabetic())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .flat_map(char::to_lowercase)
        .collect();
    ABBREVIATIONS.contains(&word.as_str())
}

/// `text` without trailing words that only soften a request ("now", "instead").
fn trim_trailing_chatter(text: &str) -> &str {
    let mut text = text.trim_end();
    loop {
        let Some(space) = text.rfind(char::is_whitespace) else { return text };
        let last = text[space..].trim().to_ascii_lowercase();
        if [
            "now", "instead", "too", "again", "already", "ok", "okay", "please", "thanks", "thx", "ty",
            "asap",
        ]
        .contains(&last.as_str())
        {
            text = text[..space].trim_end();
        } else {
            return text;
        }
    }
}

/// `value` without a pair of quotes around it.
fn strip_quotes(value: &str) -> &str {
    let mut chars = value.chars();
    match (chars.next(), chars.next_back()) {
        (Some(first), Some(last)) if is_quote(first) && is_quote(last) && value.len() > first.len_utf8() => {
            value[first.len_utf8()..value.len() - last.len_utf8()].trim()
        }
        _ => value,
    }
}

/// How far a quoted value may run looking for its closing quote; an
/// unclosed quote is read like an unquoted value.
const MAX_QUOTED_BYTES: usize = 1000;

/// Abbreviations whose period does not end a value: "St. Mary's Road".
const ABBREVIATIONS: &[&str] = &[
    "st", "rd", "ave", "av", "apt", "no", "nr", "dr", "mt", "ft", "ln", "blvd", "ste", "bldg", "fl", "co",
    "inc", "ltd", "jr", "sr", "mr", "mrs", "ms", "prof", "hwy", "pl", "sq", "ct", "cres", "gdns", "pk", "vs",
    "etc", "po", "bros",
];

/// Words that end a value wherever they stand: "+44 7700 900123 please".
const CHATTER: &[&str] = &[
    "please",
    "pls",
    "plz",
    "thanks",
    "thank you",
    "thankyou",
    "thank u",
    "thx",
    "ty",
    "tysm",
    "cheers",
    "asap",
    "if possible",
    "if you can",
    "if you could",
    "for me",
    "right away",
    "straight away",
    "when you can",
    "when possible",
    "as soon as possible",
    "thnx",
];

/// Words that start a new request after a comma or a conjunction inside a value.
const VALUE_ENDERS: &[&str] = &[
    "what", "whats", "what's", "which", "how", "hows", "how's", "when", "where", "who", "why", "can",
    "could", "would", "will", "may", "do", "does", "did", "is", "are", "also", "and", "please", "pls", "plz",
    "thanks", "thank", "thx", "ty", "cheers", "tell", "show", "give", "send", "change", "update", "set",
    "yes", "no", "ok", "okay", "i", "im", "i'm", "i'd", "i'll", "my", "let", "btw", "oh", "hi", "hello",
    "you", "your", "that's", "thats", "it's", "its", "then", "but", "so",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stop_at_an_obvious_end() {
        let value = |text: &str| extract_value(text, 0).map(|(v, _)| v);
        assert_eq!(value(" +44 7700 900123 please").as_deref(), Some("+44 7700 900123"));
        assert_eq!(value(" 12 Kestrel Row, Flat 4B").as_deref(), Some("12 Kestrel Row, Flat 4B"));
        assert_eq!(value(" 12 Kestrel Row, Flat 4B. Thanks!").as_deref(), Some("12 Kestrel Row, Flat 4B"));
        assert_eq!(value(" Oslo.").as_deref(), Some("Oslo"));
        assert_eq!(value(" new@x.com").as_deref(), Some("new@x.com"));
        assert_eq!(value(" \"5 Elm St.\" thanks").as_deref(), Some("5 Elm St."));
        assert_eq!(value(" 1 St. Mary's Road, and what's my plan?").as_deref(), Some("1 St. Mary's Road"));
        assert_eq!(value(": Norwegian instead").as_deref(), Some("Norwegian"));
        assert_eq!(value(" ...").as_deref(), None);
        assert_eq!(value(" please").as_deref(), None);
    }
}
