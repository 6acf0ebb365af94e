//! Numbers as people write and say them: groups of digits joined by the separators of phone numbers and dates (`+44 (0) 7700-900461`, `18,450`), and digits spelled out in words ("four four seven seven", "double seven", "oh" between two digits).

use std::ops::Range;

use super::fold::View;

/// The characters that join two groups of digits into one number: spaces,
/// dashes, dots, commas, slashes, parentheses and a plus.
const JOINERS: &[u8] = b" -.,/()+";

/// The longest gap of joiners between two groups of one number (`) ` in `(0) 7700`, `, ` in "four, four").
const JOIN_MAX: usize = 3;

/// A number in a text: digit groups and spoken digits joined by separators.
#[derive(Clone, Debug)]
pub(super) struct DigitRun {
    /// Its digits, in order, ASCII.
    pub digits: String,
    items: Vec<Item>,
    /// Whether it stands on its own: no letter is glued to its first or last
    /// digit (`ab0461cd` is part of a word, not a number).
    pub free: bool,
}

/// A group of written digits, or one spoken digit.
#[derive(Clone, Debug)]
struct Item {
    /// Its digits: a range of [`DigitRun::digits`].
    digits: Range<usize>,
    /// The bytes of the original text it came from.
    src: Range<usize>,
    /// Whether it was a word ("seven").
    spoken: bool,
}

impl DigitRun {
    /// Where `wanted` occurs in the run, beginning and ending where groups do
    /// (`900461` is not in `9004612`, but `18450` is in `5001 18450`), as the
    /// original bytes and whether any digit of it was spoken.
    pub fn find(&self, wanted: &str) -> Option<(Range<usize>, bool)> {
        if wanted.is_empty() {
            return None;
        }
        self.items.iter().enumerate().find_map(|(i, first)| {
            let start = first.digits.start;
            if !self.digits[start..].starts_with(wanted) {
                return None;
            }
            let end = start + wanted.len();
            let last = self.items[i..].iter().position(|item| item.digits.end == end)? + i;
            let spoken = self.items[i..=last].iter().any(|item| item.spoken);
            Some((first.src.start..self.items[last].src.end, spoken))
        })
    }

    /// The original bytes of the whole run.
    pub fn range(&self) -> Range<usize> {
        match (self.items.first(), self.items.last()) {
            (Some(first), Some(last)) => first.src.start..last.src.end,
            _ => 0..0,
        }
    }

    /// Whether any digit of the run was spoken.
    pub fn spoken(&self) -> bool {
        self.items.iter().any(|item| item.spoken)
    }
}

/// What a word says about digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spoken {
    /// A digit.
    Digit(u8),
    /// "oh" or "o": zero only between two digits.
    MaybeZero,
    /// "double" or "triple": the next digit, this many times.
    Times(usize),
}

fn spoken(word: &str) -> Option<Spoken> {
    Some(match word {
        "zero" | "nought" => Spoken::Digit(0),
        "one" => Spoken::Digit(1),
        "two" => Spoken::Digit(2),
        "three" => Spoken::Digit(3),
        "four" => Spoken::Digit(4),
        "five" => Spoken::Digit(5),
        "six" => Spoken::Digit(6),
        "seven" => Spoken::Digit(7),
        "eight" => Spoken::Digit(8),
        "nine" => Spoken::Digit(9),
        "oh" | "o" => Spoken::MaybeZero,
        "double" => Spoken::Times(2),
        "triple" => Spoken::Times(3),
        _ => return None,
    })
}

/// A piece of a word: a group of digits or a run of letters.
#[derive(Clone, Debug)]
struct Segment {
    /// Folded bytes.
    bytes: Range<usize>,
    digits: bool,
    /// Whether it begins, or ends, inside a word (glued to letters or digits of another kind).
    glued_before: bool,
    glued_after: bool,
}

fn segments(view: &View) -> Vec<Segment> {
    let mut out = Vec::new();
    for token in &view.tokens {
        let text = &view.text[token.clone()];
        let mut push = |start: usize, end: usize, digits: bool| {
            out.push(Segment {
                bytes: token.start + start..token.start + end,
                digits,
                glued_before: start > 0,
                glued_after: end < text.len(),
            });
        };
        let mut start = 0;
        let mut kind = None;
        for (i, c) in text.char_indices() {
            let digit = c.is_ascii_digit();
            if let Some(previous) = kind
                && previous != digit
            {
                push(start, i, previous);
                start = i;
            }
            kind = Some(digit);
        }
        push(start, text.len(), kind == Some(true));
    }
    out
}

