//! Loading, validation and lint tests over small YAML documents.

use super::*;
use jiff::SignedDuration;

const BASE: &str = "\
agent:
  name: Ava
properties:
  - object: contact
    property: phone
    label: phone number
    synonyms: [phone]
    view:
      enabled: true
      protection: verify_email
  - object: ticket
    property: hs_pipeline_stage
    label: ticket status
    view: { enabled: true, protection: match_email }
";

fn only_issue(yaml: &str) -> Issue {
    match from_yaml_str("agent.yaml", yaml) {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(err) => {
            let issues = err.issues();
            assert_eq!(issues.len(), 1, "{err}");
            issues[0].clone()
        }
    }
}

fn at(line: usize, column: usize) -> Option<Position> {
    Some(Position { line, column })
}

#[test]
fn base_document_loads_with_secure_defaults() {
    let config = from_yaml_str("agent.yaml", BASE).unwrap();
    assert_eq!(config.agent.name, "Ava");
    assert_eq!(config.verification.link_ttl, DEFAULT_LINK_TTL);
    assert_eq!(config.verification.signing_key, SigningKeySource::Ephemeral);
    assert_eq!(config.email_capture.for_channel(Channel::Whatsapp), EmailCapture::WhenNeeded);
    let phone = &config.properties[0];
    assert!(!phone.edit.enabled, "edit is off unless turned on");
    assert_eq!(phone.edit.protection, Protection::VerifyEmail, "the strongest level unless set");
    assert!(phone.edit.confirm, "confirmation is on unless turned off");
}

#[test]
fn unknown_key_names_setting_and_position() {
    let issue = only_issue(&BASE.replace(
        "      enabled: true\n      protection: verify_email",
        "      enabled: true\n      protect: verify_email",
    ));
    assert_eq!(issue.field, "properties[0].view.protect");
    assert_eq!(issue.position, at(10, 7));
    assert!(issue.message.contains("unknown field `protect`"), "{}", issue.message);
}

#[test]
fn unknown_enum_value_names_setting_and_position() {
    let issue = only_issue(&BASE.replace("protection: verify_email", "protection: verify_mail"));
    assert_eq!(issue.field, "properties[0].view.protection");
    assert_eq!(issue.position, at(10, 19));
    assert!(issue.message.contains("verify_mail"));

    let issue = only_issue(&BASE.replace("object: ticket", "object: invoice"));
    assert_eq!(issue.field, "properties[1].object");
    assert_eq!(issue.position, at(11, 13));
}

#[test]
fn duplicate_property_points_at_the_second_definition() {
    let issue = only_issue(
        &BASE
            .replace("property: hs_pipeline_stage", "property: phone")
            .replace("object: ticket", "object: contact"),
    );
    assert_eq!(issue.field, "properties[1].property");
    assert_eq!(issue.position, at(12, 15));
    assert!(issue.message.contains("duplicate property contact.phone"), "{}", issue.message);
}

#[test]
fn same_property_name_on_another_object_is_no_duplicate() {
    let yaml = BASE.replace("property: hs_pipeline_stage", "property: phone");
    assert!(from_yaml_str("agent.yaml", &yaml).is_ok());
}

#[test]
fn empty_label_and_synonym_are_errors() {
    let issue = only_issue(&BASE.replace("label: ticket status", "label: ''"));
    assert_eq!(issue.field, "properties[1].label");
    assert_eq!(issue.position, at(13, 12));
    assert!(issue.message.starts_with("empty label"));

    let issue = only_issue(&BASE.replace("synonyms: [phone]", "synonyms: [phone, '  ']"));
    assert_eq!(issue.field, "properties[0].synonyms[1]");
    assert_eq!(issue.position, at(7, 23));
}

#[test]
fn a_name_shared_by_two_properties_is_ambiguous() {
    let issue = only_issue(&BASE.replace("label: ticket status", "label: Phone"));
    assert_eq!(issue.field, "properties[1].label");
    assert!(issue.message.contains("ambiguous label"), "{}", issue.message);
}

#[test]
fn bad_durations_are_errors() {
    for (ttl, expect) in [
        ("15 parsecs", "write it in hours"),
        ("2d", "write it in hours"),
        ("0s", "must stay valid"),
        ("-5m", "must stay valid"),
        ("25h", "at most 24h"),
        ("[15m]", "expected string"),
    ] {
        let yaml = format!("agent: {{ name: Ava }}\nverification:\n  link_ttl: {ttl}\n");
        let issue = only_issue(&yaml);
        assert_eq!(issue.field, "verification.link_ttl", "{ttl}");
        assert_eq!(issue.position, at(3, 13), "{ttl}");
        assert!(issue.message.contains(expect), "{ttl}: {}", issue.message);
    }
    for (ttl, minutes) in [("15m", 15), ("1h 30m", 90), ("PT5M", 5), ("24h", 1440)] {
        let yaml = format!("agent: {{ name: Ava }}\nverification:\n  link_ttl: {ttl}\n");
        let config = from_yaml_str("agent.yaml", &yaml).unwrap();
        assert_eq!(config.verification.link_ttl, SignedDuration::from_mins(minutes));
    }
}

