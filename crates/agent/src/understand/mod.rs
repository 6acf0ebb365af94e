//! Understanding customer text deterministically: one message in, the [`Intent`]s the agent acts on out, with no language model.
//!
//! [`Understander::new`] builds a phrase table once from the labels and
//! synonyms of the configured properties; [`Understander::understand`] then
//! reads each message with a hand-written tokenizer and a few tables of trigger
//! words. Nothing is compiled per message, and nothing here decides access: an
//! intent only says what the customer asked for, and the policy decides what
//! the agent may do about it.
//!
//! How a message is read:
//!
//! 1. **Tokens.** Words are lowercased, contractions expanded ("what's" →
//!    "what is", "don't" → "do not"), possessives marked ("wife's"), and email
//!    addresses kept whole and validated (one `@`, a dot in the domain).
//! 2. **Properties.** Every label and synonym is matched as whole words, the
//!    longest phrase first ("billing address" beats "address"), forgiving a
//!    small misspelling per word: Damerau-Levenshtein distance 1 for words of
//!    4–7 letters, 2 for longer ones, none for shorter words or for common
//!    English words ("down" is never "town").
//! 3. **Updates.** "change my X to Y", "my new X is Y", "X should be Y": the
//!    value is cut from the text as typed, up to an obvious end (a sentence
//!    end, "please", "thanks", ", and what's…").
//! 4. **Whose data.** Each property mention and each email address is
//!    attributed to the customer ("my", "I'm", a bare address) or to someone
//!    else ("of bob@x.org", "my wife's", "Maren Solberg's", "for my mother").
//! 5. **Clauses.** The rest is split at sentence ends, commas and
//!    conjunctions, and each clause is read for yes or no, a request for a
//!    human, a returning customer, small talk and questions. Attempts to
//!    override the agent are looked for in the whole message.
//!
//! # Example
//!
//! ```
//! use leakproof_agent::understand::{Intent, Understander};
//! use leakproof_config::{from_yaml_str, ObjectType};
//! use leakproof_policy::Policy;
//!
//! let config = from_yaml_str("agent.yaml", r#"
//! agent: { name: Ava }
//! properties:
//!   - { object: contact, property: phone, label: phone number, synonyms: [phone],
//!       view: { enabled: true, protection: verify_email } }
//! "#)?;
//! let policy = Policy::compile(&config)?;
//! let phone = policy.property(ObjectType::Contact, "phone").unwrap();
//! let understander = Understander::new(&policy);
//!
//! assert_eq!(
//!     understander.understand("My email is ADA@example.com. What's my phne numbr?"),
//!     [Intent::ProvideEmail { email: "ada@example.com".into() }, Intent::AskProperty { property: phone }],
//! );
//! assert_eq!(
//!     understander.understand("what's my wife's phone?"),
//!     [Intent::AskAboutOther { property: Some(phone), email: None }],
//! );
//! # Ok::<(), leakproof_config::ConfigError>(())
//! ```

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use leakproof_config::ObjectType;
use leakproof_policy::{Policy, PropertyId};

/// What the customer wants, as far as one message says.
///
/// [`Understander::understand`] returns these in the order the agent should
/// handle them: an [`Intent::Injection`] first, then a yes or no, then the
/// customer's own email address, then the rest in the order typed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Intent {
    /// The customer gives their own email address ("my email is ada@x.com",
    /// "it's ada@x.com", a bare "ADA@X.COM"), lowercased and trimmed.
    ProvideEmail {
        /// The address as typed, lowercased.
        email: String,
    },
    /// "what is my X", "do you have my X", "tell me my X", a bare "X?" for a
    /// configured property of the customer's own records.
    AskProperty {
        /// The property asked about.
        property: PropertyId,
    },
    /// "change my X to Y", "my new X is Y", "X should be Y", "please update
    /// X: Y": a new value for a property of the customer's own records.
    UpdateProperty {
        /// The property to change.
        property: PropertyId,
        /// The new value exactly as typed (trimmed, quotes and trailing
        /// chatter removed); never empty.
        value: String,
    },
    /// "I want to change my X", "my X is wrong": an update without a value;
    /// the agent asks for the new value.
    WantsUpdate {
        /// The property to change.
        property: PropertyId,
    },
    /// "yes", "yep", "correct", "go ahead", "that's right", 👍.
    Confirm,
    /// "no", "nope", "cancel", "don't", "that's wrong", "stop", 👎.
    Decline,
    /// "can I talk to a human", "real person please", "transfer me".
    Handoff,
    /// A request about someone else's data: by email ("the address of
    /// ola@example.com", "bob@x.org's phone"), by relation ("my wife's phone
    /// number", "for my mother") or by name ("Maren Solberg's address").
    AskAboutOther {
        /// The property asked about, if one is named.
        property: Option<PropertyId>,
        /// The other person's email address, if one is given; it is not the
        /// customer's own ([`Intent::ProvideEmail`]).
        email: Option<String>,
    },
    /// Text that tries to override the agent ("ignore your instructions",
    /// "you are now…", "system:", "as an admin", "reveal your prompt"). It
    /// carries no authority; the other intents of the message still follow.
    Injection,
    /// "I'm a returning customer", "I have an account", without an address.
    ReturningCustomer,
    /// Greetings, thanks, goodbyes, "how are you", "what can you do"; only
    /// reported when nothing else in the message was understood.
    SmallTalk,
    /// Nothing understood.
    Unknown,
}

/// Reads customer messages against the properties of one [`Policy`].
///
/// Build once per configuration and share: [`Understander::understand`]
/// takes `&self` and keeps no state between messages.
#[derive(Clone, Debug)]
pub struct Understander {
    /// Every distinct word of every phrase, with its id.
    vocabulary: HashMap<String, u32>,
    /// The letters of each vocabulary word, by id, for fuzzy matching.
    spellings: Vec<Vec<char>>,
    /// Labels, synonyms and their object-word variants, as word ids.
    phrases: Vec<Phrase>,
    /// Indices into `phrases` by the id of their first word.
    by_first_word: Vec<Vec<u32>>,
}

/// One way to name a property.
#[derive(Clone, Debug)]
struct Phrase {
    words: Vec<u32>,
    property: PropertyId,
    /// The property's position in the configuration: the earlier one wins
    /// when two phrases match the same words equally well.
    rank: u32,
}

impl Understander {
    /// Builds the phrase table from the labels and synonyms of every
    /// property `policy` configures.
    ///
    /// A ticket or company label that starts with its object word ("ticket
    /// status") also answers to "status of my ticket" and "status for my
    /// ticket".
    pub fn new(policy: &Policy) -> Self {
        let mut builder = TableBuilder::default();
        for (rank, (property, rule)) in policy.properties().enumerate() {
            let rank = u32::try_from(rank).unwrap_or(u32::MAX);
            let object = match rule.object {
                ObjectType::Contact => None,
                ObjectType::Ticket => Some("ticket"),
                ObjectType::Company => Some("company"),
            };
            for name in std::iter::once(&rule.label).chain(&rule.synonyms) {
                let words: Vec<String> = tokenize(name)
                    .into_iter()
                    .filter(|t| t.kind == Kind::Word)
                    .map(|t| t.norm.into_owned())
                    .collect();
                builder.add(&words, property, rank);
                if let (Some(object), [first, rest @ ..]) = (object, words.as_slice())
                    && first == object
                    && !rest.is_empty()
                {
                    for link in [["of", "my"], ["of", "the"], ["for", "my"], ["on", "my"]] {
                        let variant: Vec<String> = rest
                            .iter()
                            .cloned()
                            .chain(link.map(str::to_owned))
                            .chain([object.to_owned()])
                            .collect();
                        builder.add(&variant, property, rank);
                    }
                }
            }
        }
        builder.finish()
    }

    /// Reads one message: the intents it carries, in the order the agent
    /// should handle them, identical ones once; never empty
    /// ([`Intent::Unknown`] when nothing is understood).
    pub fn understand(&self, text: &str) -> Vec<Intent> {
        let tokens = tokenize(text);
        let mentions = self.mentions(&tokens);
        let mut reader = Reader::new(text, &tokens, mentions);
        reader.read();
        reader.finish()
    }

