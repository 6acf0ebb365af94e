//! Warnings about settings that are legal but risky, as `leakproof config check` prints them.

use std::fmt;

use super::{AgentConfig, Channel, Document, EmailCapture, ObjectType, Position, PropertyRule, Protection};

/// The kinds of risky settings [`lint`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LintKind {
    /// An editable property protected only by `match_email`: anyone who knows
    /// a customer's address can change their record.
    EditableWithMatchEmail,
    /// Editing needs less proof than viewing the same property.
    EditWeakerThanView,
    /// Contact details (phone, address, …) shared after `match_email`, which
    /// proves only that the customer knows an address.
    ContactDetailsWithMatchEmail,
    /// An update written without reading the new value back to the customer.
    EditWithoutConfirmation,
    /// A channel that never asks for email while protected properties exist.
    NeverCaptureWithProtectedData,
    /// No property is viewable or editable: the agent can't help with CRM data.
    NothingShared,
}

impl LintKind {
    /// A short stable name, for filtering in CI.
    pub const fn code(self) -> &'static str {
        match self {
            LintKind::EditableWithMatchEmail => "editable-with-match-email",
            LintKind::EditWeakerThanView => "edit-weaker-than-view",
            LintKind::ContactDetailsWithMatchEmail => "contact-details-with-match-email",
            LintKind::EditWithoutConfirmation => "edit-without-confirmation",
            LintKind::NeverCaptureWithProtectedData => "never-capture-with-protected-data",
            LintKind::NothingShared => "nothing-shared",
        }
    }
}

/// One risky setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lint {
    /// What kind of risk.
    pub kind: LintKind,
    /// The source's name, when the configuration came from a file.
    pub source: Option<String>,
    /// Where in the source, when known.
    pub position: Option<Position>,
    /// The setting, as a path: `properties[3].edit.protection`.
    pub setting: String,
    /// What the risk is and what to do about it.
    pub message: String,
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.source, self.position) {
            (Some(source), Some(position)) => write!(f, "{source}:{position}: ")?,
            (Some(source), None) => write!(f, "{source}: ")?,
            _ => {}
        }
        write!(f, "{}: {} [{}]", self.setting, self.message, self.kind.code())
    }
}

/// Finds the legal but risky settings in `config`. With the `source` it was
/// loaded from, each warning carries its file position.
pub fn lint(config: &AgentConfig, source: Option<&Document>) -> Vec<Lint> {
    let mut found: Vec<(LintKind, String, String)> = Vec::new();

    for (index, rule) in config.properties.iter().enumerate() {
        let name = rule.qualified_name();
        let at = |field: &str| format!("properties[{index}].{field}");
        let (view, edit) = (&rule.view, &rule.edit);

        if edit.enabled && edit.protection == Protection::MatchEmail {
            found.push((
                LintKind::EditableWithMatchEmail,
                at("edit.protection"),
                format!(
                    "{name} can be changed after match_email, so anyone who knows the customer's \
                     address can change it; use verify_email"
                ),
            ));
        }
        if edit.enabled && view.enabled && edit.protection < view.protection {
            found.push((
                LintKind::EditWeakerThanView,
                at("edit.protection"),
                format!(
                    "{name} needs {} to change but {} to view; editing should need at least as \
                     much proof as viewing",
                    edit.protection, view.protection
                ),
            ));
        }
        if view.enabled && view.protection == Protection::MatchEmail && holds_contact_details(rule) {
            found.push((
                LintKind::ContactDetailsWithMatchEmail,
                at("view.protection"),
                format!(
                    "{name} holds contact details but is shared after match_email, which proves \
                     only that the customer knows an address; use verify_email"
                ),
            ));
        }
        if edit.enabled && !edit.confirm {
            found.push((
                LintKind::EditWithoutConfirmation,
                at("edit.confirm"),
                format!(
                    "{name} is written without repeating the new value to the customer; a typo \
                     goes straight into the CRM"
                ),
            ));
        }
    }

    let protected = config.properties.iter().any(|rule| rule.view.enabled || rule.edit.enabled);
    if protected {
        for channel in Channel::MESSAGING {
            if config.email_capture.for_channel(channel) == EmailCapture::Never {
                found.push((
                    LintKind::NeverCaptureWithProtectedData,
                    format!("email_capture.{channel}"),
                    format!(
                        "the agent never asks for email on {channel}, yet every shared property \
                         is protected: customers there reach their data only if they volunteer \
                         their address"
                    ),
                ));
            }
        }
    } else {
        found.push((
            LintKind::NothingShared,
            "properties".to_owned(),
            "no property is viewable or editable: the agent cannot answer any question about CRM data"
                .to_owned(),
        ));
    }

    let locations = source.map(Document::locate).unwrap_or_default();
    found
        .into_iter()
        .map(|(kind, setting, message)| Lint {
            kind,
            source: source.map(|s| s.name().to_owned()),
            position: locations.find(&setting),
            setting,
            message,
        })
        .collect()
}

/// Words in internal names and labels that mark a property as a way to reach
/// or find the person: what an impersonator wants.
const CONTACT_DETAIL_WORDS: &[&str] = &[
    "address",
    "street",
    "city",
    "zip",
    "postal",
    "postcode",
    "phone",
    "mobilephone",
    "mobile",
    "email",
    "fax",
    "birth",
    "birthday",
    "dob",
    "whatsapp",
];

/// Whether a contact property holds contact details, judged from its internal
/// name, label and synonyms.
fn holds_contact_details(rule: &PropertyRule) -> bool {
    rule.object == ObjectType::Contact
        && std::iter::once(rule.property.as_str())
            .chain(std::iter::once(rule.label.as_str()))
            .chain(rule.synonyms.iter().map(String::as_str))
            .flat_map(|text| text.split(|c: char| !c.is_alphanumeric()))
            .any(|word| {
                let word = word.to_lowercase();
                CONTACT_DETAIL_WORDS.contains(&word.as_str())
            })
}
