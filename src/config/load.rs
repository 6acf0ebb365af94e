//! Reading a configuration from YAML, with every error placed at its file, line, column and setting.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::{Location, Spanned};

use super::validate::{Problem, problems};
use super::{AgentConfig, ConfigError, Issue, Position};

/// The text of a configuration and the name to report it under.
///
/// Keeps the text so that lints found after loading can still be placed at a
/// line and column.
#[derive(Clone, Debug)]
pub struct ConfigSource {
    name: String,
    text: String,
}

impl ConfigSource {
    /// A source named `name` (usually its path) holding `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        ConfigSource { name: name.into(), text: text.into() }
    }

    /// Reads the file at `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let bytes =
            std::fs::read(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        ConfigSource::from_bytes(path.display().to_string(), bytes)
    }

    /// A source from raw bytes, which must be UTF-8; the error for bytes that
    /// are not points at the first bad one.
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Result<Self, ConfigError> {
        let name = name.into();
        match String::from_utf8(bytes) {
            Ok(text) => Ok(ConfigSource { name, text }),
            Err(err) => {
                let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
                // Everything before the bad byte is valid UTF-8, so lines and columns count characters.
                let before = String::from_utf8_lossy(valid);
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
                Err(ConfigError::Invalid(vec![Issue {
                    source: name,
                    position: Some(Position { line, column }),
                    setting: "(document)".to_owned(),
                    message: "the file is not UTF-8 text".to_owned(),
                }]))
            }
        }
    }

    /// The name errors are reported under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses and validates the configuration.
    pub fn parse(&self) -> Result<AgentConfig, ConfigError> {
        let mut setting = None;
        let config = serde_saphyr::with_deserializer_from_str(&self.text, |de| {
            serde_path_to_error::deserialize::<_, AgentConfig>(de).map_err(|err| {
                setting = setting_name(&err.path().to_string());
                err.into_inner()
            })
        })
        .map_err(|err| ConfigError::Invalid(vec![self.issue_from_yaml(setting, &err)]))?;

        let found = problems(&config);
        if found.is_empty() { Ok(config) } else { Err(ConfigError::Invalid(self.place(found))) }
    }

    /// The position of `setting` (a path such as `properties[2].label`), or of
    /// the nearest enclosing setting that has one.
    pub fn position_of(&self, setting: &str) -> Option<Position> {
        Locator::parse(&self.text).and_then(|locator| locator.find(setting))
    }

    fn place(&self, problems: Vec<Problem>) -> Vec<Issue> {
        let locator = Locator::parse(&self.text);
        problems
            .into_iter()
            .map(|problem| Issue {
                source: self.name.clone(),
                position: locator.as_ref().and_then(|l| l.find(&problem.setting)),
                setting: problem.setting,
                message: problem.message,
            })
            .collect()
    }

    fn issue_from_yaml(&self, setting: Option<String>, err: &serde_saphyr::Error) -> Issue {
        let rendered = err.without_snippet().to_string();
        let message = rendered.as_str();
        let position = err.location().and_then(position);
        // serde-saphyr appends " at line L, column C"; the position says that already.
        let message = match position {
            Some(p) => {
                message.strip_suffix(&format!(" at line {}, column {}", p.line, p.column)).unwrap_or(message)
            }
            None => message,
        };
        // A key given twice: name the setting itself, drop the parser's advice to developers.
        if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
            let key = key.split(',').next().unwrap_or(key).trim();
            let parent = setting.as_deref().map(|s| s.trim_end_matches(".?")).unwrap_or("");
            return Issue {
                source: self.name.clone(),
                position,
                setting: if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") },
                message: format!("duplicate key `{key}`: each setting may be given once"),
            };
        }
        Issue {
            source: self.name.clone(),
            position,
            setting: setting.unwrap_or_else(|| "(document)".to_owned()),
            message: message.to_owned(),
        }
    }
}

/// Loads and validates the configuration in the file at `path`.
pub fn load_file(path: impl AsRef<Path>) -> Result<AgentConfig, ConfigError> {
    ConfigSource::read(path.as_ref())?.parse()
}

