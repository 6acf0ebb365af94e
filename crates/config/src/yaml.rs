//! Reading the YAML files people write (configurations, fixtures, scenarios), with every error placed at its file, line, column and field.
//!
//! A [`Document`] is parsed twice when something is wrong: once into the typed
//! value (serde-saphyr reports syntax and shape errors with their position,
//! serde_path_to_error names the field), and, only when a later check finds a
//! problem, once into a tree of spans ([`Locations`]) that maps a field path
//! such as `contacts[3].email` back to its line and column.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

/// A line and column in a source file, both counted from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column in characters, from 1.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One thing wrong with a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// The file (or other source) the document came from.
    pub source: String,
    /// Where in the source, when known.
    pub position: Option<Position>,
    /// The field, as a path: `properties[3].view.protection`.
    pub field: String,
    /// What is wrong, in lowercase.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(position) => write!(f, "{}:{position}: ", self.source)?,
            None => write!(f, "{}: ", self.source)?,
        }
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a document could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("failed to read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file was read, but its content is not usable.
    #[error("{}", DisplayIssues(.0))]
    Invalid(Vec<Issue>),
}

impl LoadError {
    /// The issues found, empty for a read error.
    pub fn issues(&self) -> &[Issue] {
        match self {
            LoadError::Read { .. } => &[],
            LoadError::Invalid(issues) => issues,
        }
    }
}

struct DisplayIssues<'a>(&'a [Issue]);

impl fmt::Display for DisplayIssues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, issue) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

/// A problem found after parsing, before it is given a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The field's path, e.g. `contacts[2].email`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { field: field.into(), message: message.into() }
    }
}

/// The text of a YAML (or JSON) document and the name to report it under.
#[derive(Clone, Debug)]
pub struct Document {
    name: String,
    text: String,
}

impl Document {
    /// A document named `name` (usually its path) holding `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Document { name: name.into(), text: text.into() }
    }

    /// Reads the regular file at `path`, at most [`crate::files::YAML_LIMIT`]
    /// bytes of it (a FIFO, a device or a directory is refused, without blocking).
    pub fn read(path: &Path) -> Result<Self, LoadError> {
        let bytes = crate::files::read_regular(path, crate::files::YAML_LIMIT)
            .map_err(|error| LoadError::Read { path: path.to_owned(), source: error.into() })?;
        Document::from_bytes(path.display().to_string(), bytes)
    }

    /// A document from raw bytes, which must be UTF-8; the error for bytes
    /// that are not points at the first bad one.
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Result<Self, LoadError> {
        let name = name.into();
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Document { name, text }),
            Err(err) => {
                let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
                // Everything before the bad byte is valid UTF-8, so lines and columns count characters.
                let before = String::from_utf8_lossy(valid);
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
                Err(LoadError::Invalid(vec![Issue {
                    source: name,
                    position: Some(Position { line, column }),
                    field: "(document)".to_owned(),
                    message: "the file is not UTF-8 text".to_owned(),
                }]))
            }
        }
    }

    /// Whether the document holds nothing: no text, only comments, or a null (`~`).
    pub fn is_empty(&self) -> bool {
        matches!(serde_saphyr::from_str::<Option<de::IgnoredAny>>(&self.text), Ok(None))
            || self.text.lines().all(|line| {
                let line = line.trim();
                line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
            })
    }

    /// The name issues are reported under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The document's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Parses the document into `T`; a syntax or shape error becomes one
    /// located issue naming the field.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, LoadError> {
        let mut field = None;
        serde_saphyr::with_deserializer_from_str(&self.text, |de| {
            serde_path_to_error::deserialize::<_, T>(de).map_err(|err| {
                field = field_name(&err.path().to_string());
                err.into_inner()
            })
        })
        .map_err(|err| LoadError::Invalid(vec![self.issue_from_yaml(field, &err)]))
    }

    /// Where each field of the document is written. Empty when the document
    /// does not parse as YAML at all.
    pub fn locate(&self) -> Locations {
        let mut map = HashMap::new();
        if let Ok(root) = serde_saphyr::from_str::<Spanned<Node>>(&self.text) {
            collect(&root, String::new(), &mut map);
        }
        Locations(map)
    }

    /// `problems` placed at their positions in this document.
    pub fn place(&self, problems: Vec<Problem>) -> LoadError {
        let locations = self.locate();
        LoadError::Invalid(
            problems
                .into_iter()
                .map(|problem| Issue {
                    source: self.name.clone(),
                    position: locations.find(&problem.field),
                    field: problem.field,
                    message: problem.message,
                })
                .collect(),
        )
    }

    fn issue_from_yaml(&self, field: Option<String>, err: &serde_saphyr::Error) -> Issue {
        // The parser quotes what it found (an unknown key, a value of the wrong
        // type): of a file that is not YAML at all, that is its content.
        // A document that is no mapping at all (a bare token, a line of `/etc/shadow`) has
        // nothing of the user's to quote: its values are not repeated.
        let values = if field.is_none() { Values::Hidden } else { Values::Bounded };
        let rendered = bound_quoted(&err.without_snippet().to_string(), values);
        let field = field.map(|field| bound_field(&field));
        let position = err.location().and_then(position);
        // serde-saphyr appends " at line L, column C"; the position says that already.
        let message = match position {
            Some(p) => rendered
                .strip_suffix(&format!(" at line {}, column {}", p.line, p.column))
                .unwrap_or(&rendered),
            None => &rendered,
        };
        // A key given twice: name the field itself, drop the parser's advice to developers.
        if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
            let key = key.split(',').next().unwrap_or(key).trim();
            let key = if is_field_name(key) { key } else { "…" };
            let parent = field.as_deref().map(|s| s.trim_end_matches(".?")).unwrap_or("");
            return Issue {
                source: self.name.clone(),
                position,
                field: if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") },
                message: format!("duplicate key `{key}`: each field may be given once"),
            };
        }
        Issue {
            source: self.name.clone(),
            position,
            field: field.unwrap_or_else(|| "(document)".to_owned()),
            message: message.to_owned(),
        }
    }
}

