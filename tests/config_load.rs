//! The configuration loader never panics and always points at the problem,
//! whatever it is fed: arbitrary bytes, near-valid YAML, broken values.

use leakproof::config::{ConfigError, Document, lint, parse};
use leakproof::policy::Policy;
use proptest::prelude::*;

const DEFAULT: &str = include_str!("../scenarios/configs/default.yaml");

/// Loads `bytes`; on success the configuration must compile and lint, on
/// failure every issue must be placed inside the document and say something.
fn load_and_check(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let line_count = bytes.split(|b| *b == b'\n').count();
    let source = match Document::from_bytes("fuzz.yaml", bytes) {
        Ok(source) => source,
        Err(err) => return check_error(&err, line_count),
    };
    match parse(&source) {
        Ok(config) => {
            prop_assert!(Policy::compile(&config).is_ok(), "a loaded configuration must compile");
            let _ = lint(&config, Some(&source));
            Ok(())
        }
        Err(err) => check_error(&err, line_count),
    }
}

fn check_error(err: &ConfigError, line_count: usize) -> Result<(), TestCaseError> {
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
enum Mutation {
    DeleteChars { at: usize, len: usize },
    InsertChar { at: usize, ch: char },
    DuplicateLine { line: usize },
    DeleteLine { line: usize },
    SwapLines { a: usize, b: usize },
    Indent { line: usize, by: usize },
    Dedent { line: usize },
    ReplaceValue { line: usize, word: String },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let special = prop::sample::select(vec![
        ':', '-', ' ', '\n', '\t', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '#', '%', '@',
        '`', ',', '?', '\u{0}', 'é',
    ]);
    prop_oneof![
        (any::<usize>(), 1..8usize).prop_map(|(at, len)| Mutation::DeleteChars { at, len }),
        (any::<usize>(), special).prop_map(|(at, ch)| Mutation::InsertChar { at, ch }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        any::<usize>().prop_map(|line| Mutation::DeleteLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        (any::<usize>(), 1..5usize).prop_map(|(line, by)| Mutation::Indent { line, by }),
        any::<usize>().prop_map(|line| Mutation::Dedent { line }),
        (any::<usize>(), "[a-z_0-9 ]{0,12}").prop_map(|(line, word)| Mutation::ReplaceValue { line, word }),
    ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        load_and_check(bytes)?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        load_and_check(text.into_bytes())?;
    }

    #[test]
    fn near_valid_yaml_never_panics(mutations in prop::collection::vec(mutation(), 1..4)) {
        let text = mutations.iter().fold(DEFAULT.to_owned(), |text, m| apply(&text, m));
        load_and_check(text.into_bytes())?;
    }

    /// A broken enum value is reported at its own line and column, naming its setting.
    #[test]
    fn a_broken_value_is_reported_where_it_is(pick in any::<prop::sample::Index>(), word in "[a-z]{3,12}") {
        prop_assume!(!["match_email", "verify_email", "contact", "ticket", "company",
            "at_start", "when_needed", "before_handoff", "never", "true", "false"].contains(&word.as_str()));
        let targets: Vec<(usize, &str)> = DEFAULT
            .lines()
            .enumerate()
            .filter(|(_, line)| ["protection:", "object:", "enabled:", "live_chat:", "whatsapp:"]
                .iter()
                .any(|key| line.trim_start().trim_start_matches("- ").starts_with(key)))
            .collect();
        let (line_index, line) = targets[pick.index(targets.len())];
        let key = line.trim_start().trim_start_matches("- ").split(':').next().unwrap();
        let value_column = line.find(": ").unwrap() + 3;
        let broken: String = DEFAULT
            .lines()
            .enumerate()
            .map(|(i, l)| if i == line_index { format!("{}: {word}\n", &l[..value_column - 3]) } else { format!("{l}\n") })
            .collect();

        let err = parse(&Document::new("broken.yaml", broken)).unwrap_err();
        let issue = &err.issues()[0];
        prop_assert_eq!(issue.position.map(|p| (p.line, p.column)), Some((line_index + 1, value_column)), "{}", issue);
        prop_assert!(issue.field.ends_with(key), "{} should name {}", issue, key);
    }
}

#[test]
fn the_shipped_configuration_loads() {
    let config = parse(&Document::new("default.yaml", DEFAULT)).unwrap();
    assert!(config.properties.len() >= 13);
}

#[test]
fn non_utf8_input_points_at_the_bad_byte() {
    let err = Document::from_bytes("bad.yaml", b"agent:\n  name: A\xffva\n".to_vec()).unwrap_err();
    assert_eq!(err.to_string(), "bad.yaml:2:10: (document): the file is not UTF-8 text");
}