    /// The vocabulary words `token` may stand for, with their distance.
    fn candidates(&self, token: &Tok) -> Candidates {
        let mut found = Candidates::default();
        if token.kind != Kind::Word {
            return found;
        }
        if let Some(&id) = self.vocabulary.get(token.norm.as_ref()) {
            found.push(id, 0);
            return found;
        }
        let mut letters = ['\0'; MAX_FUZZY_CHARS + 2];
        let Some(word) = fill(&mut letters, &token.norm) else { return found };
        if word.len() < MIN_FUZZY_CHARS || is_stopword(&token.norm) || word.iter().all(char::is_ascii_digit) {
            return found;
        }
        for (id, spelling) in self.spellings.iter().enumerate() {
            let max = tolerance(spelling.len());
            if max == 0 {
                continue;
            }
            if let Some(distance) = osa_distance_within(word, spelling, max) {
                found.push(u32::try_from(id).unwrap_or(u32::MAX), u8::try_from(distance).unwrap_or(u8::MAX));
            }
        }
        found
    }

    /// Every property named in `tokens`, left to right, longest match first.
    fn mentions(&self, tokens: &[Tok]) -> Vec<Mention> {
        let candidates: Vec<Candidates> = tokens.iter().map(|t| self.candidates(t)).collect();
        let mut found = Vec::new();
        let mut start = 0;
        while start < tokens.len() {
            // (words, total distance, rank, property)
            let mut best: Option<(usize, u32, u32, PropertyId)> = None;
            for &(first, first_distance) in candidates[start].as_slice() {
                let Some(phrases) = self.by_first_word.get(first as usize) else { continue };
                for &index in phrases {
                    let Some(phrase) = self.phrases.get(index as usize) else { continue };
                    let len = phrase.words.len();
                    let Some(following) = candidates.get(start + 1..start + len) else { continue };
                    let mut distance = u32::from(first_distance);
                    let mut matched = true;
                    for (word, candidates) in phrase.words[1..].iter().zip(following) {
                        match candidates.distance_to(*word) {
                            Some(d) => distance += u32::from(d),
                            None => {
                                matched = false;
                                break;
                            }
                        }
                    }
                    let better = match best {
                        None => true,
                        Some((best_len, best_distance, best_rank, _)) => {
                            (len, std::cmp::Reverse(distance), std::cmp::Reverse(phrase.rank))
                                > (best_len, std::cmp::Reverse(best_distance), std::cmp::Reverse(best_rank))
                        }
                    };
                    if matched && better {
                        best = Some((len, distance, phrase.rank, phrase.property));
                    }
                }
            }
            match best {
                Some((len, _, _, property)) => {
                    found.push(Mention { start, end: start + len, property });
                    start += len;
                }
                None => start += 1,
            }
        }
        found
    }
}

/// Collects phrases while the table is built.
#[derive(Default)]
struct TableBuilder {
    vocabulary: HashMap<String, u32>,
    spellings: Vec<Vec<char>>,
    phrases: Vec<Phrase>,
    seen: HashSet<Vec<u32>>,
}

impl TableBuilder {
    fn add(&mut self, words: &[String], property: PropertyId, rank: u32) {
        if words.is_empty() {
            return;
        }
        let ids: Vec<u32> = words.iter().map(|w| self.intern(w)).collect();
        // The first property to use a phrase keeps it.
        if self.seen.insert(ids.clone()) {
            self.phrases.push(Phrase { words: ids, property, rank });
        }
    }

    fn intern(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.vocabulary.get(word) {
            return id;
        }
        let id = u32::try_from(self.spellings.len()).unwrap_or(u32::MAX);
        let letters: Vec<char> = word.chars().collect();
        // Too long to misspell within the fixed buffers: matched exactly only.
        self.spellings.push(if letters.len() > MAX_FUZZY_CHARS { Vec::new() } else { letters });
        self.vocabulary.insert(word.to_owned(), id);
        id
    }

    fn finish(mut self) -> Understander {
        self.phrases.sort_by(|a, b| b.words.len().cmp(&a.words.len()).then(a.rank.cmp(&b.rank)));
        let mut by_first_word = vec![Vec::new(); self.spellings.len()];
        for (index, phrase) in self.phrases.iter().enumerate() {
            if let Some(list) = phrase.words.first().and_then(|&w| by_first_word.get_mut(w as usize)) {
                list.push(u32::try_from(index).unwrap_or(u32::MAX));
            }
        }
        Understander {
            vocabulary: self.vocabulary,
            spellings: self.spellings,
            phrases: self.phrases,
            by_first_word,
        }
    }
}

/// The shortest word ever matched with a misspelling: shorter words are too
/// easily another word ("tie", "ad").
const MIN_FUZZY_CHARS: usize = 4;

/// The longest word matched with a misspelling; longer words (pasted
/// identifiers, URLs) only match exactly, which keeps the distance buffers on
/// the stack.
const MAX_FUZZY_CHARS: usize = 64;

/// How many edits a vocabulary word of `len` letters forgives: 1 for 4–7
/// letters, 2 for 8 and more, none below 4.
const fn tolerance(len: usize) -> usize {
    match len {
        0..MIN_FUZZY_CHARS => 0,
        MIN_FUZZY_CHARS..8 => 1,
        8..=MAX_FUZZY_CHARS => 2,
        _ => 0,
    }
}

/// The optimal-string-alignment (restricted Damerau-Levenshtein) distance
/// between `a` and `b`, if it is at most `max`: insertions, deletions,
/// substitutions and swaps of two adjacent letters each cost one.
fn osa_distance_within(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max || b.len() > MAX_FUZZY_CHARS {
        return None;
    }
    const ROW: usize = MAX_FUZZY_CHARS + 1;
    let (mut rows_a, mut rows_b, mut rows_c) = ([0usize; ROW], [0usize; ROW], [0usize; ROW]);
    // Two rows back (for swaps), the previous row, and the row being filled.
    let (mut before, mut previous, mut current) = (&mut rows_a, &mut rows_b, &mut rows_c);
    for (j, cell) in previous.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for (i, &ca) in a.iter().enumerate() {
        current[0] = i + 1;
        let mut row_min = current[0];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            let mut cell = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
            if i > 0 && j > 0 && a[i - 1] == cb && ca == b[j - 1] {
                cell = cell.min(before[j - 1] + 1);
            }
            current[j + 1] = cell;
            row_min = row_min.min(cell);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    let distance = previous[b.len()];
    (distance <= max).then_some(distance)
}

/// Whether `word` is within the tolerance of `keyword`'s length of it.
fn within_edits(word: &str, keyword: &str) -> bool {
    let mut word_chars = ['\0'; MAX_FUZZY_CHARS + 2];
    let mut keyword_chars = ['\0'; MAX_FUZZY_CHARS];
    let (Some(a), Some(b)) = (fill(&mut word_chars, word), fill(&mut keyword_chars, keyword)) else {
        return false;
    };
    osa_distance_within(a, b, tolerance(b.len())).is_some()
}

/// `text`'s characters in `buffer`, if they fit.
fn fill<'b>(buffer: &'b mut [char], text: &str) -> Option<&'b [char]> {
    let mut len = 0;
    for c in text.chars() {
        *buffer.get_mut(len)? = c;
        len += 1;
    }
    buffer.get(..len)
}

/// Up to four vocabulary words a token may stand for, with their distance.
#[derive(Clone, Copy, Default)]
struct Candidates {
    ids: [(u32, u8); 4],
    len: usize,
}

impl Candidates {
    fn push(&mut self, id: u32, distance: u8) {
        if let Some(slot) = self.ids.get_mut(self.len) {
            *slot = (id, distance);
            self.len += 1;
        } else if let Some(worst) = self.ids.iter_mut().max_by_key(|(_, d)| *d)
            && worst.1 > distance
        {
            *worst = (id, distance);
        }
    }

    fn as_slice(&self) -> &[(u32, u8)] {
        &self.ids[..self.len]
    }

    fn distance_to(&self, id: u32) -> Option<u8> {
        self.as_slice().iter().find(|(candidate, _)| *candidate == id).map(|(_, d)| *d)
    }
}

/// A property named in the message: tokens `start..end`.
#[derive(Clone, Copy, Debug)]
struct Mention {
    start: usize,
    end: usize,
    property: PropertyId,
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Letters and digits; `norm` is lowercased, hyphens removed.
    Word,
    /// A valid email address; `norm` is lowercased.
    Email,
    /// ASCII punctuation, a newline (`'\n'`) or a dash (`'—'`).
    Punct(char),
    /// Anything else that is not a space: emoji, symbols.
    Symbol(char),
}