/// The numbers in `view`, digits said in words among them.
pub(super) fn runs(view: &View) -> Vec<DigitRun> {
    let segments = segments(view);
    let joined = |a: &Segment, b: &Segment| {
        if a.bytes.end == b.bytes.start {
            return true;
        }
        let gap = view.text.as_bytes().get(a.bytes.end..b.bytes.start).unwrap_or_default();
        gap.len() <= JOIN_MAX && gap.iter().all(|b| JOINERS.contains(b))
    };
    let word_of = |segment: &Segment| {
        let whole = !segment.digits && !segment.glued_before && !segment.glued_after;
        whole.then(|| spoken(&view.text[segment.bytes.clone()])).flatten()
    };
    let mut runs = Vec::new();
    let mut building = Building::default();
    let mut i = 0;
    let mut previous: Option<usize> = None;
    while i < segments.len() {
        let segment = &segments[i];
        if !previous.is_some_and(|p| joined(&segments[p], segment)) {
            building.finish(&mut runs);
        }
        let src = view.original(segment.bytes.clone());
        let text = &view.text[segment.bytes.clone()];
        let mut consumed = 1;
        match (segment.digits, word_of(segment)) {
            (true, _) => building.push(text, src, false, false, segment),
            (false, Some(Spoken::Digit(d))) => building.push(&d.to_string(), src, true, false, segment),
            (false, Some(Spoken::MaybeZero)) => building.push("0", src, true, true, segment),
            (false, Some(Spoken::Times(n))) => {
                // "double seven", "triple 0": the next word or single digit, n times.
                let next = segments.get(i + 1).filter(|next| joined(segment, next));
                let digit = next.and_then(|next| {
                    let text = &view.text[next.bytes.clone()];
                    if next.digits && text.len() == 1 {
                        return Some(text.to_owned());
                    }
                    match word_of(next) {
                        Some(Spoken::Digit(d)) => Some(d.to_string()),
                        Some(Spoken::MaybeZero) => Some("0".to_owned()),
                        _ => None,
                    }
                });
                match (digit, next) {
                    (Some(digit), Some(next)) => {
                        let whole = src.start..view.original(next.bytes.clone()).end;
                        for _ in 0..n {
                            building.push(&digit, whole.clone(), true, false, segment);
                        }
                        building.glued_end = next.glued_after;
                        consumed = 2;
                    }
                    _ => building.finish(&mut runs),
                }
            }
            (false, None) => building.finish(&mut runs),
        }
        previous = Some(i + consumed - 1);
        i += consumed;
    }
    building.finish(&mut runs);
    runs
}

/// A run being read.
#[derive(Default)]
struct Building {
    digits: String,
    /// Each item, with whether it is a maybe-zero.
    items: Vec<(Item, bool)>,
    /// Whether the first item is glued to letters before it.
    glued_start: bool,
    /// Whether the last item is glued to letters after it.
    glued_end: bool,
}

impl Building {
    fn push(&mut self, digits: &str, src: Range<usize>, spoken: bool, maybe: bool, segment: &Segment) {
        if self.items.is_empty() {
            self.glued_start = segment.glued_before;
        }
        self.glued_end = segment.glued_after;
        let start = self.digits.len();
        self.digits.push_str(digits);
        self.items.push((Item { digits: start..self.digits.len(), src, spoken }, maybe));
    }

    /// Ends the run: a maybe-zero at either end is a word ("oh"), not a digit.
    fn finish(&mut self, runs: &mut Vec<DigitRun>) {
        let start = self.items.iter().position(|(_, maybe)| !maybe);
        let end = self.items.iter().rposition(|(_, maybe)| !maybe);
        if let (Some(start), Some(end)) = (start, end) {
            let kept = &self.items[start..=end];
            let offset = kept[0].0.digits.start;
            let last = kept[kept.len() - 1].0.digits.end;
            // A run trimmed of an "oh" is not glued where the "oh" was.
            let glued = (start == 0 && self.glued_start) || (end + 1 == self.items.len() && self.glued_end);
            let free = !glued;
            let items = kept
                .iter()
                .map(|(item, _)| Item {
                    digits: item.digits.start - offset..item.digits.end - offset,
                    ..item.clone()
                })
                .collect();
            runs.push(DigitRun { digits: self.digits[offset..last].to_owned(), items, free });
        }
        *self = Building::default();
    }
}

/// The numbers written in digits in `folded` (a folded value) that have at
/// least `min` digits: groups joined as [`runs`] joins them, read without
/// building a view (values are prepared once per world, and there are many).
pub(super) fn written_numbers(folded: &str, min: usize) -> Vec<String> {
    let bytes = folded.as_bytes();
    let mut numbers = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            current.push(char::from(bytes[i]));
            i += 1;
            continue;
        }
        // A gap: joiners, then more digits, or the end of the number (after no
        // joiner, the byte at `i + gap` is this one, not a digit).
        let gap = bytes[i..].iter().take_while(|b| JOINERS.contains(b)).count();
        let continues =
            !current.is_empty() && gap <= JOIN_MAX && bytes.get(i + gap).is_some_and(u8::is_ascii_digit);
        if !continues {
            if current.len() >= min {
                numbers.push(std::mem::take(&mut current));
            }
            current.clear();
        }
        i += gap.max(1);
    }
    if current.len() >= min {
        numbers.push(current);
    }
    numbers
}

