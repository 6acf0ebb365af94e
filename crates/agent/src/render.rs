//! Channel rendering: turns a composed [`Reply`] into the messages a channel can carry, within its length
//! limit, without ever cutting a CRM value in half.
//!
//! The agent composes a reply as a sequence of [`Part`]s: plain text, CRM values and paragraph breaks.
//! Keeping values apart from text is what lets [`render`] promise that a value is either shown whole, in
//! one message, or not at all:
//!
//! - **WhatsApp** ([`WHATSAPP_LIMIT`]) and **Facebook Messenger** ([`MESSENGER_LIMIT`]) reject longer
//!   messages, so a long reply is split into several. A split prefers a paragraph break, then a sentence
//!   end, then whitespace; only a text word longer than the whole limit is cut inside. A split never
//!   falls inside a value: a value that would straddle the limit moves whole to the next message, and a
//!   value longer than the limit on its own is replaced by [`TOO_LONG_NOTICE`] (itself kept whole), never
//!   shown in part.
//! - **Live chat** has no hard limit: a reply is one message, unless it is longer than
//!   [`LIVE_CHAT_SOFT_LIMIT`]; then it is split at paragraph breaks only, and a paragraph longer than the
//!   soft limit goes out whole, on its own.
//! - **Email** is one message: a greeting line, the body and a signature, with no length limit.
//!
//! Lengths are counted in `char`s (Unicode scalar values), never in bytes, and every cut falls on a
//! `char` boundary, so rendering never panics on multi-byte text.

use leakproof_config::Channel;

/// The longest text message WhatsApp accepts, in characters: the WhatsApp Business API rejects a text body
/// longer than 4,096 characters, so a longer reply must go out as several messages.
pub const WHATSAPP_LIMIT: usize = 4096;

/// The longest text message Facebook Messenger accepts, in characters: the Messenger Send API rejects a
/// text longer than 2,000 characters, so a longer reply must go out as several messages.
pub const MESSENGER_LIMIT: usize = 2000;

/// The length, in characters, above which a live-chat reply is split at its paragraph breaks. Live chat
/// has no hard limit; the soft one matches WhatsApp's so that a wall of text reads alike on both, and a
/// reply that fits stays one message.
pub const LIVE_CHAT_SOFT_LIMIT: usize = 4096;

/// What a channel with a hard limit shows in place of a value longer than the limit: a value is shown
/// whole or not at all, and email has no limit, so the customer is pointed there.
pub const TOO_LONG_NOTICE: &str = "(this value is too long to show here; ask for it by email)";

/// The hard length limit of a channel's messages, in characters, or `None` when the channel has none.
///
/// ```
/// use leakproof_agent::render::{hard_limit, MESSENGER_LIMIT};
/// use leakproof_config::Channel;
///
/// assert_eq!(hard_limit(Channel::FacebookMessenger), Some(MESSENGER_LIMIT));
/// assert_eq!(hard_limit(Channel::Email), None);
/// ```
pub const fn hard_limit(channel: Channel) -> Option<usize> {
    match channel {
        Channel::Whatsapp => Some(WHATSAPP_LIMIT),
        Channel::FacebookMessenger => Some(MESSENGER_LIMIT),
        Channel::LiveChat | Channel::Email => None,
    }
}

/// A reply as the agent composes it: text and CRM values kept apart, so rendering never cuts a value.
///
/// Text and values are concatenated as given, so the composer writes the spaces around a value itself.
///
/// ```
/// use leakproof_agent::render::Reply;
///
/// let reply = Reply::new()
///     .text("Your billing address is ")
///     .value("Storgata 1, 0155 Oslo")
///     .text(".")
///     .paragraph()
///     .text("Anything else?");
/// assert_eq!(reply.plain(), "Your billing address is Storgata 1, 0155 Oslo.\n\nAnything else?");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    /// Never two `Text`s or two `Break`s in a row, never a leading `Break`, no empty `Text` or `Value`.
    parts: Vec<Part>,
}

/// One piece of a [`Reply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Text the agent wrote; it may be split at whitespace, and a word longer than a channel's limit
    /// may be cut.
    Text(String),
    /// A CRM value: shown whole, in one message, or not at all. Never empty, and without surrounding
    /// whitespace.
    Value(String),
    /// A paragraph break, rendered as a blank line; the preferred place to split a long reply.
    Break,
}

impl Reply {
    /// An empty reply.
    pub fn new() -> Self {
        Self::default()
    }

