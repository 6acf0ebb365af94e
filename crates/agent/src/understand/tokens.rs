//! The tokenizer: words lowercased with contractions expanded and possessives marked, email addresses kept whole and validated, punctuation and emoji.

use std::borrow::Cow;

use super::fuzzy::{MIN_FUZZY_CHARS, tolerance, within_edits};
use super::stopwords::is_stopword;

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Letters and digits; `norm` is lowercased, hyphens removed.
    Word,
    /// A valid email address; `norm` is lowercased.
    Email,
    /// ASCII punctuation, a newline (`'\n'`) or a dash (`'—'`).
    Punct(char),
    /// Anything else that is not a space: emoji, symbols.
    Symbol(char),
}

/// One word, email address, punctuation mark or symbol of a message.
#[derive(Clone, Debug)]
pub(super) struct Tok {
    pub(super) kind: Kind,
    pub(super) norm: Cow<'static, str>,
    /// Byte range in the message; the parts of an expanded contraction share it.
    pub(super) start: usize,
    pub(super) end: usize,
    /// Followed by "'s" (or a lone "'" after an s): "wife's", "parents'".
    pub(super) possessive: bool,
    /// Typed with a capital first letter: a hint for names.
    pub(super) capital: bool,
}

impl Tok {
    /// The normalized word, or "" for anything but a word.
    #[inline]
    pub(super) fn word(&self) -> &str {
        if self.kind == Kind::Word { &self.norm } else { "" }
    }

    /// Whether this is the word `word`.
    #[inline]
    pub(super) fn is(&self, word: &str) -> bool {
        self.word() == word
    }

    /// Whether this is one of `words`.
    #[inline]
    pub(super) fn is_in(&self, words: &[&str]) -> bool {
        self.kind == Kind::Word && words.contains(&self.norm.as_ref())
    }

    /// Exactly `keyword`, or a misspelling of a keyword of six letters or
    /// more that keeps its first letter ("ingore", "represenative").
    #[inline]
    pub(super) fn like(&self, keyword: &str) -> bool {
        let word = self.word();
        if word == keyword {
            return true;
        }
        // Keywords are ASCII: a byte-length gap beyond the tolerance rules a
        // match out cheaply. Typos of a trigger word keep its first letter.
        keyword.len() >= 6
            && word.as_bytes().first() == keyword.as_bytes().first()
            && word.len() >= MIN_FUZZY_CHARS
            && word.len().abs_diff(keyword.len()) <= tolerance(keyword.len())
            && !is_stopword(word)
            && within_edits(word, keyword)
    }

    /// Whether this is [`Tok::like`] one of `keywords`.
    #[inline]
    pub(super) fn like_any(&self, keywords: &[&str]) -> bool {
        keywords.iter().any(|k| self.like(k))
    }

    /// Whether this is the punctuation mark `c`.
    #[inline]
    pub(super) fn is_punct(&self, c: char) -> bool {
        self.kind == Kind::Punct(c)
    }

    /// The emoji or symbol, if this is one.
    #[inline]
    pub(super) fn symbol(&self) -> Option<char> {
        match self.kind {
            Kind::Symbol(c) => Some(c),
            _ => None,
        }
    }
}

/// An apostrophe, typed in any of its forms.
pub(super) fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '‘' | '`' | '´')
}

/// A quotation mark, an apostrophe included.
pub(super) fn is_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '„' | '«' | '»' | '‹' | '›') || is_apostrophe(c)
}

/// A character of the emoji and symbol blocks.
pub(super) fn is_emoji(c: char) -> bool {
    matches!(u32::from(c), 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2300..=0x23FF)
}

/// Characters that only modify the emoji before them.
fn is_emoji_modifier(c: char) -> bool {
    matches!(u32::from(c), 0x200D | 0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF | 0x20E3)
}

