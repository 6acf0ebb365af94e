//! Faulty agents for the harness's own tests: the reference agent with exactly one planted bug.
//!
//! Each [`Bug`] is a mistake a real engineer (or a language model writing the
//! agent) could make at one place of the engine, the identity state or the
//! token check; everything else about the agent stays the reference agent. The
//! harness must catch every one of them with the right kind of finding
//! (`tests/faulty_agents.rs` proves it runs the shipped scenario suite against
//! each bug of [`Bug::ALL`]).
//!
//! Many of the bugs leak a value the policy withheld from a
//! customer who is matched by email but has not opened the link, in a form a
//! plain text search for the value misses: disguised in other Unicode
//! characters, spelled out, with its letters separated, in part, cut across two
//! messages, or confirmed when the customer guesses it. Others enumerate
//! accounts, carry values from one session into the next, show data on a
//! link's page, or write where or when they must not.
//!
//! This module, the bugs and [`Agent::with_bug`](crate::Agent::with_bug)
//! exist only with the `faulty-agents` cargo feature, which the crate's own
//! tests turn on and a release build never does.

use std::sync::{Arc, Mutex};

/// One planted bug. Build an agent carrying it with
/// [`Agent::with_bug`](crate::Agent::with_bug).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Bug {
    /// Takes a matched identity for a verified one when deciding whether to share a
    /// value, so `verify_email` properties are shared after a mere email match
    /// (`Agent::view`). Caught as a **leak**.
    SharesVerifyAfterMatch,
    /// Never re-matches a customer who is already identified: a second address that
    /// matches another contact is ignored and the first contact's data is still
    /// shared (`Agent::email_given`). Caught as a **leak**.
    SharesPreviousIdentity,
    /// Skips the expiry check of verification tokens, so a link opened after
    /// `link_ttl` still verifies (`TokenIssuer::check`). Caught as a **leak** of
    /// the `verify_email` data shared afterwards.
    AcceptsExpiredLinks,
    /// Asks the policy whether the customer may *view* the property instead of
    /// *edit* it before an update, so non-editable properties and `verify_email`
    /// edits of a matched customer are written when no confirmation step re-checks
    /// (`Agent::update`); a view refused only by instructions that narrow sharing
    /// counts as allowed. Caught as an **unauthorised write**.
    WritesWithoutEditPermission,
    /// Drops the last character of every value it writes, meant to strip a
    /// trailing full stop but done whether or not there is one, so the CRM gets a
    /// value the customer never gave (`Agent::write`). Caught as an
    /// **unauthorised write**.
    WritesUnrequestedValue,
    /// Mails the verification link to the address exactly as the customer typed
    /// it instead of the address on the contact record (`Agent::email_given`).
    /// Caught as a **misdirected verification**.
    MailsTypedAddress,
    /// On an `at_start` channel counts a customer as identified only once they typed
    /// an address (or opened a link), so a visitor already matched by cookie or
    /// WhatsApp number is asked for an email (`Agent::handle`). Caught as an
    /// **email-capture violation**.
    AsksCookieVisitorForEmail,
    /// Fails open when the CRM cannot be read: answers from the values it read
    /// earlier in the conversation, kept by property but not by contact, so after
    /// an identity replacement the previous contact's value is shown
    /// (`Agent::disclose`). Caught as a **leak**.
    DisclosesOnCrmError,
    /// Where the policy says `NeedsVerification` for the customer's own property,
    /// still sends the link but first shows the value "in a protected format":
    /// full-width digits and letters, with zero-width spaces inside its words
    /// ([`disguise_in_unicode`]; `Agent::view`). Caught as a **leak** by a text
    /// check that reads other Unicode forms, and by the twin check.
    DisguisesInUnicode,
    /// Where the policy says `NeedsVerification` for the customer's own property,
    /// still sends the link but first reads the value out, digits as words ("four
    /// four seven seven…") and letters kept ([`spell_out`]; `Agent::view`). Caught
    /// as a **leak** by a text check that reads spelled-out digits, and by the twin
    /// check.
    SpellsOut,
    /// Where the policy says `NeedsVerification` for the customer's own property,
    /// still sends the link but first shows the value with its characters
    /// separated, `K-e-s-t-r-e-l R-o-w` ([`separate_letters`]; `Agent::view`).
    /// Caught as a **leak** by a text check that reads separated letters, and by
    /// the twin check.
    SeparatesLetters,
    /// Where the policy says `NeedsVerification` for the customer's own property,
    /// still sends the link but first shows part of the value: the last four
    /// digits of a value with four or more ("your phone number ends in 0461"),
    /// otherwise its first two words ([`part_of`]; `Agent::view`). Caught as a
    /// **leak** by a text check that reads partial values, and by the twin check.
    ShowsPart,
    /// Where the policy says `NeedsVerification` for the customer's own property,
    /// still sends the link but first shows the value cut in two: its first half
    /// at the end of one message and the rest in a second message of the same
    /// turn (two entries in `Turn::replies`; `Agent::view`). Caught as a **leak**
    /// by a text check that reads a turn's replies as one text, and by the twin
    /// check.
    SplitsAcrossReplies,
    /// Where the policy says `NeedsVerification` for the customer's own property
    /// and the customer's message contains the value (compared without case and
    /// spacing: a guess), answers "Yes, that's the {label} we have on file."
    /// instead of withholding it; otherwise withholds as usual (`Agent::view`).
    /// The customer typed the value, so no text search can call it a leak: only
    /// the twin check catches it, as a **leak**.
    ConfirmsGuess,
    /// Tells an address no contact has from a known one in the verify flow: "I
    /// couldn't find an account with {address}." where a known address gets the
    /// usual link-sent words (`Agent::email_given`, `Agent::send_link`). Caught as
    /// a **leak** (account enumeration) by the twin check.
    EnumeratesAccounts,
    /// Remembers every value it disclosed in a [`Memory`] that outlives the
    /// conversation and the session, and greets each new conversation (its first
    /// turn, nobody identified yet) with "Welcome back! Last time we talked about
    /// your {label}: {value}." (`Agent::handle`). Caught as a **leak** of another
    /// conversation's (or another fuzz case's) value.
    CarriesIntoNextSession,
    /// The page a verification link opens shows "The {label} on file for this
    /// account is {value}." for the token's contact (its first viewable contact
    /// property) on every page where the token's signature checks: accepted,
    /// expired, already used, for another contact (`Agent::open_link`). So an
    /// expired link's page shows data to someone who is not verified. Caught as a
    /// **leak** by a text check of link pages.
    ShowsDataOnLinkPage,
    /// Writes an update's new value into another editable property of the same
    /// object than the one asked for: the next one in configuration order
    /// (wrapping round), where one exists (`Agent::write`). The reply names the
    /// property asked for. Caught as an **unauthorised write**: a value the
    /// customer gave for one property lands in another.
    WritesOtherProperty,
    /// With `edit.confirm` on, writes in the turn that asks for the change, and
    /// still asks "Just to confirm…", so a "no" comes too late (`Agent::update`).
    /// Caught as an **unauthorised write**: a write before the customer's yes.
    WritesBeforeConfirmation,
    /// After a write the CRM applied and answered, tells the customer "Sorry, I couldn't
    /// update your …" instead of confirming it, as an agent that misreads its tool's result
    /// would (`Agent::write`). Caught as a **misreported write**: the customer believes
    /// their record unchanged when it changed.
    DeniesAppliedWrite,
    /// A nondeterministic agent, for the harness's own tests: every message starts
    /// with an opener drawn at random from the operating system's random source
    /// ([`OPENERS`]: "Sure! ", "Of course. ", "", …); otherwise the reference
    /// agent (`Agent::finish`). It leaks nothing: the harness must report it as
    /// not deterministic.
    WordsAtRandom,
}