    /// This reply followed by `text`.
    #[must_use]
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.push_text(text);
        self
    }

    /// This reply followed by the CRM value `value`.
    #[must_use]
    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.push_value(value);
        self
    }

    /// This reply followed by a paragraph break.
    #[must_use]
    pub fn paragraph(mut self) -> Self {
        self.push_paragraph();
        self
    }

    /// Appends `text`; it joins any text right before it. Empty text is ignored.
    pub fn push_text(&mut self, text: impl Into<String>) {
        let text = text.into();
        if text.is_empty() {
            return;
        }
        match self.parts.last_mut() {
            Some(Part::Text(last)) => last.push_str(&text),
            _ => self.parts.push(Part::Text(text)),
        }
    }

    /// Appends the CRM value `value`. Whitespace around it is dropped (it would be lost at a message
    /// boundary anyway, and carries no meaning); a value with nothing else in it is ignored.
    pub fn push_value(&mut self, value: impl Into<String>) {
        let value = value.into();
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return;
        }
        let value = if trimmed.len() == value.len() { value } else { trimmed.to_owned() };
        self.parts.push(Part::Value(value));
    }

    /// Appends a paragraph break. A break at the start, or right after another, is ignored.
    pub fn push_paragraph(&mut self) {
        if !matches!(self.parts.last(), None | Some(Part::Break)) {
            self.parts.push(Part::Break);
        }
    }

    /// Appends `other`, separated from what is already here by a paragraph break.
    ///
    /// ```
    /// use leakproof_agent::render::Reply;
    ///
    /// let mut reply = Reply::new().text("I found your record.");
    /// reply.append(Reply::new().text("What else can I do?"));
    /// assert_eq!(reply.plain(), "I found your record.\n\nWhat else can I do?");
    /// ```
    pub fn append(&mut self, other: Reply) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            *self = other;
            return;
        }
        self.push_paragraph();
        for part in other.parts {
            match part {
                Part::Text(text) => self.push_text(text),
                Part::Value(value) => self.push_value(value),
                Part::Break => self.push_paragraph(),
            }
        }
    }

    /// Whether the reply has nothing to show: no value, and no text other than whitespace. An empty
    /// reply renders to no message at all.
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(|part| match part {
            Part::Text(text) => text.trim().is_empty(),
            Part::Value(_) => false,
            Part::Break => true,
        })
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Everything joined as one string, unrendered and unsplit: text and values as given, a paragraph
    /// break as a blank line. For tests and logs; use [`render`] for what a customer sees.
    pub fn plain(&self) -> String {
        let mut plain = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) | Part::Value(text) => plain.push_str(text),
                Part::Break => plain.push_str(PARAGRAPH),
            }
        }
        plain
    }
}

/// How to render a reply: the channel, and the names an email greets with and is signed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rendering<'a> {
    /// The channel the messages go out on; it sets the length limit and the email framing.
    pub channel: Channel,
    /// The agent's name, signed under an email.
    pub agent_name: &'a str,
    /// The name an email greets the customer by, or `None` for a plain "Hello,". The caller passes a
    /// name only when the customer may see it (they gave it, or the policy allows showing it):
    /// rendering shows what it is given and never looks anything up.
    pub customer_name: Option<&'a str>,
}

/// Renders `reply` as the messages to send on `how.channel`, in order.
///
/// No message is empty or starts or ends with whitespace; the list is empty only when the reply
/// [is empty](Reply::is_empty). See the [module documentation](self) for the rules of each channel.
///
/// ```
/// use leakproof_agent::render::{render, Reply, Rendering, MESSENGER_LIMIT};
/// use leakproof_config::Channel;
///
/// let words = format!("{}Thanks.", "word ".repeat(396)); // 1,987 characters
/// let reply = Reply::new().text(format!("{words} Your email is ")).value("ola@example.com");
/// let messenger = Rendering { channel: Channel::FacebookMessenger, agent_name: "Ava", customer_name: None };
/// let messages = render(&reply, &messenger);
/// assert!(messages.iter().all(|message| message.chars().count() <= MESSENGER_LIMIT));
/// // The value would have straddled the limit: the split falls at the sentence end before it.
/// assert_eq!(messages, [words, "Your email is ola@example.com".to_owned()]);
///
/// let email = Rendering { channel: Channel::Email, agent_name: "Ava", customer_name: Some("Ola") };
/// let messages = render(&Reply::new().text("Your link is on its way."), &email);
/// assert_eq!(messages, ["Hello Ola,\n\nYour link is on its way.\n\nBest regards,\nAva"]);
/// ```
pub fn render(reply: &Reply, how: &Rendering<'_>) -> Vec<String> {
    if reply.is_empty() {
        return Vec::new();
    }
    match how.channel {
        Channel::Email => vec![email(reply, how)],
        Channel::LiveChat => Flat::new(reply, None).split(LIVE_CHAT_SOFT_LIMIT, Cut::Paragraph),
        Channel::Whatsapp => Flat::new(reply, Some(WHATSAPP_LIMIT)).split(WHATSAPP_LIMIT, Cut::Char),
        Channel::FacebookMessenger => {
            Flat::new(reply, Some(MESSENGER_LIMIT)).split(MESSENGER_LIMIT, Cut::Char)
        }
    }
}

/// A paragraph break as rendered: a blank line.
const PARAGRAPH: &str = "\n\n";

/// The one message of the email channel: greeting, body, signature.
fn email(reply: &Reply, how: &Rendering<'_>) -> String {
    let greeting = match how.customer_name.map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".to_owned(),
    };
    let body = reply.plain();
    let mut signature = "Best regards,".to_owned();
    let agent_name = how.agent_name.trim();
    if !agent_name.is_empty() {
        signature.push('\n');
        signature.push_str(agent_name);
    }
    format!("{greeting}{PARAGRAPH}{body}{PARAGRAPH}{signature}", body = body.trim())
}