#[test]
fn duplicate_keys_are_errors() {
    let issue = only_issue(
        &BASE.replace("    label: phone number\n", "    label: phone number\n    label: mobile\n"),
    );
    assert_eq!(issue.field, "properties[0].label");
    assert_eq!(issue.position, at(7, 5));
    assert!(issue.message.contains("duplicate key `label`"));
}

#[test]
fn invalid_property_names_are_errors() {
    let issue = only_issue(&BASE.replace("property: phone", "property: Phone Number"));
    assert_eq!(issue.field, "properties[0].property");
    assert!(issue.message.contains("HubSpot internal names"));
}

#[test]
fn signing_key_sources() {
    let yaml = "agent: { name: Ava }\nverification:\n  signing_key: { env: LEAKPROOF_KEY }\n";
    let config = from_yaml_str("agent.yaml", yaml).unwrap();
    assert_eq!(config.verification.signing_key, SigningKeySource::Env("LEAKPROOF_KEY".to_owned()));
    let issue = only_issue("agent: { name: Ava }\nverification:\n  signing_key: { inline: hunter2 }\n");
    assert_eq!(issue.field, "verification.signing_key");
    assert!(issue.message.contains("unknown variant `inline`"));
}

#[test]
fn every_issue_is_reported_not_just_the_first() {
    let yaml = BASE.replace("label: ticket status", "label: ''").replace("name: Ava", "name: ' '");
    let err = from_yaml_str("agent.yaml", &yaml).unwrap_err();
    let settings: Vec<_> = err.issues().iter().map(|i| i.field.as_str()).collect();
    assert_eq!(settings, ["agent.name", "properties[1].label"]);
    assert_eq!(err.issues()[0].position, at(2, 9));
}

#[test]
fn syntax_errors_and_empty_input_are_located() {
    let issue = only_issue("agent: { name: Ava\nproperties: [\n");
    assert!(issue.position.is_some(), "{issue}");
    let issue = only_issue("");
    assert_eq!(issue.position, at(1, 1));
}

#[test]
fn json_is_accepted_too() {
    let config: AgentConfig = from_yaml_str("agent.yaml", BASE).unwrap();
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(from_yaml_str("agent.json", &json).unwrap(), config);
    let back: AgentConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, config);
}

fn lint_kinds(yaml: &str) -> Vec<(LintKind, String)> {
    let source = Document::new("agent.yaml", yaml);
    let config = parse(&source).unwrap();
    lint(&config, Some(&source)).into_iter().map(|l| (l.kind, l.setting)).collect()
}

#[test]
fn clean_configuration_has_no_lints() {
    assert_eq!(lint_kinds(BASE), []);
}

#[test]
fn editable_with_match_email_and_weaker_than_view() {
    let yaml = BASE.replace(
        "      protection: verify_email\n",
        "      protection: verify_email\n    edit: { enabled: true, protection: match_email }\n",
    );
    let kinds = lint_kinds(&yaml);
    assert_eq!(
        kinds,
        [
            (LintKind::EditableWithMatchEmail, "properties[0].edit.protection".to_owned()),
            (LintKind::EditWeakerThanView, "properties[0].edit.protection".to_owned()),
        ]
    );
    let source = Document::new("agent.yaml", yaml.as_str());
    let lints = lint(&parse(&source).unwrap(), Some(&source));
    assert_eq!(lints[0].position, at(11, 40));
    assert!(lints[0].to_string().starts_with("agent.yaml:11:40: properties[0].edit.protection: "));
}

#[test]
fn contact_details_with_match_email() {
    let yaml = BASE.replace("protection: verify_email", "protection: match_email");
    assert_eq!(
        lint_kinds(&yaml),
        [(LintKind::ContactDetailsWithMatchEmail, "properties[0].view.protection".to_owned())]
    );
}

#[test]
fn edit_without_confirmation() {
    let yaml = BASE.replace(
        "      protection: verify_email\n",
        "      protection: verify_email\n    edit: { enabled: true, confirm: false }\n",
    );
    assert_eq!(
        lint_kinds(&yaml),
        [(LintKind::EditWithoutConfirmation, "properties[0].edit.confirm".to_owned())]
    );
}

#[test]
fn never_capture_with_protected_data() {
    let yaml = format!("{BASE}email_capture:\n  whatsapp: never\n");
    assert_eq!(
        lint_kinds(&yaml),
        [(LintKind::NeverCaptureWithProtectedData, "email_capture.whatsapp".to_owned())]
    );
}

#[test]
fn nothing_shared() {
    assert_eq!(lint_kinds("agent: { name: Ava }\n"), [(LintKind::NothingShared, "properties".to_owned())]);
}
