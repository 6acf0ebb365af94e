//! Properties of the policy path over random configurations, identities and requests.

use leakproof_config::{AgentConfig, Channel, Protection};
use leakproof_harness::generate::config::agent_config;
use leakproof_policy::identity::{ContactId, Identity};
use leakproof_policy::{
    Action, Decision, NARROWING_PHRASES, Policy, PropertyId, Refusal, Request, Subject, narrows_sharing,
};
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

/// View instructions that narrow nothing.
const HARMLESS: &str = "Use the city to suggest the nearest store; do not promise delivery dates.";

/// A configuration in which some views' instructions narrow sharing (a phrase of
/// [`NARROWING_PHRASES`] in lower or upper case) and the others' narrow nothing; the same
/// configuration with no instructions at all; and which properties' instructions narrow.
fn narrowed_config(min: usize, max: usize) -> impl Strategy<Value = (AgentConfig, AgentConfig, Vec<bool>)> {
    let phrase = prop::option::of((0..NARROWING_PHRASES.len(), any::<bool>()));
    (agent_config(min, max), prop::collection::vec(phrase, max)).prop_map(|(mut config, phrases)| {
        let mut plain = config.clone();
        for rule in &mut plain.properties {
            rule.view.instructions.clear();
        }
        let mut narrowed = Vec::new();
        for (rule, phrase) in config.properties.iter_mut().zip(phrases) {
            narrowed.push(phrase.is_some());
            rule.view.instructions = match phrase {
                Some((index, upper)) => {
                    let phrase = NARROWING_PHRASES[index];
                    let phrase = if upper { phrase.to_uppercase() } else { phrase.to_owned() };
                    format!("Please {phrase} this in chat; point customers to the app.")
                }
                None => HARMLESS.to_owned(),
            };
        }
        (config, plain, narrowed)
    })
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
    fn narrowing_never_allows_more_than_without_it(
        (config, plain, narrowed) in narrowed_config(1, 30),
        identity in identity(4),
        request in request(30, 4),
    ) {
        let with = Policy::compile(&config).unwrap().decide(&identity, request);
        let without = Policy::compile(&plain).unwrap().decide(&identity, request);
        prop_assert!(rank(with) <= rank(without), "{with:?} > {without:?}");
        // The same proof is asked for; only what would be allowed is refused, and only for a
        // view whose instructions narrow sharing.
        let narrowed_view =
            request.action == Action::View && narrowed.get(request.property.index()) == Some(&true);
        if narrowed_view && without == Decision::Allow {
            prop_assert_eq!(with, Decision::Refuse(Refusal::Instructions));
        } else {
            prop_assert_eq!(with, without);
        }
    }

    #[test]
    fn instructions_narrow_views_only_where_a_phrase_says_so(
        (config, _, narrowed) in narrowed_config(1, 30),
    ) {
        let policy = Policy::compile(&config).unwrap();
        for (index, rule) in config.properties.iter().enumerate() {
            let property = PropertyId::from_index(index as u32);
            prop_assert_eq!(narrows_sharing(&rule.view.instructions), narrowed[index]);
            let verified = Identity::Verified(ContactId(1));
            let view = policy.decide(&verified, Request::view(property));
            let expected = match (rule.view.enabled, narrowed[index]) {
                (false, _) => Decision::Refuse(Refusal::NotShared),
                (true, true) => Decision::Refuse(Refusal::Instructions),
                (true, false) => Decision::Allow,
            };
            prop_assert_eq!(view, expected);
            // Edits are never narrowed by view instructions.
            let edit = policy.decide(&verified, Request::edit(property));
            prop_assert_eq!(edit.is_allowed(), rule.edit.enabled);
        }
    }

    #[test]
    fn protection_agrees_with_decide(
        (config, _, _) in narrowed_config(0, 30),
        contact in 1..=4u64,
        request in request(30, 4),
    ) {
        let policy = Policy::compile(&config).unwrap();
        let contact = ContactId(contact);
        let protection = policy.protection(request.property, request.action);
        let configured = gate(&config, request).and_then(|(enabled, p)| enabled.then_some(p));
        prop_assert_eq!(protection, configured);
        // For the customer's own record, or theirs by id, `decide` asks for exactly that proof
        // (an anonymous customer has no record by id: that is out of scope).
        let shared = |decision| matches!(decision, Decision::Allow | Decision::Refuse(Refusal::Instructions));
        for subject in [Subject::Own, Subject::Contact(contact)] {
            let needs_email =
                if subject == Subject::Own { Decision::NeedsEmail } else { Decision::Refuse(Refusal::OutOfScope) };
            let request = request.of(subject);
            let [anonymous, matched, verified] = [
                Identity::Anonymous,
                Identity::Matched(contact),
                Identity::Verified(contact),
            ]
            .map(|identity| policy.decide(&identity, request));
            match protection {
                None => {
                    let closed = match request.action {
                        Action::View => Refusal::NotShared,
                        Action::Edit => Refusal::NotEditable,
                    };
                    for decision in [anonymous, matched, verified] {
                        prop_assert_eq!(decision, Decision::Refuse(closed));
                    }
                }
                Some(Protection::MatchEmail) => {
                    prop_assert_eq!(anonymous, needs_email);
                    prop_assert!(shared(matched), "{matched:?}");
                    prop_assert_eq!(verified, matched);
                }
                Some(Protection::VerifyEmail) => {
                    prop_assert_eq!(anonymous, needs_email);
                    prop_assert_eq!(matched, Decision::NeedsVerification);
                    prop_assert!(shared(verified), "{verified:?}");
                }
            }
        }
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
    let mut config = leakproof_harness::generate::config::fixed_agent_config(3, 1);
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
    let config = leakproof_config::from_yaml_str("inline.yaml", yaml).unwrap();
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

#[test]
fn narrowing_instructions_refuse_what_the_proof_would_allow() {
    let yaml = r#"agent: { name: Ava }
properties:
  - { object: contact, property: points, label: points,
      view: { enabled: true, protection: verify_email,
              instructions: "Never share the points balance in chat; point customers to the app." },
      edit: { enabled: true, protection: match_email,
              instructions: "Never share anything." } }
  - { object: contact, property: city, label: city,
      view: { enabled: true, protection: match_email, instructions: "DO NOT DISCLOSE it here." } }
  - { object: contact, property: phone, label: phone,
      view: { enabled: true, protection: match_email, instructions: "Give it on one line." } }
"#;
    let config = leakproof_config::from_yaml_str("inline.yaml", yaml).unwrap();
    let policy = Policy::compile(&config).unwrap();
    let [points, city, phone] = [0, 1, 2].map(PropertyId::from_index);
    let me = ContactId(1);
    use Decision::*;
    let cases = [
        (Identity::Anonymous, Request::view(points), NeedsEmail),
        (Identity::Matched(me), Request::view(points), NeedsVerification),
        (Identity::Verified(me), Request::view(points), Refuse(Refusal::Instructions)),
        (Identity::Matched(me), Request::edit(points), Allow),
        (Identity::Anonymous, Request::view(city), NeedsEmail),
        (Identity::Matched(me), Request::view(city), Refuse(Refusal::Instructions)),
        (Identity::Verified(me), Request::view(city).of(Subject::Unassociated), Refuse(Refusal::OutOfScope)),
        (Identity::Matched(me), Request::view(phone), Allow),
    ];
    for (identity, request, expected) in cases {
        assert_eq!(policy.decide(&identity, request), expected, "{identity} {request:?}");
    }
    // The proof each action needs is the configured one, narrowed or not.
    assert_eq!(policy.protection(points, Action::View), Some(Protection::VerifyEmail));
    assert_eq!(policy.protection(points, Action::Edit), Some(Protection::MatchEmail));
    assert_eq!(policy.protection(city, Action::View), Some(Protection::MatchEmail));
    assert_eq!(policy.protection(city, Action::Edit), None);
    assert_eq!(policy.protection(PropertyId::from_index(3), Action::View), None);
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

/// Each refusal reads as words a log or a report can show.
#[test]
fn refusals_read_as_words() {
    let words: Vec<String> =
        [Refusal::NotShared, Refusal::NotEditable, Refusal::OutOfScope, Refusal::Instructions]
            .iter()
            .map(Refusal::to_string)
            .collect();
    assert_eq!(words, ["not shared", "not editable", "out of scope", "withheld by the instructions"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A compiled policy holds every configured property, and asks for the email on each
    /// channel when the configuration says (email has no setting: the sender is the claim).
    #[test]
    fn the_policy_holds_every_property_and_each_channels_email_capture(config in agent_config(0, 6)) {
        let policy = Policy::compile(&config).unwrap();
        prop_assert_eq!(policy.len(), config.properties.len());
        prop_assert_eq!(policy.is_empty(), config.properties.is_empty());
        prop_assert_eq!(policy.properties().count(), config.properties.len());
        for channel in [Channel::LiveChat, Channel::Whatsapp, Channel::FacebookMessenger] {
            prop_assert_eq!(policy.email_capture(channel), config.email_capture.for_channel(channel));
        }
    }
}

/// Only a verified identity has proven control of the mailbox; each names its contact.
#[test]
fn identities_say_who_they_are_and_how_far_they_are_proven() {
    let (matched, verified) = (Identity::Matched(ContactId(7)), Identity::Verified(ContactId(7)));
    assert!(!Identity::Anonymous.is_verified() && !matched.is_verified() && verified.is_verified());
    assert_eq!(
        [Identity::Anonymous, matched, verified].map(|identity| (identity.contact(), identity.to_string())),
        [
            (None, "anonymous".to_owned()),
            (Some(ContactId(7)), "matched(7)".to_owned()),
            (Some(ContactId(7)), "verified(7)".to_owned())
        ]
    );
}