/// How good a place to split is, worst first. The boundary before character `i` has one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cut {
    /// Inside a value or the notice that replaces one: never.
    Never,
    /// Between two characters that belong together (an emoji sequence, a letter and its accent): only
    /// when nothing else fits.
    Char,
    /// Inside a text word, or where text and a value touch.
    Grapheme,
    /// At whitespace.
    Space,
    /// After a sentence end or at a line break.
    Sentence,
    /// At a paragraph break.
    Paragraph,
}

/// A reply laid out as characters, with how good a split each boundary between them is.
struct Flat {
    chars: Vec<char>,
    /// Whether each character belongs to a span kept whole: a value, or the notice that replaces one.
    whole: Vec<bool>,
    /// `cuts[i]` rates splitting before `chars[i]`; one longer than `chars`.
    cuts: Vec<Cut>,
}

impl Flat {
    /// Lays `reply` out; with a `limit`, a value longer than it is replaced by [`TOO_LONG_NOTICE`].
    fn new(reply: &Reply, limit: Option<usize>) -> Self {
        let mut chars = Vec::new();
        let mut whole = Vec::new();
        let mut spans = Vec::new();
        for part in &reply.parts {
            let (text, keep_whole) = match part {
                Part::Text(text) => (text.as_str(), false),
                Part::Value(value) if limit.is_some_and(|limit| value.chars().count() > limit) => {
                    (TOO_LONG_NOTICE, true)
                }
                Part::Value(value) => (value.as_str(), true),
                Part::Break => (PARAGRAPH, false),
            };
            let start = chars.len();
            chars.extend(text.chars());
            whole.resize(chars.len(), keep_whole);
            if keep_whole {
                spans.push(start..chars.len());
            }
        }

        let mut cuts = vec![Cut::Grapheme; chars.len() + 1];
        for (i, pair) in chars.windows(2).enumerate() {
            if let [before, after] = pair
                && belong_together(*before, *after)
                && let Some(cut) = cuts.get_mut(i + 1)
            {
                *cut = Cut::Char;
            }
        }
        for span in spans {
            for cut in cuts.iter_mut().take(span.end).skip(span.start + 1) {
                *cut = Cut::Never;
            }
        }
        let mut flat = Self { chars, whole, cuts };
        flat.rate_whitespace();
        flat
    }

    /// Whether `chars[i]` is whitespace of the text (not inside a value or the notice).
    fn is_space(&self, i: usize) -> bool {
        self.chars.get(i).is_some_and(|c| c.is_whitespace()) && self.whole.get(i) == Some(&false)
    }

    /// Rates the start of each run of text whitespace as a paragraph break, a sentence end or a space.
    /// Splitting anywhere else in the run is the same once messages are trimmed.
    fn rate_whitespace(&mut self) {
        let mut i = 0;
        while i < self.chars.len() {
            if !self.is_space(i) {
                i += 1;
                continue;
            }
            let start = i;
            let mut newlines = 0;
            while self.is_space(i) {
                newlines += usize::from(self.chars.get(i) == Some(&'\n'));
                i += 1;
            }
            let cut = if newlines >= 2 {
                Cut::Paragraph
            } else if newlines == 1 || self.ends_sentence(start) {
                Cut::Sentence
            } else {
                Cut::Space
            };
            if start > 0
                && let Some(rated) = self.cuts.get_mut(start)
            {
                *rated = (*rated).max(cut);
            }
        }
    }

    /// Whether the characters before `at` end a sentence: `.`, `!`, `?` or `…`, maybe followed by
    /// closing quotes or brackets.
    fn ends_sentence(&self, at: usize) -> bool {
        let before = self.chars.get(..at).unwrap_or_default();
        let last = before.iter().rev().find(|c| !matches!(c, '"' | '\'' | ')' | ']' | '”' | '’' | '»'));
        matches!(last, Some('.' | '!' | '?' | '…'))
    }

    /// The index just past the last character that is not whitespace.
    fn end(&self) -> usize {
        self.chars.iter().rposition(|c| !c.is_whitespace()).map_or(0, |i| i + 1)
    }

    /// The first index from `at` that is not text whitespace.
    fn skip_space(&self, mut at: usize) -> usize {
        while self.is_space(at) {
            at += 1;
        }
        at
    }

    /// Splits into messages of at most `limit` characters, cutting nowhere worse than `worst`. Where
    /// no such cut fits (live chat's paragraph-only splitting), the message runs to the next one.
    fn split(&self, limit: usize, worst: Cut) -> Vec<String> {
        let limit = limit.max(1);
        let end = self.end();
        let mut messages = Vec::new();
        let mut start = self.skip_space(0);
        while start < end {
            let stop = if end - start <= limit { end } else { self.best_cut(start, end, limit, worst) };
            let stop = stop.max(start + 1).min(end);
            let message: String = self.chars.get(start..stop).unwrap_or_default().iter().collect();
            let message = message.trim_end();
            if !message.is_empty() {
                messages.push(message.to_owned());
            }
            start = self.skip_space(stop);
        }
        messages
    }