#[cfg(test)]
mod tests {
    use super::super::fold::Readings;
    use super::*;

    fn numbers(text: &str) -> Vec<String> {
        runs(&Readings::new(text, &[]).plain).into_iter().map(|r| r.digits).collect()
    }

    #[test]
    fn a_values_numbers_are_read_as_a_replys_are() {
        for text in
            ["+44 (0) 7700-900461 ext. kx7q2m", "(555) 013-4411 ext. ab3c4d", "1984-07-19", "12 kestrel row"]
        {
            let by_view: Vec<String> = numbers(text).into_iter().filter(|n| n.len() >= 7).collect();
            assert_eq!(written_numbers(text, 7), by_view, "{text}");
        }
        // More joiners than join two groups: two numbers.
        for (text, expected) in [
            ("7700900461    1234567", &["7700900461", "1234567"][..]),
            ("7700900461 -- 1234567", &["7700900461", "1234567"][..]),
            ("7700900461 - 1234567", &["77009004611234567"][..]),
            ("7700900461 ; 1234567", &["7700900461", "1234567"][..]),
        ] {
            assert_eq!(written_numbers(text, 7), expected, "{text}");
            assert_eq!(numbers(text), expected, "{text}");
        }
    }

    #[test]
    fn written_groups_join_into_one_number() {
        assert_eq!(numbers("call +44 (0) 7700-900461 now"), ["4407700900461"]);
        assert_eq!(numbers("You have 18,450 points."), ["18450"]);
        assert_eq!(numbers("ticket 5001: 18450"), ["5001", "18450"]);
        assert_eq!(numbers("flat 4B"), ["4"]);
    }

    #[test]
    fn spoken_digits_count_as_digits() {
        assert_eq!(numbers("four four seven seven zero zero nine zero zero four six one"), ["447700900461"]);
        assert_eq!(numbers("Four-four, double seven, oh oh, nine"), ["4477009"]);
        assert_eq!(numbers("triple 0 then 1"), ["000", "1"]);
        assert_eq!(numbers("oh, seven seven oh"), ["77"], "an oh at either end is a word");
        assert_eq!(numbers("double check it"), Vec::<String>::new());
        assert_eq!(numbers("four 4 seven"), ["447"]);
        assert_eq!(numbers("one two three four five six seven eight nine zero"), ["1234567890"]);
        assert_eq!(numbers("nought, two, triple three"), ["02333"]);
        // "double" takes one digit, not a group.
        assert_eq!(numbers("double 77"), ["77"]);
        assert_eq!(numbers("double 7 7"), ["777"]);
        // A digit word glued to digits is part of a code, not a spoken digit.
        assert_eq!(numbers("4four"), ["4"]);
        assert_eq!(numbers("four4"), ["4"]);
    }

    #[test]
    fn a_number_glued_to_letters_is_not_free() {
        let view = Readings::new("token ab0461cd and 0461.", &[]).plain;
        let found = runs(&view);
        assert_eq!(
            found.iter().map(|r| (r.digits.as_str(), r.free)).collect::<Vec<_>>(),
            [("0461", false), ("0461", true)]
        );
        // Glued on one side is enough.
        for text in ["ab0461", "0461cd", "ab0461 0", "oh 0461cd", "ab0461 oh"] {
            let found = runs(&Readings::new(text, &[]).plain);
            assert_eq!(found.len(), 1, "{text}");
            assert!(!found[0].free, "{text}");
        }
        for text in ["0461", "oh 0461", "0461 oh", "call 0461 oh ab"] {
            assert!(runs(&Readings::new(text, &[]).plain)[0].free, "{text}");
        }
    }

    #[test]
    fn a_run_trimmed_of_an_oh_is_found_where_its_digits_are() {
        let text = "oh, 7700 900461 oh";
        let run = &runs(&Readings::new(text, &[]).plain)[0];
        assert_eq!(run.digits, "7700900461");
        let (range, spoken) = run.find("900461").unwrap();
        assert_eq!((&text[range], spoken), ("900461", false));
        assert_eq!(&text[run.range()], "7700 900461");
    }

    #[test]
    fn matches_begin_and_end_at_groups_and_point_into_the_original() {
        let text = "call ７７００ nine zero zero four six one";
        let view = Readings::new(text, &[]).plain;
        let run = &runs(&view)[0];
        let (range, spoken) = run.find("7700900461").unwrap();
        assert_eq!(&text[range], "７７００ nine zero zero four six one");
        assert!(spoken);
        assert!(run.find("700900461").is_none());
        assert_eq!(&text[run.range()], "７７００ nine zero zero four six one");
        assert!(run.spoken());
        assert!(!runs(&Readings::new("call 7700 900461", &[]).plain)[0].spoken());
    }
}
