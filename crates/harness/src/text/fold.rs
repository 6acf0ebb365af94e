//! Folding text to the characters the oracle compares, and the readings of a text as words: compatibility forms (full-width, mathematical, superscript) become their plain letters and digits, case is folded, accents and other combining marks are dropped, invisible format characters are set aside, and the decimal digits of every script read as `0`–`9`.
//!
//! Each folded character remembers the bytes of the original text it came
//! from, so whatever is found in the folded text is placed in the original.
//!
//! Where the folding cannot know how a text was meant, it reads it several
//! ways ([`Reading`]): an invisible character inside a word may join it
//! (`Kirk\u{200B}by`) or separate two words (`Kirkby\u{200B}Lonsdale`); the
//! end of one reply and the start of the next may be one word cut in two
//! (`Kes` | `trel`) or two words; single letters with gaps between them
//! (`K-e-s-t-r-e-l`) may be a word spelled out.

use std::hash::{Hash, Hasher};
use std::ops::Range;

use rustc_hash::FxHasher;

use unicode_general_category::{GeneralCategory, get_general_category};
use unicode_normalization::char::decompose_compatible;

/// One way of reading a text as words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reading {
    /// Invisible characters are nothing; replies are separated as by a space.
    Plain,
    /// Invisible characters separate words.
    InvisibleAsSpace,
    /// A reply that ends in a letter or digit and a next reply that starts
    /// with one are one word cut in two.
    AcrossSeams,
    /// Single letters or digits with short, regular gaps between them are
    /// the letters of words (`K-e-s-t-r-e-l R-o-w`).
    LettersJoined,
}

/// A folded character, or a piece of text that is read differently by different readings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece {
    /// A character: lowercase, without marks; `0`–`9` for a decimal digit of
    /// any script; a space for any space and `-` for any dash.
    Char(char),
    /// An invisible format character: a zero-width space or joiner, a soft
    /// hyphen, a direction mark.
    Invisible,
}

/// Folds one character of a text that is not ASCII, passing each piece to `emit`.
fn fold_char(c: char, mut emit: impl FnMut(Piece)) {
    decompose_compatible(c, |d| {
        for lower in d.to_lowercase() {
            if let Some(piece) = classify(lower) {
                emit(piece);
            }
        }
    });
}

/// What a decomposed, lowercased character folds to (`None`: nothing).
fn classify(c: char) -> Option<Piece> {
    if c.is_ascii() {
        return Some(Piece::Char(c));
    }
    match get_general_category(c) {
        GeneralCategory::Format => Some(Piece::Invisible),
        GeneralCategory::NonspacingMark | GeneralCategory::SpacingMark | GeneralCategory::EnclosingMark => {
            None
        }
        GeneralCategory::DecimalNumber => Some(Piece::Char(ascii_digit(c))),
        GeneralCategory::SpaceSeparator => Some(Piece::Char(' ')),
        GeneralCategory::DashPunctuation => Some(Piece::Char('-')),
        _ => Some(Piece::Char(c)),
    }
}

/// The ASCII digit of `c`, a decimal digit of some script.
///
/// Unicode encodes decimal digits only in contiguous runs of ten, `0` to `9`,
/// so the value is the distance from the start of `c`'s run of decimal
/// digits, modulo ten (some runs hold several sets, as the mathematical
/// digits do).
fn ascii_digit(c: char) -> char {
    let mut first = u32::from(c);
    while let Some(before) = first.checked_sub(1).and_then(char::from_u32) {
        if get_general_category(before) != GeneralCategory::DecimalNumber {
            break;
        }
        first -= 1;
    }
    let value = (u32::from(c) - first) % 10;
    char::from_digit(value, 10).unwrap_or('0')
}

/// The 64-bit hash words are indexed by (Fx: fast on short words; collisions only cost a comparison).
pub(super) fn hash_word(word: &str) -> u64 {
    let mut hasher = FxHasher::default();
    word.hash(&mut hasher);
    hasher.finish()
}

