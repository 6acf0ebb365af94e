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

/// Checks `body`, answered `status` to `method` `path` (no query), against the response
/// schema `spec` gives that operation: the path template matching `path` (`{contactId}`
/// matches any one segment), the response for `status`, else for 200 when `status` is 2xx,
/// else `default`. Panics naming what is wrong, or that the spec has no such operation.
pub fn assert_response(spec_file: &str, method: &str, path: &str, status: u16, body: &Value) {
    let document = spec(spec_file);
    let wanted: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let matches = |template: &str| {
        let parts: Vec<&str> = template.split('/').collect();
        parts.len() == wanted.len()
            && parts.iter().zip(&wanted).all(|(t, w)| (t.starts_with('{') && !w.is_empty()) || t == w)
    };
    let paths = document["paths"].as_object().unwrap();
    // The most literal template wins (`…/batch/read` over `…/{contactId}/…`).
    let (template, operations) = paths
        .iter()
        .filter(|(template, _)| matches(template))
        .min_by_key(|(template, _)| template.matches('{').count())
        .unwrap_or_else(|| panic!("{spec_file} has no path for {path}"));
    let operation = &operations[method.to_lowercase()];
    assert!(operation.is_object(), "{spec_file} has no {method} {template}");
    let responses = &operation["responses"];
    let response = [
        status.to_string(),
        if (200..300).contains(&status) { "200".into() } else { String::new() },
        "default".into(),
    ]
    .iter()
    .map(|code| &responses[code.as_str()])
    .find(|response| response.is_object())
    .unwrap_or_else(|| panic!("{spec_file} {method} {template}: no response for {status}"));
    // A response may be a reference to a shared one (`#/components/responses/Error`).
    let response = match response["$ref"].as_str() {
        Some(shared) => {
            document.pointer(shared.trim_start_matches('#')).unwrap_or_else(|| panic!("{shared}"))
        }
        None => response,
    };
    let content = &response["content"];
    let schema = match &content["application/json"] {
        Value::Null => {
            content.as_object().and_then(|types| types.values().next()).map_or(&Value::Null, |c| &c["schema"])
        }
        json => &json["schema"],
    };
    let reference =
        schema["$ref"].as_str().unwrap_or_else(|| panic!("{spec_file} {method} {template}: {schema}"));
    let name = reference.trim_start_matches("#/components/schemas/");
    assert_schema(spec_file, name, body);
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
