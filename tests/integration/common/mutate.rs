//! Near-valid YAML: small edits of a good document, and the check that every
//! error a loader gives for one is placed inside the document.

use leakproof::yaml::LoadError;
use proptest::prelude::*;

/// How many lines YAML sees in `bytes`: `\n`, `\r\n` and a lone `\r` each end one, so a
/// file with old Mac line ends has as many lines as its editor shows.
pub fn yaml_line_count(bytes: &[u8]) -> usize {
    let mut lines = 1;
    let mut previous = 0u8;
    for &byte in bytes {
        if byte == b'\n' && previous != b'\r' || byte == b'\r' {
            lines += 1;
        }
        previous = byte;
    }
    lines
}

/// Every issue of `err` says something and sits at a line and column inside
/// a document of `line_count` lines.
pub fn check_error(err: &LoadError, line_count: usize) -> Result<(), TestCaseError> {
    prop_assert!(!err.issues().is_empty(), "an invalid document names at least one issue: {err}");
    for issue in err.issues() {
        prop_assert!(!issue.message.is_empty() && !issue.field.is_empty(), "{issue}");
        let position = issue.position.ok_or_else(|| TestCaseError::fail(format!("no position: {issue}")))?;
        prop_assert!(position.line >= 1 && position.column >= 1, "{issue}");
        prop_assert!(position.line <= line_count + 1, "{issue} is past the end ({line_count} lines)");
    }
    Ok(())
}

/// One edit of a document that is almost right.
#[derive(Clone, Debug)]
pub enum Mutation {
    DeleteChars { at: usize, len: usize },
    InsertChar { at: usize, ch: char },
    DuplicateLine { line: usize },
    DeleteLine { line: usize },
    SwapLines { a: usize, b: usize },
    Indent { line: usize, by: usize },
    Dedent { line: usize },
    ReplaceValue { line: usize, word: String },
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    let special = prop::sample::select(vec![
        ':', '-', ' ', '\n', '\t', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '#', '%', '@',
        '`', ',', '?', '+', '\u{0}', 'é',
    ]);
    prop_oneof![
        (any::<usize>(), 1..8usize).prop_map(|(at, len)| Mutation::DeleteChars { at, len }),
        (any::<usize>(), special).prop_map(|(at, ch)| Mutation::InsertChar { at, ch }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        any::<usize>().prop_map(|line| Mutation::DeleteLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        (any::<usize>(), 1..5usize).prop_map(|(line, by)| Mutation::Indent { line, by }),
        any::<usize>().prop_map(|line| Mutation::Dedent { line }),
        (any::<usize>(), "[a-zA-Z_0-9 @.+\\[\\]{}~-]{0,14}")
            .prop_map(|(line, word)| Mutation::ReplaceValue { line, word }),
    ]
}

pub fn apply(text: &str, mutation: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let n = lines.len();
    match mutation {
        Mutation::DeleteChars { at, len } => {
            let chars: Vec<char> = text.chars().collect();
            let at = at % chars.len();
            let end = (at + len).min(chars.len());
            return chars[..at].iter().chain(&chars[end..]).collect();
        }
        Mutation::InsertChar { at, ch } => {
            let mut chars: Vec<char> = text.chars().collect();
            chars.insert(at % (chars.len() + 1), *ch);
            return chars.into_iter().collect();
        }
        Mutation::DuplicateLine { line } => {
            let copy = lines[line % n].clone();
            lines.insert(line % n, copy);
        }
        Mutation::DeleteLine { line } => {
            lines.remove(line % n);
        }
        Mutation::SwapLines { a, b } => lines.swap(a % n, b % n),
        Mutation::Indent { line, by } => lines[line % n].insert_str(0, &" ".repeat(*by)),
        Mutation::Dedent { line } => {
            let l = &mut lines[line % n];
            let cut = l.len() - l.trim_start().len();
            l.replace_range(..cut.min(2), "");
        }
        Mutation::ReplaceValue { line, word } => {
            let l = &mut lines[line % n];
            if let Some(colon) = l.find(": ") {
                l.replace_range(colon + 2.., word);
            }
        }
    }
    lines.join("\n") + "\n"
}