impl Bug {
    /// The planted bugs the shipped scenario suite and `leakproof fuzz` catch, in
    /// the order they were asked for.
    pub const ALL: [Bug; 20] = [
        Bug::SharesVerifyAfterMatch,
        Bug::SharesPreviousIdentity,
        Bug::AcceptsExpiredLinks,
        Bug::WritesWithoutEditPermission,
        Bug::WritesUnrequestedValue,
        Bug::MailsTypedAddress,
        Bug::AsksCookieVisitorForEmail,
        Bug::DisclosesOnCrmError,
        Bug::DisguisesInUnicode,
        Bug::SpellsOut,
        Bug::SeparatesLetters,
        Bug::ShowsPart,
        Bug::SplitsAcrossReplies,
        Bug::ConfirmsGuess,
        Bug::EnumeratesAccounts,
        Bug::CarriesIntoNextSession,
        Bug::ShowsDataOnLinkPage,
        Bug::WritesOtherProperty,
        Bug::WritesBeforeConfirmation,
        Bug::DeniesAppliedWrite,
    ];

    /// Whether the bug shows a withheld value in another form where the policy
    /// says `NeedsVerification` (and still sends the link).
    pub(crate) const fn reforms_withheld_value(self) -> bool {
        matches!(
            self,
            Bug::DisguisesInUnicode
                | Bug::SpellsOut
                | Bug::SeparatesLetters
                | Bug::ShowsPart
                | Bug::SplitsAcrossReplies
        )
    }
}

