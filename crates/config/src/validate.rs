//! The rules a configuration must satisfy beyond its shape: no duplicates, no empty or ambiguous names.

use std::collections::HashMap;

use super::{AgentConfig, ConfigError, Issue, ObjectType};
use crate::yaml::Problem;

/// The longest accepted label or synonym, in characters. Customers type these;
/// anything longer is a pasted paragraph, not a name.
pub const MAX_NAME_CHARS: usize = 100;

/// The longest accepted instructions text, in characters.
pub const MAX_INSTRUCTIONS_CHARS: usize = 4000;

/// The most properties one configuration may hold. HubSpot allows about a
/// thousand custom properties per object; ten thousand leaves room for all
/// three objects and keeps every property id within a `u32`.
pub const MAX_PROPERTIES: usize = 10_000;

/// Checks the rules a configuration must satisfy beyond its shape.
///
/// Loading from YAML runs this already; call it for configurations built in
/// code. The issues name settings by path, without a file position.
///
/// ```
/// use leakproof_config::{AgentConfig, AgentSettings, validate};
/// let config = AgentConfig {
///     agent: AgentSettings { name: String::new() },
///     verification: Default::default(),
///     email_capture: Default::default(),
///     properties: vec![],
/// };
/// let err = validate(&config).unwrap_err();
/// assert_eq!(err.issues()[0].field, "agent.name");
/// ```
pub fn validate(config: &AgentConfig) -> Result<(), ConfigError> {
    let problems = problems(config);
    if problems.is_empty() {
        return Ok(());
    }
    Err(ConfigError::Invalid(
        problems
            .into_iter()
            .map(|problem| Issue {
                source: "configuration".to_owned(),
                position: None,
                field: problem.field,
                message: problem.message,
            })
            .collect(),
    ))
}

/// Every rule `config` breaks, in document order.
pub(crate) fn problems(config: &AgentConfig) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |setting: String, message: String| problems.push(Problem { field: setting, message });

    if let Some(message) = check_name(&config.agent.name, "agent name") {
        problem("agent.name".to_owned(), message);
    }
    if config.properties.len() > MAX_PROPERTIES {
        problem(
            "properties".to_owned(),
            format!(
                "{} properties configured; at most {MAX_PROPERTIES} are supported",
                config.properties.len()
            ),
        );
        return problems;
    }

    // (object, property) -> index of its first definition.
    let mut defined: HashMap<(ObjectType, &str), usize> = HashMap::new();
    // normalised phrase -> (index of the property using it, the phrase as written).
    let mut phrases: HashMap<String, (usize, &str)> = HashMap::new();

    for (index, rule) in config.properties.iter().enumerate() {
        let at = |field: &str| format!("properties[{index}].{field}");

        if !is_internal_name(&rule.property) {
            problem(
                at("property"),
                format!(
                    "invalid property name {:?}: HubSpot internal names are lowercase letters, \
                     digits and underscores, starting with a letter",
                    rule.property
                ),
            );
        } else if let Some(first) = defined.insert((rule.object, &rule.property), index) {
            defined.insert((rule.object, &rule.property), first);
            problem(
                at("property"),
                format!(
                    "duplicate property {}: already configured in properties[{first}]",
                    rule.qualified_name()
                ),
            );
        }

        let names = std::iter::once((at("label"), &rule.label, "label")).chain(
            rule.synonyms
                .iter()
                .enumerate()
                .map(|(i, synonym)| (at(&format!("synonyms[{i}]")), synonym, "synonym")),
        );
        for (setting, name, what) in names {
            if let Some(message) = check_name(name, what) {
                problem(setting, message);
                continue;
            }
            let phrase = normalize_phrase(name);
            match phrases.get(&phrase) {
                Some(&(other, written)) if other == index => problem(
                    setting,
                    format!("duplicate {what} {name:?}: this property already answers to {written:?}"),
                ),
                Some(&(other, written)) => problem(
                    setting,
                    format!(
                        "ambiguous {what} {name:?}: properties[{other}] ({}) already answers to \
                         {written:?}, so the agent could not tell which one a customer means",
                        config.properties[other].qualified_name()
                    ),
                ),
                None => {
                    phrases.insert(phrase, (index, name));
                }
            }
        }

        for (field, text) in
            [("view.instructions", &rule.view.instructions), ("edit.instructions", &rule.edit.instructions)]
        {
            let chars = text.chars().count();
            if chars > MAX_INSTRUCTIONS_CHARS {
                problem(
                    at(field),
                    format!(
                        "instructions are {chars} characters long; at most {MAX_INSTRUCTIONS_CHARS} are accepted"
                    ),
                );
            }
        }
    }
    problems
}

/// Why `name` is not usable as a `what` ("label", "synonym", "agent name"), if it is not.
fn check_name(name: &str, what: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some(format!("empty {what}: customers need words to ask for it"));
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Some(format!("{what} is {chars} characters long; at most {MAX_NAME_CHARS} are accepted"));
    }
    if name.chars().any(char::is_control) {
        return Some(format!("{what} {name:?} contains control characters"));
    }
    None
}

/// Whether `name` is a HubSpot internal property name.
fn is_internal_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= MAX_NAME_CHARS
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A phrase as the agent compares it: lowercase words separated by single spaces.
pub(crate) fn normalize_phrase(text: &str) -> String {
    text.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_names() {
        for good in ["address", "hs_pipeline_stage", "plan_tier2", "a"] {
            assert!(is_internal_name(good), "{good}");
        }
        for bad in ["", "Address", "2fa", "billing address", "hs-stage", "_x", "é"] {
            assert!(!is_internal_name(bad), "{bad}");
        }
    }

    #[test]
    fn phrases_compare_without_case_or_spacing() {
        assert_eq!(normalize_phrase("  Billing\tADDRESS "), "billing address");
    }
}
