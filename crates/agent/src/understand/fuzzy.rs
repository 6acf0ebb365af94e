//! Forgiving misspellings: how many edits a word of each length allows, and the optimal-string-alignment distance within that many.

/// The shortest word ever matched with a misspelling: shorter words are too
/// easily another word ("tie", "ad").
pub(super) const MIN_FUZZY_CHARS: usize = 4;

/// The longest word matched with a misspelling; longer words (pasted
/// identifiers, URLs) only match exactly, which keeps the distance buffers on
/// the stack.
pub(super) const MAX_FUZZY_CHARS: usize = 64;

/// How many edits a vocabulary word of `len` letters forgives: 1 for 4–7
/// letters, 2 for 8 and more, none below 4.
pub(super) const fn tolerance(len: usize) -> usize {
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
pub(super) fn osa_distance_within(a: &[char], b: &[char], max: usize) -> Option<usize> {
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
#[inline]
pub(super) fn within_edits(word: &str, keyword: &str) -> bool {
    let mut word_chars = ['\0'; MAX_FUZZY_CHARS + 2];
    let mut keyword_chars = ['\0'; MAX_FUZZY_CHARS];
    let (Some(a), Some(b)) = (fill(&mut word_chars, word), fill(&mut keyword_chars, keyword)) else {
        return false;
    };
    osa_distance_within(a, b, tolerance(b.len())).is_some()
}

/// `text`'s characters in `buffer`, if they fit.
#[inline]
pub(super) fn fill<'b>(buffer: &'b mut [char], text: &str) -> Option<&'b [char]> {
    let mut len = 0;
    for c in text.chars() {
        *buffer.get_mut(len)? = c;
        len += 1;
    }
    buffer.get(..len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distance(a: &str, b: &str, max: usize) -> Option<usize> {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        osa_distance_within(&a, &b, max)
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
}