/// Field paths mapped to where they are written.
#[derive(Clone, Debug, Default)]
pub struct Locations(HashMap<String, Position>);

impl Locations {
    /// The position of `field` (e.g. `contacts[2].email`), or of its nearest
    /// enclosing field that has one.
    pub fn find(&self, field: &str) -> Option<Position> {
        let mut path = field;
        loop {
            if let Some(position) = self.0.get(path) {
                return Some(*position);
            }
            if path.is_empty() {
                return None;
            }
            // Drop the last segment: `a.b[2]` -> `a.b`, `a.b` -> `a`, `a` -> the document.
            path = &path[..path.rfind(['.', '[']).unwrap_or(0)];
        }
    }
}

/// The most characters of a key or value from the document an error repeats.
pub const ECHO_LIMIT: usize = 40;

/// `text`, cut after [`ECHO_LIMIT`] characters with `…`; control characters
/// (a line break in a key) are shown escaped.
pub fn bound_echo(text: &str) -> String {
    let mut out = String::new();
    for (index, c) in text.chars().enumerate() {
        if index == ECHO_LIMIT {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `key` is a field name as Leakproof's files write them: 1 to [`ECHO_LIMIT`]
/// ASCII letters, digits, `_` or `-`. Only such keys are repeated in errors: a key that is
/// not one (`root:*:19000:0:…`) is some other file's content.
pub fn is_field_name(key: &str) -> bool {
    (1..=ECHO_LIMIT).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// How an error treats the values it quotes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Values {
    /// Repeated, at most [`ECHO_LIMIT`] characters of each.
    Bounded,
    /// Not repeated at all.
    Hidden,
}

/// `message` with every key serde quotes (``unknown field `x` ``) repeated only when it is
/// a field name ([`is_field_name`]), every `"quoted"` part (a value) left out for
/// [`Values::Hidden`], and everything else quoted bounded by [`bound_echo`].
fn bound_quoted(message: &str, values: Values) -> String {
    let mut out = String::with_capacity(message.len().min(1024));
    let mut rest = message;
    while let Some(start) = rest.find(['`', '"']) {
        let quote = rest[start..].chars().next().unwrap_or('`');
        let after = &rest[start + 1..];
        let Some(len) = after.find(quote) else { break };
        out.push_str(&rest[..start]);
        out.push(quote);
        let quoted = &after[..len];
        // serde quotes the document's own keys and tags after these words.
        let before = rest[..start].trim_end();
        let key = quote == '`' && (before.ends_with("field") || before.ends_with("variant"));
        if (key && !is_field_name(quoted)) || (quote == '"' && values == Values::Hidden) {
            out.push('…');
        } else {
            out.push_str(&bound_echo(quoted));
        }
        out.push(quote);
        rest = &after[len + 1..];
    }
    if rest.chars().count() > 4 * ECHO_LIMIT || (values == Values::Hidden && rest.contains(['`', '"'])) {
        // An unclosed quote: everything after it is the document's.
        out.push_str(&bound_echo(rest));
    } else {
        out.push_str(rest);
    }
    out
}

/// A field path with each of its segments (keys written in the document) repeated only
/// when it is a field name ([`is_field_name`]), `…` otherwise.
fn bound_field(field: &str) -> String {
    let mut out = String::new();
    let mut segment = String::new();
    let flush = |segment: &mut String, out: &mut String| {
        if segment.is_empty() || is_field_name(segment) || segment == "?" {
            out.push_str(segment);
        } else {
            out.push('…');
        }
        segment.clear();
    };
    for c in field.chars() {
        if matches!(c, '.' | '[' | ']') {
            flush(&mut segment, &mut out);
            out.push(c);
        } else {
            segment.push(c);
        }
    }
    flush(&mut segment, &mut out);
    out
}

/// The field path serde_path_to_error reports, cleaned up for people.
fn field_name(path: &str) -> Option<String> {
    match path {
        "" | "." | "?" => None,
        // serde-saphyr's `Spanned` adds a `.value` segment nobody wrote.
        _ => Some(path.replace(".value", "")),
    }
}

fn position(location: Location) -> Option<Position> {
    (location.line() > 0 && location.column() > 0)
        .then(|| Position { line: location.line() as usize, column: location.column() as usize })
}

/// Any YAML node, with the spans of its children: what [`Document::locate`] walks.
enum Node {
    Map(Vec<(String, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Scalar,
}

fn collect(node: &Spanned<Node>, path: String, map: &mut HashMap<String, Position>) {
    if let Some(position) = position(node.referenced) {
        map.insert(path.clone(), position);
    }
    match &node.value {
        Node::Map(entries) => {
            for (key, child) in entries {
                let child_path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                collect(child, child_path, map);
            }
        }
        Node::Seq(items) => {
            for (index, child) in items.iter().enumerate() {
                collect(child, format!("{path}[{index}]"), map);
            }
        }
        Node::Scalar => {}
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(Key(key)) = access.next_key()? {
            entries.push((key, access.next_value()?));
        }
        Ok(Node::Map(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
}

/// A mapping key of any scalar kind, as the text written.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key("null".to_owned()))
            }
        }
        // As text: a key `y` is the letter a person wrote, not a YAML 1.1 boolean.
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// What a scalar read as text must be.
pub const EXPECTED_SCALAR: &str = "a text, number or boolean value";

/// A scalar read as the text written: `zip: 02134` stays `02134`, `1.50`
/// stays `1.50`, `yes` stays `yes`, not YAML's guess at its type. Lists and
/// mappings are errors.
pub struct ScalarText(pub String);

impl<'de> Deserialize<'de> for ScalarText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ScalarTextVisitor)
    }
}

/// Accepts text, numbers and booleans as [`ScalarText`].
pub struct ScalarTextVisitor;

impl Visitor<'_> for ScalarTextVisitor {
    type Value = ScalarText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED_SCALAR)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<ScalarText, E> {
        Ok(ScalarText(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<ScalarText, E> {
        Ok(ScalarText(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<ScalarText, E> {
        Ok(ScalarText(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ScalarText, E> {
        Ok(ScalarText(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ScalarText, E> {
        Ok(ScalarText(v.to_string()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<ScalarText, E> {
        Ok(ScalarText(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<ScalarText, E> {
        Ok(ScalarText(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<ScalarText, E> {
        Ok(ScalarText(v.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_cover_every_field_and_fall_back_to_the_parent() {
        let doc = Document::new("doc.yaml", "a:\n  b: 1\n  list:\n    - x: [1, 2]\n    - {y: z}\n7: seven\n");
        let locations = doc.locate();
        let at = |line, column| Some(Position { line, column });
        assert_eq!(locations.find("a.b"), at(2, 6));
        assert_eq!(locations.find("a.list[0].x[1]"), at(4, 14));
        assert_eq!(locations.find("a.list[1].y"), at(5, 11));
        assert_eq!(locations.find("7"), at(6, 4));
        assert_eq!(locations.find("a.list[1].missing"), locations.find("a.list[1]"));
        assert_eq!(locations.find("nowhere"), locations.find(""));
    }

    #[test]
    fn errors_repeat_at_most_a_bounded_part_of_a_foreign_file() {
        let line = "root:*:19000:0:99999:7:::daemon:*:19000:0:99999:7:::bin:*:19000:0:99999:7:::";
        let shadow = format!("{line}: 1\n");
        let err = Document::new("/etc/shadow", shadow).parse::<Shaped>().unwrap_err();
        let shown = err.to_string();
        assert!(!shown.contains("bin:*"), "{shown}");
        assert!(!shown.contains("root:*"), "{shown}");
        assert!(shown.contains("unknown field `…`"), "{shown}");

        let err =
            Document::new("x", format!("name: 1\n{line}:\n  deeper: 2\n")).parse::<Shaped>().unwrap_err();
        assert!(!err.to_string().contains("bin:*"), "{err}");
        let long = "v".repeat(500);
        let err = Document::new("x", format!("name: [{long}]\n")).parse::<Shaped>().unwrap_err();
        assert!(err.to_string().len() < 300, "{err}");
        assert_eq!(bound_echo("a\nb"), "a\\nb");
        assert_eq!(bound_field(&format!("a.{long}[2]")), "a.…[2]");
        assert_eq!(bound_field("contacts[3].email"), "contacts[3].email");
        // A typo in a field name of the user's file is still named.
        let err = Document::new("x", "nmae: 1\n").parse::<Shaped>().unwrap_err();
        assert!(err.to_string().contains("unknown field `nmae`"), "{err}");
        // A document that is a bare token repeats nothing of it.
        let err =
            Document::new("x", "ghp_0123456789abcdefghijklmnopqrstuvwxyz\n").parse::<Shaped>().unwrap_err();
        assert!(!err.to_string().contains("ghp_"), "{err}");
        // A value of the user's mapping is repeated, bounded.
        let err = Document::new("x", "name: [1]\n").parse::<Shaped>().unwrap_err();
        assert!(err.to_string().starts_with("x:1:7: name: "), "{err}");
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Shaped {
        name: Option<String>,
    }

    #[test]
    fn empty_documents() {
        for empty in ["", "\n  \n", "# only a comment\n", "---\n", "~\n", "null"] {
            assert!(Document::new("x", empty).is_empty(), "{empty:?}");
        }
        for full in ["a: 1", "contacts: []", "[]", "{}", "0"] {
            assert!(!Document::new("x", full).is_empty(), "{full:?}");
        }
    }

    #[test]
    fn unparseable_text_has_no_locations_but_does_not_panic() {
        assert_eq!(Document::new("x", "a: [").locate().find("a"), None);
        let _ = Document::new("x", "&a [*a]").locate();
        let _ = Document::new("x", "? [complex]\n: key\n").locate();
    }
}