    /// Where to end a message that starts at `start` and cannot run to `end`: the best-rated cut at
    /// most `limit` characters in, the last of those if several; failing that, the first cut past the
    /// limit. Never inside a value.
    fn best_cut(&self, start: usize, end: usize, limit: usize, worst: Cut) -> usize {
        let worst = worst.max(Cut::Char);
        let reach = start.saturating_add(limit).min(end);
        let mut best: Option<(Cut, usize)> = None;
        for at in (start + 1..=reach).rev() {
            let cut = self.cuts.get(at).copied().unwrap_or(Cut::Never);
            if cut >= worst && best.is_none_or(|(best, _)| cut > best) {
                best = Some((cut, at));
                if cut == Cut::Paragraph {
                    break;
                }
            }
        }
        match best {
            Some((_, at)) => at,
            None => {
                (reach + 1..end).find(|&at| self.cuts.get(at).is_some_and(|&cut| cut >= worst)).unwrap_or(end)
            }
        }
    }
}

/// Whether splitting between `before` and `after` would tear apart what reads as one character: an
/// emoji joined by a zero-width joiner, a skin-tone or variation modifier, a combining accent. A
/// joiner binds what follows it only when that is a pictograph (Unicode's grapheme rule GB11): a
/// joiner before a letter, a stop or a space joins nothing, and a message may end after it.
fn belong_together(before: char, after: char) -> bool {
    (before == '\u{200D}' && is_pictographic(after))
        || matches!(after,
            '\u{200D}'
            | '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FE20}'..='\u{FE2F}'
            | '\u{1F3FB}'..='\u{1F3FF}'
            | '\u{E0020}'..='\u{E007F}')
}

