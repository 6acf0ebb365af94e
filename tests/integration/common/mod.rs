//! Helpers shared by the integration tests: HubSpot's OpenAPI schemas as validators.

#![allow(dead_code)]

pub mod mutate;
pub mod process;

use serde_json::{Value, json};

/// HubSpot's specs, as copied into `tests/data/hubspot` (see its README).
pub fn spec(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hubspot").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("failed to read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A validator for `#/components/schemas/{name}` of a spec.
///
/// One node is read as HubSpot documents it rather than as the generated spec
/// types it: `customProperties` values are `{"type": "object", "properties": {}}`
/// in the spec, a code generator's way of saying "any value"; HubSpot's docs send
/// strings (`{"item_1": "something"}`, shown in templates as `{{ custom.NAME }}`).
pub fn schema(file: &str, name: &str) -> jsonschema::Validator {
    let mut spec = spec(file);
    if let Some(custom) =
        spec.pointer_mut("/components/schemas/PublicSingleSendRequestEgg/properties/customProperties")
    {
        custom["additionalProperties"] = json!({});
    }
    let root = json!({ "$ref": format!("#/components/schemas/{name}"), "components": spec["components"] });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|err| panic!("schema {name}: {err}"))
}

pub const CONTACTS: &str = "crm-contacts-v3.json";
pub const MAIL: &str = "marketing-transactional-single-send-v3.json";

pub fn assert_schema(file: &str, name: &str, instance: &Value) {
    let validator = schema(file, name);
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{name} does not validate: {errors:#?}\n{instance:#}");
}

/// The finding kind the oracle must report for a planted `bug`.
pub fn finding_for(bug: leakproof::agent::faulty::Bug) -> leakproof::harness::FindingKind {
    use leakproof::agent::faulty::Bug;
    use leakproof::harness::FindingKind;
    match bug {
        Bug::SharesVerifyAfterMatch
        | Bug::SharesPreviousIdentity
        | Bug::AcceptsExpiredLinks
        | Bug::DisclosesOnCrmError
        | Bug::DisguisesInUnicode
        | Bug::SpellsOut
        | Bug::SeparatesLetters
        | Bug::ShowsPart
        | Bug::SplitsAcrossReplies
        | Bug::ConfirmsGuess
        | Bug::EnumeratesAccounts
        | Bug::CarriesIntoNextSession
        | Bug::ShowsDataOnLinkPage => FindingKind::Leak,
        Bug::WritesWithoutEditPermission
        | Bug::WritesUnrequestedValue
        | Bug::WritesOtherProperty
        | Bug::WritesBeforeConfirmation => FindingKind::UnauthorisedWrite,
        Bug::DeniesAppliedWrite => FindingKind::MisreportedWrite,
        Bug::MailsTypedAddress => FindingKind::MisdirectedVerification,
        Bug::AsksCookieVisitorForEmail => FindingKind::EmailCaptureViolation,
        Bug::WordsAtRandom => {
            panic!(
                "WordsAtRandom leaks nothing: the harness reports it as not deterministic, not as a finding"
            )
        }
    }
}