/// Loads and validates a configuration from YAML (or JSON) text; `name`
/// appears in error messages where a file name would.
pub fn from_yaml_str(name: &str, text: &str) -> Result<AgentConfig, ConfigError> {
    ConfigSource::new(name, text).parse()
}

/// The setting path serde_path_to_error reports, cleaned up for people.
fn setting_name(path: &str) -> Option<String> {
    match path {
        "" | "." | "?" => None,
        // `Spanned` fields add a `.value` segment nobody wrote.
        _ => Some(path.replace(".value", "")),
    }
}

fn position(location: Location) -> Option<Position> {
    (location.line() > 0 && location.column() > 0)
        .then(|| Position { line: location.line() as usize, column: location.column() as usize })
}

/// Where each setting that validation may complain about is written.
///
/// Parsed only when a position is needed, from the same text, with `Spanned`
/// markers on just those settings; unknown keys are ignored here because the
/// typed parse has already accepted the document.
#[derive(Deserialize)]
struct LocatorDoc {
    #[serde(default)]
    agent: Option<Spanned<LocatorAgent>>,
    #[serde(default)]
    verification: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    email_capture: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    properties: Vec<Spanned<LocatorProperty>>,
}

#[derive(Deserialize)]
struct LocatorAgent {
    #[serde(default)]
    name: Option<Spanned<IgnoredAny>>,
}

#[derive(Deserialize)]
struct LocatorProperty {
    #[serde(default)]
    object: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    property: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    label: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    synonyms: Vec<Spanned<IgnoredAny>>,
    #[serde(default)]
    view: Option<Spanned<LocatorRule>>,
    #[serde(default)]
    edit: Option<Spanned<LocatorRule>>,
}

#[derive(Deserialize)]
struct LocatorRule {
    #[serde(default)]
    enabled: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    protection: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    instructions: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    confirm: Option<Spanned<IgnoredAny>>,
}

struct Locator(HashMap<String, Position>);

impl Locator {
    fn parse(text: &str) -> Option<Locator> {
        let doc: LocatorDoc = serde_saphyr::from_str(text).ok()?;
        let mut map = HashMap::new();
        let mut put = |setting: String, location: Location| {
            if let Some(position) = position(location) {
                map.insert(setting, position);
            }
        };
        if let Some(agent) = doc.agent {
            put("agent".to_owned(), agent.referenced);
            if let Some(name) = agent.value.name {
                put("agent.name".to_owned(), name.referenced);
            }
        }
        if let Some(verification) = doc.verification {
            put("verification".to_owned(), verification.referenced);
        }
        if let Some(capture) = doc.email_capture {
            put("email_capture".to_owned(), capture.referenced);
        }
        for (index, property) in doc.properties.into_iter().enumerate() {
            let at = |field: &str| format!("properties[{index}].{field}");
            put(format!("properties[{index}]"), property.referenced);
            let property = property.value;
            for (field, spanned) in
                [("object", property.object), ("property", property.property), ("label", property.label)]
            {
                if let Some(spanned) = spanned {
                    put(at(field), spanned.referenced);
                }
            }
            for (i, synonym) in property.synonyms.into_iter().enumerate() {
                put(at(&format!("synonyms[{i}]")), synonym.referenced);
            }
            for (name, rule) in [("view", property.view), ("edit", property.edit)] {
                let Some(rule) = rule else { continue };
                put(at(name), rule.referenced);
                let rule = rule.value;
                for (field, spanned) in [
                    ("enabled", rule.enabled),
                    ("protection", rule.protection),
                    ("instructions", rule.instructions),
                    ("confirm", rule.confirm),
                ] {
                    if let Some(spanned) = spanned {
                        put(at(&format!("{name}.{field}")), spanned.referenced);
                    }
                }
            }
        }
        Some(Locator(map))
    }

    /// The position of `setting` or of its nearest enclosing setting.
    fn find(&self, setting: &str) -> Option<Position> {
        let mut path = setting;
        loop {
            if let Some(position) = self.0.get(path) {
                return Some(*position);
            }
            // Drop the last segment: `a.b[2]` -> `a.b`, `a.b` -> `a`.
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}