/// A text read one way: its folded characters, each placed in the original,
/// and its words.
#[derive(Clone, Debug, Default)]
pub(super) struct View {
    /// The folded text.
    pub text: String,
    /// For each byte of `text`, the bytes of the original text it came from;
    /// `None` when each byte came from the same byte of the original (ASCII text).
    src: Option<Vec<Range<usize>>>,
    /// The words: byte ranges of `text`, each a maximal run of letters and digits.
    pub tokens: Vec<Range<usize>>,
    /// `(hash of the word, index into tokens)`, sorted, to find a word's occurrences.
    index: Vec<(u64, u32)>,
    /// A bit for each word's hash (modulo [`SEEN_BITS`]): most words looked
    /// for are in no reply, and one bit tells so.
    seen: Seen,
}

/// A bit for each of a set of word hashes: a filter that never says "no" to a word in the set.
pub(super) type Seen = [u64; SEEN_BITS / 64];

/// Whether the word of `hash` may be in `seen`.
pub(super) fn may_be_in(seen: &Seen, hash: u64) -> bool {
    let (word, bit) = seen_bit(hash);
    seen[word] & bit != 0
}

/// The bits of [`View::seen`].
const SEEN_BITS: usize = 1024;

fn seen_bit(hash: u64) -> (usize, u64) {
    let bit = (hash % SEEN_BITS as u64) as usize;
    (bit / 64, 1 << (bit % 64))
}

impl View {
    /// A view of folded characters, each with the original bytes it came from.
    fn from_chars(chars: &[(char, Range<usize>)]) -> View {
        let mut view = View::default();
        let mut src = Vec::with_capacity(chars.len());
        for (c, from) in chars {
            let before = view.text.len();
            view.text.push(*c);
            for _ in before..view.text.len() {
                src.push(from.clone());
            }
        }
        view.src = Some(src);
        view.tokenise();
        view
    }

    /// A view of ASCII text folded byte for byte.
    fn from_ascii(text: String) -> View {
        let mut view = View { text, ..View::default() };
        view.tokenise();
        view
    }

    /// The original bytes folded byte `at` came from.
    fn src(&self, at: usize) -> Option<Range<usize>> {
        match &self.src {
            Some(src) => src.get(at).cloned(),
            None => (at < self.text.len()).then(|| at..at + 1),
        }
    }