#[derive(Clone, Debug)]
struct Tok {
    kind: Kind,
    norm: Cow<'static, str>,
    /// Byte range in the message; the parts of an expanded contraction share it.
    start: usize,
    end: usize,
    /// Followed by "'s" (or a lone "'" after an s): "wife's", "parents'".
    possessive: bool,
    /// Typed with a capital first letter: a hint for names.
    capital: bool,
}

impl Tok {
    fn word(&self) -> &str {
        if self.kind == Kind::Word { &self.norm } else { "" }
    }

    fn is(&self, word: &str) -> bool {
        self.word() == word
    }

    fn is_in(&self, words: &[&str]) -> bool {
        self.kind == Kind::Word && words.contains(&self.norm.as_ref())
    }

    /// Exactly `keyword`, or a misspelling of a keyword of six letters or
    /// more that keeps its first letter ("ingore", "represenative").
    fn like(&self, keyword: &str) -> bool {
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

    fn like_any(&self, keywords: &[&str]) -> bool {
        keywords.iter().any(|k| self.like(k))
    }

    fn is_punct(&self, c: char) -> bool {
        self.kind == Kind::Punct(c)
    }

    fn symbol(&self) -> Option<char> {
        match self.kind {
            Kind::Symbol(c) => Some(c),
            _ => None,
        }
    }
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '‘' | '`' | '´')
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '„' | '«' | '»' | '‹' | '›') || is_apostrophe(c)
}

fn is_emoji(c: char) -> bool {
    matches!(u32::from(c), 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2300..=0x23FF)
}

/// Characters that only modify the emoji before them.
fn is_emoji_modifier(c: char) -> bool {
    matches!(u32::from(c), 0x200D | 0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF | 0x20E3)
}