/// Splits `text` into tokens.
pub(super) fn tokenize(text: &str) -> Vec<Tok> {
    let emails = find_emails(text);
    let mut tokens: Vec<Tok> = Vec::with_capacity(text.len() / 4 + 2);
    let mut emails = emails.into_iter().peekable();
    let mut at = 0;
    while at < text.len() {
        let next_email = emails.peek().copied();
        if let Some((start, end)) = next_email
            && start == at
        {
            emails.next();
            let mut email = Tok {
                kind: Kind::Email,
                norm: Cow::Owned(text[start..end].to_ascii_lowercase()),
                start,
                end,
                possessive: false,
                capital: false,
            };
            at = end;
            if let Some(after) = possessive_suffix(&text[end..]) {
                email.possessive = true;
                at += after;
            }
            tokens.push(email);
            continue;
        }
        let Some(c) = text[at..].chars().next() else { break };
        let limit = next_email.map_or(text.len(), |(start, _)| start);
        if c.is_alphanumeric() {
            let end = word_end(text, at, limit);
            push_word(&mut tokens, text, at, end);
            at = end;
            continue;
        }
        let next = at + c.len_utf8();
        match c {
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => {
                if !tokens.last().is_some_and(|t| t.is_punct('\n')) {
                    tokens.push(punct('\n', at, next));
                }
            }
            c if c.is_whitespace() => {}
            '…' | '。' => tokens.push(punct('.', at, next)),
            '？' => tokens.push(punct('?', at, next)),
            '！' => tokens.push(punct('!', at, next)),
            '，' => tokens.push(punct(',', at, next)),
            '—' | '–' => tokens.push(punct('—', at, next)),
            '→' => tokens.push(punct('>', at, next)),
            '&' => tokens.push(Tok {
                kind: Kind::Word,
                norm: Cow::Borrowed("and"),
                start: at,
                end: next,
                possessive: false,
                capital: false,
            }),
            c if is_apostrophe(c) => {
                // "parents'": a lone apostrophe right after a word ending in s.
                let after_word = tokens.last_mut().filter(|t| t.kind == Kind::Word && t.end == at);
                let before_gap = text[next..].chars().next().is_none_or(|n| !n.is_alphanumeric());
                if let Some(word) = after_word
                    && word.norm.ends_with('s')
                    && before_gap
                {
                    word.possessive = true;
                }
            }
            c if is_quote(c) || is_emoji_modifier(c) => {}
            c if c.is_ascii_punctuation() => tokens.push(punct(c, at, next)),
            c => tokens.push(Tok {
                kind: Kind::Symbol(c),
                norm: Cow::Borrowed(""),
                start: at,
                end: next,
                possessive: false,
                capital: false,
            }),
        }
        at = next;
    }
    tokens
}

/// A punctuation token.
fn punct(c: char, start: usize, end: usize) -> Tok {
    Tok { kind: Kind::Punct(c), norm: Cow::Borrowed(""), start, end, possessive: false, capital: false }
}

/// The length of a possessive "'s" at the start of `rest`, if there is one.
fn possessive_suffix(rest: &str) -> Option<usize> {
    let mut chars = rest.char_indices();
    let (_, apostrophe) = chars.next()?;
    let (_, s) = chars.next()?;
    if !is_apostrophe(apostrophe) || !matches!(s, 's' | 'S') {
        return None;
    }
    match chars.next() {
        Some((at, c)) if !c.is_alphanumeric() => Some(at),
        Some(_) => None,
        None => Some(rest.len()),
    }
}

/// Where the word starting at `start` ends: letters and digits, joined by an
/// apostrophe, a hyphen or an underscore, and by a dot between digits ("4.5").
fn word_end(text: &str, start: usize, limit: usize) -> usize {
    let mut end = start;
    let mut previous_digit = false;
    let mut chars = text[start..limit].char_indices().peekable();
    while let Some((offset, c)) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            end = start + offset + c.len_utf8();
            previous_digit = c.is_ascii_digit();
            continue;
        }
        let next = chars.peek().map(|&(_, n)| n);
        let joins = match c {
            '.' => previous_digit && next.is_some_and(|n| n.is_ascii_digit()),
            '-' => next.is_some_and(char::is_alphanumeric),
            c if is_apostrophe(c) => next.is_some_and(char::is_alphanumeric),
            _ => false,
        };
        if !joins {
            break;
        }
    }
    end
}

/// Pushes the word `text[start..end]`, expanding contractions.
fn push_word(tokens: &mut Vec<Tok>, text: &str, start: usize, end: usize) {
    let raw = &text[start..end];
    let capital = raw.chars().next().is_some_and(char::is_uppercase);
    let mut lower = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '-' => {}
            c if is_apostrophe(c) => lower.push('\''),
            c if c.is_ascii() => lower.push(c.to_ascii_lowercase()),
            c => lower.extend(c.to_lowercase()),
        }
    }
    let make = |norm: Cow<'static, str>, capital: bool| Tok {
        kind: Kind::Word,
        norm,
        start,
        end,
        possessive: false,
        capital,
    };
    if let Some(quote) = lower.rfind('\'') {
        let (base, suffix) = (&lower[..quote], &lower[quote + 1..]);
        let parts: Option<(&str, &'static str)> = match suffix {
            "s" if IS_CONTRACTIONS.contains(&base) => Some((base, "is")),
            "s" if base == "let" => Some((base, "us")),
            "s" => {
                let mut word = make(Cow::Owned(base.to_owned()), capital);
                word.possessive = true;
                tokens.push(word);
                return;
            }
            "t" => match base {
                "can" | "ca" => Some(("can", "not")),
                "won" => Some(("will", "not")),
                "shan" => Some(("shall", "not")),
                "ain" => Some(("is", "not")),
                b if b.len() > 1 && b.ends_with('n') => Some((&b[..b.len() - 1], "not")),
                _ => None,
            },
            "m" => Some((base, "am")),
            "re" => Some((base, "are")),
            "ve" => Some((base, "have")),
            "ll" => Some((base, "will")),
            "d" => Some((base, "would")),
            _ => None,
        };
        match parts {
            Some((first, second)) => {
                tokens.push(make(Cow::Owned(first.to_owned()), capital));
                tokens.push(make(Cow::Borrowed(second), false));
            }
            None => tokens.push(make(Cow::Owned(lower.replace('\'', "")), capital)),
        }
        return;
    }
    if let Some(&(_, parts)) = PLAIN_CONTRACTIONS.iter().find(|(typed, _)| *typed == lower) {
        for (i, part) in parts.iter().enumerate() {
            tokens.push(make(Cow::Borrowed(part), capital && i == 0));
        }
        return;
    }
    tokens.push(make(Cow::Owned(lower), capital));
}

