//! Properties of the policy path over random configurations, identities and requests.

use leakproof::config::{AgentConfig, Protection};
use leakproof::generate::config::agent_config;
use leakproof::identity::{ContactId, Identity};
use leakproof::policy::{Action, Decision, Policy, PropertyId, Refusal, Request, Subject};
use proptest::prelude::*;

/// How much a decision grants: refusals lowest, allow highest.
fn rank(decision: Decision) -> u8 {
    match decision {
        Decision::Refuse(_) => 0,
        Decision::NeedsEmail => 1,
        Decision::NeedsVerification => 2,
        Decision::Allow => 3,
    }
}

/// The configured rule for a request: (enabled, protection), or None past the end.
fn gate(config: &AgentConfig, request: Request) -> Option<(bool, Protection)> {
    let rule = config.properties.get(request.property.index())?;
    Some(match request.action {
        Action::View => (rule.view.enabled, rule.view.protection),
        Action::Edit => (rule.edit.enabled, rule.edit.protection),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn a_property_whose_view_is_off_is_never_shown(
        config in agent_config(1, 30),
        identity in identity(4),
        request in request(30, 4),
    ) {
        let policy = Policy::compile(&config).unwrap();
        let request = Request { action: Action::View, ..request };
        if !matches!(gate(&config, request), Some((true, _))) {
            prop_assert_eq!(policy.decide(&identity, request), Decision::Refuse(Refusal::NotShared));
        }
    }

    #[test]
    fn edit_is_never_allowed_when_off_or_for_another_contact(
        config in agent_config(1, 30),
        identity in identity(4),
        request in request(30, 4),
    ) {
        let policy = Policy::compile(&config).unwrap();
        let request = Request { action: Action::Edit, ..request };
        let decision = policy.decide(&identity, request);
        if !matches!(gate(&config, request), Some((true, _))) {
            prop_assert_eq!(decision, Decision::Refuse(Refusal::NotEditable));
        }
        let someone_else = match request.subject {
            Subject::Own => false,
            Subject::Contact(contact) => identity.contact() != Some(contact),
            Subject::Unassociated => true,
        };
        if someone_else {
            prop_assert!(!decision.is_allowed(), "{identity} got {decision:?} for {request:?}");
        }
    }

    #[test]
    fn more_proof_never_reduces_access(
        config in agent_config(1, 30),
        contact in 1..=4u64,
        request in request(30, 4),
    ) {
        let policy = Policy::compile(&config).unwrap();
        let contact = ContactId(contact);
        let anonymous = policy.decide(&Identity::Anonymous, request);
        let matched = policy.decide(&Identity::Matched(contact), request);
        let verified = policy.decide(&Identity::Verified(contact), request);
        prop_assert!(rank(anonymous) <= rank(matched), "{anonymous:?} > {matched:?}");
        prop_assert!(rank(matched) <= rank(verified), "{matched:?} > {verified:?}");
    }

    #[test]
    fn verify_email_is_never_satisfied_by_a_match(
        config in agent_config(1, 30),
        identity in identity(4),
        request in request(30, 4),
    ) {
        let policy = Policy::compile(&config).unwrap();
        let decision = policy.decide(&identity, request);
        if let Some((_, Protection::VerifyEmail)) = gate(&config, request) && !identity.is_verified() {
            prop_assert!(!decision.is_allowed(), "{identity} got {decision:?} for {request:?}");
        }
    }

    #[test]
    fn nothing_is_allowed_to_an_anonymous_customer(
        config in agent_config(0, 30),
        request in request(30, 4),
    ) {
        let policy = Policy::compile(&config).unwrap();
        prop_assert!(!policy.decide(&Identity::Anonymous, request).is_allowed());
    }

    #[test]
    fn unknown_property_ids_are_refused(
        config in agent_config(0, 30),
        identity in identity(4),
        subject in subject(4),
        past_end in 0..3u32,
    ) {
        let policy = Policy::compile(&config).unwrap();
        let property = PropertyId::from_index(config.properties.len() as u32 + past_end);
        let view = Request { action: Action::View, property, subject };
        let edit = Request { action: Action::Edit, property, subject };
        prop_assert_eq!(policy.decide(&identity, view), Decision::Refuse(Refusal::NotShared));
        prop_assert_eq!(policy.decide(&identity, edit), Decision::Refuse(Refusal::NotEditable));
    }

    #[test]
    fn compiled_names_find_each_property(config in agent_config(0, 30)) {
        let policy = Policy::compile(&config).unwrap();
        prop_assert_eq!(policy.len(), config.properties.len());
        for (index, rule) in config.properties.iter().enumerate() {
            let id = policy.property(rule.object, &rule.property).unwrap();
            prop_assert_eq!(id.index(), index);
            prop_assert_eq!(policy.rule(id), Some(rule));
        }
    }
}

#[test]
fn compile_rejects_an_invalid_configuration_built_in_code() {
    let mut config = leakproof::generate::config::fixed_agent_config(3, 1);
    config.properties[2].property = config.properties[0].property.clone();
    config.properties[2].object = config.properties[0].object;
    let err = Policy::compile(&config).unwrap_err();
    assert_eq!(err.issues()[0].field, "properties[2].property");
}

#[test]
fn each_identity_level_against_each_protection() {
    let yaml = "agent: { name: Ava }
properties:
  - { object: contact, property: city, label: city, view: { enabled: true, protection: match_email } }
  - { object: contact, property: phone, label: phone, view: { enabled: true, protection: verify_email },
      edit: { enabled: true, protection: verify_email } }
  - { object: contact, property: notes, label: notes }
";
    let config = leakproof::config::from_yaml_str("inline.yaml", yaml).unwrap();
    let policy = Policy::compile(&config).unwrap();
    let [city, phone, notes] = [0, 1, 2].map(PropertyId::from_index);
    let me = ContactId(1);
    let other = ContactId(2);
    use Decision::*;
    let cases = [
        (Identity::Anonymous, Request::view(city), NeedsEmail),
        (Identity::Matched(me), Request::view(city), Allow),
        (Identity::Matched(me), Request::view(phone), NeedsVerification),
        (Identity::Verified(me), Request::view(phone), Allow),
        (Identity::Verified(me), Request::edit(phone), Allow),
        (Identity::Verified(me), Request::edit(city), Refuse(Refusal::NotEditable)),
        (Identity::Verified(me), Request::view(notes), Refuse(Refusal::NotShared)),
        (Identity::Verified(me), Request::view(phone).of(Subject::Contact(me)), Allow),
        (
            Identity::Verified(me),
            Request::view(phone).of(Subject::Contact(other)),
            Refuse(Refusal::OutOfScope),
        ),
        (Identity::Anonymous, Request::view(city).of(Subject::Contact(other)), Refuse(Refusal::OutOfScope)),
        (Identity::Verified(me), Request::edit(phone).of(Subject::Unassociated), Refuse(Refusal::OutOfScope)),
    ];
    for (identity, request, expected) in cases {
        assert_eq!(policy.decide(&identity, request), expected, "{identity} {request:?}");
    }
}

/// Any identity over contacts `1..=contacts`.
pub fn identity(contacts: u64) -> impl Strategy<Value = Identity> {
    let contact = (1..=contacts).prop_map(ContactId);
    prop_oneof![
        Just(Identity::Anonymous),
        contact.clone().prop_map(Identity::Matched),
        contact.prop_map(Identity::Verified),
    ]
}

/// Any subject over contacts `1..=contacts`.
pub fn subject(contacts: u64) -> impl Strategy<Value = Subject> {
    prop_oneof![
        Just(Subject::Own),
        (1..=contacts).prop_map(|c| Subject::Contact(ContactId(c))),
        Just(Subject::Unassociated),
    ]
}

/// Any request for one of the first `properties` property ids, plus ids past
/// the end (which a policy must refuse), about contacts `1..=contacts`.
pub fn request(properties: usize, contacts: u64) -> impl Strategy<Value = Request> {
    let last = u32::try_from(properties).unwrap_or(u32::MAX).saturating_add(2);
    let action = prop_oneof![Just(Action::View), Just(Action::Edit)];
    (action, 0..last, subject(contacts)).prop_map(|(action, index, subject)| Request {
        action,
        property: PropertyId::from_index(index),
        subject,
    })
}