    fn tokenise(&mut self) {
        let mut start = None;
        for (i, c) in self.text.char_indices() {
            match (c.is_alphanumeric(), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    self.tokens.push(s..i);
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            self.tokens.push(s..self.text.len());
        }
        self.index = self
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (hash_word(&self.text[t.clone()]), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        self.index.sort_unstable();
        for (hash, _) in &self.index {
            let (word, bit) = seen_bit(*hash);
            self.seen[word] |= bit;
        }
    }

    /// Whether every one of `words` may be in the view (no false "no").
    pub fn may_have(&self, words: &[(String, u64)]) -> bool {
        words.iter().all(|(_, hash)| may_be_in(&self.seen, *hash))
    }

    /// The word at `index`.
    pub fn word(&self, index: usize) -> &str {
        self.tokens.get(index).map_or("", |t| &self.text[t.clone()])
    }

    /// The bytes of the original text that folded bytes `range` came from.
    pub fn original(&self, range: Range<usize>) -> Range<usize> {
        let Some(start) = self.src(range.start).map(|r| r.start) else {
            // Nothing folded from here on: the end of the original.
            let end = self.text.len().checked_sub(1).and_then(|i| self.src(i)).map_or(0, |r| r.end);
            return end..end;
        };
        let end = range.end.checked_sub(1).and_then(|i| self.src(i)).map_or(start, |r| r.end);
        start..end.max(start)
    }

    /// The bytes of the original text that tokens `first..=last` came from.
    pub fn original_of_tokens(&self, first: usize, last: usize) -> Range<usize> {
        match (self.tokens.get(first), self.tokens.get(last)) {
            (Some(a), Some(b)) => self.original(a.start..b.end),
            _ => 0..0,
        }
    }

    /// Where `words` (with their hashes) occur as consecutive words, earliest
    /// first: the index of the first word of each occurrence.
    pub fn occurrences<'s>(&'s self, words: &'s [(String, u64)]) -> impl Iterator<Item = usize> + 's {
        let first = words.first().map_or(0, |(_, h)| *h);
        let from = self.index.partition_point(|(h, _)| *h < first);
        let candidates = if words.is_empty() { &[][..] } else { &self.index[from..] };
        candidates.iter().take_while(move |(h, _)| *h == first).filter_map(move |&(_, i)| {
            let i = i as usize;
            let all = words.iter().enumerate().all(|(k, (word, _))| self.word(i + k) == word);
            (all && i + words.len() <= self.tokens.len()).then_some(i)
        })
    }

    /// The original bytes of the first occurrence of `words`, if any.
    pub fn find_words(&self, words: &[(String, u64)]) -> Option<Range<usize>> {
        if !self.may_have(words) {
            return None;
        }
        let first = self.occurrences(words).min()?;
        Some(self.original_of_tokens(first, first + words.len() - 1))
    }
}

/// A run of single letters or digits with short gaps between them, as a
/// word is spelled out: `K-e-s-t-r-e-l`, `K E S T R E L`.
#[derive(Clone, Debug)]
pub(super) struct SpelledRun {
    /// The letters, joined.
    pub letters: String,
    /// For each byte of `letters`, the original bytes of its letter.
    src: Vec<Range<usize>>,
}

impl SpelledRun {
    /// The original bytes of the first occurrence of `squashed` (letters and digits, no gaps).
    pub fn find(&self, squashed: &str) -> Option<Range<usize>> {
        if squashed.is_empty() {
            return None;
        }
        let at = self.letters.find(squashed)?;
        let start = self.src.get(at)?.start;
        let end = self.src.get(at + squashed.len() - 1)?.end;
        Some(start..end)
    }
}

/// The fewest single letters that make a spelled-out word.
const SPELLED_MIN: usize = 3;

/// The longest gap between the letters of a spelled-out word (`. ` in `K. E. S`).
const SPELLED_GAP_MAX: usize = 3;

/// A text folded once and read every way that may matter.
#[derive(Clone, Debug)]
pub(super) struct Readings {
    /// The plain reading.
    pub plain: View,
    /// The other readings that differ from the plain one, each with its kind.
    pub others: Vec<(Reading, View)>,
    /// Runs of single letters in the plain reading.
    pub spelled: Vec<SpelledRun>,
}

impl Readings {
    /// Reads `text`, in which the bytes at `seams` (each a `\n`) separate one reply from the next.
    pub fn new(text: &str, seams: &[usize]) -> Readings {
        if text.is_ascii() {
            return Readings::ascii(text, seams);
        }
        let mut plain = Vec::with_capacity(text.len());
        let mut spaced = Vec::new();
        let mut invisible = false;
        let mut seam_at = Vec::new();
        let mut seams_left = seams.iter().copied().peekable();
        for (i, c) in text.char_indices() {
            let src = i..i + c.len_utf8();
            while seams_left.next_if(|&s| s < i).is_some() {}
            if seams_left.next_if_eq(&i).is_some() {
                seam_at.push(plain.len());
                plain.push((' ', src));
                continue;
            }
            if c.is_ascii() {
                plain.push((c.to_ascii_lowercase(), src));
                continue;
            }
            fold_char(c, |piece| match piece {
                Piece::Char(c) => plain.push((c, src.clone())),
                Piece::Invisible => {
                    invisible = true;
                    // Marks where a space would be, in the reading that needs one.
                    spaced.push(plain.len());
                }
            });
        }

        let mut others = Vec::new();
        if invisible {
            let mut chars = Vec::with_capacity(plain.len() + spaced.len());
            let mut marks = spaced.iter().peekable();
            for (i, c) in plain.iter().enumerate() {
                while marks.next_if_eq(&&i).is_some() {
                    chars.push((' ', c.1.start..c.1.start));
                }
                chars.push(c.clone());
            }
            others.push((Reading::InvisibleAsSpace, View::from_chars(&chars)));
        }
        let cut = |&at: &usize| {
            let alnum =
                |i: Option<usize>| i.and_then(|i| plain.get(i)).is_some_and(|(c, _)| c.is_alphanumeric());
            alnum(at.checked_sub(1)) && alnum(Some(at + 1))
        };
        if seam_at.iter().any(cut) {
            let dropped: Vec<usize> = seam_at.iter().copied().filter(|at| cut(at)).collect();
            let chars: Vec<(char, Range<usize>)> = plain
                .iter()
                .enumerate()
                .filter(|(i, _)| dropped.binary_search(i).is_err())
                .map(|(_, c)| c.clone())
                .collect();
            others.push((Reading::AcrossSeams, View::from_chars(&chars)));
        }
        let plain_view = View::from_chars(&plain);
        let (spelled, joined) = spelled_runs(&plain_view);
        if !spelled.is_empty() {
            // The letters view: the plain text without the gaps inside spelled words.
            let mut chars = Vec::with_capacity(plain.len());
            let mut byte = 0;
            let mut gaps = joined.iter().peekable();
            for c in &plain {
                while gaps.next_if(|g| g.end <= byte).is_some() {}
                let inside = gaps.peek().is_some_and(|g| g.start <= byte && byte < g.end);
                if !inside {
                    chars.push(c.clone());
                }
                byte += c.0.len_utf8();
            }
            others.push((Reading::LettersJoined, View::from_chars(&chars)));
        }
        Readings { plain: plain_view, others, spelled }
    }

    /// Reads ASCII text: nothing to fold but case, nothing invisible.
    fn ascii(text: &str, seams: &[usize]) -> Readings {
        let mut folded = text.to_ascii_lowercase().into_bytes();
        for &at in seams {
            if let Some(byte) = folded.get_mut(at) {
                *byte = b' ';
            }
        }
        let cut_at = |at: &usize| {
            let alnum = |i: Option<usize>| {
                i.and_then(|i| text.as_bytes().get(i)).is_some_and(u8::is_ascii_alphanumeric)
            };
            alnum(at.checked_sub(1)) && alnum(Some(at + 1))
        };
        let plain = View::from_ascii(String::from_utf8(folded).unwrap_or_default());
        let mut others = Vec::new();
        let dropped: Vec<usize> = seams.iter().copied().filter(cut_at).collect();
        if !dropped.is_empty() {
            // Rare: the cut words read joined.
            let kept: Vec<(char, Range<usize>)> = plain
                .text
                .char_indices()
                .filter(|(i, _)| dropped.binary_search(i).is_err())
                .map(|(i, c)| (c, i..i + 1))
                .collect();
            others.push((Reading::AcrossSeams, View::from_chars(&kept)));
        }
        let (spelled, joined) = spelled_runs(&plain);
        if !spelled.is_empty() {
            let chars: Vec<(char, Range<usize>)> = plain
                .text
                .char_indices()
                .filter(|(i, _)| !joined.iter().any(|g| g.contains(i)))
                .map(|(i, c)| (c, i..i + 1))
                .collect();
            others.push((Reading::LettersJoined, View::from_chars(&chars)));
        }
        Readings { plain, others, spelled }
    }

    /// The words of every reading, as one filter; every word may be in it
    /// when single letters may spell any word.
    pub fn seen(&self) -> Seen {
        if !self.spelled.is_empty() {
            return [u64::MAX; SEEN_BITS / 64];
        }
        let mut seen = self.plain.seen;
        for (_, view) in &self.others {
            for (all, one) in seen.iter_mut().zip(view.seen) {
                *all |= one;
            }
        }
        seen
    }

    /// Every reading, the plain one first.
    pub fn all(&self) -> impl Iterator<Item = (Reading, &View)> {
        std::iter::once((Reading::Plain, &self.plain)).chain(self.others.iter().map(|(r, v)| (*r, v)))
    }
}

/// The runs of single letters in `view`, and the folded byte ranges of the
/// gaps inside their words (the gaps to drop to join the letters into words).
///
/// Within a run the most common gap separates letters; any other gap
/// separates words (`K-e-s-t-r-e-l R-o-w` is two words).
fn spelled_runs(view: &View) -> (Vec<SpelledRun>, Vec<Range<usize>>) {
    let single = |t: &Range<usize>| view.text[t.clone()].chars().count() == 1;
    let gap_ok = |a: &Range<usize>, b: &Range<usize>| {
        let gap = &view.text[a.end..b.start];
        (1..=SPELLED_GAP_MAX).contains(&gap.chars().count())
    };
    let mut runs = Vec::new();
    let mut joined = Vec::new();
    let tokens = &view.tokens;
    let mut i = 0;
    while i < tokens.len() {
        if !single(&tokens[i]) {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < tokens.len() && single(&tokens[j]) && gap_ok(&tokens[j - 1], &tokens[j]) {
            j += 1;
        }
        if j - i >= SPELLED_MIN {
            let run = &tokens[i..j];
            let mut letters = String::new();
            let mut src = Vec::new();
            for t in run {
                let before = letters.len();
                letters.push_str(&view.text[t.clone()]);
                let original = view.original(t.clone());
                src.extend(std::iter::repeat_n(original, letters.len() - before));
            }
            let gaps: Vec<Range<usize>> = run.windows(2).map(|w| w[0].end..w[1].start).collect();
            let mut counts: Vec<(&str, usize)> = Vec::new();
            for g in &gaps {
                let text = &view.text[g.clone()];
                match counts.iter_mut().find(|(t, _)| *t == text) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((text, 1)),
                }
            }
            let common = counts.iter().max_by_key(|(_, n)| *n).map(|(t, _)| *t).unwrap_or_default();
            joined.extend(gaps.iter().filter(|g| &view.text[(*g).clone()] == common).cloned());
            runs.push(SpelledRun { letters, src });
        }
        i = j;
    }
    (runs, joined)
}

/// `text` folded, invisible characters read as nothing: what a value is compared by.
pub(super) fn fold_str(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            fold_char(c, |piece| {
                if let Piece::Char(c) = piece {
                    out.push(c);
                }
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> String {
        Readings::new(text, &[]).plain.text
    }

    #[test]
    fn compatibility_forms_marks_and_digits_of_any_script_fold_to_plain_characters() {
        assert_eq!(plain("＋44 ７７００ ９００４６１"), "+44 7700 900461");
        assert_eq!(plain("Oisi\u{301}n"), "oisin");
        assert_eq!(plain("Oisín"), "oisin");
        assert_eq!(plain("Kirk\u{200B}by"), "kirkby");
        assert_eq!(plain("٤٤ ७७ 𝟗𝟎 ၀"), "44 77 90 0");
        assert_eq!(plain("\u{FEFF}KESTREL\u{00AD}"), "kestrel");
        assert_eq!(plain("12\u{00A0}Kestrel\u{2013}Row"), "12 kestrel-row");
        assert_eq!(plain("Kestrel\u{FE0F}"), "kestrel");
        // Every kind of space is a space, also one with no compatibility decomposition.
        assert_eq!(plain("44\u{1680}7700\u{3000}900461"), "44 7700 900461");
        // Marks of every kind are dropped: nonspacing, spacing, enclosing.
        assert_eq!(plain("Oi\u{0903}s\u{20DD}i\u{0301}n"), "oisin");
    }

    #[test]
    fn the_word_filter_rules_out_most_words_a_text_does_not_hold_and_never_one_it_does() {
        let text = "Hello, your ticket 5001 is waiting on the courier; anything else today?";
        let view = Readings::new(text, &[]).plain;
        let hashed = |w: &str| (w.to_owned(), hash_word(w));
        for k in 0..view.tokens.len() {
            assert!(view.may_have(&[hashed(view.word(k))]), "{}", view.word(k));
        }
        let absent: Vec<String> = (0..1000).map(|n| format!("w{n}")).collect();
        let maybe = absent.iter().filter(|w| view.may_have(&[hashed(w)])).count();
        assert!(maybe < 50, "{maybe} of 1000 absent words may be in a text of 12 words");
        let seen = Readings::new(text, &[]).seen();
        assert_eq!(absent.iter().filter(|w| may_be_in(&seen, hash_word(w))).count(), maybe);
    }

    #[test]
    fn an_empty_range_is_placed_where_it_is() {
        for text in ["tel 7700", "tel ７７００"] {
            let view = Readings::new(text, &[]).plain;
            let end = view.text.len();
            assert_eq!(view.original(end..end), text.len()..text.len(), "{text}");
            assert_eq!(view.original(0..0), 0..0, "{text}");
            assert_eq!(view.original(4..end), 4..text.len(), "{text}");
        }
    }

    #[test]
    fn folded_ranges_point_into_the_original() {
        let text = "tel ７７００!";
        let view = Readings::new(text, &[]).plain;
        let found = view.find_words(&[("7700".to_owned(), hash_word("7700"))]).unwrap();
        assert_eq!(&text[found], "７７００");
    }

    #[test]
    fn invisible_characters_are_read_both_as_nothing_and_as_spaces() {
        let readings = Readings::new("Kirkby\u{200B}Lonsdale", &[]);
        assert_eq!(readings.plain.text, "kirkbylonsdale");
        let spaced = readings.others.iter().find(|(r, _)| *r == Reading::InvisibleAsSpace).unwrap();
        assert_eq!(spaced.1.word(0), "kirkby");
        assert_eq!(spaced.1.word(1), "lonsdale");
    }

    #[test]
    fn replies_cut_inside_a_word_are_also_read_joined() {
        let text = "12 Kes\ntrel Row";
        let readings = Readings::new(text, &[6]);
        assert_eq!(readings.plain.word(1), "kes");
        let joined = readings.others.iter().find(|(r, _)| *r == Reading::AcrossSeams).unwrap();
        assert_eq!(joined.1.word(1), "kestrel");
        // A seam after a full stop, or before one, is no cut word.
        assert!(Readings::new("Thanks.\nYour city", &[7]).others.is_empty());
        assert!(Readings::new("Thanks\n. Your city", &[6]).others.is_empty());
        assert!(Readings::new("Thanks\n. Your cité", &[6]).others.is_empty());
        assert!(Readings::new("Merci.\nYour cité", &[6]).others.is_empty());
        let accented = Readings::new("12 Kés\ntrel Row", &[7]);
        let joined = accented.others.iter().find(|(r, _)| *r == Reading::AcrossSeams).unwrap();
        assert_eq!(joined.1.word(1), "kestrel");
    }

    #[test]
    fn single_letters_are_joined_into_the_words_they_spell() {
        let readings = Readings::new("It is K-e-s-t-r-e-l R-o-w, flat 4B", &[]);
        assert_eq!(readings.spelled[0].letters, "kestrelrow");
        let joined = readings.others.iter().find(|(r, _)| *r == Reading::LettersJoined).unwrap();
        let words: Vec<&str> = (0..joined.1.tokens.len()).map(|i| joined.1.word(i)).collect();
        assert_eq!(words, ["it", "is", "kestrel", "row", "flat", "4b"]);
        assert!(Readings::new("I'm sure I'll call", &[]).spelled.is_empty());
        // The most common gap joins letters, whichever comes first.
        let readings = Readings::new("K e-s-t-r-e-l", &[]);
        let joined = readings.others.iter().find(|(r, _)| *r == Reading::LettersJoined).unwrap();
        assert_eq!((joined.1.word(0), joined.1.word(1)), ("k", "estrel"));
        // One letter a line is spelling too.
        assert_eq!(Readings::new("Your city:\nK\ni\nr\nk\nb\ny", &[]).spelled[0].letters, "kirkby");
    }
}