/// Whether `c` may be a pictograph a zero-width joiner joins to the one before: Unicode's
/// Extended_Pictographic characters, by the blocks that hold them (a little wider than the
/// property, which only keeps more characters together).
fn is_pictographic(c: char) -> bool {
    matches!(c,
        '\u{00A9}' | '\u{00AE}' | '\u{203C}' | '\u{2049}' | '\u{2122}' | '\u{2139}'
        | '\u{2194}'..='\u{21FF}'
        | '\u{2300}'..='\u{2BFF}'
        | '\u{3030}' | '\u{303D}' | '\u{3297}' | '\u{3299}'
        | '\u{1F000}'..='\u{1FAFF}')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;

    const ALL: [Channel; 4] = Channel::ALL;

    fn how(channel: Channel) -> Rendering<'static> {
        Rendering { channel, agent_name: "Ava", customer_name: Some("Ola") }
    }

    fn on(channel: Channel, reply: &Reply) -> Vec<String> {
        render(reply, &how(channel))
    }

    fn len(text: &str) -> usize {
        text.chars().count()
    }

    /// `count` words of `letters` each, joined by single spaces.
    fn words(count: usize, letters: usize) -> String {
        vec!["x".repeat(letters); count].join(" ")
    }

    // ---- Reply ----

    #[test]
    fn the_builder_and_the_push_methods_agree() {
        let built = Reply::new().text("Hi ").value("v").paragraph().text("Bye");
        let mut pushed = Reply::new();
        pushed.push_text("Hi ");
        pushed.push_value("v");
        pushed.push_paragraph();
        pushed.push_text("Bye");
        assert_eq!(built, pushed);
        assert_eq!(
            built.parts(),
            [Part::Text("Hi ".into()), Part::Value("v".into()), Part::Break, Part::Text("Bye".into())]
        );
    }

    #[test]
    fn adjacent_text_merges_and_empty_pieces_are_ignored() {
        let reply = Reply::new().text("a").text("").text("b").value("  ").value("").text("c");
        assert_eq!(reply, Reply::new().text("abc"));
        assert_eq!(reply.parts(), [Part::Text("abc".into())]);
    }

    #[test]
    fn values_lose_their_surrounding_whitespace_only() {
        let reply = Reply::new().value("  Storgata 1,\n0155 Oslo \t");
        assert_eq!(reply.parts(), [Part::Value("Storgata 1,\n0155 Oslo".into())]);
    }

    #[test]
    fn paragraph_breaks_never_lead_or_double() {
        let reply = Reply::new().paragraph().text("a").paragraph().paragraph().text("b");
        assert_eq!(reply.parts(), [Part::Text("a".into()), Part::Break, Part::Text("b".into())]);
        assert_eq!(reply.plain(), "a\n\nb");
    }

    #[test]
    fn plain_joins_everything_unrendered() {
        let reply =
            Reply::new().text(" Your phone is ").value("+47 912 34 567").text(".").paragraph().text("Ok? ");
        assert_eq!(reply.plain(), " Your phone is +47 912 34 567.\n\nOk? ");
    }

    #[test]
    fn is_empty_means_nothing_to_show() {
        assert!(Reply::new().is_empty());
        assert!(Reply::new().text(" \n\t ").paragraph().text("  ").is_empty());
        assert!(!Reply::new().text(".").is_empty());
        assert!(!Reply::new().value("x").is_empty());
        assert!(Reply::new().value("   ").is_empty());
    }

    #[test]
    fn append_joins_with_a_paragraph_break() {
        let mut reply = Reply::new().text("First.");
        reply.append(Reply::new().value("v").paragraph().text("Second."));
        assert_eq!(reply.plain(), "First.\n\nv\n\nSecond.");

        let mut into_empty = Reply::new();
        into_empty.append(Reply::new().text("Only."));
        assert_eq!(into_empty, Reply::new().text("Only."));

        let mut with_empty = Reply::new().text("Kept.");
        with_empty.append(Reply::new());
        assert_eq!(with_empty, Reply::new().text("Kept."));

        let mut text_then_text = Reply::new().text("a");
        text_then_text.append(Reply::new().text("b"));
        assert_eq!(text_then_text.parts(), [Part::Text("a".into()), Part::Break, Part::Text("b".into())]);
    }

    // ---- channels ----

    #[test]
    fn limits_are_the_platforms() {
        assert_eq!(hard_limit(Channel::Whatsapp), Some(4096));
        assert_eq!(hard_limit(Channel::FacebookMessenger), Some(2000));
        assert_eq!(hard_limit(Channel::LiveChat), None);
        assert_eq!(hard_limit(Channel::Email), None);
        assert!(len(TOO_LONG_NOTICE) < MESSENGER_LIMIT);
    }

    #[test]
    fn an_empty_reply_renders_to_no_message_on_every_channel() {
        for channel in ALL {
            assert!(on(channel, &Reply::new()).is_empty(), "{channel}");
            assert!(on(channel, &Reply::new().text("  \n ").paragraph().text("\t")).is_empty(), "{channel}");
        }
    }

    #[test]
    fn a_short_reply_is_one_trimmed_message_on_messaging_channels() {
        let reply = Reply::new()
            .text("  Your email is ")
            .value("ola@example.com")
            .text(".")
            .paragraph()
            .text("Bye! ");
        for channel in [Channel::LiveChat, Channel::Whatsapp, Channel::FacebookMessenger] {
            assert_eq!(on(channel, &reply), ["Your email is ola@example.com.\n\nBye!"], "{channel}");
        }
    }

    #[test]
    fn email_has_a_greeting_and_a_signature() {
        let reply = Reply::new().text(" Your address is ").value("Storgata 1").text(". ");
        assert_eq!(
            on(Channel::Email, &reply),
            ["Hello Ola,\n\nYour address is Storgata 1.\n\nBest regards,\nAva"]
        );
    }

    #[test]
    fn email_greets_plainly_when_the_name_is_unknown_or_blank() {
        let reply = Reply::new().text("Hi.");
        for customer_name in [None, Some(""), Some("  ")] {
            let messages =
                render(&reply, &Rendering { channel: Channel::Email, agent_name: "Ava", customer_name });
            assert_eq!(messages, ["Hello,\n\nHi.\n\nBest regards,\nAva"]);
        }
        let unsigned = Rendering { channel: Channel::Email, agent_name: " ", customer_name: Some(" Kari ") };
        assert_eq!(render(&reply, &unsigned), ["Hello Kari,\n\nHi.\n\nBest regards,"]);
    }

    #[test]
    fn email_has_no_length_limit_and_shows_long_values_whole() {
        let long_value = "v".repeat(10_000);
        let reply = Reply::new().text(words(3000, 5)).paragraph().value(long_value.clone());
        let messages = on(Channel::Email, &reply);
        assert_eq!(messages.len(), 1);
        assert!(messages[0].contains(&long_value));
        assert!(!messages[0].contains(TOO_LONG_NOTICE));
    }

    #[test]
    fn live_chat_keeps_a_long_paragraph_and_a_long_value_in_one_message() {
        let long_value = "v".repeat(10_000);
        let reply = Reply::new().text(words(2000, 5)).text(" ").value(long_value.clone());
        let messages = on(Channel::LiveChat, &reply);
        assert_eq!(messages.len(), 1);
        assert!(messages[0].ends_with(&long_value));
    }

    #[test]
    fn live_chat_splits_a_long_reply_at_paragraph_breaks_only() {
        let paragraph = words(500, 5); // 2,999 characters
        let reply = Reply::new()
            .text(paragraph.clone())
            .paragraph()
            .text("Short.")
            .paragraph()
            .text(paragraph.clone())
            .paragraph()
            .text(words(1000, 5)); // 5,999 characters: alone, unsplit
        let messages = on(Channel::LiveChat, &reply);
        assert_eq!(messages, [format!("{paragraph}\n\nShort."), paragraph, words(1000, 5)]);
    }

    #[test]
    fn live_chat_stays_one_message_up_to_the_soft_limit() {
        let text = words(683, 5); // 4,097 characters
        let fits = Reply::new().text(&text[..4096]);
        assert_eq!(on(Channel::LiveChat, &fits).len(), 1);
        let (first, second) = text.split_at(2000);
        let over = Reply::new().text(first).paragraph().text(second);
        assert_eq!(on(Channel::LiveChat, &over).len(), 2);
    }

    #[test]
    fn splits_prefer_a_paragraph_break_over_a_sentence_end() {
        let reply = Reply::new()
            .text(format!("{}. {}", words(100, 5), words(100, 5)))
            .paragraph()
            .text(format!("{}. {}", words(100, 5), words(300, 5)));
        let messages = on(Channel::FacebookMessenger, &reply);
        assert_eq!(messages[0], format!("{}. {}", words(100, 5), words(100, 5)));
        assert!(messages.iter().all(|message| len(message) <= MESSENGER_LIMIT));
    }

    #[test]
    fn splits_prefer_a_sentence_end_over_a_space() {
        let first = format!("{}!", words(200, 5));
        let reply = Reply::new().text(format!("{first} {}", words(200, 5)));
        let messages = on(Channel::FacebookMessenger, &reply);
        assert_eq!(messages, [first, words(200, 5)]);
    }

    #[test]
    fn a_sentence_end_may_be_closed_by_a_quote() {
        let first = format!("You said \"{}.\"", words(200, 5));
        let reply = Reply::new().text(format!("{first} {}", words(200, 5)));
        assert_eq!(on(Channel::FacebookMessenger, &reply)[0], first);
    }

    #[test]
    fn without_sentence_ends_splits_fall_on_the_last_space_that_fits() {
        let reply = Reply::new().text(words(700, 5)); // 4,199 characters
        let messages = on(Channel::FacebookMessenger, &reply);
        assert_eq!(messages, [words(333, 5), words(333, 5), words(34, 5)]);
    }

    #[test]
    fn a_word_longer_than_the_limit_is_cut_hard() {
        let reply = Reply::new().text("x".repeat(4500));
        let messages = on(Channel::FacebookMessenger, &reply);
        assert_eq!(messages, ["x".repeat(2000), "x".repeat(2000), "x".repeat(500)]);
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        let reply = Reply::new().text("😀".repeat(2500));
        let messages = on(Channel::FacebookMessenger, &reply);
        assert_eq!(messages, ["😀".repeat(2000), "😀".repeat(500)]);
        let whatsapp = on(Channel::Whatsapp, &reply);
        assert_eq!(whatsapp, ["😀".repeat(2500)]);
    }

    #[test]
    fn a_hard_cut_keeps_emoji_sequences_and_accents_together() {
        let family = "👩\u{200D}👩\u{200D}👧"; // five chars
        let reply = Reply::new().text(family.repeat(401)).text("e\u{301}".repeat(1200));
        for message in on(Channel::FacebookMessenger, &reply) {
            assert!(len(&message) <= MESSENGER_LIMIT);
            let first = message.chars().next();
            let last = message.chars().last();
            assert!(!matches!(first, Some('\u{200D}' | '\u{301}')), "starts inside a sequence");
            assert!(last != Some('\u{200D}'), "ends inside a sequence");
        }
    }

    /// A joiner before a stop joins nothing: a word that fits, ending in one, is not cut to keep
    /// the joiner with the stop.
    #[test]
    fn a_joiner_before_a_stop_is_a_place_to_end_a_message() {
        let word = format!("{}\u{200D}", "x".repeat(MESSENGER_LIMIT - 1));
        let reply = Reply::new().text(format!("{word}. Next."));
        let messages = on(Channel::FacebookMessenger, &reply);
        assert_eq!(messages, [word, ". Next.".to_owned()]);
        // Before a pictograph it still joins: the sequence moves whole.
        let joined = format!("{}\u{200D}👧", "x".repeat(MESSENGER_LIMIT - 1));
        let messages = on(Channel::FacebookMessenger, &Reply::new().text(joined));
        assert!(messages.iter().all(|m| !m.ends_with('\u{200D}') && !m.starts_with('👧')), "{messages:?}");
    }

    #[test]
    fn a_value_straddling_the_limit_moves_whole_to_the_next_message() {
        let value = "ola.nordmann@example.com";
        let lead = words(331, 5); // 1,985 characters
        let reply = Reply::new().text(format!("{lead} Email: ")).value(value).text(". Done.");
        let messages = on(Channel::FacebookMessenger, &reply);
        assert_eq!(messages, [format!("{lead} Email:"), format!("{value}. Done.")]);
    }

    #[test]
    fn a_value_straddling_the_limit_moves_whole_even_without_a_space_before_it() {
        let value = "ola.nordmann@example.com";
        let lead = "x".repeat(1990);
        let reply = Reply::new().text(lead.clone()).value(value).text("y".repeat(10));
        let messages = on(Channel::FacebookMessenger, &reply);
        assert_eq!(messages, [lead, format!("{value}{}", "y".repeat(10))]);
    }

    #[test]
    fn a_value_exactly_at_the_limit_is_shown_whole() {
        for (channel, limit) in
            [(Channel::FacebookMessenger, MESSENGER_LIMIT), (Channel::Whatsapp, WHATSAPP_LIMIT)]
        {
            let value = "é".repeat(limit);
            let reply = Reply::new().text("Your notes: ").value(value.clone()).text(" Anything else?");
            let messages = on(channel, &reply);
            assert_eq!(messages, ["Your notes:".to_owned(), value, "Anything else?".to_owned()], "{channel}");
        }
    }

    #[test]
    fn a_value_over_the_limit_is_replaced_by_the_notice_never_shown_in_part() {
        for (channel, limit) in
            [(Channel::FacebookMessenger, MESSENGER_LIMIT), (Channel::Whatsapp, WHATSAPP_LIMIT)]
        {
            let value = format!("SECRET{}", "z".repeat(limit - 5));
            let reply = Reply::new().text("Your notes: ").value(value).text(".");
            let messages = on(channel, &reply);
            assert_eq!(messages, [format!("Your notes: {TOO_LONG_NOTICE}.")], "{channel}");
            assert!(messages.iter().all(|message| !message.contains("SECRET") && !message.contains('z')));
        }
    }

    #[test]
    fn the_notice_is_kept_whole_like_the_value_it_replaces() {
        let lead = words(329, 5); // 1,973 characters
        let reply = Reply::new().text(format!("{lead} ")).value("z".repeat(2001)).value("y".repeat(2001));
        let messages = on(Channel::FacebookMessenger, &reply);
        assert_eq!(messages, [lead, format!("{TOO_LONG_NOTICE}{TOO_LONG_NOTICE}")]);
    }

    #[test]
    fn messages_are_trimmed_at_their_boundaries() {
        let reply = Reply::new().text(format!("  {}  \n\n  \t", words(400, 5))).paragraph().text("  end  ");
        for channel in ALL {
            for message in on(channel, &reply) {
                assert_eq!(message.trim(), message, "{channel}");
            }
        }
    }

    // ---- properties ----

    /// Characters for text: multi-byte letters, emoji (with a modifier and a joiner), a combining accent.
    const TEXT_CHARS: &[char] =
        &['a', 'Z', '7', 'é', 'ß', 'ø', '日', '本', '😀', '👍', '\u{1F3FD}', '\u{200D}', '\u{301}', '-', ','];
    /// Characters for values: as text, plus inner whitespace and sentence ends, which must not split them.
    const VALUE_CHARS: &[char] = &['b', 'Ø', '語', '🎉', '\u{200D}', ' ', '\n', '.', '!', '@'];
    const SEPARATORS: &[&str] = &[" ", " ", " ", "  ", ". ", "! ", "? ", "\n", "\n\n", "\t", ".\" ", ""];
    const WORD_SEPARATORS: &[&str] = &[" ", "\n", ". "];

    fn chars_of(
        alphabet: &'static [char],
        len: impl Into<proptest::sample::SizeRange>,
    ) -> BoxedStrategy<String> {
        proptest::collection::vec(select(alphabet), len).prop_map(String::from_iter).boxed()
    }

    fn text_part() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            12 => chars_of(TEXT_CHARS, 1..12),
            1 => chars_of(TEXT_CHARS, 1990..2010),
            1 => chars_of(TEXT_CHARS, 4090..4105),
        ];
        proptest::collection::vec((word, select(SEPARATORS)), 0..30)
            .prop_map(|pieces| pieces.into_iter().map(|(word, separator)| word + separator).collect())
    }

    /// A value body of a length near nothing, Messenger's limit or WhatsApp's.
    fn value_body() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => chars_of(VALUE_CHARS, 0..40),
            1 => chars_of(VALUE_CHARS, 1985..2005),
            1 => chars_of(VALUE_CHARS, 4085..4100),
        ]
    }

    #[derive(Clone, Debug)]
    enum Spec {
        Text(String),
        Value(String),
        Break,
    }

    /// Arbitrary replies. Each value starts with a unique marker `⟪i⟫`, so a value (or a piece of it)
    /// can be found in the messages unambiguously.
    fn replies() -> impl Strategy<Value = Reply> {
        let spec = prop_oneof![
            3 => text_part().prop_map(Spec::Text),
            3 => value_body().prop_map(Spec::Value),
            1 => Just(Spec::Break),
        ];
        proptest::collection::vec(spec, 0..12).prop_map(|specs| {
            let mut reply = Reply::new();
            for (i, spec) in specs.into_iter().enumerate() {
                match spec {
                    Spec::Text(text) => reply.push_text(text),
                    Spec::Value(body) => reply.push_value(format!("⟪{i}⟫{body}")),
                    Spec::Break => reply.push_paragraph(),
                }
            }
            reply
        })
    }

    fn values(reply: &Reply) -> impl Iterator<Item = &str> {
        reply.parts().iter().filter_map(|part| match part {
            Part::Value(value) => Some(value.as_str()),
            _ => None,
        })
    }

    /// The marker a value starts with (`⟪i⟫`).
    fn marker(value: &str) -> &str {
        value.find('⟫').map_or(value, |end| &value[..end + '⟫'.len_utf8()])
    }

    /// What the channel should show, computed independently of the splitter: the parts joined, a value
    /// over the hard limit replaced by the notice.
    fn expected(reply: &Reply, channel: Channel) -> String {
        reply
            .parts()
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.as_str(),
                Part::Value(value) if hard_limit(channel).is_some_and(|limit| len(value) > limit) => {
                    TOO_LONG_NOTICE
                }
                Part::Value(value) => value.as_str(),
                Part::Break => "\n\n",
            })
            .collect()
    }

    /// The gaps between the messages when they are found, in order, in `rendered`: the text before the
    /// first, between each two, and after the last. `None` when a message is not where it should be.
    fn gaps<'a>(rendered: &'a str, messages: &[String]) -> Option<Vec<&'a str>> {
        let mut gaps = Vec::new();
        let mut at = 0;
        for message in messages {
            let found = at + rendered[at..].find(message.as_str())?;
            gaps.push(&rendered[at..found]);
            at = found + message.len();
        }
        gaps.push(&rendered[at..]);
        Some(gaps)
    }

    fn greeting_and_signature() -> (&'static str, &'static str) {
        ("Hello Ola,\n\n", "\n\nBest regards,\nAva")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn every_message_fits_its_channel_and_is_neither_empty_nor_padded(reply in replies()) {
            for channel in ALL {
                for message in on(channel, &reply) {
                    prop_assert!(!message.is_empty(), "{channel}: empty message");
                    prop_assert_eq!(message.trim(), message.as_str(), "{}: untrimmed message", channel);
                    if let Some(limit) = hard_limit(channel) {
                        prop_assert!(len(&message) <= limit, "{channel}: {} > {limit}", len(&message));
                    }
                }
            }
        }

        #[test]
        fn there_are_messages_exactly_when_the_reply_is_not_empty(reply in replies()) {
            for channel in ALL {
                prop_assert_eq!(on(channel, &reply).is_empty(), reply.is_empty(), "{}", channel);
            }
        }

        #[test]
        fn every_value_that_fits_appears_whole_in_exactly_one_message(reply in replies()) {
            for channel in ALL {
                let messages = on(channel, &reply);
                for value in values(&reply) {
                    if hard_limit(channel).is_some_and(|limit| len(value) > limit) {
                        continue;
                    }
                    let holding = messages.iter().filter(|message| message.contains(value)).count();
                    prop_assert_eq!(holding, 1, "{}: value {} in {} messages", channel, marker(value), holding);
                    let marked = messages.iter().filter(|message| message.contains(marker(value))).count();
                    prop_assert_eq!(marked, 1, "{}: value {} split", channel, marker(value));
                }
            }
        }

        #[test]
        fn a_value_over_the_limit_is_never_shown_even_in_part(reply in replies()) {
            for channel in [Channel::Whatsapp, Channel::FacebookMessenger] {
                let limit = hard_limit(channel).unwrap_or(0);
                let messages = on(channel, &reply);
                let over: Vec<&str> = values(&reply).filter(|value| len(value) > limit).collect();
                for value in &over {
                    prop_assert!(messages.iter().all(|message| !message.contains(marker(value))),
                        "{channel}: part of {} shown", marker(value));
                }
                let notices: usize = messages.iter().map(|message| message.matches(TOO_LONG_NOTICE).count()).sum();
                prop_assert_eq!(notices, over.len(), "{}", channel);
            }
        }

        #[test]
        fn messages_are_the_rendering_in_order_and_lose_only_whitespace(reply in replies()) {
            for channel in [Channel::LiveChat, Channel::Whatsapp, Channel::FacebookMessenger] {
                let rendered = expected(&reply, channel);
                let messages = on(channel, &reply);
                let gaps = gaps(&rendered, &messages);
                prop_assert!(gaps.is_some(), "{channel}: messages out of order or altered");
                for gap in gaps.unwrap_or_default() {
                    prop_assert!(gap.chars().all(char::is_whitespace), "{channel}: lost {gap:?}");
                }
            }
        }

        #[test]
        fn live_chat_splits_only_long_replies_and_only_at_paragraph_breaks(reply in replies()) {
            let rendered = expected(&reply, Channel::LiveChat);
            let messages = on(Channel::LiveChat, &reply);
            if len(rendered.trim()) <= LIVE_CHAT_SOFT_LIMIT {
                prop_assert!(messages.len() <= 1);
            }
            let gaps = gaps(&rendered, &messages).unwrap_or_default();
            for gap in gaps.iter().skip(1).take(messages.len().saturating_sub(1)) {
                prop_assert!(gap.matches('\n').count() >= 2, "split at {gap:?}, not at a paragraph break");
            }
        }

        #[test]
        fn email_is_one_message_with_greeting_body_and_signature(reply in replies()) {
            let messages = on(Channel::Email, &reply);
            if reply.is_empty() {
                prop_assert!(messages.is_empty());
            } else {
                let (greeting, signature) = greeting_and_signature();
                prop_assert_eq!(messages.len(), 1);
                let message = &messages[0];
                prop_assert!(message.starts_with(greeting));
                prop_assert!(message.ends_with(signature));
                let body = &message[greeting.len()..message.len() - signature.len()];
                let plain = reply.plain();
                prop_assert_eq!(body, plain.trim());
            }
        }

        #[test]
        fn a_text_word_that_fits_is_never_cut(
            text in proptest::collection::vec((chars_of(TEXT_CHARS, 1..2100), select(WORD_SEPARATORS)), 1..8)
        ) {
            let reply = Reply::new().text(text.iter().map(|(word, separator)| format!("{word}{separator}")).collect::<String>());
            for channel in ALL {
                let messages = on(channel, &reply);
                let limit = hard_limit(channel).unwrap_or(usize::MAX);
                for (word, _) in text.iter().filter(|(word, _)| len(word) <= limit) {
                    prop_assert!(messages.iter().any(|message| message.contains(word.as_str())), "{channel}: word cut");
                }
            }
        }

        #[test]
        fn rendering_never_panics_on_arbitrary_text(
            pieces in proptest::collection::vec((any::<String>(), any::<bool>()), 0..8),
            long in any::<bool>(),
        ) {
            let mut reply = Reply::new();
            for (piece, is_value) in pieces {
                let piece = if long { piece.repeat(300) } else { piece };
                if is_value { reply.push_value(piece) } else { reply.push_text(piece) }
                reply.push_text(" ");
            }
            for channel in ALL {
                let messages = on(channel, &reply);
                prop_assert_eq!(messages.is_empty(), reply.is_empty());
            }
        }
    }
}