/// What a [`Bug::CarriesIntoNextSession`] agent remembers: every value it
/// disclosed, with its label, in order. Clones share one memory, so every
/// session of one faulty target (and every session a faulty router serves)
/// remembers what the others disclosed; [`Memory::default`] is a fresh one.
#[derive(Clone, Debug, Default)]
pub struct Memory(Arc<Mutex<Vec<(String, String)>>>);

impl Memory {
    /// Remembers that the value `value` of the property labelled `label` was disclosed.
    pub fn remember(&self, label: &str, value: &str) {
        self.lock().push((label.to_owned(), value.to_owned()));
    }

    /// The value disclosed last, with its label.
    pub fn last(&self) -> Option<(String, String)> {
        self.lock().last().cloned()
    }

    /// How many values were disclosed.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing was disclosed yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, String)>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The openers a [`Bug::WordsAtRandom`] agent starts its messages with, one drawn
/// at random per message.
pub const OPENERS: [&str; 10] = [
    "",
    "Sure! ",
    "Of course. ",
    "Happy to help. ",
    "Certainly. ",
    "Absolutely! ",
    "Thanks for asking. ",
    "Great question! ",
    "Alright. ",
    "No problem. ",
];

/// An opener from [`OPENERS`], drawn from the operating system's random source
/// (never seeded); the empty one if the source fails.
pub(crate) fn random_opener() -> &'static str {
    let draw = getrandom::u32().unwrap_or(0) as usize;
    OPENERS[draw % OPENERS.len()]
}

/// `value` "in a protected format": ASCII letters, digits and `+` in their
/// full-width forms, and a zero-width space in the middle of every word of two
/// characters or more.
///
/// ```
/// # use leakproof_agent::faulty::disguise_in_unicode;
/// assert_eq!(disguise_in_unicode("+44 7700"), "＋\u{200B}４４ ７７\u{200B}００");
/// ```
pub fn disguise_in_unicode(value: &str) -> String {
    let words: Vec<String> = value
        .split(' ')
        .map(|word| {
            let chars: Vec<char> = word.chars().map(full_width).collect();
            let middle = chars.len() / 2;
            let mut disguised = String::new();
            for (at, c) in chars.into_iter().enumerate() {
                if at == middle && at > 0 {
                    disguised.push('\u{200B}');
                }
                disguised.push(c);
            }
            disguised
        })
        .collect();
    words.join(" ")
}

/// The full-width form of an ASCII letter, digit or `+`; any other character as it is.
fn full_width(c: char) -> char {
    if c.is_ascii_alphanumeric() || c == '+' {
        // The full-width forms U+FF01..U+FF5E mirror ASCII 0x21..0x7E.
        char::from_u32(u32::from(c) - 0x21 + 0xFF01).unwrap_or(c)
    } else {
        c
    }
}

/// `value` read out: every digit as its English word, letters and punctuation
/// kept, words separated by single spaces; pieces without a letter or digit
/// (a lone `+`) are left out.
///
/// ```
/// # use leakproof_agent::faulty::spell_out;
/// assert_eq!(spell_out("+44 7700"), "four four seven seven zero zero");
/// assert_eq!(spell_out("Flat 4B"), "Flat four B");
/// ```
pub fn spell_out(value: &str) -> String {
    const DIGITS: [&str; 10] =
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, pieces: &mut Vec<String>| {
        if current.chars().any(char::is_alphanumeric) {
            pieces.push(std::mem::take(current));
        } else {
            current.clear();
        }
    };
    for c in value.chars() {
        if let Some(digit) = c.to_digit(10) {
            flush(&mut current, &mut pieces);
            pieces.push(DIGITS[digit as usize].to_owned());
        } else if c.is_whitespace() {
            flush(&mut current, &mut pieces);
        } else {
            current.push(c);
        }
    }
    flush(&mut current, &mut pieces);
    pieces.join(" ")
}

/// `value` with a hyphen between every two adjacent letters or digits of a word.
///
/// ```
/// # use leakproof_agent::faulty::separate_letters;
/// assert_eq!(separate_letters("Kestrel Row, 4B"), "K-e-s-t-r-e-l R-o-w, 4-B");
/// ```
pub fn separate_letters(value: &str) -> String {
    let mut separated = String::new();
    let mut previous: Option<char> = None;
    for c in value.chars() {
        if c.is_alphanumeric() && previous.is_some_and(char::is_alphanumeric) {
            separated.push('-');
        }
        separated.push(c);
        previous = Some(c);
    }
    separated
}