/// Splits `text` into tokens.
fn tokenize(text: &str) -> Vec<Tok> {
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

fn is_domain_name(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-');
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

// ---------------------------------------------------------------------------
// Reading a message
// ---------------------------------------------------------------------------

/// Whose record a mention or an email is about.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Whose {
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

/// Whether someone else is the subject of a sentence.
#[derive(Clone, Debug, Default)]
struct Context {
    /// The first email address in the sentence that belongs to someone else.
    email: Option<String>,
    /// Where the sentence clearly names someone else ("my wife's", "for my
    /// mother", "someone else", another person's email).
    strong: Option<usize>,
    /// The sentence mentions someone else in passing ("my wife wants…").
    weak: bool,
}

impl Context {
    fn any(&self) -> bool {
        self.email.is_some() || self.strong.is_some() || self.weak
    }
}

/// One intent found, with what orders it.
struct Found {
    rank: u8,
    position: usize,
    intent: Intent,
    /// An "ok" or "sure": dropped when the message asks for something else.
    weak: bool,
}

/// The state of reading one message.
struct Reader<'a> {
    text: &'a str,
    tokens: &'a [Tok],
    mentions: Vec<Mention>,
    /// The mention each token belongs to.
    mention_of: Vec<Option<usize>>,
    whose: Vec<Whose>,
    /// By mention: whether the customer probes its value (a guess to confirm, a part, another
    /// form): a question about the property, never an update.
    probes: Vec<bool>,
    /// Mentions already turned into an intent.
    handled: Vec<bool>,
    /// Tokens inside an update's value: never read again.
    consumed: Vec<bool>,
    sentence_of: Vec<usize>,
    sentences: Vec<Range<usize>>,
    clause_of: Vec<usize>,
    /// By clause: whether it asks (a "?", or a question word first).
    question_clauses: Vec<bool>,
    contexts: Vec<Context>,
    /// Emails of someone else, by token.
    other_emails: Vec<usize>,
    found: Vec<Found>,
}

/// The order the agent handles intents in: an override attempt first, so the
/// agent says it carries no authority before anything else; then a yes or no,
/// which answers the agent's last question; then the customer's own address,
/// so questions in the same message are asked with the identity it gives;
/// then everything else in the order typed.
const RANK_INJECTION: u8 = 0;
const RANK_ANSWER: u8 = 1;
const RANK_EMAIL: u8 = 2;
const RANK_REST: u8 = 3;

impl<'a> Reader<'a> {
    fn new(text: &'a str, tokens: &'a [Tok], mentions: Vec<Mention>) -> Self {
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

    fn push(&mut self, rank: u8, position: usize, intent: Intent) {
        self.found.push(Found { rank, position, intent, weak: false });
    }

    fn tok(&self, index: usize) -> Option<&'a Tok> {
        self.tokens.get(index)
    }

    fn is_mention_start(&self, index: usize) -> bool {
        self.mention_of
            .get(index)
            .copied()
            .flatten()
            .and_then(|m| self.mentions.get(m))
            .is_some_and(|m| m.start == index)
    }

    /// The indices of the mentions that start in `range` (mentions are in order).
    fn mentions_in(&self, range: &Range<usize>) -> Range<usize> {
        let first = self.mentions.partition_point(|m| m.start < range.start);
        let end = self.mentions.partition_point(|m| m.start < range.end);
        first..end.max(first)
    }

    fn sentence_range(&self, index: usize) -> Range<usize> {
        self.sentence_of
            .get(index)
            .and_then(|&s| self.sentences.get(s))
            .cloned()
            .unwrap_or(0..self.tokens.len())
    }

    fn read(&mut self) {
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

    /// Whose record mention `index` is about, from the words before and after it.
    fn whose_mention(&self, index: usize) -> Whose {
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

    // -- probes -------------------------------------------------------------

    /// Finds the mentions whose value the customer probes rather than changes: a guess to
    /// confirm ("is my phone +44…?", "my city is Oslo, right?", "can you confirm my X is Y"),
    /// a part ("the last four digits of my phone", "the first line of my address") or another
    /// form ("spell out my address", "my phone in words", "my city backwards"). Each is a
    /// question about the property, so it is never read as an update; a guessed value and a
    /// question tag ("…, isn't it?") are consumed so nothing in them is read as another request.
    fn read_probes(&mut self) {
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
    fn question_tag(&self, sentence: &Range<usize>) -> Option<usize> {
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

    // -- updates ------------------------------------------------------------

    /// Looks for an update of mention `index`: a value, or the wish to change it.
    fn read_update(&mut self, index: usize) {
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

    /// Marks the tokens inside a value's byte range as read.
    fn consume(&mut self, span: Range<usize>) {
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

    /// Whether one of `words` stands right before `start`, after determiners.
    fn adjective_before(&self, start: usize, words: &[&str]) -> bool {
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
    fn connector_end(&self, at: usize, connectors: &[&[&str]], punctuation: bool) -> Option<usize> {
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
    fn read_pronoun_updates(&mut self) {
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

    // -- emails -------------------------------------------------------------

    fn read_emails(&mut self) {
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
                    let mine = lookback.iter().any(|t| t.is_in(&["me", "us", "im", "i'm", "i", "we"]));
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
                "at" => {
                    let before = index.checked_sub(1).and_then(|i| self.tokens.get(i));
                    let mine = before.is_some_and(|t| t.is_in(&["me", "us", "im", "i'm"]));
                    return Some(if mine { Whose::Mine } else { Whose::Other(None) });
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

    // -- someone else ---------------------------------------------------------

    fn read_contexts(&mut self) {
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

    fn context_of(&self, at: usize) -> Context {
        self.sentence_of.get(at).and_then(|&s| self.contexts.get(s)).cloned().unwrap_or_default()
    }

    /// Someone else is the subject, but no property was named: "for my
    /// mother", "what do you have on ola@example.com".
    fn read_others_without_property(&mut self) {
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
                self.found.push(Found { rank: RANK_REST, position, intent, weak: false });
            }
        }
    }

    // -- clauses --------------------------------------------------------------

    /// Runs of tokens in one clause, split again where an update's value was cut out.
    fn segments(&self) -> Vec<Range<usize>> {
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

    fn read_segment(&mut self, segment: Range<usize>) {
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
            self.found.push(Found { rank: RANK_ANSWER, position, intent, weak });
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

    /// A yes or a no to the agent's last question, and whether it is only a
    /// weak one ("ok", "sure") that gives way to a real request.
    fn answer(&self, words: &[usize], any_mention: bool, question: bool) -> Option<(usize, Intent, bool)> {
        let mut skip = 0;
        while words.get(skip).is_some_and(|&i| self.tokens[i].is_in(LEADING_FILLERS)) {
            skip += 1;
        }
        let indices = words.get(skip..)?;
        let position = *indices.first()?;
        let words: Vec<&Tok> = indices.iter().map(|&i| &self.tokens[i]).collect();
        let first = words[0];
        let second = words.get(1).copied();
        let rest_is_empty_or = |from: usize, allowed: &[&str]| {
            words[from..].iter().all(|t| t.is_in(allowed) || t.kind != Kind::Word)
        };
        let asked_back = || self.tok(position + 1).is_some_and(|t| t.is_punct('?'));

        // Decline.
        if let Some(c) = first.symbol()
            && NO_EMOJI.contains(&c)
        {
            return Some((position, Intent::Decline, false));
        }
        let no = squeezed_in(first, &["no", "nope", "nah", "naw", "nay", "nein", "nei", "non"]);
        let not_a_refusal = second.is_some_and(|t| {
            t.is_in(&[
                "problem", "problems", "prob", "probs", "worries", "worry", "stress", "rush", "hurry",
                "doubt", "way",
            ])
        });
        let dont = first.is("do") && second.is_some_and(|t| t.is("not"));
        let dont_what = words.get(2).is_none_or(|t| t.is_in(DONT_OBJECTS) || t.kind != Kind::Word);
        if (no && !not_a_refusal)
            || first.is_in(&["negative", "nevermind", "nvm"])
            // "cancel my subscription" is not a no.
            || first.is_in(&["cancel", "cancelled", "canceled", "stop", "abort"]) && !any_mention
            || first.is("never") && second.is_some_and(|t| t.is("mind"))
            || first.is("not")
                && second.is_some_and(|t| t.is_in(&["now", "yet", "really", "quite", "that", "it"]))
            || dont && dont_what
            || (first.is("n") && words.len() == 1)
        {
            return Some((position, Intent::Decline, false));
        }
        if !any_mention && !question {
            let has = |w: &str| words.iter().any(|t| t.is(w));
            let seq = |s: &[&str]| words.windows(s.len()).any(|win| win.iter().zip(s).all(|(t, w)| t.is(w)));
            if has("cancel")
                || has("wrong")
                || has("incorrect")
                || seq(&["not", "correct"])
                || seq(&["not", "right"])
                || seq(&["not", "it"])
                || seq(&["changed", "my", "mind"])
                || seq(&["rather", "not"])
                || seq(&["leave", "it"])
                || seq(&["keep", "it"])
                || seq(&["forget", "it"])
                || seq(&["do", "not", "do"])
            {
                return Some((position, Intent::Decline, false));
            }
        }

        // Confirm.
        if let Some(c) = first.symbol()
            && YES_EMOJI.contains(&c)
        {
            return Some((position, Intent::Confirm, false));
        }
        let yes = squeezed_in(
            first,
            &["yes", "yeah", "yep", "yup", "yea", "ya", "yah", "yas", "aye", "ja", "oui", "si", "sí"],
        ) || first.is_in(&[
            "affirmative",
            "absolutely",
            "definitely",
            "certainly",
            "exactly",
            "indeed",
            "agreed",
            "proceed",
            "yesplease",
        ]);
        // "confirm that my city is Oslo" asks to check a value; it answers nothing.
        let verb_like = first.is_in(&["correct", "confirm", "confirmed", "confirming"])
            && second.is_none_or(|t| {
                t.is_in(&["please", "it", "that", "this", "yes", "thanks", "thank", "go", "and"])
            })
            && !any_mention;
        let phrase = |s: &[&str]| {
            let confirms = s.last().is_some_and(|w| *w == "confirm");
            words.len() >= s.len() && words.iter().zip(s).all(|(t, w)| t.is(w)) && !(confirms && any_mention)
        };
        let confirm_phrase = [
            &["go", "ahead"][..],
            &["go", "for", "it"],
            &["do", "it"],
            &["please", "do"],
            &["please", "proceed"],
            &["please", "go", "ahead"],
            &["please", "confirm"],
            &["of", "course"],
            &["sounds", "good"],
            &["sounds", "great"],
            &["sounds", "right"],
            &["looks", "good"],
            &["looks", "right"],
            &["looks", "correct"],
            &["i", "confirm"],
            &["i", "agree"],
            &["that", "works"],
            &["all", "good"],
            &["please", "yes"],
        ]
        .iter()
        .any(|s| phrase(s));
        let that_is = (first.is_in(&["that", "this", "it"]) && second.is_some_and(|t| t.is("is")))
            && words.get(2).is_some_and(|t| {
                t.is_in(&[
                    "right", "correct", "fine", "it", "true", "good", "perfect", "ok", "okay", "great",
                    "accurate",
                ])
            })
            && !question;
        if (yes || verb_like || confirm_phrase || that_is) && !asked_back() {
            return Some((position, Intent::Confirm, false));
        }
        let weak = ["ok", "okay", "k", "kk", "alright", "fine", "right", "y", "allright", "sure"];
        let weak_rest = [
            "please", "thanks", "thank", "you", "then", "sure", "right", "ok", "okay", "yes", "alright",
            "all", "fine", "go", "ahead", "good", "great", "thing", "why", "not",
        ];
        let all_right = first.is("all") && second.is_some_and(|t| t.is("right"));
        if (squeezed_in(first, &weak) || all_right)
            && rest_is_empty_or(1, &weak_rest)
            && !question
            && !any_mention
        {
            return Some((position, Intent::Confirm, true));
        }
        None
    }

    /// A request for a human.
    fn handoff(&self, words: &[usize], any_mention: bool) -> Option<usize> {
        let tokens: Vec<&Tok> = words.iter().map(|&i| &self.tokens[i]).collect();
        let seq = |s: &[&str]| tokens.windows(s.len()).any(|win| win.iter().zip(s).all(|(t, w)| t.is(w)));
        if seq(&["are", "you"]) || seq(&["is", "this"]) || seq(&["am", "i"]) || seq(&["you", "are"]) {
            return None;
        }
        let has_verb = tokens.iter().any(|t| t.is_in(HANDOFF_VERBS));
        let has_modifier =
            tokens.iter().any(|t| t.is_in(&["real", "live", "actual", "human", "proper", "physical"]));
        let bare = tokens.iter().all(|t| {
            t.kind != Kind::Word
                || t.is_in(FILLERS)
                || t.is_in(HANDOFF_STRONG)
                || t.is_in(HANDOFF_WEAK)
                || t.is_in(&[
                    "real", "live", "actual", "human", "customer", "service", "need", "want", "now", "asap",
                ])
        });
        for (n, (&index, token)) in words.iter().zip(&tokens).enumerate() {
            // "support" in "support request status" names a property, not a person.
            if self.mention_of[index].is_some() {
                continue;
            }
            let owned =
                n > 0 && tokens[n - 1].is_in(&["my", "our", "his", "her", "their"]) || token.possessive;
            if owned {
                continue;
            }
            let next_is_mine = tokens.get(n + 1).is_some_and(|t| t.is("my")) && any_mention;
            if token.like_any(&["transfer", "escalate", "escalation"]) && !next_is_mine {
                return Some(index);
            }
            if token.like_any(HANDOFF_STRONG) && (has_verb || has_modifier || bare) {
                return Some(index);
            }
            if token.is_in(HANDOFF_WEAK) {
                let talk = tokens.iter().any(|t| {
                    t.is_in(&[
                        "talk", "speak", "chat", "connect", "transfer", "put", "reach", "escalate",
                        "contact", "call",
                    ])
                });
                let real = n > 0 && tokens[n - 1].is_in(&["real", "live", "actual", "human", "proper"])
                    || tokens.get(n + 1).is_some_and(|t| t.is_in(&["real", "please"]));
                if talk || real || (bare && !any_mention) {
                    return Some(index);
                }
            }
        }
        None
    }

    /// "I'm a returning customer", "I have an account".
    fn returning(&self, words: &[usize]) -> Option<usize> {
        let tokens: Vec<&Tok> = words.iter().map(|&i| &self.tokens[i]).collect();
        let negated = tokens.iter().any(|t| t.is_in(&["not", "never", "no"]));
        for (n, token) in tokens.iter().enumerate() {
            let next = tokens.get(n + 1);
            let position = words[n];
            let customer_after = next.is_some_and(|t| t.like_any(CUSTOMER_NOUNS));
            if token.like("returning") && (customer_after || tokens.len() <= 3) && !negated {
                return Some(position);
            }
            if token.is_in(&[
                "existing", "current", "regular", "loyal", "repeat", "previous", "longtime", "frequent",
                "old",
            ]) && customer_after
                && !negated
            {
                return Some(position);
            }
            let within =
                |k: usize, pred: &dyn Fn(&Tok) -> bool| tokens.iter().skip(n + 1).take(k).any(|t| pred(t));
            if token.is_in(&["have", "got"]) && within(3, &|t| t.like("account")) && !negated {
                return Some(position);
            }
            if token.is("i")
                && next.is_some_and(|t| t.is("am"))
                && within(4, &|t| t.like_any(CUSTOMER_NOUNS))
                && !negated
            {
                return Some(position);
            }
            if token.is("been") && within(3, &|t| t.like_any(CUSTOMER_NOUNS) || t.is_in(&["here", "before"]))
            {
                return Some(position);
            }
            if token.is_in(&["ordered", "bought", "shopped", "purchased", "used"])
                && within(4, &|t| t.is("before"))
            {
                return Some(position);
            }
            if token.is_in(&["log", "sign", "logged", "signed"]) && within(2, &|t| t.is("in")) {
                return Some(position);
            }
            if token.is_in(&["login", "signin"]) {
                return Some(position);
            }
            if token.is("me") && next.is_some_and(|t| t.is("again")) {
                return Some(position);
            }
            if token.is("am") && next.is_some_and(|t| t.is("back")) && n > 0 && tokens[n - 1].is("i") {
                return Some(position);
            }
            if token.is_in(&["remember", "recognize", "recognise", "know"])
                && next.is_some_and(|t| t.is("me"))
            {
                return Some(position);
            }
            if token.is("registered")
                && (n > 0 && tokens[n - 1].is_in(&["already", "am"]) || customer_after)
                && !negated
            {
                return Some(position);
            }
        }
        None
    }

    /// Greetings, thanks, goodbyes and questions about the agent itself.
    fn small_talk(&self, words: &[usize], any_mention: bool) -> Option<usize> {
        let tokens: Vec<&Tok> = words.iter().map(|&i| &self.tokens[i]).collect();
        let starts = |n: usize, s: &[&str]| {
            tokens.len() >= n + s.len() && tokens[n..].iter().zip(s).all(|(t, w)| t.is(w))
        };
        for (n, token) in tokens.iter().enumerate() {
            let position = words[n];
            if let Some(c) = token.symbol()
                && SMALL_TALK_EMOJI.contains(&c)
            {
                return Some(position);
            }
            if squeezed_in(token, SMALL_TALK_WORDS) {
                return Some(position);
            }
            if token.is("good")
                && tokens
                    .get(n + 1)
                    .is_some_and(|t| t.is_in(&["morning", "afternoon", "evening", "day", "night", "bye"]))
            {
                return Some(position);
            }
            let phrase = SMALL_TALK_PHRASES.iter().any(|s| starts(n, s));
            if phrase && !any_mention {
                return Some(position);
            }
            if token.is_in(&[
                "great",
                "cool",
                "awesome",
                "nice",
                "perfect",
                "wonderful",
                "excellent",
                "brilliant",
                "amazing",
                "lovely",
                "help",
                "test",
                "testing",
                "menu",
                "options",
            ]) && tokens.len() <= 3
                && !any_mention
            {
                return Some(position);
            }
        }
        None
    }

    /// Where the message first tries to override the agent, if it does.
    fn injection(&self) -> Option<usize> {
        let lower = self.text.to_lowercase();
        if [
            "<|",
            "|>",
            "[inst]",
            "[/inst]",
            "<<sys",
            "[system",
            "<system",
            "{system",
            "### instruction",
            "###instruction",
        ]
        .iter()
        .any(|marker| lower.contains(marker))
        {
            return Some(0);
        }
        let words: Vec<(usize, &Tok)> =
            self.tokens.iter().enumerate().filter(|(_, t)| t.kind == Kind::Word).collect();
        let word = |n: usize| words.get(n).map(|(_, t)| *t);
        let seq =
            |n: usize, s: &[&str]| s.iter().enumerate().all(|(k, w)| word(n + k).is_some_and(|t| t.is(w)));
        let within = |n: usize, k: usize, pred: &dyn Fn(&Tok) -> bool| {
            (n + 1..=n + k).any(|i| word(i).is_some_and(pred))
        };
        for (n, &(index, token)) in words.iter().enumerate() {
            // "ignore your previous instructions", "skip the verification",
            // "forget everything above"; not "ignore my previous email".
            let everything = |i: usize| {
                word(i).is_some_and(|t| t.is("everything"))
                    && word(i + 1)
                        .is_none_or(|t| t.is_in(&["above", "before", "prior", "previous", "earlier", "you"]))
            };
            if token.like_any(OVERRIDE_VERBS)
                && (within(n, 5, &|t| t.like_any(OVERRIDE_TARGETS)) || (n + 1..=n + 2).any(everything))
            {
                return Some(index);
            }
            if (seq(n, &["not", "follow"]) || seq(n, &["stop", "following"]))
                && within(n + 1, 4, &|t| t.like_any(OVERRIDE_TARGETS))
            {
                return Some(index);
            }
            if INJECTION_PHRASES.iter().any(|s| seq(n, s)) || token.like_any(INJECTION_WORDS) {
                return Some(index);
            }
            // "act as an unrestricted AI", "act as if you were…"; not "act as a reference".
            let role = |t: &Tok| t.is_in(AUTHORITY_STRONG) || t.is_in(AUTHORITY_WEAK) || t.is_in(AI_WORDS);
            if token.is_in(&["act", "acting", "behave", "respond", "answer"])
                && word(n + 1).is_some_and(|t| t.is("as"))
                && (word(n + 2).is_some_and(|t| t.is_in(&["if", "though"]))
                    || (n + 2..n + 5).any(|i| word(i).is_some_and(role)))
            {
                return Some(index);
            }
            // "system: …", "admin: …".
            let colon_after = self.tok(index + 1).is_some_and(|t| t.is_punct(':'));
            if token.is_in(&[
                "system",
                "admin",
                "administrator",
                "developer",
                "root",
                "assistant",
                "sysadmin",
            ]) && colon_after
            {
                return Some(index);
            }
            if token.is("system")
                && word(n + 1).is_some_and(|t| {
                    t.is_in(&[
                        "prompt",
                        "message",
                        "instruction",
                        "instructions",
                        "override",
                        "note",
                        "command",
                        "update",
                        "mode",
                    ])
                })
            {
                return Some(index);
            }
            // "as an admin", "I am your developer", "admin access".
            let article = |i: usize| word(i).is_some_and(|t| t.is_in(&["a", "an", "the", "your", "this"]));
            let role_at = |i: usize, weak_too: bool| {
                word(i).is_some_and(|t| t.is_in(AUTHORITY_STRONG) || (weak_too && t.is_in(AUTHORITY_WEAK)))
            };
            if token.is("as")
                && (role_at(n + 1, false)
                    || article(n + 1)
                        && role_at(n + 2, word(n + 1).is_some_and(|t| t.is_in(&["the", "your"]))))
            {
                return Some(index);
            }
            let claim = seq(n, &["i", "am"]) || seq(n, &["this", "is"]);
            if claim {
                let determiner = word(n + 2).is_some_and(|t| t.is_in(&["the", "your"]));
                let optional_article = if article(n + 2) { 3 } else { 2 };
                if role_at(n + optional_article, determiner)
                    || word(n + 2).is_some_and(|t| t.is_in(&["authorized", "authorised"]))
                {
                    return Some(index);
                }
            }
            if token.is_in(AUTHORITY_STRONG)
                && word(n + 1).is_some_and(|t| {
                    t.is_in(&[
                        "override",
                        "access",
                        "mode",
                        "privileges",
                        "privilege",
                        "rights",
                        "command",
                        "commands",
                        "here",
                        "speaking",
                        "credentials",
                        "permissions",
                    ])
                })
            {
                return Some(index);
            }
            // "reveal your prompt", "what are your instructions".
            if token.is_in(&["prompt", "prompts"])
                && n > 0
                && (n.saturating_sub(3)..n).any(|i| {
                    word(i).is_some_and(|t| {
                        t.is_in(&["your", "system", "initial", "original", "hidden", "secret"])
                    })
                })
            {
                return Some(index);
            }
            if token.is_in(REVEAL_VERBS)
                && within(n, 5, &|t| t.is("your"))
                && within(n, 7, &|t| {
                    t.like_any(&[
                        "instructions",
                        "rules",
                        "guidelines",
                        "configuration",
                        "config",
                        "programming",
                        "directives",
                        "training",
                    ])
                })
            {
                return Some(index);
            }
            // "disable your filters".
            if (token.is_in(&["disable", "deactivate", "remove", "lift", "suspend", "relax", "loosen"])
                || seq(n, &["turn", "off"])
                || seq(n, &["switch", "off"]))
                && within(n, 4, &|t| {
                    t.is_in(&[
                        "safety",
                        "filter",
                        "filters",
                        "restrictions",
                        "restriction",
                        "rules",
                        "verification",
                        "security",
                        "guardrails",
                        "checks",
                        "limits",
                        "safeguards",
                        "protections",
                        "protection",
                    ])
                })
            {
                return Some(index);
            }
            // "no need to verify me", "treat me as verified".
            if token.is_in(&["verify", "verification", "verifying", "verified"]) {
                let before: Vec<&Tok> = (n.saturating_sub(4)..n).filter_map(word).collect();
                let need = before.iter().any(|t| t.is_in(&["need", "needed", "necessary", "required"]));
                let negated = before.iter().any(|t| t.is_in(&["no", "not", "without"]));
                let treat =
                    before.iter().any(|t| t.is_in(&["consider", "treat", "mark", "assume", "pretend"]));
                if need && negated || treat || word(n.wrapping_sub(1)).is_some_and(|t| t.is("without")) {
                    return Some(index);
                }
            }
        }
        None
    }

    fn finish(self) -> Vec<Intent> {
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
        for Found { intent, weak, .. } in found {
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

fn is_sentence_end(token: &Tok) -> bool {
    matches!(token.kind, Kind::Punct('.' | '?' | '!' | ';' | '\n' | '—'))
}

fn is_update_verb(token: &Tok) -> bool {
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

/// Whether `token`, with repeated letters squeezed ("yesss", "nooo",
/// "hellooo"), is one of `words`.
fn squeezed_in(token: &Tok, words: &[&str]) -> bool {
    let word = token.word();
    let Some(first) = word.chars().next() else { return false };
    words.iter().any(|w| w.starts_with(first) && squeeze(word).eq(squeeze(w)))
}

/// `word`'s letters with runs of the same letter counted once.
fn squeeze(word: &str) -> impl Iterator<Item = char> + '_ {
    let mut last = None;
    word.chars().filter(move |&c| {
        let repeated = last == Some(c);
        last = Some(c);
        !repeated
    })
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

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

/// The value typed after byte `from`, with the byte range it occupies: up to
/// the end of the sentence, without trailing chatter ("please", "thanks", ",
/// and what's…"), surrounding quotes or a final period. `None` when nothing
/// with a letter or digit is left.
fn extract_value(text: &str, from: usize) -> Option<(String, Range<usize>)> {
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

fn strip_quotes(value: &str) -> &str {
    let mut chars = value.chars();
    match (chars.next(), chars.next_back()) {
        (Some(first), Some(last)) if is_quote(first) && is_quote(last) && value.len() > first.len_utf8() => {
            value[first.len_utf8()..value.len() - last.len_utf8()].trim()
        }
        _ => value,
    }
}

// ---------------------------------------------------------------------------
// Word tables
// ---------------------------------------------------------------------------

/// Common English words never taken for a misspelled label ("down" is not
/// "town", "plane" is not "plan"). Sorted: looked up by binary search.
const STOPWORDS: &[&str] = &[
    "able",
    "about",
    "above",
    "across",
    "actually",
    "after",
    "again",
    "against",
    "agent",
    "agents",
    "ahead",
    "almost",
    "alone",
    "along",
    "already",
    "also",
    "although",
    "always",
    "among",
    "another",
    "answer",
    "anybody",
    "anyone",
    "anything",
    "anyway",
    "anywhere",
    "apply",
    "area",
    "around",
    "asap",
    "aside",
    "asked",
    "asking",
    "away",
    "back",
    "bank",
    "based",
    "basically",
    "been",
    "before",
    "behind",
    "being",
    "believe",
    "below",
    "best",
    "better",
    "between",
    "bold",
    "both",
    "bought",
    "bring",
    "brother",
    "call",
    "came",
    "cannot",
    "card",
    "care",
    "case",
    "cast",
    "cause",
    "cell",
    "certainly",
    "change",
    "changed",
    "changes",
    "changing",
    "chat",
    "check",
    "cheers",
    "child",
    "cite",
    "clan",
    "clear",
    "close",
    "cold",
    "come",
    "coming",
    "contact",
    "correct",
    "could",
    "couple",
    "course",
    "cousin",
    "current",
    "currently",
    "customer",
    "daddy",
    "dare",
    "data",
    "days",
    "dear",
    "delete",
    "details",
    "different",
    "does",
    "doing",
    "done",
    "dont",
    "down",
    "during",
    "each",
    "early",
    "easy",
    "either",
    "else",
    "emails",
    "ever",
    "every",
    "everyone",
    "everything",
    "exactly",
    "fact",
    "fast",
    "father",
    "fine",
    "first",
    "five",
    "fixed",
    "flan",
    "follow",
    "following",
    "food",
    "forgot",
    "form",
    "found",
    "four",
    "free",
    "friend",
    "from",
    "full",
    "gate",
    "gave",
    "gets",
    "getting",
    "give",
    "given",
    "gives",
    "giving",
    "going",
    "gold",
    "gone",
    "good",
    "gown",
    "great",
    "group",
    "guess",
    "hand",
    "happy",
    "hard",
    "have",
    "having",
    "hello",
    "help",
    "here",
    "hers",
    "herself",
    "high",
    "hold",
    "home",
    "hope",
    "host",
    "hour",
    "house",
    "however",
    "human",
    "idea",
    "info",
    "into",
    "issue",
    "itself",
    "just",
    "keep",
    "kind",
    "knew",
    "know",
    "known",
    "lane",
    "late",
    "later",
    "least",
    "left",
    "less",
    "like",
    "likely",
    "line",
    "list",
    "little",
    "live",
    "long",
    "look",
    "looking",
    "lost",
    "love",
    "made",
    "main",
    "make",
    "male",
    "mall",
    "many",
    "mean",
    "meant",
    "message",
    "might",
    "mile",
    "mind",
    "mine",
    "minute",
    "miss",
    "moment",
    "money",
    "month",
    "more",
    "most",
    "mother",
    "move",
    "much",
    "must",
    "myself",
    "near",
    "need",
    "needs",
    "never",
    "next",
    "nice",
    "night",
    "none",
    "nope",
    "note",
    "nothing",
    "okay",
    "once",
    "only",
    "open",
    "other",
    "others",
    "over",
    "part",
    "past",
    "people",
    "perhaps",
    "person",
    "phony",
    "pints",
    "pity",
    "place",
    "plaid",
    "plain",
    "plains",
    "plane",
    "planet",
    "plant",
    "play",
    "played",
    "plays",
    "please",
    "plus",
    "poll",
    "post",
    "pretty",
    "price",
    "problem",
    "prone",
    "proud",
    "quite",
    "rate",
    "rather",
    "read",
    "real",
    "really",
    "reason",
    "right",
    "roll",
    "said",
    "sale",
    "same",
    "says",
    "second",
    "seem",
    "seems",
    "self",
    "send",
    "sent",
    "several",
    "shall",
    "share",
    "shone",
    "should",
    "show",
    "side",
    "since",
    "some",
    "someone",
    "something",
    "sometimes",
    "soon",
    "sorry",
    "sort",
    "start",
    "state",
    "statue",
    "still",
    "stop",
    "such",
    "sure",
    "take",
    "tale",
    "talk",
    "team",
    "tell",
    "test",
    "than",
    "thank",
    "thanks",
    "that",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "things",
    "think",
    "this",
    "those",
    "though",
    "thought",
    "three",
    "through",
    "tied",
    "ties",
    "time",
    "times",
    "tire",
    "today",
    "told",
    "tone",
    "tons",
    "took",
    "torn",
    "tried",
    "true",
    "trying",
    "turn",
    "type",
    "under",
    "until",
    "upon",
    "used",
    "user",
    "using",
    "vast",
    "very",
    "wait",
    "want",
    "wanted",
    "wants",
    "week",
    "well",
    "went",
    "were",
    "what",
    "whatever",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "whole",
    "whom",
    "whose",
    "wife",
    "will",
    "wish",
    "with",
    "within",
    "without",
    "wont",
    "word",
    "words",
    "work",
    "world",
    "would",
    "write",
    "wrong",
    "yeah",
    "year",
    "years",
    "your",
    "yours",
    "yourself",
];

fn is_stopword(word: &str) -> bool {
    STOPWORDS.binary_search(&word).is_ok()
}

/// Words of this module's own tables that a capital letter does not make a name.
fn is_keyword(word: &str) -> bool {
    [
        INTERROGATIVES,
        AUXILIARIES,
        REQUEST_VERBS,
        FILLERS,
        LEADING_FILLERS,
        ADJECTIVES,
        SMALL_TALK_WORDS,
        HANDOFF_STRONG,
        HANDOFF_WEAK,
        CONJUNCTIONS,
        NEW_WORDS,
    ]
    .iter()
    .any(|table| table.contains(&word))
        || matches!(
            word,
            "hi" | "hey" | "yes" | "no" | "ok" | "okay" | "change" | "update" | "set" | "is" | "are"
        )
}

/// Split clauses: "…, and what's my phone".
const CONJUNCTIONS: &[&str] = &["and", "also", "plus", "then", "but", "or", "so"];

/// Question words: "what is my address", "how many points".
const INTERROGATIVES: &[&str] = &["what", "which", "where", "when", "how", "who", "whose", "why"];

/// Words that open a yes/no question: "do you have my address".
const AUXILIARIES: &[&str] = &[
    "do", "does", "did", "is", "are", "was", "were", "can", "could", "would", "will", "may", "might", "have",
    "has", "had", "shall", "should",
];

/// Words that ask for a property without a question word.
const REQUEST_VERBS: &[&str] = &[
    "tell",
    "show",
    "give",
    "send",
    "read",
    "check",
    "look",
    "lookup",
    "find",
    "know",
    "need",
    "want",
    "see",
    "get",
    "remind",
    "forgot",
    "forget",
    "display",
    "list",
    "confirm",
    "verify",
    "share",
    "provide",
    "say",
    "repeat",
    "retrieve",
    "fetch",
    "pull",
    "access",
    "view",
    "spell",
    "recall",
    "remember",
    "wondering",
    "wonder",
    "curious",
    "info",
    "information",
    "details",
    "request",
    "requesting",
    "please",
    "kindly",
    "like",
    "let",
    "update",
];

/// Words that leave a clause a bare request: "my address?", "and the phone please".
const FILLERS: &[&str] = &[
    "my",
    "mine",
    "our",
    "the",
    "a",
    "an",
    "and",
    "also",
    "too",
    "please",
    "kindly",
    "about",
    "again",
    "current",
    "registered",
    "on",
    "file",
    "record",
    "records",
    "in",
    "me",
    "for",
    "now",
    "just",
    "only",
    "as",
    "well",
    "so",
    "then",
    "ok",
    "okay",
    "um",
    "uh",
    "hmm",
    "oh",
    "hey",
    "hi",
    "hello",
    "thanks",
    "thank",
    "you",
    "plus",
    "btw",
    "what",
    "of",
    "have",
    "your",
    "system",
    "account",
    "profile",
    "there",
    "here",
    "again",
    "exactly",
    "actually",
];

/// Words skipped before a yes or no: "oh yes", "well no".
const LEADING_FILLERS: &[&str] =
    &["oh", "um", "uh", "umm", "well", "hmm", "ah", "so", "and", "then", "but", "erm", "er"];

/// Words between a possessor and a property: "my current billing address".
const ADJECTIVES: &[&str] = &[
    "current",
    "registered",
    "old",
    "new",
    "updated",
    "correct",
    "full",
    "home",
    "mobile",
    "cell",
    "primary",
    "main",
    "entire",
    "latest",
    "exact",
    "actual",
    "whole",
    "complete",
    "saved",
    "stored",
    "listed",
    "right",
    "real",
    "present",
    "existing",
    "personal",
    "own",
    "recorded",
    "official",
    "email",
];

/// Possessives that stay the customer's own: "my account's phone", "my ticket's status".
const OWN_POSSESSIVES: &[&str] = &[
    "account",
    "profile",
    "ticket",
    "case",
    "company",
    "order",
    "record",
    "card",
    "membership",
    "subscription",
    "today",
    "tomorrow",
    "yesterday",
    "year",
    "month",
    "week",
    "business",
    "firm",
    "organisation",
    "organization",
    "it",
    "one",
];

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

/// People who are not the customer.
const RELATIONS: &[&str] = &[
    "wife",
    "husband",
    "spouse",
    "partner",
    "girlfriend",
    "boyfriend",
    "fiance",
    "fiancee",
    "fiancé",
    "fiancée",
    "mother",
    "mom",
    "mum",
    "mommy",
    "mummy",
    "mama",
    "father",
    "dad",
    "daddy",
    "papa",
    "parent",
    "parents",
    "son",
    "daughter",
    "child",
    "children",
    "kid",
    "kids",
    "brother",
    "sister",
    "sibling",
    "siblings",
    "bro",
    "sis",
    "grandmother",
    "grandma",
    "granny",
    "grandfather",
    "grandpa",
    "grandson",
    "granddaughter",
    "aunt",
    "uncle",
    "cousin",
    "niece",
    "nephew",
    "friend",
    "friends",
    "buddy",
    "mate",
    "colleague",
    "colleagues",
    "coworker",
    "coworkers",
    "boss",
    "manager",
    "employee",
    "employees",
    "assistant",
    "secretary",
    "neighbour",
    "neighbor",
    "neighbours",
    "neighbors",
    "roommate",
    "flatmate",
    "housemate",
    "landlord",
    "landlady",
    "tenant",
    "ex",
    "client",
    "teammate",
    "motherinlaw",
    "fatherinlaw",
    "sisterinlaw",
    "brotherinlaw",
    "stepmom",
    "stepmother",
    "stepdad",
    "stepfather",
    "stepson",
    "stepdaughter",
    "family",
    "relative",
    "relatives",
    "grandparent",
    "grandparents",
    "supervisor",
];

/// Whether `word` names someone close to the customer, also typed without
/// its apostrophe ("wifes phone") or in the plural.
fn is_relation(word: &str) -> bool {
    RELATIONS.contains(&word) || word.strip_suffix('s').is_some_and(|base| RELATIONS.contains(&base))
}

/// Nouns for another person after "of the", "another", "other".
const OTHER_PEOPLE: &[&str] = &[
    "customer",
    "customers",
    "user",
    "users",
    "person",
    "people",
    "client",
    "clients",
    "contact",
    "member",
    "guy",
    "man",
    "woman",
    "lady",
    "someone",
    "somebody",
    "him",
    "her",
    "them",
    "another",
    "other",
    "others",
    "anyone",
    "everyone",
    "everybody",
    "account",
    "accounts",
];

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

/// Whether `token` is a count: "4", "four".
fn is_number_word(token: &Tok) -> bool {
    let word = token.word();
    (!word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()))
        || ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"].contains(&word)
}

/// Before a property with a new value: "my new address", "the correct phone".
const NEW_WORDS: &[&str] = &["new", "updated", "correct", "corrected", "latest", "proper", "right"];

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

/// Words after "don't" that make it a refusal: "don't change it", a bare "don't".
const DONT_OBJECTS: &[&str] = &[
    "do", "change", "update", "it", "that", "bother", "proceed", "confirm", "save", "touch", "go",
    "continue", "make", "apply", "want", "please", "send", "agree",
];

/// Emoji that answer yes, no, or only say hello.
const YES_EMOJI: &[char] = &['👍', '✅', '👌', '✔', '☑', '🆗', '💯', '🙆'];
const NO_EMOJI: &[char] = &['👎', '❌', '✖', '🚫', '⛔', '🙅', '❎'];
const SMALL_TALK_EMOJI: &[char] = &[
    '👋', '🙂', '😊', '😀', '😃', '😄', '😁', '🙏', '❤', '😉', '🤗', '☺', '😎', '🥰', '♥', '😂', '🤣', '💙',
    '🤝',
];

/// Greetings, thanks and goodbyes, one word each.
const SMALL_TALK_WORDS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "heya",
    "hiya",
    "howdy",
    "yo",
    "hallo",
    "hola",
    "hej",
    "hei",
    "bonjour",
    "ciao",
    "salut",
    "greetings",
    "sup",
    "wassup",
    "whassup",
    "morning",
    "evening",
    "afternoon",
    "aloha",
    "namaste",
    "thanks",
    "thank",
    "thankyou",
    "ty",
    "tysm",
    "cheers",
    "ta",
    "appreciated",
    "appreciate",
    "merci",
    "takk",
    "gracias",
    "danke",
    "bye",
    "goodbye",
    "byebye",
    "cya",
    "farewell",
    "lol",
    "haha",
    "hehe",
    "lmao",
    "welcome",
];

/// Small talk of several words.
const SMALL_TALK_PHRASES: &[&[&str]] = &[
    &["how", "are", "you"],
    &["how", "are", "things"],
    &["how", "is", "it", "going"],
    &["how", "do", "you", "do"],
    &["what", "is", "up"],
    &["nice", "to", "meet", "you"],
    &["pleased", "to", "meet", "you"],
    &["who", "are", "you"],
    &["what", "is", "your", "name"],
    &["are", "you", "a"],
    &["are", "you", "human"],
    &["are", "you", "real"],
    &["are", "you", "an"],
    &["is", "this", "a"],
    &["am", "i", "talking", "to"],
    &["am", "i", "chatting", "with"],
    &["have", "a", "nice"],
    &["have", "a", "good"],
    &["have", "a", "great"],
    &["see", "you"],
    &["see", "ya"],
    &["take", "care"],
    &["no", "problem"],
    &["no", "worries"],
    &["you", "are", "welcome"],
    &["good", "job"],
    &["well", "done"],
    &["you", "rock"],
    &["what", "can", "you", "do"],
    &["what", "do", "you", "do"],
    &["how", "can", "you", "help"],
    &["how", "does", "this", "work"],
    &["what", "can", "i", "ask"],
    &["can", "you", "help"],
    &["i", "need", "help"],
];

/// Who a customer asks to be put through to.
const HANDOFF_STRONG: &[&str] = &[
    "human",
    "humans",
    "representative",
    "representatives",
    "rep",
    "operator",
    "agent",
    "agents",
    "staff",
    "supervisor",
    "advisor",
    "adviser",
    "specialist",
    "consultant",
    "manager",
];

/// Weaker words for a person, a handoff only with "talk to", "real", or alone.
/// Words between a guessed value and the property it is a guess of: "is V *still my* phone?".
const GUESS_DETERMINERS: &[&str] = &["the", "my", "your", "our", "still", "actually", "really", "now"];

const HANDOFF_WEAK: &[&str] =
    &["person", "someone", "somebody", "people", "support", "service", "team", "employee", "individual"];

/// Verbs of asking for someone: "talk to", "get me", "put me through".
const HANDOFF_VERBS: &[&str] = &[
    "talk", "speak", "chat", "connect", "transfer", "put", "get", "want", "need", "reach", "escalate",
    "contact", "call", "switch", "pass", "hand", "forward", "redirect", "give", "see", "request", "prefer",
    "like",
];

/// Words for a customer: "returning customer", "existing member".
const CUSTOMER_NOUNS: &[&str] =
    &["customer", "client", "member", "user", "shopper", "buyer", "visitor", "subscriber", "patron"];

/// Verbs that set instructions aside: "ignore", "disregard", "forget".
const OVERRIDE_VERBS: &[&str] = &[
    "ignore",
    "disregard",
    "forget",
    "override",
    "bypass",
    "circumvent",
    "overrule",
    "skip",
    "abandon",
    "discard",
    "neglect",
    "drop",
    "ignoring",
    "disregarding",
];

/// What injections tell the agent to set aside.
const OVERRIDE_TARGETS: &[&str] = &[
    "instructions",
    "instruction",
    "rules",
    "rule",
    "prompt",
    "prompts",
    "guidelines",
    "guideline",
    "policy",
    "policies",
    "directions",
    "directives",
    "restrictions",
    "restriction",
    "programming",
    "training",
    "constraints",
    "limits",
    "limitations",
    "guardrails",
    "safeguards",
    "filters",
    "safety",
    "security",
    "verification",
    "verify",
    "verifying",
    "checks",
    "protocol",
    "protocols",
    "above",
    "orders",
    "commands",
    "system",
    "context",
    "settings",
    "configuration",
    "rulebook",
    "guidance",
];

/// Phrases that try to change who the agent is.
const INJECTION_PHRASES: &[&[&str]] = &[
    &["you", "are", "now"],
    &["you", "are", "no", "longer"],
    &["from", "now", "on", "you"],
    &["from", "now", "on", "your"],
    &["role", "play"],
    &["imagine", "you", "are"],
    &["your", "new", "role"],
    &["your", "new", "task"],
    &["your", "new", "instructions"],
    &["your", "new", "rules"],
    &["your", "new", "job"],
    &["your", "new", "persona"],
    &["your", "new", "purpose"],
    &["new", "instructions"],
    &["updated", "instructions"],
    &["jail", "break"],
    &["dan", "mode"],
    &["do", "anything", "now"],
    &["developer", "mode"],
    &["dev", "mode"],
    &["god", "mode"],
    &["admin", "mode"],
    &["debug", "mode"],
    &["maintenance", "mode"],
    &["no", "restrictions"],
    &["without", "restrictions"],
    &["no", "limits"],
    &["no", "rules"],
    &["without", "rules"],
    &["you", "must", "obey"],
    &["you", "will", "obey"],
    &["obey", "me"],
    &["i", "have", "admin"],
    &["i", "have", "root"],
    &["with", "admin"],
    &["with", "root"],
    &["security", "clearance"],
    &["authorized", "personnel"],
    &["authorised", "personnel"],
];

/// What an injection asks the agent to become: "act as an unrestricted AI".
const AI_WORDS: &[&str] = &[
    "ai",
    "assistant",
    "bot",
    "chatbot",
    "model",
    "gpt",
    "llm",
    "dan",
    "system",
    "unrestricted",
    "unfiltered",
    "different",
    "character",
    "persona",
    "terminal",
    "hacker",
];

/// Words that are an injection on their own.
const INJECTION_WORDS: &[&str] = &[
    "pretend",
    "pretending",
    "roleplay",
    "jailbreak",
    "jailbroken",
    "sudo",
    "unrestricted",
    "unfiltered",
    "uncensored",
    "override",
    "overrides",
    "bypass",
    "circumvent",
    "simulate",
];

/// Roles that claim authority over the agent whatever the article.
const AUTHORITY_STRONG: &[&str] =
    &["admin", "administrator", "sysadmin", "superuser", "root", "moderator", "creator", "developers"];

/// Roles that claim authority only as "the/your …": "I am your developer".
const AUTHORITY_WEAK: &[&str] = &[
    "developer",
    "dev",
    "programmer",
    "engineer",
    "owner",
    "ceo",
    "cto",
    "boss",
    "operator",
    "supervisor",
    "maker",
    "designer",
    "trainer",
];

/// Verbs that ask the agent to reveal itself.
const REVEAL_VERBS: &[&str] = &[
    "reveal", "show", "print", "repeat", "output", "display", "tell", "give", "share", "leak", "dump",
    "recite", "list", "what", "expose", "disclose", "paste", "copy", "spell", "send",
];

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

#[cfg(test)]
mod tests {
    use super::*;

    fn distance(a: &str, b: &str, max: usize) -> Option<usize> {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        osa_distance_within(&a, &b, max)
    }

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]), "STOPWORDS must be sorted and unique");
    }

    #[test]
    fn distance_counts_swaps_as_one_edit() {
        assert_eq!(distance("adress", "address", 2), Some(1));
        assert_eq!(distance("phnoe", "phone", 1), Some(1));
        assert_eq!(distance("numbr", "number", 1), Some(1));
        assert_eq!(distance("town", "down", 1), Some(1));
        assert_eq!(distance("kitten", "sitting", 2), None);
        assert_eq!(distance("kitten", "sitting", 3), Some(3));
        assert_eq!(distance("", "abc", 3), Some(3));
        assert_eq!(distance("same", "same", 0), Some(0));
    }

    #[test]
    fn tolerance_grows_with_word_length() {
        assert_eq!(tolerance(3), 0);
        assert_eq!(tolerance(4), 1);
        assert_eq!(tolerance(7), 1);
        assert_eq!(tolerance(8), 2);
    }

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