/// Words whose "'s" means "is", not a possessive.
const IS_CONTRACTIONS: &[&str] = &[
    "what",
    "that",
    "it",
    "there",
    "here",
    "who",
    "where",
    "how",
    "he",
    "she",
    "when",
    "why",
    "this",
    "which",
    "everything",
    "everyone",
    "nothing",
    "something",
    "name",
];

/// Contractions typed without an apostrophe, and their parts.
const PLAIN_CONTRACTIONS: &[(&str, &[&str])] = &[
    ("whats", &["what", "is"]),
    ("thats", &["that", "is"]),
    ("hows", &["how", "is"]),
    ("wheres", &["where", "is"]),
    ("whos", &["who", "is"]),
    ("its", &["it", "is"]),
    ("im", &["i", "am"]),
    ("ive", &["i", "have"]),
    ("dont", &["do", "not"]),
    ("doesnt", &["does", "not"]),
    ("didnt", &["did", "not"]),
    ("isnt", &["is", "not"]),
    ("arent", &["are", "not"]),
    ("wasnt", &["was", "not"]),
    ("cant", &["can", "not"]),
    ("cannot", &["can", "not"]),
    ("couldnt", &["could", "not"]),
    ("wouldnt", &["would", "not"]),
    ("shouldnt", &["should", "not"]),
    ("havent", &["have", "not"]),
    ("youre", &["you", "are"]),
    ("u", &["you"]),
    ("ur", &["your"]),
    ("pls", &["please"]),
    ("plz", &["please"]),
    ("plse", &["please"]),
    ("thx", &["thanks"]),
    ("thnx", &["thanks"]),
    ("tnx", &["thanks"]),
    ("wanna", &["want", "to"]),
    ("gimme", &["give", "me"]),
    ("lemme", &["let", "me"]),
];

/// The byte ranges of valid email addresses in `text`: a local part, one `@`,
/// and a domain of at least two dot-separated labels ending in a letters-only
/// top-level domain. "foo@bar" and "a@b@c.com" are not addresses.
fn find_emails(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let is_local = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    let is_domain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-');
    let mut found = Vec::new();
    let mut taken = 0;
    for (at, _) in text.match_indices('@') {
        if at < taken {
            continue;
        }
        let mut start = at;
        while start > taken && bytes.get(start - 1).copied().is_some_and(is_local) {
            start -= 1;
        }
        if start > 0 && bytes.get(start - 1) == Some(&b'@') {
            continue;
        }
        while start < at && bytes.get(start) == Some(&b'.') {
            start += 1;
        }
        let mut end = at + 1;
        while bytes.get(end).copied().is_some_and(is_domain) {
            end += 1;
        }
        if bytes.get(end) == Some(&b'@') {
            continue;
        }
        while end > at + 1 && matches!(bytes.get(end - 1), Some(b'.' | b'-')) {
            end -= 1;
        }
        if start == at || at - start > 64 || !is_domain_name(&text[at + 1..end]) {
            continue;
        }
        found.push((start, end));
        taken = end;
    }
    found
}

/// Whether `domain` is at least two dot-separated labels ending in a letters-only top-level domain.
fn is_domain_name(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-');
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_one_at_and_a_dotted_domain() {
        fn found(text: &str) -> Vec<&str> {
            find_emails(text).into_iter().map(|(s, e)| &text[s..e]).collect()
        }
        assert_eq!(found("mail ada@x.com."), ["ada@x.com"]);
        assert_eq!(found("<Ada.Lovelace+x@sub.example.co.uk>"), ["Ada.Lovelace+x@sub.example.co.uk"]);
        assert!(found("foo@bar").is_empty());
        assert!(found("a@b@c.com").is_empty());
        assert!(found("@x.com").is_empty());
        assert!(found("ada@x.c0m").is_empty());
        assert_eq!(found("a@x.com,b@y.org"), ["a@x.com", "b@y.org"]);
    }

    #[test]
    fn contractions_and_possessives() {
        let words = |text: &str| -> Vec<(String, bool)> {
            tokenize(text)
                .into_iter()
                .filter(|t| t.kind == Kind::Word)
                .map(|t| (t.norm.into_owned(), t.possessive))
                .collect()
        };
        let plain =
            |ws: &[&str]| -> Vec<(String, bool)> { ws.iter().map(|w| ((*w).to_owned(), false)).collect() };
        assert_eq!(
            words("What’s my wife's"),
            [plain(&["what", "is", "my"]), vec![("wife".to_owned(), true)]].concat()
        );
        assert_eq!(words("don't I'm can't"), plain(&["do", "not", "i", "am", "can", "not"]));
        assert_eq!(
            words("my parents' e-mail"),
            vec![("my".into(), false), ("parents".into(), true), ("email".into(), false)]
        );
        assert_eq!(words("4.5 x"), plain(&["4.5", "x"]));
    }
}