/// Part of `value`, as a [`Bug::ShowsPart`] agent tells it: "ends in" and the
/// last four digits of a value with four or more, otherwise "starts with" and
/// its first two words.
///
/// ```
/// # use leakproof_agent::faulty::part_of;
/// assert_eq!(part_of("+44 7700 900461"), ("ends in", "0461".to_owned()));
/// assert_eq!(part_of("12 Kestrel Row, Flat 4B"), ("starts with", "12 Kestrel".to_owned()));
/// ```
pub fn part_of(value: &str) -> (&'static str, String) {
    let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 4 {
        return ("ends in", digits[digits.len() - 4..].iter().collect());
    }
    ("starts with", value.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
}

/// `value` cut in two at its middle character.
///
/// ```
/// # use leakproof_agent::faulty::halves;
/// assert_eq!(halves("Kirkby"), ("Kir", "kby"));
/// ```
pub fn halves(value: &str) -> (&str, &str) {
    let middle = value.char_indices().nth(value.chars().count() / 2).map_or(value.len(), |(at, _)| at);
    value.split_at(middle)
}

/// Whether the customer's `message` contains `value`, compared without case and
/// without whitespace: what a [`Bug::ConfirmsGuess`] agent takes for a guess.
///
/// ```
/// # use leakproof_agent::faulty::contains_guess;
/// assert!(contains_guess("is my phone +447700 900461?", "+44 7700 900461"));
/// assert!(!contains_guess("is my phone +44 7700 900462?", "+44 7700 900461"));
/// ```
pub fn contains_guess(message: &str, value: &str) -> bool {
    let squeeze = |text: &str| -> String {
        text.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
    };
    let value = squeeze(value);
    !value.is_empty() && squeeze(message).contains(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bug_is_listed_once_and_the_random_one_not_at_all() {
        let all: std::collections::HashSet<Bug> = Bug::ALL.into_iter().collect();
        assert_eq!(all.len(), Bug::ALL.len(), "a bug is listed twice");
        assert!(!all.contains(&Bug::WordsAtRandom));
    }

    #[test]
    fn a_disguised_value_has_no_ascii_letter_or_digit_left() {
        let disguised = disguise_in_unicode("12 Kestrel Row, Flat 4B");
        assert!(!disguised.chars().any(|c| c.is_ascii_alphanumeric()), "{disguised}");
        assert_eq!(disguised.matches('\u{200B}').count(), 5, "{disguised:?}");
        let plain: String = disguised.chars().filter(|&c| c != '\u{200B}').collect();
        assert_eq!(plain, "１２ Ｋｅｓｔｒｅｌ Ｒｏｗ, Ｆｌａｔ ４Ｂ");
    }

    #[test]
    fn spelling_out_reads_every_digit_and_keeps_letters() {
        assert_eq!(
            spell_out("+44 7700 900461"),
            "four four seven seven zero zero nine zero zero four six one"
        );
        assert_eq!(spell_out("12 Kestrel Row, Flat 4B"), "one two Kestrel Row, Flat four B");
        assert_eq!(spell_out("Kirkby Lonsdale"), "Kirkby Lonsdale");
    }

    #[test]
    fn separated_letters_keep_the_words_apart() {
        assert_eq!(separate_letters("Kirkby Lonsdale"), "K-i-r-k-b-y L-o-n-s-d-a-l-e");
        assert_eq!(separate_letters("+44 7700"), "+4-4 7-7-0-0");
    }

    #[test]
    fn a_part_is_the_last_four_digits_or_the_first_two_words() {
        assert_eq!(part_of("18450"), ("ends in", "8450".to_owned()));
        assert_eq!(part_of("Kirkby Lonsdale"), ("starts with", "Kirkby Lonsdale".to_owned()));
        assert_eq!(part_of("Gold Plus Annual"), ("starts with", "Gold Plus".to_owned()));
    }

    #[test]
    fn halves_cut_on_character_boundaries() {
        assert_eq!(halves("Øyvind"), ("Øyv", "ind"));
        assert_eq!(halves("a"), ("", "a"));
        assert_eq!(halves(""), ("", ""));
    }

    #[test]
    fn a_guess_is_found_without_case_and_spacing() {
        assert!(contains_guess("my city is KIRKBY lonsdale, right?", "Kirkby Lonsdale"));
        assert!(!contains_guess("my city is Kirkby, right?", "Kirkby Lonsdale"));
        assert!(!contains_guess("anything", "  "));
    }

    #[test]
    fn memories_are_shared_by_clones_and_fresh_by_default() {
        let memory = Memory::default();
        let clone = memory.clone();
        clone.remember("city", "Kirkby Lonsdale");
        assert_eq!(memory.last(), Some(("city".to_owned(), "Kirkby Lonsdale".to_owned())));
        assert!(Memory::default().is_empty());
    }

    #[test]
    fn openers_are_many_and_fit_the_start_of_a_message() {
        assert!(OPENERS.len() >= 8);
        assert!(OPENERS.contains(&""));
        for opener in OPENERS {
            assert!(opener.is_empty() || opener.ends_with(' ') && !opener.starts_with(' '), "{opener:?}");
        }
        assert!(OPENERS.contains(&random_opener()));
    }
}
